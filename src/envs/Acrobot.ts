/**
 * Acrobot-v1: Gymnasium's two-link underactuated pendulum (Sutton, "Generalization in
 * reinforcement learning: successful examples using sparse coarse coding", 1996; Sutton &
 * Barto, "Reinforcement Learning: An Introduction", 2018), with the "book" dynamics and no
 * torque noise, transcribed operation for operation from
 * `gymnasium/envs/classic_control/acrobot.py` (v1.0–v1.3).
 *
 * {@link make} returns the raw dynamics, which never truncate; the registered
 * `"Acrobot-v1"` adds Gymnasium's 500-step time limit (see `Registry.ts`, `TimeLimit.ts`).
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
export const id = "Acrobot-v1"

/** Seconds per step: one classic RK4 step of this length (Gymnasium's `dt`). @category constants */
export const dt = 0.2
/** Length of the first link, m (`LINK_LENGTH_1`; the second's only matters for rendering). @category constants */
export const linkLength1 = 1.0
/** Mass of the first link, kg (`LINK_MASS_1`). @category constants */
export const linkMass1 = 1.0
/** Mass of the second link, kg (`LINK_MASS_2`). @category constants */
export const linkMass2 = 1.0
/** Position of the first link's centre of mass along it, m (`LINK_COM_POS_1`). @category constants */
export const linkComPos1 = 0.5
/** Position of the second link's centre of mass along it, m (`LINK_COM_POS_2`). @category constants */
export const linkComPos2 = 0.5
/** Moment of inertia of either link, kg·m² (`LINK_MOI`). @category constants */
export const linkMoi = 1.0
/** g, m/s² (hard-coded in Gymnasium's `_dsdt`). @category constants */
export const gravity = 9.8
/** |θ̇₁| is clipped to 4π rad/s after every step (`MAX_VEL_1`). @category constants */
export const maxVel1 = 4 * Math.PI
/** |θ̇₂| is clipped to 9π rad/s after every step (`MAX_VEL_2`). @category constants */
export const maxVel2 = 9 * Math.PI
/** The torque on the second joint for actions 0, 1, 2, N·m (`AVAIL_TORQUE`). @category constants */
export const availTorque: ReadonlyArray<number> = [-1.0, 0.0, 1.0]

const m1 = linkMass1
const m2 = linkMass2
const l1 = linkLength1
const lc1 = linkComPos1
const lc2 = linkComPos2
const I1 = linkMoi
const I2 = linkMoi
const g = gravity
const halfPi = Math.PI / 2.0
// rk4's `dt / 2.0` and `dt / 6.0`, with `dt = t[1] − t[0] = 0.2 − 0`.
const halfStep = dt / 2.0
const sixthStep = dt / 6.0

/**
 * `Discrete(3)`: torque −1, 0, +1 on the joint between the links.
 *
 * @category constants
 */
export const actionSpace: Space.Discrete = Space.discrete(3)

/**
 * Gymnasium's float32 box `±[1, 1, 1, 1, 4π, 9π]` over
 * `[cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂]`; the velocity bounds are the float32 values
 * (`Math.fround(4π) = 12.566371…`, slightly above the double 4π), as numpy stores them.
 *
 * @category constants
 */
export const observationSpace: Space.Box = (() => {
  const high = [1, 1, 1, 1, Math.fround(maxVel1), Math.fround(maxVel2)]
  return Space.box(high.map((h) => -h), high)
})()

/**
 * Gymnasium's `wrap(x, m, M)`: subtracts `M − m` while `x > M`, then adds it while `x < m`.
 *
 * **Gotchas**: repeated subtraction, not a modulo: each pass rounds, so `wrap(20, −π, π)`
 * is `((20 − 2π) − 2π) − 2π`, which may differ in the last bit from `20 − 6π`. The ends
 * are kept (`wrap(π) = π`, `wrap(−π) = −π`). A huge `x` loops `|x|/2π` times, as in
 * Gymnasium; the dynamics never produce one (|θ̇| is bounded).
 *
 * @category utils
 */
export const wrap = (x: number, m: number, M: number): number => {
  const diff = M - m
  while (x > M) x = x - diff
  while (x < m) x = x + diff
  return x
}

// Gymnasium's `bound`: Python's min(max(x, m), M).
const bound = (x: number, m: number, M: number): number => {
  const lower = m > x ? m : x
  return M < lower ? M : lower
}

