/**
 * Wrappers over vector environments, as composable values: each takes a `VectorEnv` and returns
 * one, keeps its own state (in the snapshot, so checkpoints carry it) and changes one thing.
 *
 * - {@link recordEpisodeStatistics}: the undiscounted returns and lengths of completed episodes
 *   (apply innermost, so it sees the raw rewards);
 * - {@link clipActions}: Box actions clipped to the action space before the env sees them (SB3
 *   clips in `collect_rollouts`; the policy's unclipped action is what the batch stores);
 * - {@link scaleRewards}: rewards divided by a running estimate of the std of the discounted
 *   return (SB3's `VecNormalize(norm_reward=True)`, Gymnasium's `NormalizeReward`);
 * - {@link normalizeObservations}: observations standardised by running statistics, frozen for
 *   evaluation (SB3's `VecNormalize(norm_obs=True)`).
 *
 * The time limit is a single-env wrapper (`TimeLimit.wrap`), applied by the registry.
 *
 * @since 0.1.0
 */
import * as Normalize from "../algebra/Normalize.ts"
import * as Env from "./Env.ts"
import type * as VectorEnv from "./VectorEnv.ts"

const nested = (kind: string, inner: VectorEnv.Snapshot, own: Record<string, unknown>): VectorEnv.Snapshot => ({ kind, ...own, inner })

const innerOf = (venv: VectorEnv.VectorEnv, kind: string, snapshot: VectorEnv.Snapshot, arrays: ReadonlyArray<string> = []): VectorEnv.Snapshot => {
  if (snapshot.kind !== kind || typeof snapshot.inner !== "object" || snapshot.inner === null) {
    throw Env.stateError(venv.id, `expected a ${kind} snapshot, got ${snapshot.kind}`)
  }
  for (const field of arrays) {
    const value = snapshot[field]
    if (!Array.isArray(value) || value.length !== venv.numEnvs || !value.every((x) => typeof x === "number")) {
      throw Env.stateError(venv.id, `the ${kind} snapshot's ${field} must be ${venv.numEnvs} numbers`)
    }
  }
  return snapshot.inner as VectorEnv.Snapshot
}

// -- Episode statistics -----------------------------------------------------------------------------

/**
 * A vector env that also records its completed episodes.
 *
 * @category models
 */
export interface WithStatistics extends VectorEnv.VectorEnv {
  /** Returns and lengths of the episodes completed since the last call, in completion order. */
  drainEpisodes(): { readonly returns: ReadonlyArray<number>; readonly lengths: ReadonlyArray<number> }
}

/**
 * Records the undiscounted return and the length of every episode as it ends.
 *
 * @category wrappers
 */
export const recordEpisodeStatistics = (venv: VectorEnv.VectorEnv): WithStatistics => {
  const running = new Float64Array(venv.numEnvs), lengths = new Float64Array(venv.numEnvs)
  let doneReturns: Array<number> = [], doneLengths: Array<number> = []
  return {
    ...venv,
    get observations() {
      return venv.observations
    },
    step: (actions) => {
      const step = venv.step(actions)
      for (let e = 0; e < venv.numEnvs; e++) {
        running[e] = running[e]! + step.rewards[e]!
        lengths[e] = lengths[e]! + 1
        if (step.terminations[e] === 1 || step.truncations[e] === 1) {
          doneReturns.push(running[e]!)
          doneLengths.push(lengths[e]!)
          running[e] = 0
          lengths[e] = 0
        }
      }
      return step
    },
    drainEpisodes: () => {
      const out = { returns: doneReturns, lengths: doneLengths }
      doneReturns = []
      doneLengths = []
      return out
    },
    snapshot: () => nested("EpisodeStatistics", venv.snapshot(), { returns: Array.from(running), lengths: Array.from(lengths) }),
    restore: (snapshot) => {
      venv.restore(innerOf(venv, "EpisodeStatistics", snapshot, ["returns", "lengths"]))
      running.set(snapshot.returns as ReadonlyArray<number>)
      lengths.set(snapshot.lengths as ReadonlyArray<number>)
      doneReturns = []
      doneLengths = []
    }
  }
}

// -- Action clipping ----------------------------------------------------------------------------------

/**
 * Clips every Box action into `[low, high]` before the env sees it; Discrete actions pass
 * through. The caller's array is not modified.
 *
 * @category wrappers
 */
export const clipActions = (venv: VectorEnv.VectorEnv): VectorEnv.VectorEnv => {
  const space = venv.actionSpace
  if (space._tag === "Discrete") return venv
  const d = space.low.length
  return {
    ...venv,
    get observations() {
      return venv.observations
    },
    step: (actions) => {
      const clipped = new Float64Array(actions.length)
      for (let i = 0; i < actions.length; i++) clipped[i] = Math.min(Math.max(actions[i]!, space.low[i % d]!), space.high[i % d]!)
      return venv.step(clipped)
    }
  }
}

// -- Reward scaling -----------------------------------------------------------------------------------

/**
 * How rewards are scaled: not at all, or by the running std of the discounted return.
 *
 * @category models
 */
export type RewardScaling =
  | { readonly _tag: "Unscaled" }
  | { readonly _tag: "ReturnStd"; readonly gamma: number; readonly clip: number; readonly epsilon: number }

/** @category constructors */
export const unscaled = (): RewardScaling => ({ _tag: "Unscaled" })

/**
 * SB3's `VecNormalize` reward normalisation: γ as the algorithm's, clip 10, ε 1e-8.
 *
 * @category constructors
 */
