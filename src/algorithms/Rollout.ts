/**
 * Collecting experience: a vector of environments stepped in lockstep for `stepsPerEnv` steps
 * with the current policy, acting through the plain TypeScript forward pass on the whole batch
 * of observations at once (a tensor call's fixed cost exceeds the arithmetic for a handful of
 * observations).
 *
 * The environments are a `VectorEnv` (same-step autoreset; copy e's k-th episode starts from
 * `foldIn(foldIn(envKey, e), k)`) under the recipe's wrappers, innermost first: episode
 * statistics (raw rewards), action clipping, reward scaling, observation normalisation.
 *
 * **Batch layout** (everywhere in trustregion): time-major, row `t·numEnvs + e` holds env `e`
 * at step `t`. Environments persist across batches; an episode that ends inside a batch is
 * reset at once (its final observation is kept for bootstrapping when it was truncated).
 *
 * **Keys**: the action of row `r` is drawn with `foldIn(rolloutKey, r)`.
 *
 * @since 0.1.0
 */
import * as Distribution from "../algebra/Distribution.ts"
import * as Key from "../algebra/Key.ts"
import * as Mlp from "../algebra/Mlp.ts"
import * as Normalize from "../algebra/Normalize.ts"
import * as Policy from "../algebra/Policy.ts"
import type * as Env from "../envs/Env.ts"
import * as VectorEnv from "../envs/VectorEnv.ts"
import * as Wrappers from "../envs/Wrappers.ts"

/**
 * The environments between batches: the wrapped vector env, and handles on the wrappers whose
 * state the loop reads (episode statistics, observation and return statistics).
 *
 * @category models
 */
export interface State {
  readonly venv: Wrappers.WithObservationStats
  readonly statistics: Wrappers.WithStatistics
  readonly rewards: Wrappers.WithRewardScale
}

/**
 * One batch of experience.
 *
 * @category models
 */
export interface Batch {
  readonly numSteps: number
  readonly numEnvs: number
  readonly size: number
  /** `[size, observationSize]`, normalised as the policy saw them. */
  readonly observations: Float32Array
  /** `[size, actionSize]`: the policy's actions (before any clipping for the env). */
  readonly actions: Float64Array
  /** Rewards as the algorithm sees them (after any reward scaling). */
  readonly rewards: Float64Array
  readonly terminations: Uint8Array
  readonly truncations: Uint8Array
  /**
   * Observations to bootstrap from, `[numBootstrap, observationSize]`: the final observation
   * of every truncated step, then each env's next observation after the batch.
   */
  readonly bootstrapObservations: Float32Array
  /**
   * For each row, the bootstrap row holding V(s_{t+1}) when it is not row `t + numEnvs`:
   * a truncated step's final observation, or the batch end; −1 otherwise.
   */
  readonly bootstrapIndex: Int32Array
  /** Undiscounted (raw) returns and lengths of the episodes that ended in this batch, in order. */
  readonly episodeReturns: ReadonlyArray<number>
  readonly episodeLengths: ReadonlyArray<number>
}

/**
 * Creates `numEnvs` environments with `makeEnv`, starts each one's first episode and wraps the
 * vector env.
 *
 * @category constructors
 */
export const init = (
  makeEnv: (index: number) => Env.Env,
  numEnvs: number,
  envKey: Key.Key,
  normalizer: Normalize.Observation = Normalize.identity(),
  rewardScaling: Wrappers.RewardScaling = Wrappers.unscaled()
): State => {
  const statistics = Wrappers.recordEpisodeStatistics(VectorEnv.make(makeEnv, numEnvs, envKey))
  const rewards = Wrappers.scaleRewards(Wrappers.clipActions(statistics), rewardScaling)
  return { venv: Wrappers.normalizeObservations(rewards, normalizer), statistics, rewards }
}

/**
 * Steps the vector env `stepsPerEnv` times with actions drawn from π_θ (advancing `state`) and
 * returns the batch.
 *
 * @throws Env.InvalidActionError when an env rejects an action
 * @category functions
 */
export const collect = (state: State, policy: Policy.Spec, params: Float64Array, rolloutKey: Key.Key, stepsPerEnv: number): Batch => {
  const { venv } = state
  const numEnvs = venv.numEnvs
  const size = numEnvs * stepsPerEnv
  const width = venv.observationSpace.low.length
  const dist = policy.distribution
  const actionSize = Distribution.actionSize(dist)
  const outputSize = Distribution.outputSize(dist)
  const extra = Policy.extra(policy, params)
  const network = Mlp.hostNetwork(policy.network, params)

  const observations = new Float32Array(size * width)
  const actions = new Float64Array(size * actionSize)
  const rewards = new Float64Array(size)
  const terminations = new Uint8Array(size)
  const truncations = new Uint8Array(size)
  const bootstrapIndex = new Int32Array(size).fill(-1)
  const bootstrapRows: Array<Float32Array> = []
  const outputs = new Float64Array(numEnvs * outputSize)
  const stepActions = new Float64Array(numEnvs * actionSize)

  for (let t = 0; t < stepsPerEnv; t++) {
    const inputs = venv.observations
    observations.set(inputs, t * numEnvs * width)
    network.forward(inputs, numEnvs, outputs)
    for (let e = 0; e < numEnvs; e++) Distribution.sampleInto(dist, Key.foldIn(rolloutKey, t * numEnvs + e), outputs, extra, e, stepActions)
    actions.set(stepActions, t * numEnvs * actionSize)
    const step = venv.step(stepActions)
    for (let e = 0; e < numEnvs; e++) {
      const row = t * numEnvs + e
      rewards[row] = step.rewards[e]!
      terminations[row] = step.terminations[e]!
      truncations[row] = step.truncations[e]!
      if (step.truncations[e] === 1 && step.terminations[e] === 0) {
        bootstrapIndex[row] = bootstrapRows.length
        bootstrapRows.push(step.finalObservations[e]!)
      }
    }
  }
  // Each env's next observation after the batch, for rows of the last step that did not end.
  for (let e = 0; e < numEnvs; e++) {
    const row = (stepsPerEnv - 1) * numEnvs + e
    if (terminations[row] === 0 && truncations[row] === 0) {
      bootstrapIndex[row] = bootstrapRows.length
      bootstrapRows.push(venv.observations.slice(e * width, (e + 1) * width))
    }
  }
  const bootstrapObservations = new Float32Array(bootstrapRows.length * width)
  bootstrapRows.forEach((row, i) => bootstrapObservations.set(row, i * width))
  const episodes = state.statistics.drainEpisodes()
  return {
    numSteps: stepsPerEnv,
    numEnvs,
    size,
    observations,
    actions,
    rewards,
    terminations,
    truncations,
    bootstrapObservations,
    bootstrapIndex,
    episodeReturns: episodes.returns,
    episodeLengths: episodes.lengths
  }
}

/**
 * `V(s_{t+1})` for every row, from the values of the batch's observations and of its bootstrap
 * observations: row `t + numEnvs`'s value inside an episode, the bootstrap value at a
 * truncation or at the batch end, and 0 after a termination (never used: no bootstrap).
 *
 * @category functions
 */
export const nextValues = (batch: Batch, values: ArrayLike<number>, bootstrapValues: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(batch.size)
  for (let row = 0; row < batch.size; row++) {
    const b = batch.bootstrapIndex[row]!
    if (b >= 0) out[row] = bootstrapValues[b]!
    else if (batch.terminations[row] === 0) out[row] = values[row + batch.numEnvs]!
  }
  return out
}
