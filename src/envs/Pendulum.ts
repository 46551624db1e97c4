/**
 * Pendulum-v1: Gymnasium's inverted-pendulum swing-up with a continuous torque, transcribed
 * operation for operation from `gymnasium/envs/classic_control/pendulum.py` (v1.0–v1.3).
 *
 * {@link make} returns the raw dynamics, which never terminate or truncate; the registered
 * `"Pendulum-v1"` adds Gymnasium's 200-step time limit (see `Registry.ts`, `TimeLimit.ts`).
 *
 * @since 0.1.0
 */
import * as Key from "../algebra/Key.ts"
import * as Env from "./Env.ts"
import * as Space from "./Space.ts"

/**
 * The environment id, used in errors and snapshots.
 *
 * @category constants
 */
export const id = "Pendulum-v1"

/** Default g, m/s² (Gymnasium's `g=10.0`; override with the `g` option). @category constants */
export const gravity = 10.0
/** Mass of the pendulum, kg. @category constants */
export const mass = 1.0
/** Length of the pendulum, m. @category constants */
export const length = 1.0
/** Seconds per step (semi-implicit Euler: the new velocity moves the angle). @category constants */
export const dt = 0.05
/** |θ̇| is clipped to this after every step, rad/s. @category constants */
export const maxSpeed = 8
/** |u| is clipped to this before every step, N·m. @category constants */
export const maxTorque = 2.0
/** Default half-width of the initial angle, rad (Gymnasium's `DEFAULT_X`). @category constants */
export const defaultXInit = Math.PI
/** Default half-width of the initial angular velocity, rad/s (Gymnasium's `DEFAULT_Y`). @category constants */
export const defaultYInit = 1.0

const twoPi = 2 * Math.PI

/**
 * `Box(-2, 2, (1,))`: the torque, positive counter-clockwise.
 *
 * @category constants
 */
export const actionSpace: Space.Box = Space.box([-maxTorque], [maxTorque], [1])

/**
 * Gymnasium's float32 box `±[1, 1, maxSpeed]` over `[cos θ, sin θ, θ̇]` (all bounds are
 * exact in float32).
 *
 * @category constants
 */
export const observationSpace: Space.Box = Space.box([-1, -1, -maxSpeed], [1, 1, maxSpeed])

/**
 * Gymnasium's `angle_normalize`: `((x + π) mod 2π) − π` with Python's floor modulo (the
 * remainder takes the sign of the divisor), so the result lies in `[−π, π]`.
 *
 * **Gotchas**: JavaScript's `%` is C's `fmod` (exact, sign of the dividend); Python's float
 * `%` (and numpy's) is that `fmod` plus `2π` when the remainder is negative, which we
 * reproduce bit for bit. So `angleNormalize(π) = −π` and `angleNormalize(−4) = 2π − 4`,
 * where the naive JavaScript expression gives `−4`. A tiny negative remainder plus `2π`
 * may round to `2π`, giving `π`, exactly as in Python.
 *
 * @category utils
 */
export const angleNormalize = (x: number): number => {
  let remainder = (x + Math.PI) % twoPi
  // Python also turns a zero remainder into +0; −0 − π and +0 − π are both −π, so that step is moot.
  if (remainder < 0) remainder += twoPi
  return remainder - Math.PI
}

/**
 * Constructor options: `g` is Gymnasium's `gym.make("Pendulum-v1", g=…)` (default 10);
 * `x_init` and `y_init` are Gymnasium's `reset(options={"x_init", "y_init"})`, the
 * half-widths of the uniform initial angle and angular velocity (defaults π and 1). Custom
 * bounds may start outside the observation box, as in Gymnasium. (A type alias rather than
 * an interface, so that it is assignable to `Registry.EnvOptions`.)
 *
 * @category models
 */
export type Options = {
  readonly g?: number | undefined
  readonly x_init?: number | undefined
  readonly y_init?: number | undefined
}

interface Parsed {
  readonly g: number
  readonly xInit: number
  readonly yInit: number
}

const parseOptions = (options: Options | undefined): Parsed => {
  const given = options ?? {}
  for (const name of Object.keys(given)) {
    if (name !== "g" && name !== "x_init" && name !== "y_init") {
      throw new RangeError(`${id}: unknown option "${name}" (expected g, x_init, y_init)`)
    }
  }
  const g = given.g ?? gravity
  if (typeof g !== "number" || !Number.isFinite(g)) throw new RangeError(`${id}: g must be a finite number, got ${String(g)}`)
  const xInit = given.x_init ?? defaultXInit
  const yInit = given.y_init ?? defaultYInit
  for (const [name, value] of [["x_init", xInit], ["y_init", yInit]] as const) {
    // Gymnasium accepts a negative half-width (numpy's uniform then draws from the mirrored
    // interval); we reject it as the likely mistake it is.
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`${id}: ${name} must be a finite non-negative number, got ${String(value)}`)
    }
  }
  return { g, xInit, yInit }
}

