/**
 * Collecting experience: `numEnvs` environments stepped in lockstep for `stepsPerEnv` steps
 * with the current policy, acting through the plain TypeScript forward pass (a tensor call's
 * fixed cost exceeds the arithmetic for a handful of observations).
 *
 * **Batch layout** (everywhere in trustregion): time-major, row `t·numEnvs + e` holds env `e`
 * at step `t`. Environments persist across batches; an episode that ends inside a batch is
 * reset at once (its final observation is kept for bootstrapping when it was truncated).
 *
 * **Keys**: the action of row `r` is drawn with `foldIn(rolloutKey, r)`; env `e`'s k-th episode
 * starts from `foldIn(foldIn(envKey, e), k)`. Nothing depends on scheduling.
 *
 * @since 0.1.0
 */
import * as Distribution from "../algebra/Distribution.ts"
import * as Key from "../algebra/Key.ts"
import * as Mlp from "../algebra/Mlp.ts"
import * as Normalize from "../algebra/Normalize.ts"
import * as Policy from "../algebra/Policy.ts"
import type * as Env from "../envs/Env.ts"

/**
 * The environments between batches: their current observations, the running episode
 * statistics and how many episodes each has started (for its reset keys).
 *
 * @category models
 */
export interface State {
  readonly envs: ReadonlyArray<Env.Env>
  readonly envKey: Key.Key
  /** How observations are normalised before the networks see them. */
  readonly normalizer: Normalize.Observation
  /** The running observation statistics (updated with every raw observation collected). */
  stats: Normalize.Stats
  /** `[numEnvs, observationSize]`: the raw observation each env will act on next. */
  readonly observations: Float32Array
  readonly episodeReturns: Float64Array
  readonly episodeLengths: Float64Array
  readonly episodeStarts: Float64Array
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
  /** `[size, actionSize]`. */
  readonly actions: Float64Array
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
  /** Undiscounted returns and lengths of the episodes that ended in this batch, in order. */
  readonly episodeReturns: ReadonlyArray<number>
  readonly episodeLengths: ReadonlyArray<number>
}

const resetKey = (envKey: Key.Key, env: number, episode: number): Key.Key => Key.foldIn(Key.foldIn(envKey, env), episode)

/**
 * Creates `numEnvs` environments with `makeEnv` and starts each one's first episode. The
 * first observations enter the running statistics, as in SB3's `VecNormalize.reset`.
 *
 * @category constructors
 */
export const init = (
  makeEnv: (index: number) => Env.Env,
  numEnvs: number,
  envKey: Key.Key,
  normalizer: Normalize.Observation = Normalize.identity()
): State => {
  const envs = Array.from({ length: numEnvs }, (_, e) => makeEnv(e))
  const width = envs[0]!.observationSpace.low.length
  const observations = new Float32Array(numEnvs * width)
  envs.forEach((env, e) => observations.set(env.reset({ key: resetKey(envKey, e, 0) }), e * width))
  const stats = Normalize.init(width)
  return {
    envs,
    envKey,
    normalizer,
    stats: normalizer._tag === "Identity" ? stats : Normalize.update(stats, observations, numEnvs, width),
    observations,
    episodeReturns: new Float64Array(numEnvs),
    episodeLengths: new Float64Array(numEnvs),
    episodeStarts: new Float64Array(numEnvs).fill(1)
  }
}

/**
 * Steps every env `stepsPerEnv` times with actions drawn from π_θ, mutating `state` (the
 * envs and their running statistics) and returning the batch.
 *
 * @throws Env.InvalidActionError when an env rejects an action
 * @category functions
 */
