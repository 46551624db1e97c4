/**
 * CartPole-v1: Gymnasium's cart-pole dynamics (Barto, Sutton & Anderson, "Neuronlike
 * adaptive elements that can solve difficult learning control problems", 1983), transcribed
 * operation for operation from `gymnasium/envs/classic_control/cartpole.py` (v1.0–v1.3).
 *
 * {@link make} returns the raw dynamics, which never truncate; the registered
 * `"CartPole-v1"` adds Gymnasium's 500-step time limit (see `Registry.ts`, `TimeLimit.ts`).
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
export const id = "CartPole-v1"

/** g, m/s². @category constants */
export const gravity = 9.8
/** Mass of the cart, kg. @category constants */
export const massCart = 1.0
/** Mass of the pole, kg. @category constants */
export const massPole = 0.1
/** `massPole + massCart`, summed in Gymnasium's order. @category constants */
export const totalMass = massPole + massCart
/** Half the pole's length, m (Gymnasium's `length`). @category constants */
export const length = 0.5
/** `massPole · length`. @category constants */
export const poleMassLength = massPole * length
/** |F| of a push, N: action 1 pushes +10, action 0 pushes −10. @category constants */
export const forceMag = 10.0
/** Seconds per step (explicit Euler, Gymnasium's `kinematics_integrator = "euler"`). @category constants */
export const tau = 0.02
/** The episode terminates when |θ| exceeds 12° (strictly), in radians. @category constants */
export const thetaThresholdRadians = (12 * 2 * Math.PI) / 360
/** The episode terminates when |x| exceeds 2.4 m (strictly). @category constants */
export const xThreshold = 2.4

const float32Max = 3.4028234663852886e38

/**
 * `Discrete(2)`: 0 pushes the cart left, 1 pushes it right.
 *
 * @category constants
 */
export const actionSpace: Space.Discrete = Space.discrete(2)

/**
 * Gymnasium's float32 box `±[2·xThreshold, f32max, 2·thetaThreshold, f32max]`; the bounds
 * are the float32 values (`Math.fround(4.8)`, `Math.fround(0.41887902…)`), as numpy stores them.
 *
 * @category constants
 */
export const observationSpace: Space.Box = (() => {
  const high = [Math.fround(xThreshold * 2), float32Max, Math.fround(thetaThresholdRadians * 2), float32Max]
  return Space.box(high.map((h) => -h), high)
})()

/**
 * Constructor options, Gymnasium's `reset(options={"low", "high"})`: the bounds of the
 * uniform initial state (default −0.05, 0.05). Custom bounds may start outside the
 * termination thresholds, as in Gymnasium.
 *
 * @category models
 */
export type Options = Env.UniformResetOptions

/** The components of a state, as the errors name them. */
const components = ["x", "x_dot", "theta", "theta_dot"]


/**
 * A fresh CartPole-v1, without a time limit (`maxEpisodeSteps: undefined`).
 *
 * One step from `(x, ẋ, θ, θ̇)` with force `F = ±10`, all from the old state:
 * `temp = (F + m_p·l·θ̇²·sin θ) / (m_c + m_p)`,
 * `θ̈ = (g·sin θ − cos θ·temp) / (l·(4/3 − m_p·cos²θ / (m_c + m_p)))`,
 * `ẍ = temp − m_p·l·θ̈·cos θ / (m_c + m_p)`, then
 * `x += τ·ẋ, ẋ += τ·ẍ, θ += τ·θ̇, θ̇ += τ·θ̈`.
 * Terminated when `|x| > 2.4` or `|θ| > 12°`. Reward 1 on every step, the terminating one
 * included. The state is float64; the observation is its float32 rounding.
 *
 * `reset({ key })` draws each component as `low + (high − low)·Key.uniforms(key, 4)[i]`;
 * `reset({ state })` starts from exactly that state.
 *
 * The snapshot state is `[x, ẋ, θ, θ̇, fell]`, where `fell` is 1 once the episode has
 * terminated (Gymnasium's `steps_beyond_terminated is not None`); `restore` also accepts the
 * 4 physical components alone (`fell = 0`).
 *
 * **Gotchas**: stepping after termination keeps integrating, as Gymnasium does; like
 * Gymnasium, every later terminated step then earns reward 0 (Gymnasium also logs a
 * warning, which we omit). `x²` is written `x·x` where Gymnasium writes `x**2` (C `pow`),
 * which may differ by one ulp. Stepping before the first reset throws
 * {@link Env.InvalidStateError}.
 *
 * @category constructors
 */
export const make = (options?: Options): Env.Env => {
  const bounds = Env.uniformResetBounds(id, options, { low: -0.05, high: 0.05 })
  let x = 0
  let xDot = 0
  let theta = 0
  let thetaDot = 0
  // Gymnasium's steps_beyond_terminated !== None.
  let fell = false
  const observe = (): Float32Array => {
    const observation = new Float32Array(4)
    observation[0] = x
    observation[1] = xDot
    observation[2] = theta
    observation[3] = thetaDot
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
      return [bounds.low + span * u[0]!, bounds.low + span * u[1]!, bounds.low + span * u[2]!, bounds.low + span * u[3]!]
    },
    // An initial state is the 4 physical components; a snapshot's may add the `fell` flag.
    check: (state, what) => {
      if (what === "initial state" && state.length !== 4) throw Env.stateError(id, `initial state must have 4 components, got ${state.length}`)
      if (state.length !== 4 && state.length !== 5) throw Env.stateError(id, `snapshot state must have 4 or 5 components, got ${state.length}`)
      Env.checkFinite(id, state, components, what)
      const flag = state.length === 5 ? state[4] : 0
      if (flag !== 0 && flag !== 1) throw Env.stateError(id, `snapshot termination flag must be 0 or 1, got ${flag}`)
    },
    set: (state) => {
      x = state[0]!
      xDot = state[1]!
      theta = state[2]!
      thetaDot = state[3]!
      fell = state[4] === 1
    },
    get: () => [x, xDot, theta, thetaDot, fell ? 1 : 0],
    observe,
    step: (action) => {
      if (action !== 0 && action !== 1) throw Env.invalidAction(id, actionSpace, action)
      const force = action === 1 ? forceMag : -forceMag
      const cosTheta = Math.cos(theta)
      const sinTheta = Math.sin(theta)
      const temp = (force + poleMassLength * (thetaDot * thetaDot) * sinTheta) / totalMass
      const thetaAcc = (gravity * sinTheta - cosTheta * temp) /
        (length * (4.0 / 3.0 - (massPole * (cosTheta * cosTheta)) / totalMass))
      const xAcc = temp - (poleMassLength * thetaAcc * cosTheta) / totalMass
      x = x + tau * xDot
      xDot = xDot + tau * xAcc
      theta = theta + tau * thetaDot
      thetaDot = thetaDot + tau * thetaAcc
      const terminated = x < -xThreshold || x > xThreshold || theta < -thetaThresholdRadians ||
        theta > thetaThresholdRadians
      let reward = 1.0
      if (terminated) {
        if (fell) reward = 0.0
        else fell = true
      }
      return { observation: observe(), reward, terminated, truncated: false }
    }
  })
}