export const returnStd = (options: { readonly gamma?: number; readonly clip?: number; readonly epsilon?: number } = {}): RewardScaling => {
  const gamma = options.gamma ?? 0.99, clip = options.clip ?? 10, epsilon = options.epsilon ?? 1e-8
  if (!(gamma >= 0 && gamma <= 1)) throw new RangeError(`Wrappers.returnStd: gamma must lie in [0, 1], got ${gamma}`)
  if (!(clip > 0)) throw new RangeError(`Wrappers.returnStd: clip must be > 0, got ${clip}`)
  if (!(epsilon > 0)) throw new RangeError(`Wrappers.returnStd: epsilon must be > 0, got ${epsilon}`)
  return { _tag: "ReturnStd", gamma, clip, epsilon }
}

/**
 * A vector env whose rewards are scaled by running statistics, exposed for checkpoints.
 *
 * @category models
 */
export interface WithRewardScale extends VectorEnv.VectorEnv {
  readonly returnStats: () => Normalize.Stats
}

/**
 * `r̂ = clip(r / √(Var[G] + ε), ±c)` with `G ← γG + r` per copy (reset to 0 when an episode
 * ends) and Var[G] the running variance of every G seen.
 *
 * @category wrappers
 */
export const scaleRewards = (venv: VectorEnv.VectorEnv, scaling: RewardScaling): WithRewardScale => {
  let stats = Normalize.init(1)
  if (scaling._tag === "Unscaled") return { ...venv, get observations() { return venv.observations }, returnStats: () => stats }
  const { gamma, clip, epsilon } = scaling
  const returns = new Float64Array(venv.numEnvs)
  return {
    ...venv,
    get observations() {
      return venv.observations
    },
    returnStats: () => stats,
    step: (actions) => {
      const step = venv.step(actions)
      for (let e = 0; e < venv.numEnvs; e++) returns[e] = gamma * returns[e]! + step.rewards[e]!
      stats = Normalize.update(stats, returns, venv.numEnvs, 1)
      const scale = 1 / Math.sqrt(stats.variance[0]! + epsilon)
      const rewards = new Float64Array(venv.numEnvs)
      for (let e = 0; e < venv.numEnvs; e++) {
        rewards[e] = Math.min(Math.max(step.rewards[e]! * scale, -clip), clip)
        if (step.terminations[e] === 1 || step.truncations[e] === 1) returns[e] = 0
      }
      return { ...step, rewards }
    },
    snapshot: () => nested("RewardScale", venv.snapshot(), { returns: Array.from(returns), stats: statsJson(stats) }),
    restore: (snapshot) => {
      venv.restore(innerOf(venv, "RewardScale", snapshot, ["returns"]))
      returns.set(snapshot.returns as ReadonlyArray<number>)
      stats = statsFromJson(snapshot.stats)
    }
  }
}

// -- Observation normalisation -----------------------------------------------------------------------

/**
 * A vector env whose observations are normalised; its statistics are what a saved policy needs.
 *
 * @category models
 */
export interface WithObservationStats extends VectorEnv.VectorEnv {
  readonly normalizer: Normalize.Observation
  readonly observationStats: () => Normalize.Stats
}

/**
 * Observations standardised by running statistics (updated with every raw observation the
 * copies produce, as SB3's `VecNormalize.step`: the new observations after resets, then the
 * step's outputs normalised with the updated statistics). `frozen` statistics are never
 * updated (evaluation).
 *
 * @category wrappers
 */
export const normalizeObservations = (
  venv: VectorEnv.VectorEnv,
  normalizer: Normalize.Observation,
  options: { readonly stats?: Normalize.Stats; readonly frozen?: boolean } = {}
): WithObservationStats => {
  const width = venv.observationSpace.low.length
  const frozen = options.frozen ?? false
  const learning = normalizer._tag !== "Identity" && !frozen
  let stats = options.stats ?? Normalize.init(width)
  if (learning && options.stats === undefined) stats = Normalize.update(stats, venv.observations, venv.numEnvs, width)
  const normalized = new Float32Array(venv.numEnvs * width)
  const refresh = () => Normalize.apply(normalizer, stats, venv.observations, venv.numEnvs, width, normalized)
  refresh()
  return {
    ...venv,
    normalizer,
    observationStats: () => stats,
    get observations() {
      return normalized
    },
    step: (actions) => {
      const step = venv.step(actions)
      if (learning) stats = Normalize.update(stats, step.observations, venv.numEnvs, width)
      refresh()
      return {
        ...step,
        observations: normalized,
        finalObservations: step.finalObservations.map((o) => (o === undefined ? undefined : Normalize.apply(normalizer, stats, o, 1, width)))
      }
    },
    snapshot: () => nested("ObservationNormalization", venv.snapshot(), { stats: statsJson(stats) }),
    restore: (snapshot) => {
      venv.restore(innerOf(venv, "ObservationNormalization", snapshot))
      stats = statsFromJson(snapshot.stats)
      refresh()
    }
  }
}

/**
 * Statistics as JSON.
 *
 * @category conversions
 */
export const statsJson = (stats: Normalize.Stats) => ({ mean: Array.from(stats.mean), variance: Array.from(stats.variance), count: stats.count })

/**
 * Statistics from {@link statsJson}.
 *
 * @category conversions
 */
export const statsFromJson = (json: unknown): Normalize.Stats => {
  const s = json as { readonly mean: ReadonlyArray<number>; readonly variance: ReadonlyArray<number>; readonly count: number }
  return { mean: Float64Array.from(s.mean), variance: Float64Array.from(s.variance), count: s.count }
}