export const collect = (state: State, policy: Policy.Spec, params: Float64Array, rolloutKey: Key.Key, stepsPerEnv: number): Batch => {
  const { envs } = state
  const numEnvs = envs.length
  const size = numEnvs * stepsPerEnv
  const width = envs[0]!.observationSpace.low.length
  const dist = policy.distribution
  const actionSize = Distribution.actionSize(dist)
  const outputSize = Distribution.outputSize(dist)
  const extra = Policy.extra(policy, params)

  const observations = new Float32Array(size * width)
  const actions = new Float64Array(size * actionSize)
  const rewards = new Float64Array(size)
  const terminations = new Uint8Array(size)
  const truncations = new Uint8Array(size)
  const bootstrapIndex = new Int32Array(size).fill(-1)
  // Bootstrap rows are raw until the step's statistics are known; `pendingFinal` holds the
  // final observations of this step's truncated episodes.
  const bootstrapRows: Array<Float32Array> = []
  const pendingFinal: Array<number> = []
  const episodeReturns: Array<number> = [], episodeLengths: Array<number> = []
  const outputs = new Float64Array(numEnvs * outputSize)
  const stepActions = new Float64Array(numEnvs * actionSize)

  const network = Mlp.hostNetwork(policy.network, params)
  const normalizing = state.normalizer._tag !== "Identity"
  const inputs = new Float32Array(numEnvs * width)
  const normalized = (raw: Float32Array, rows: number) => Normalize.apply(state.normalizer, state.stats, raw, rows, width)
  for (let t = 0; t < stepsPerEnv; t++) {
    Normalize.apply(state.normalizer, state.stats, state.observations, numEnvs, width, inputs)
    observations.set(inputs, t * numEnvs * width)
    network.forward(inputs, numEnvs, outputs)
    for (let e = 0; e < numEnvs; e++) {
      const row = t * numEnvs + e
      Distribution.sampleInto(dist, Key.foldIn(rolloutKey, row), outputs, extra, e, stepActions)
      const action = actionSize === 1 && dist._tag === "Categorical" ? stepActions[e]! : stepActions.subarray(e * actionSize, (e + 1) * actionSize)
      actions.set(stepActions.subarray(e * actionSize, (e + 1) * actionSize), row * actionSize)
      const env = envs[e]!
      const step = env.step(action)
      rewards[row] = step.reward
      terminations[row] = step.terminated ? 1 : 0
      truncations[row] = step.truncated ? 1 : 0
      state.episodeReturns[e] = state.episodeReturns[e]! + step.reward
      state.episodeLengths[e] = state.episodeLengths[e]! + 1
      if (step.terminated || step.truncated) {
        if (step.truncated && !step.terminated) {
          bootstrapIndex[row] = bootstrapRows.length
          pendingFinal.push(bootstrapRows.length)
          bootstrapRows.push(step.observation.slice())
        }
        episodeReturns.push(state.episodeReturns[e]!)
        episodeLengths.push(state.episodeLengths[e]!)
        state.episodeReturns[e] = 0
        state.episodeLengths[e] = 0
        const episode = state.episodeStarts[e]!
        state.episodeStarts[e] = episode + 1
        state.observations.set(env.reset({ key: resetKey(state.envKey, e, episode) }), e * width)
      } else {
        state.observations.set(step.observation, e * width)
      }
    }
    // As SB3's VecNormalize.step: the statistics see the new observations (after resets), and
    // the final observations of truncated episodes are normalised with the updated statistics.
    if (normalizing) state.stats = Normalize.update(state.stats, state.observations, numEnvs, width)
    for (const b of pendingFinal) bootstrapRows[b] = normalized(bootstrapRows[b]!, 1)
    pendingFinal.length = 0
  }
  // Each env's next observation after the batch, for rows of the last step that did not end.
  for (let e = 0; e < numEnvs; e++) {
    const row = (stepsPerEnv - 1) * numEnvs + e
    if (terminations[row] === 0 && truncations[row] === 0) {
      bootstrapIndex[row] = bootstrapRows.length
      bootstrapRows.push(normalized(state.observations.subarray(e * width, (e + 1) * width), 1))
    }
  }
  const bootstrapObservations = new Float32Array(bootstrapRows.length * width)
  bootstrapRows.forEach((row, i) => bootstrapObservations.set(row, i * width))
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
    episodeReturns,
    episodeLengths
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