// Gymnasium's `_dsdt` ("book" branch) at (θ₁, θ₂, θ̇₁, θ̇₂) with torque a, written into
// out[at..at+3] (the fifth derivative, of the torque, is 0). Every expression keeps Python's
// left-to-right association; only `x**2` becomes `x·x`.
const derivatives = (
  theta1: number,
  theta2: number,
  dtheta1: number,
  dtheta2: number,
  a: number,
  out: Float64Array,
  at: number
): void => {
  const cos2 = Math.cos(theta2)
  const sin2 = Math.sin(theta2)
  const d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos2) + I1 + I2
  const d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + I2
  const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - halfPi)
  const phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
    2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
    (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - halfPi) +
    phi2
  const ddtheta2 = (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) /
    (m2 * (lc2 * lc2) + I2 - (d2 * d2) / d1)
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
  out[at] = dtheta1
  out[at + 1] = dtheta2
  out[at + 2] = ddtheta1
  out[at + 3] = ddtheta2
}

/**
 * Gymnasium's `_dsdt`: the time derivative of the augmented state
 * `[θ₁, θ₂, θ̇₁, θ̇₂, τ]` ("book" dynamics, Sutton & Barto), in Gymnasium's order:
 * `d₁ = m₁l_c1² + m₂(l₁² + l_c2² + 2l₁l_c2 cos θ₂) + I₁ + I₂`,
 * `d₂ = m₂(l_c2² + l₁l_c2 cos θ₂) + I₂`,
 * `φ₂ = m₂l_c2·g·cos(θ₁ + θ₂ − π/2)`,
 * `φ₁ = −m₂l₁l_c2θ̇₂² sin θ₂ − 2m₂l₁l_c2θ̇₂θ̇₁ sin θ₂ + (m₁l_c1 + m₂l₁)g cos(θ₁ − π/2) + φ₂`,
 * `θ̈₂ = (τ + d₂/d₁·φ₁ − m₂l₁l_c2θ̇₁² sin θ₂ − φ₂) / (m₂l_c2² + I₂ − d₂²/d₁)`,
 * `θ̈₁ = −(d₂θ̈₂ + φ₁)/d₁`; returns `[θ̇₁, θ̇₂, θ̈₁, θ̈₂, 0]`.
 *
 * **Gotchas**: angles are measured from hanging straight down (θ₁ = 0) and θ₂ relative to
 * the first link. `cos(−π/2)` is 6.1e−17, not 0, so the gravity terms at rest are ~1e−15
 * rather than 0, as in Gymnasium. `x²` is written `x·x` where Gymnasium writes `x**2`.
 *
 * @param augmented `[θ₁, θ₂, θ̇₁, θ̇₂, τ]`; another length is a `RangeError`
 * @category utils
 */
export const dsdt = (augmented: ArrayLike<number>): Float64Array => {
  if (augmented.length !== 5) {
    throw new RangeError(`Acrobot.dsdt: expected [θ₁, θ₂, θ̇₁, θ̇₂, τ], got ${augmented.length} values`)
  }
  const out = new Float64Array(5)
  derivatives(augmented[0]!, augmented[1]!, augmented[2]!, augmented[3]!, augmented[4]!, out, 0)
  return out
}

/**
 * Constructor options, Gymnasium's `reset(options={"low", "high"})`: the bounds of the
 * uniform initial state (default −0.1, 0.1).
 *
 * @category models
 */
export type Options = Env.UniformResetOptions

/** The components of a state, as the errors name them. */
const components = ["theta1", "theta2", "dtheta1", "dtheta2"]


/**
 * A fresh Acrobot-v1, without a time limit (`maxEpisodeSteps: undefined`).
 *
 * The state is `(θ₁, θ₂, θ̇₁, θ̇₂)`, both links hanging down at 0. One step with action
 * `i` holds the torque `τ = [−1, 0, +1][i]` constant over one classic RK4 step of
 * `dt = 0.2` on the augmented state `y = [θ₁, θ₂, θ̇₁, θ̇₂, τ]` with derivative
 * {@link dsdt}, exactly as Gymnasium's `rk4`:
 * `k₁ = f(y)`, `k₂ = f(y + dt/2·k₁)`, `k₃ = f(y + dt/2·k₂)`, `k₄ = f(y + dt·k₃)`,
 * `y' = y + dt/6·(((k₁ + 2k₂) + 2k₃) + k₄)`;
 * then θ₁, θ₂ are wrapped into [−π, π] by {@link wrap}, θ̇₁ clipped to ±4π and θ̇₂ to ±9π.
 * Terminated when the tip is above the bar, `−cos θ₁ − cos(θ₂ + θ₁) > 1` (strictly), on the
 * new state. Reward −1 per step, 0 on a terminated step. The observation is the float32
 * rounding of `[cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂]`.
 *
 * `reset({ key })` draws each component as `low + (high − low)·Key.uniforms(key, 4)[i]`
 * and rounds it to float32 (Gymnasium's `.astype(np.float32)`); the state is float64 from
 * the first step on. `reset({ state })` starts from exactly that state (any finite values,
 * not rounded, not wrapped). The snapshot state is `[θ₁, θ₂, θ̇₁, θ̇₂]`.
 *
 * Actions: the integers 0, 1, 2; anything else throws {@link Env.InvalidActionError}
 * (Gymnasium would index its torque list: −1 silently means +1).
 *
 * **Gotchas**: stepping after termination keeps integrating and pays 0 for every
 * terminated step, as Gymnasium does. Gymnasium evaluates the *reset* observation's
 * cos/sin on float32 scalars in float32 arithmetic; we evaluate them in double and round,
 * which may differ in the last float32 bit (later observations come from float64 states in
 * both). `x²` is written `x·x` where Gymnasium writes `x**2` (C `pow`). Stepping or taking
 * a snapshot before the first reset throws {@link Env.InvalidStateError}.
 *
 * @category constructors
 */