/** The components of a state, as the errors name them. */
const components = ["theta", "theta_dot"]


/**
 * A fresh Pendulum-v1, without a time limit (`maxEpisodeSteps: undefined`).
 *
 * The state is `(θ, θ̇)` in float64, θ = 0 upright. One step with action `a`, in
 * Gymnasium's order of operations:
 * `u = clip(a, −2, 2)`;
 * `cost = angleNormalize(θ)² + 0.1·θ̇² + 0.001·u²` from the state *before* the update,
 * reward `−cost`;
 * `θ̇' = clip(θ̇ + (3g/(2l)·sin θ + 3/(m·l²)·u)·dt, −8, 8)`; `θ' = θ + θ̇'·dt` (θ is not
 * wrapped). Never terminated. The observation is the float32 rounding of
 * `[cos θ, sin θ, θ̇]`.
 *
 * `reset({ key })` draws `θ = −x_init + 2·x_init·u₀` and then `θ̇ = −y_init + 2·y_init·u₁`
 * with `[u₀, u₁] = Key.uniforms(key, 2)` (Gymnasium's `low + (high − low)·d` with
 * `low = −high`); `reset({ state: [θ, θ̇] })` starts from exactly that state (any finite
 * values, also |θ̇| > 8). The snapshot state is `[θ, θ̇]`.
 *
 * Actions: an array-like of length 1 (a `Float64Array` from the policy) or, as a
 * shorthand, the number itself. Finite values outside [−2, 2] are clipped, as in
 * Gymnasium. An array of another length or a non-finite value throws
 * {@link Env.InvalidActionError} naming the env and the space, where Gymnasium would crash
 * (empty array), silently use the first element (longer array), clip ±∞, or carry NaN
 * into the state forever.
 *
 * **Gotchas**: the action enters the dynamics as a double, as in Gymnasium with a float64
 * action or numpy 1.x (NumPy 2 keeps `3·u` and `0.001·u²` of a float32 action in float32).
 * The reward uses the *clipped* torque. `x²` is written `x·x` where Gymnasium writes `x**2`
 * (C `pow`), which may differ by one ulp in the reward. Stepping before the first reset
 * throws {@link Env.InvalidStateError}.
 *
 * @category constructors
 */
export const make = (options?: Options): Env.Env => {
  const { g, xInit, yInit } = parseOptions(options)
  // Gymnasium's `3 * g / (2 * l)` and `3.0 / (m * l**2)`, evaluated once in the same order.
  const gravityTerm = (3 * g) / (2 * length)
  const torqueTerm = 3.0 / (mass * (length * length))
  let theta = 0
  let thetaDot = 0
  const observe = (): Float32Array => {
    const observation = new Float32Array(3)
    observation[0] = Math.cos(theta)
    observation[1] = Math.sin(theta)
    observation[2] = thetaDot
    return observation
  }
  return Env.episodic({
    id,
    observationSpace,
    actionSpace,
    components,
    initial: (key) => {
      // Gymnasium's `low = -high` and numpy's `low + (high - low) * d`, θ then θ̇.
      const u = Key.uniforms(key, 2)
      const thetaLow = -xInit
      const thetaDotLow = -yInit
      return [thetaLow + (xInit - thetaLow) * u[0]!, thetaDotLow + (yInit - thetaDotLow) * u[1]!]
    },
    set: (state) => {
      theta = state[0]!
      thetaDot = state[1]!
    },
    get: () => [theta, thetaDot],
    observe,
    step: (action) => {
      const a = Env.scalarAction(id, actionSpace, action)
      const u = a < -maxTorque ? -maxTorque : a > maxTorque ? maxTorque : a
      const normalized = angleNormalize(theta)
      const cost = normalized * normalized + 0.1 * (thetaDot * thetaDot) + 0.001 * (u * u)
      const accelerated = thetaDot + (gravityTerm * Math.sin(theta) + torqueTerm * u) * dt
      thetaDot = accelerated < -maxSpeed ? -maxSpeed : accelerated > maxSpeed ? maxSpeed : accelerated
      theta = theta + thetaDot * dt
      return { observation: observe(), reward: -cost, terminated: false, truncated: false }
    }
  })
}
