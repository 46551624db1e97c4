/**
 * Gymnasium's `TimeLimit` wrapper: truncates an episode after a fixed number of steps.
 *
 * @since 0.1.0
 */
import * as Env from "./Env.ts"

/**
 * `env` with a time limit of `maxEpisodeSteps`: the step counter restarts at every reset,
 * and the step that brings it to `maxEpisodeSteps` (and every later one) reports
 * `truncated = true`; `terminated` is passed through, so both may be true on the same step.
 * The wrapper keeps the inner env's id and spaces and reports `maxEpisodeSteps`; its
 * snapshots carry the step counter in `elapsedSteps`.
 *
 * **Gotchas**: a step rejected by the inner env (invalid action) is not counted, as in
 * Gymnasium; wrapping twice truncates at the smaller limit but reports the outer one.
 *
 * @param maxEpisodeSteps a positive integer (Gymnasium's `max_episode_steps`)
 * @category combinators
 */
export const wrap = (env: Env.Env, maxEpisodeSteps: number): Env.Env => {
  if (!Number.isSafeInteger(maxEpisodeSteps) || maxEpisodeSteps < 1) {
    throw new RangeError(`TimeLimit.wrap: maxEpisodeSteps must be a positive integer, got ${maxEpisodeSteps}`)
  }
  let elapsedSteps = 0

  return {
    id: env.id,
    observationSpace: env.observationSpace,
    actionSpace: env.actionSpace,
    maxEpisodeSteps,

    reset(from: Env.Reset): Float32Array {
      const observation = env.reset(from)
      elapsedSteps = 0
      return observation
    },

    step(action: Env.Action): Env.Step {
      const result = env.step(action)
      elapsedSteps++
      // Only the truncating step pays for a new result object.
      if (elapsedSteps < maxEpisodeSteps || result.truncated) return result
      return { observation: result.observation, reward: result.reward, terminated: result.terminated, truncated: true }
    },

    snapshot(): Env.Snapshot {
      return { ...env.snapshot(), elapsedSteps }
    },

    restore(snapshot: Env.Snapshot): void {
      const steps = Env.elapsedStepsOf(env.id, snapshot)
      env.restore(snapshot)
      elapsedSteps = steps
    }
  }
}
