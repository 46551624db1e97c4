/**
 * N copies of an environment stepped in lockstep, with automatic reset.
 *
 * **Autoreset convention: same step.** When copy e's episode ends (terminated or truncated) at a
 * step, the copy is reset within that same `step` call: `observations[e]` is the first
 * observation of the next episode and `finalObservations[e]` holds the last observation of the
 * one that ended. This is SB3's `VecEnv` convention (`terminal_observation`) and Gymnasium ≥ 1.0's
 * `AutoresetMode.SAME_STEP`. It is chosen over Gymnasium's default next-step mode because every
 * call then yields one real transition per copy — a batch of `T` steps holds `T·N` transitions
 * with no placeholder steps to mask — and the final observation a truncated episode needs for
 * bootstrapping `V(s_T)` is still at hand.
 *
 * **Keys.** Copy e's k-th episode starts from `foldIn(foldIn(key, e), k)`, so copy e behaves
 * exactly like a single env reset with those keys, whatever N is: N single envs and one vector
 * env give identical trajectories.
 *
 * @since 0.1.0
 */
import * as Key from "../algebra/Key.ts"
import * as Env from "./Env.ts"
import type * as Space from "./Space.ts"

/**
 * One lockstep step of every copy (row e is copy e).
 *
 * @category models
 */
export interface Step {
  /**
   * `[N, observationSize]`: each copy's next observation (the first of a new episode after a
   * reset). This is the vector env's own buffer, overwritten by the next `step`: copy it to keep it.
   */
  readonly observations: Float32Array
  readonly rewards: Float64Array
  readonly terminations: Uint8Array
  readonly truncations: Uint8Array
  /** The last observation of each episode that ended at this step, else `undefined`. */
  readonly finalObservations: ReadonlyArray<Float32Array | undefined>
}

/**
 * A vector env's full state as JSON: for the base, every copy's snapshot, episode counter and
 * current observation; a wrapper adds its own state and nests the inner snapshot.
 *
 * @category models
 */
export interface Snapshot {
  readonly kind: string
  readonly [field: string]: unknown
}

/**
 * @category models
 */
export interface VectorEnv {
  readonly id: string
  readonly numEnvs: number
  /** One copy's observation space. */
  readonly observationSpace: Space.Box
  /** One copy's action space. */
  readonly actionSpace: Space.Space
  /** `[N, observationSize]`: the observations the copies will act on next. */
  readonly observations: Float32Array
  /**
   * Steps every copy; `actions` is `[N, actionSize]` (an index per row for `Discrete`). An
   * invalid action throws after the copies before it have stepped: the vector env is then
   * unusable (as Gymnasium's `SyncVectorEnv`) and must be rebuilt or restored from a snapshot.
   */
  step(actions: Float64Array): Step
  snapshot(): Snapshot
  restore(snapshot: Snapshot): void
}

/**
 * Creates `numEnvs` copies with `makeEnv` and starts each copy's first episode.
 *
 * @category constructors
 */
export const make = (makeEnv: (index: number) => Env.Env, numEnvs: number, key: Key.Key): VectorEnv => {
  if (!Number.isInteger(numEnvs) || numEnvs < 1) throw new RangeError(`VectorEnv.make: numEnvs must be a positive integer, got ${numEnvs}`)
  const envs = Array.from({ length: numEnvs }, (_, e) => makeEnv(e))
  const first = envs[0]!
  const width = first.observationSpace.low.length
  const actionSize = first.actionSpace._tag === "Discrete" ? 1 : first.actionSpace.low.length
  const discrete = first.actionSpace._tag === "Discrete"
  const episodes = new Float64Array(numEnvs)
  const observations = new Float32Array(numEnvs * width)
  const resetKey = (e: number, episode: number) => Key.foldIn(Key.foldIn(key, e), episode)
  envs.forEach((env, e) => observations.set(env.reset({ key: resetKey(e, 0) }), e * width))
  episodes.fill(1)

  return {
    id: first.id,
    numEnvs,
    observationSpace: first.observationSpace,
    actionSpace: first.actionSpace,
    observations,
    step: (actions) => {
      const rewards = new Float64Array(numEnvs)
      const terminations = new Uint8Array(numEnvs)
      const truncations = new Uint8Array(numEnvs)
      const finalObservations = new Array<Float32Array | undefined>(numEnvs)
      for (let e = 0; e < numEnvs; e++) {
        const env = envs[e]!
        const action = discrete ? actions[e]! : actions.subarray(e * actionSize, (e + 1) * actionSize)
        const result = env.step(action)
        rewards[e] = result.reward
        terminations[e] = result.terminated ? 1 : 0
        truncations[e] = result.truncated ? 1 : 0
        if (result.terminated || result.truncated) {
          finalObservations[e] = result.observation.slice()
          const episode = episodes[e]!
          episodes[e] = episode + 1
          observations.set(env.reset({ key: resetKey(e, episode) }), e * width)
        } else {
          observations.set(result.observation, e * width)
        }
      }
      return { observations, rewards, terminations, truncations, finalObservations }
    },
    snapshot: () => ({
      kind: "VectorEnv",
      key: Key.toHex(key),
      envs: envs.map((env) => env.snapshot()),
      episodes: Array.from(episodes),
      observations: Array.from(observations)
    }),
    restore: (snapshot) => {
      const copies = snapshot.envs as ReadonlyArray<Env.Snapshot> | undefined
      const invalid = (why: string) => Env.stateError(first.id, `cannot restore the vector env: ${why}`)
      if (snapshot.kind !== "VectorEnv" || !Array.isArray(copies) || copies.length !== numEnvs) throw invalid(`not a snapshot of ${numEnvs} copies`)
      // The reset keys of later episodes derive from the key: a different one would diverge.
      if (snapshot.key !== Key.toHex(key)) throw invalid(`it was taken with key ${String(snapshot.key)}, this env has ${Key.toHex(key)}`)
      const counters = snapshot.episodes, rows = snapshot.observations
      if (!Array.isArray(counters) || counters.length !== numEnvs || !counters.every((c) => Number.isInteger(c) && c >= 1)) throw invalid("bad episode counters")
      if (!Array.isArray(rows) || rows.length !== numEnvs * width || !rows.every((x) => typeof x === "number")) throw invalid("bad observations")
      copies.forEach((s, e) => envs[e]!.restore(s))
      episodes.set(snapshot.episodes as ReadonlyArray<number>)
      observations.set(snapshot.observations as ReadonlyArray<number>)
    }
  }
}
