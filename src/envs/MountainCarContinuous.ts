/**
 * MountainCarContinuous-v0: Gymnasium's underpowered car in a valley with a continuous
 * force, rewarded for reaching the flag and charged for fuel (Moore, "Efficient
 * memory-based learning for robot control", PhD thesis, 1990), transcribed operation for
 * operation from `gymnasium/envs/classic_control/continuous_mountain_car.py` (v1.0–v1.3).
 * The discrete variant is `MountainCar.ts`.
 *
 * {@link make} returns the raw dynamics, which never truncate; the registered
 * `"MountainCarContinuous-v0"` adds Gymnasium's 999-step time limit (see `Registry.ts`,
 * `TimeLimit.ts`).
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
export const id = "MountainCarContinuous-v0"

/** The force is clipped to at least this (`min_action`). @category constants */
export const minAction = -1.0
/** The force is clipped to at most this (`max_action`). @category constants */
export const maxAction = 1.0
/** The left wall: positions are clipped to at least this. @category constants */
export const minPosition = -1.2
/** The right end: positions are clipped to at most this. @category constants */
export const maxPosition = 0.6
/** |v| is clipped to this after every velocity update. @category constants */
export const maxSpeed = 0.07
/** The episode terminates when the position reaches this (with `v ≥ goalVelocity`). @category constants */
export const goalPosition = 0.45
/** The least velocity at the goal that terminates (Gymnasium's default `goal_velocity=0`). @category constants */
export const goalVelocity = 0
/** Velocity change per unit of force: `v += f·power` (Gymnasium's `power`). @category constants */
export const power = 0.0015
/** The slope's pull: `−gravity·cos(3p)` per step (a literal `0.0025` in Gymnasium's `step`). @category constants */
export const gravity = 0.0025
/** The reward of the terminating step, before the fuel cost. @category constants */
export const goalReward = 100.0

/**
 * `Box(-1, 1, (1,))`: the force, positive to the right.
 *
 * @category constants
 */
export const actionSpace: Space.Box = Space.box([minAction], [maxAction], [1])

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
 * A fresh MountainCarContinuous-v0, without a time limit (`maxEpisodeSteps: undefined`).
 *
 * One step with action `a`, in Gymnasium's order of operations, in double arithmetic:
 * `f = clip(a, −1, 1)`; `v ← clip(v + f·0.0015 − 0.0025·cos(3p), −0.07, 0.07)`;
 * `p ← clip(p + v, −1.2, 0.6)`; if `p = −1.2` and `v < 0` then `v ← 0`. Terminated when
 * `p ≥ 0.45` and `v ≥ 0`, tested on these doubles. Reward
 * `(100 if terminated else 0) − a²·0.1` with the **unclipped** `a`. Then the state is
 * stored as float32 (both components), and the observation is that state.
 *
 * `reset({ key })` draws `p = low + (high − low)·Key.uniforms(key, 1)[0]` and sets `v = 0`,
 * kept in float64 until the first step (as Gymnasium); the observation is its float32
 * rounding. `reset({ state: [p, v] })` starts from exactly that state (any finite values).
 * The snapshot state is `[p, v]`.
 *
 * Actions: an array-like of length 1 (a `Float64Array` from the policy) or, as a
 * shorthand, the number itself. Finite values outside [−1, 1] move the car like ±1 but pay
 * for their full size, as in Gymnasium. An array of another length or a non-finite value
 * throws {@link Env.InvalidActionError} naming the env and the space, where Gymnasium
 * would crash (empty array), silently use the first element (longer array), or carry NaN
 * or ±∞ into the reward.
 *
 * **Gotchas**: because the state is rounded to float32 *after* the termination test, a
 * terminating position in `[0.45, 0.450000003)` is stored and observed as
 * `Math.fround(0.45) = 0.4499999881`, below the goal; a car at the left wall is stored at
 * `Math.fround(−1.2) = −1.2000000477`, left of the wall, and a velocity of 0.07 as
 * 0.0700000003. The action enters as a double (a float32 action is exact), as in
 * Gymnasium with numpy 1.x (NumPy 2 may keep `f·0.0015` in float32). `a²` is written `a·a`
 * where Gymnasium writes `math.pow(a, 2)`. Stepping after termination keeps moving and
 * pays 100 again on every terminated step, as Gymnasium does. Stepping or taking a
 * snapshot before the first reset throws {@link Env.InvalidStateError}.
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
      const a = Env.scalarAction(id, actionSpace, action)
      // Python's min(max(a, −1), 1).
      const lifted = minAction > a ? minAction : a
      const f = maxAction < lifted ? maxAction : lifted
      // Python's `velocity += …` adds the whole right-hand side at once.
      let v = velocity + (f * power - gravity * Math.cos(3 * position))
      if (v > maxSpeed) v = maxSpeed
      if (v < -maxSpeed) v = -maxSpeed
      let p = position + v
      if (p > maxPosition) p = maxPosition
      if (p < minPosition) p = minPosition
      if (p === minPosition && v < 0) v = 0
      const terminated = p >= goalPosition && v >= goalVelocity
      const reward = (terminated ? goalReward : 0) - a * a * 0.1
      // Gymnasium: self.state = np.array([position, velocity], dtype=np.float32).
      position = Math.fround(p)
      velocity = Math.fround(v)
      return { observation: observe(), reward, terminated, truncated: false }
    }
  })
}