export const make = (options?: Options): Env.Env => {
  const bounds = Env.uniformResetBounds(id, options, { low: -0.1, high: 0.1 })
  let theta1 = 0
  let theta2 = 0
  let dtheta1 = 0
  let dtheta2 = 0
  // k₁…k₄ of the RK4 step, 4 entries each; reused, so a step allocates only its result.
  const k = new Float64Array(16)

  const observe = (): Float32Array => {
    const observation = new Float32Array(6)
    observation[0] = Math.cos(theta1)
    observation[1] = Math.sin(theta1)
    observation[2] = Math.cos(theta2)
    observation[3] = Math.sin(theta2)
    observation[4] = dtheta1
    observation[5] = dtheta2
    return observation
  }

  return Env.episodic({
    id,
    observationSpace,
    actionSpace,
    components,
    initial: (key) => {
      const u = Key.uniforms(key, 4)
      const span = bounds.high - bounds.low
      return [
        Math.fround(bounds.low + span * u[0]!),
        Math.fround(bounds.low + span * u[1]!),
        Math.fround(bounds.low + span * u[2]!),
        Math.fround(bounds.low + span * u[3]!)
      ]
    },
    set: (state) => {
      theta1 = state[0]!
      theta2 = state[1]!
      dtheta1 = state[2]!
      dtheta2 = state[3]!
    },
    get: () => [theta1, theta2, dtheta1, dtheta2],
    observe,
    step: (action) => {
      if (action !== 0 && action !== 1 && action !== 2) throw Env.invalidAction(id, actionSpace, action)
      const torque = availTorque[action]!
      // Gymnasium's rk4(_dsdt, [s, torque], [0, dt]). The torque's own derivative is 0, so
      // every stage sees `torque + dt/2·0 = torque` exactly; we pass it unchanged.
      derivatives(theta1, theta2, dtheta1, dtheta2, torque, k, 0)
      for (let stage = 1; stage < 4; stage++) {
        // k₂ and k₃ at y + dt/2·k, k₄ at y + dt·k₃.
        const h = stage === 3 ? dt : halfStep
        const from = 4 * (stage - 1)
        derivatives(
          theta1 + h * k[from]!,
          theta2 + h * k[from + 1]!,
          dtheta1 + h * k[from + 2]!,
          dtheta2 + h * k[from + 3]!,
          torque,
          k,
          4 * stage
        )
      }
      const next1 = theta1 + sixthStep * (k[0]! + 2 * k[4]! + 2 * k[8]! + k[12]!)
      const next2 = theta2 + sixthStep * (k[1]! + 2 * k[5]! + 2 * k[9]! + k[13]!)
      const next3 = dtheta1 + sixthStep * (k[2]! + 2 * k[6]! + 2 * k[10]! + k[14]!)
      const next4 = dtheta2 + sixthStep * (k[3]! + 2 * k[7]! + 2 * k[11]! + k[15]!)
      theta1 = wrap(next1, -Math.PI, Math.PI)
      theta2 = wrap(next2, -Math.PI, Math.PI)
      dtheta1 = bound(next3, -maxVel1, maxVel1)
      dtheta2 = bound(next4, -maxVel2, maxVel2)
      const terminated = -Math.cos(theta1) - Math.cos(theta2 + theta1) > 1.0
      return { observation: observe(), reward: terminated ? 0.0 : -1.0, terminated, truncated: false }
    }
  })
}
