/**
 * MountainCar-v0: Gymnasium's underpowered car in a valley, with three discrete pushes
 * (Moore, "Efficient memory-based learning for robot control", PhD thesis, 1990),
 * transcribed operation for operation from `gymnasium/envs/classic_control/mountain_car.py`
 * (v1.0–v1.3). The continuous-force variant is `MountainCarContinuous.ts`.
 *
 * {@link make} returns the raw dynamics, which never truncate; the registered
 * `"MountainCar-v0"` adds Gymnasium's 200-step time limit (see `Registry.ts`, `TimeLimit.ts`).
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
export const id = "MountainCar-v0"

/** The left wall: positions are clipped to at least this. @category constants */
export const minPosition = -1.2
/** The right end: positions are clipped to at most this. @category constants */
export const maxPosition = 0.6
/** |v| is clipped to this after every velocity update. @category constants */
export const maxSpeed = 0.07
/** The episode terminates when the position reaches this (with `v ≥ goalVelocity`). @category constants */
export const goalPosition = 0.5
/** The least velocity at the goal that terminates (Gymnasium's default `goal_velocity=0`). @category constants */
export const goalVelocity = 0
/** Velocity change of a push: action `a` adds `(a − 1)·force`. @category constants */
export const force = 0.001
/** The slope's pull: `−gravity·cos(3p)` per step (the hill's height is `sin(3p)`). @category constants */
export const gravity = 0.0025

/**
 * `Discrete(3)`: 0 pushes left, 1 does not push, 2 pushes right.
 *
 * @category constants
 */
export const actionSpace: Space.Discrete = Space.discrete(3)

/**
 * Gymnasium's float32 box `[−1.2, −0.07]`–`[0.6, 0.07]` over `[p, v]`; the bounds are the
 * float32 values (`Math.fround(−1.2) = −1.2000000476…`), as numpy stores them.
 *
 * @category constants
 */
export const observationSpace: Space.Box = Space.box(
  [Math.fround(minPosition), Math.fround(-maxSpeed)],
  [Math.fround(maxPosition), Math.fround(maxSpeed)]
)

/**
 * Constructor options, Gymnasium's `reset(options={"low", "high"})`: the bounds of the
 * uniform initial position (default −0.6, −0.4). Custom bounds may start outside the
 * track, as in Gymnasium.
 *
 * @category models
 */
export type Options = Env.UniformResetOptions

/** The components of a state, as the errors name them. */
const components = ["position", "velocity"]


/**
 * A fresh MountainCar-v0, without a time limit (`maxEpisodeSteps: undefined`).
 *
 * The state is `(p, v)` in float64. One step with action `a ∈ {0, 1, 2}`, in Gymnasium's
 * order of operations:
 * `v ← clip(v + ((a − 1)·0.001 + cos(3p)·(−0.0025)), −0.07, 0.07)`;
 * `p ← clip(p + v, −1.2, 0.6)`; if `p = −1.2` and `v < 0` then `v ← 0` (the car stops
 * at the left wall). Terminated when `p ≥ 0.5` and `v ≥ 0`. Reward −1 on every step, the
 * terminating one included. The observation is the float32 rounding of `[p, v]`.
 *
 * `reset({ key })` draws `p = low + (high − low)·Key.uniforms(key, 1)[0]` and sets `v = 0`;
 * `reset({ state: [p, v] })` starts from exactly that state (any finite values). The
 * snapshot state is `[p, v]`.
 *
 * Actions: the integers 0, 1, 2; anything else throws {@link Env.InvalidActionError}, as
 * Gymnasium's `assert self.action_space.contains(action)`.
 *
 * **Gotchas**: the termination test uses the *clipped* velocity and the position after the
 * left-wall rule, both from the same step. Stepping after termination keeps moving (still
 * −1 per step), as in Gymnasium. Stepping or taking a snapshot before the first reset throws
 * {@link Env.InvalidStateError}.
 *
 * @category constructors
 */
export const make = (options?: Options): Env.Env => {
  const bounds = Env.uniformResetBounds(id, options, { low: -0.6, high: -0.4 })
  let position = 0
  let velocity = 0
  const observe = (): Float32Array => {
    const observation = new Float32Array(2)
    observation[0] = position
    observation[1] = velocity
    return observation
  }
  return Env.episodic({
    id,
    observationSpace,
    actionSpace,
    components,
    initial: (key) => [bounds.low + (bounds.high - bounds.low) * Key.uniforms(key, 1)[0]!, 0],
    set: (state) => {
      position = state[0]!
      velocity = state[1]!
    },
    get: () => [position, velocity],
    observe,
    step: (action) => {
      if (action !== 0 && action !== 1 && action !== 2) throw Env.invalidAction(id, actionSpace, action)
      velocity = velocity + ((action - 1) * force + Math.cos(3 * position) * -gravity)
      // np.clip: maximum, then minimum.
      velocity = velocity < -maxSpeed ? -maxSpeed : velocity > maxSpeed ? maxSpeed : velocity
      position = position + velocity
      position = position < minPosition ? minPosition : position > maxPosition ? maxPosition : position
      if (position === minPosition && velocity < 0) velocity = 0
      const terminated = position >= goalPosition && velocity >= goalVelocity
      return { observation: observe(), reward: -1.0, terminated, truncated: false }
    }
  })
}
