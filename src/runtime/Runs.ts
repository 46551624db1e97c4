/**
 * Runs on disk (or wherever the `RunStore` keeps them): the run directory's format and the
 * programs that write and read it — train, resume after a crash, replay, evaluate.
 *
 * ```
 * DIR/manifest.json         the resolved config and recipe, seed, versions, backend, git commit, start time
 * DIR/metrics.jsonl         one report per iteration
 * DIR/checkpoints/it-000012.json   the training state after iteration 12, with its SHA-256
 * DIR/policy.json, value.json      the final networks (and the observation statistics)
 * DIR/complete.json         written last: the run finished
 * ```
 *
 * Determinism: iteration i depends only on the seed, the recipe and the state after i − 1,
 * and a checkpoint holds that state entirely; so a run resumed from any checkpoint writes the
 * same metrics, bit for bit, apart from `wallSeconds`.
 *
 * @since 0.1.0
 */
import { createHash } from "node:crypto"
import { execFileSync } from "node:child_process"
import { Clock, Console, Data, Effect, Ref, Result, Schema, Stream } from "effect"
import * as Distribution from "../algebra/Distribution.ts"
import * as Key from "../algebra/Key.ts"
import * as Mlp from "../algebra/Mlp.ts"
import * as Normalize from "../algebra/Normalize.ts"
import * as Policy from "../algebra/Policy.ts"
import * as Algorithms from "../algorithms/Algorithms.ts"
import * as Recipe from "../algorithms/Recipe.ts"
import * as Train from "../algorithms/Train.ts"
import * as Registry from "../envs/Registry.ts"
import * as Wrappers from "../envs/Wrappers.ts"
import * as Recorder from "./Recorder.ts"
import { RunStore, type RunStoreShape, type StoreError } from "./RunStore.ts"
import * as Summary from "./Summary.ts"
import { TensorBackend } from "./TensorBackend.ts"

/** @category constants */
export const version = "0.1.0"
/** @category constants */
export const checkpointFormat = "trustregion-checkpoint/v1"

const MANIFEST = "manifest.json"
const METRICS = "metrics.jsonl"
const CHECKPOINTS = "checkpoints"
const COMPLETE = "complete.json"
const POLICY = "policy.json"
const VALUE = "value.json"
/** Checkpoints kept: a corrupt newest one falls back to the one before. */
const KEEP_CHECKPOINTS = 3

// -- Config and manifest ---------------------------------------------------------------------------

/**
 * What a run is: the command line's choices, everything else derives from them.
 *
 * @category models
 */
export const Config = Schema.Struct({
  algo: Schema.Literals(Algorithms.names),
  env: Schema.String,
  seed: Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }))),
  steps: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))),
  backend: Schema.Literals(["wasm", "cpu", "node"]),
  set: Schema.Array(Schema.Tuple([Schema.String, Schema.String])),
  checkpointEvery: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))
})

/** @category models */
export type Config = typeof Config.Type

/**
 * A run directory's manifest.
 *
 * @category models
 */
export const Manifest = Schema.Struct({
  trustregion: Schema.String,
  config: Config,
  recipe: Schema.Unknown,
  keyFormat: Schema.String,
  checkpointFormat: Schema.String,
  tfjs: Schema.String,
  node: Schema.String,
  gitCommit: Schema.optionalKey(Schema.String),
  startTime: Schema.String
})

/** @category models */
export type Manifest = typeof Manifest.Type

/**
 * A run directory or file that cannot be used, or a config that does not resolve; `message` is
 * one line.
 *
 * @category errors
 */
export class RunError extends Data.TaggedError("RunError")<{ readonly message: string; readonly cause?: unknown }> {}

/**
 * The run directory already holds a run.
 *
 * @category errors
 */
export class RunExistsError extends Data.TaggedError("RunExistsError")<{ readonly dir: string; readonly message: string }> {}

/**
 * The training run a config describes (recipe with overrides, environment factory).
 *
 * @category constructors
 */
export const runOf = (config: Config): Result.Result<Train.Run, RunError> => {
  if (!Registry.ids(Registry.builtins).includes(config.env)) {
    return Result.fail(new RunError({ message: `unknown environment "${config.env}"; available: ${Registry.ids(Registry.builtins).join(", ")}` }))
  }
  const recipe = Algorithms.resolve(config.algo, config.env, config.set)
  if (Result.isFailure(recipe)) return Result.fail(new RunError({ message: `--set ${recipe.failure.message}`, cause: recipe.failure }))
  return Result.succeed({ recipe: recipe.success, makeEnv: () => Registry.makeUnsafe(Registry.builtins, config.env), seed: config.seed, totalSteps: config.steps })
}

const gitCommit = (): string | undefined => {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { stdio: ["ignore", "pipe", "ignore"], cwd: new URL("../..", import.meta.url).pathname }).toString().trim() || undefined
  } catch {
    return undefined
  }
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`

const decodeJson = <S extends Schema.ConstraintDecoder<unknown>>(schema: S, text: string, what: string): Result.Result<S["Type"], RunError> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    return Result.fail(new RunError({ message: `${what} is not valid JSON`, cause }))
  }
  const decoded = Schema.decodeUnknownResult(schema)(parsed)
  return Result.isFailure(decoded)
    ? Result.fail(new RunError({ message: `${what}: ${decoded.failure.message.replace(/\s*\n\s*/g, " ")}`, cause: decoded.failure }))
    : Result.succeed(decoded.success)
}

/**
 * A run directory's manifest.
 *
 * @category functions
 */
export const readManifest = (dir: string): Effect.Effect<Manifest, RunError | StoreError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const text = yield* store.read(dir, MANIFEST)
    if (text === undefined) return yield* new RunError({ message: `${dir} is not a run directory (no ${MANIFEST})` })
    const manifest = decodeJson(Manifest, text, `${dir}/${MANIFEST}`)
    return Result.isFailure(manifest) ? yield* manifest.failure : manifest.success
  })

// -- Checkpoints --------------------------------------------------------------------------------------

const Numbers = Schema.Array(Schema.Number)
const StateJson = Schema.Struct({
  iteration: Schema.Int,
  steps: Schema.Int,
  episodes: Schema.Int,
  policyParams: Numbers,
  valueParams: Numbers,
  optimizer: Schema.Struct({ m: Numbers, v: Numbers, t: Schema.Int }),
  beta: Schema.Number,
  environments: Schema.Record(Schema.String, Schema.Unknown),
  recentReturns: Numbers,
  recentLengths: Numbers
})

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")
const checkpointName = (iteration: number) => `${CHECKPOINTS}/it-${String(iteration).padStart(6, "0")}.json`
// The checkpoints' file names in `dir/checkpoints`, oldest first (a `.tmp` left by a kill is not one).
const checkpointNames = (store: RunStoreShape, dir: string) =>
  Effect.map(store.list(dir, CHECKPOINTS), (names) => names.filter((n) => /^it-\d{6}\.json$/.test(n)))

/**
 * A checkpoint's text: the state's JSON, its SHA-256, the formats it was written with.
 *
 * @category conversions
 */
export const encodeCheckpoint = (state: Train.TrainingState, environments?: Train.StateJson["environments"]): string => {
  const body = JSON.stringify(Train.stateToJson(state, environments))
  return `{"format":${JSON.stringify(checkpointFormat)},"keyFormat":${JSON.stringify(Key.format)},"iteration":${state.iteration},"sha256":"${sha256(body)}","state":${body}}\n`
}

/**
 * The training state in a checkpoint's text, verified: its format, its SHA-256 (computed over
 * the state exactly as written), its schema, and its fit with the run.
 *
 * @category conversions
 */
export const decodeCheckpoint = (run: Train.Run, text: string, name: string): Result.Result<Train.TrainingState, RunError> => {
  const head = /^\{"format":("[^"]*"),"keyFormat":("[^"]*"),"iteration":(\d+),"sha256":"([0-9a-f]{64})","state":/.exec(text)
  if (head === null || !text.endsWith("}\n")) return Result.fail(new RunError({ message: `${name}: not a complete checkpoint` }))
  if (JSON.parse(head[1]!) !== checkpointFormat) return Result.fail(new RunError({ message: `${name}: checkpoint format ${head[1]}, expected ${checkpointFormat}` }))
  if (JSON.parse(head[2]!) !== Key.format) return Result.fail(new RunError({ message: `${name}: key format ${head[2]}, this version uses ${Key.format}` }))
  const body = text.slice(head[0].length, text.length - 2)
  if (sha256(body) !== head[4]) return Result.fail(new RunError({ message: `${name}: checksum mismatch (the file is corrupt)` }))
  const state = decodeJson(StateJson, body, name)
  if (Result.isFailure(state)) return Result.fail(state.failure)
  try {
    // The schema reads the environments' snapshot as a record; `stateFromJson` checks its shape.
    return Result.succeed(Train.stateFromJson(run, state.success as Train.StateJson))
  } catch (cause) {
    return Result.fail(new RunError({ message: `${name}: does not fit the run: ${cause instanceof Error ? cause.message : String(cause)}`, cause }))
  }
}

/**
 * The newest checkpoint that decodes, falling back past corrupt ones (each reported on the
 * console); `undefined` when none does. With `upTo`, checkpoints of later iterations are
 * passed over too (resume uses the last metrics line: a checkpoint the metrics do not reach
 * could only come from a damaged or edited directory).
 *
 * @category functions
 */
export const latestCheckpoint = (dir: string, run: Train.Run, upTo: number = Infinity): Effect.Effect<Train.TrainingState | undefined, StoreError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    for (const name of (yield* checkpointNames(store, dir)).reverse()) {
      const iteration = Number(name.slice(3, 9))
      if (iteration > upTo) {
        yield* Console.error(`trustregion: skipping checkpoint ${dir}/${CHECKPOINTS}/${name}: metrics.jsonl ends at iteration ${upTo}`)
        continue
      }
      const text = (yield* store.read(dir, `${CHECKPOINTS}/${name}`)) ?? ""
      const state = decodeCheckpoint(run, text, `${dir}/${CHECKPOINTS}/${name}`)
      if (Result.isSuccess(state)) return state.success
      yield* Console.error(`trustregion: skipping checkpoint ${state.failure.message}`)
    }
    return undefined
  })

const writeCheckpoint = (dir: string, state: Train.TrainingState, text: string = encodeCheckpoint(state)) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    yield* store.write(dir, checkpointName(state.iteration), text)
    const names = yield* checkpointNames(store, dir)
    for (const old of names.slice(0, Math.max(0, names.length - KEEP_CHECKPOINTS))) yield* store.remove(dir, `${CHECKPOINTS}/${old}`)
  })

// -- Training ------------------------------------------------------------------------------------------

/**
 * The final policy as saved: its spec, parameters and the observation statistics it needs.
 *
 * @category conversions
 */
export const policyJson = (state: Train.TrainingState) => ({
  policy: state.policy,
  params: Array.from(state.policyParams),
  observations: { normalizer: state.rollout.venv.normalizer, ...Wrappers.statsJson(state.rollout.venv.observationStats()) }
})

/**
 * Streams the run from `from` (or its start), appending every report to `metrics.jsonl` and to
 * the recorder, writing a checkpoint every `checkpointEvery` iterations and — if interrupted
 * (Ctrl-C) — one of the last completed iteration; at the end the networks and `complete.json`.
 */
const drive = (dir: string, config: Config, run: Train.Run, from: Train.TrainingState | undefined, wallOffset: number) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    // The environments are the one mutable part of a state: they advance as soon as the next
    // iteration is pulled. A checkpoint written on interrupt (during that next iteration) uses
    // their snapshot taken when the state's iteration finished (`unsaved`, plain data made
    // afresh by `snapshot()`; some 10 µs, where encoding the whole checkpoint every iteration
    // would cost some 5 ms). An iteration whose checkpoint is written needs none.
    const latest = yield* Ref.make<{ readonly state: Train.TrainingState | undefined; readonly unsaved?: Train.StateJson["environments"] }>({ state: from })
    const saveLatest = Effect.gen(function*() {
      const { state, unsaved } = yield* Ref.get(latest)
      if (state !== undefined && unsaved !== undefined) yield* writeCheckpoint(dir, state, encodeCheckpoint(state, unsaved))
    })
    yield* Train.iterations(run, { ...(from === undefined ? {} : { from }), wallOffset }).pipe(
      Stream.runForEach(({ report, state }) =>
        Effect.gen(function*() {
          yield* store.append(dir, METRICS, Recorder.jsonLine(report))
          if (state.iteration % config.checkpointEvery === 0) {
            yield* writeCheckpoint(dir, state)
            yield* Ref.set(latest, { state })
          } else {
            yield* Ref.set(latest, { state, unsaved: state.rollout.venv.snapshot() })
          }
          yield* Recorder.record(report)
        })
      ),
      Effect.onInterrupt(() => saveLatest.pipe(Effect.catch(() => Effect.void)))
    )
    const { state } = yield* Ref.get(latest)
    if (state !== undefined) {
      yield* saveLatest
      yield* store.write(dir, POLICY, `${JSON.stringify(policyJson(state))}\n`)
      yield* store.write(dir, VALUE, `${JSON.stringify({ network: state.value, params: Array.from(state.valueParams) })}\n`)
      yield* store.write(dir, COMPLETE, json({ iterations: state.iteration, steps: state.steps }))
    }
  })

/**
 * Starts a new run in `dir` (refusing an existing run unless `force`) and trains it. The
 * config is resolved and checked before anything is written.
 *
 * @category programs
 */
export const train = (dir: string, config: Config, options: { readonly force: boolean }) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const run = runOf(config)
    if (Result.isFailure(run)) return yield* run.failure
    yield* Train.check(run.success)
    if (!options.force && ((yield* store.exists(dir, MANIFEST)) || (yield* store.exists(dir, METRICS)))) {
      return yield* new RunExistsError({ dir, message: `${dir} already holds a run; pass --force to overwrite it, --resume to continue it, or choose another --out` })
    }
    const backend = yield* TensorBackend
    const startTime = new Date(yield* Clock.currentTimeMillis).toISOString()
    const commit = gitCommit()
    const manifest: Manifest = {
      trustregion: version,
      config,
      recipe: Recipe.describe(run.success.recipe),
      keyFormat: Key.format,
      checkpointFormat,
      tfjs: `${backend.name} ${backend.version}`,
      node: process.version,
      ...(commit === undefined ? {} : { gitCommit: commit }),
      startTime
    }
    for (const name of [COMPLETE, POLICY, VALUE, CHECKPOINTS]) yield* store.remove(dir, name)
    yield* store.write(dir, METRICS, "")
    yield* store.write(dir, MANIFEST, json(manifest))
    yield* drive(dir, config, run.success, undefined, 0)
  })

/**
 * Continues the run in `dir` from its newest good checkpoint: the metrics after it are dropped
 * (a killed run may have written some, or half a line) and recomputed. Without a usable
 * checkpoint the run starts over. A finished run is left as it is.
 *
 * @category programs
 */
export const resume = (dir: string) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const manifest = yield* readManifest(dir)
    if (yield* store.exists(dir, COMPLETE)) return { resumedFrom: undefined, alreadyComplete: true } as const
    const run = runOf(manifest.config)
    if (Result.isFailure(run)) return yield* run.failure
    const lines = yield* readMetrics(dir)
    // Lines 1, 2, …, n in order: a checkpoint past n has no metrics to continue from.
    const contiguous = lines.findIndex((line, i) => line.iteration !== i + 1)
    const state = yield* latestCheckpoint(dir, run.success, contiguous === -1 ? lines.length : contiguous)
    const kept = lines.filter((line) => state !== undefined && line.iteration <= state.iteration)
    yield* store.write(dir, METRICS, kept.map((line) => `${JSON.stringify(line)}\n`).join(""))
    yield* drive(dir, manifest.config, run.success, state, kept.at(-1)?.wallSeconds ?? 0)
    return { resumedFrom: state?.iteration, alreadyComplete: false } as const
  })

/**
 * A parsed line of `metrics.jsonl`: an iteration report with every key it was written with.
 *
 * @category models
 */
export type MetricsLine = Summary.MetricsLine & Readonly<Record<string, unknown>> & { readonly iteration: number }

/**
 * The complete lines of `metrics.jsonl`, parsed by `Summary.parseMetrics`: the text after the
 * last newline (empty, or a line cut short by a kill) is ignored, and so is a line that is not
 * an iteration report.
 *
 * @category functions
 */
export const readMetrics = (dir: string): Effect.Effect<ReadonlyArray<MetricsLine>, StoreError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const text = (yield* store.read(dir, METRICS)) ?? ""
    return Summary.parseMetrics(text.slice(0, text.lastIndexOf("\n") + 1)).filter((line): line is MetricsLine => typeof line["iteration"] === "number")
  })

// -- Replay ---------------------------------------------------------------------------------------------

/**
 * What a replay found: identical, or the first iteration and key that differ.
 *
 * @category models
 */
export type ReplayResult =
  | { readonly _tag: "Identical"; readonly iterations: number }
  | { readonly _tag: "Different"; readonly iteration: number; readonly key: string; readonly recorded: unknown; readonly replayed: unknown }

/**
 * Reruns the recorded config in memory and compares every metrics line with the recording
 * (every key but `wallSeconds`), stopping at the first difference.
 *
 * @category programs
 */
export const replay = (dir: string) =>
  Effect.gen(function*() {
    const manifest = yield* readManifest(dir)
    const recorded = yield* readMetrics(dir)
    const run = runOf(manifest.config)
    if (Result.isFailure(run)) return yield* run.failure
    let index = 0
    let difference: ReplayResult | undefined
    yield* Train.reports(run.success).pipe(
      Stream.take(recorded.length),
      // Stops pulling at the first difference (takeUntil would let the next iteration through
      // and report its difference instead).
      Stream.runForEachWhile((report) =>
        Effect.sync(() => {
          const replayed = JSON.parse(Recorder.jsonLine(report)) as Record<string, unknown>
          const expected = recorded[index++]!
          for (const key of new Set([...Object.keys(expected), ...Object.keys(replayed)])) {
            if (key === "wallSeconds") continue
            if (JSON.stringify(expected[key]) !== JSON.stringify(replayed[key])) {
              difference = { _tag: "Different", iteration: expected.iteration, key, recorded: expected[key], replayed: replayed[key] }
              return false
            }
          }
          return true
        })
      )
    )
    return difference ?? ({ _tag: "Identical", iterations: recorded.length } satisfies ReplayResult)
  })

// -- Evaluation -------------------------------------------------------------------------------------------

const SavedPolicy = Schema.Struct({
  policy: Schema.Unknown,
  params: Numbers,
  observations: Schema.Struct({ normalizer: Schema.Unknown, mean: Numbers, variance: Numbers, count: Schema.Number })
})

/**
 * The saved policy's return over `episodes` episodes: mean, standard deviation, each return.
 * Observations are normalised with the saved, frozen statistics; actions are sampled (with
 * keys from `seed`) or, `deterministic`, the distribution's mode. Episode k starts from
 * `foldIn(foldIn(make(seed), 0), k)` — not a training key, so evaluation never reuses
 * training's draws.
 *
 * @category programs
 */
export const evaluate = (dir: string, options: { readonly episodes: number; readonly deterministic: boolean; readonly seed: number }) =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const manifest = yield* readManifest(dir)
    const text = yield* store.read(dir, POLICY)
    if (text === undefined) return yield* new RunError({ message: `${dir} has no ${POLICY} (the run has not finished; resume it first)` })
    const saved = decodeJson(SavedPolicy, text, `${dir}/${POLICY}`)
    if (Result.isFailure(saved)) return yield* saved.failure
    const policy = saved.success.policy as Policy.Spec
    const params = Float64Array.from(saved.success.params)
    if (params.length !== Policy.parameterCount(policy)) return yield* new RunError({ message: `${dir}/${POLICY}: ${params.length} parameters, the policy needs ${Policy.parameterCount(policy)}` })
    const normalizer = saved.success.observations.normalizer as Normalize.Observation
    const stats = Wrappers.statsFromJson(saved.success.observations)
    const env = Registry.makeUnsafe(Registry.builtins, manifest.config.env)
    const network = Mlp.hostNetwork(policy.network, params)
    const dist = policy.distribution
    const width = env.observationSpace.low.length
    const outputs = new Float64Array(Distribution.outputSize(dist))
    const action = new Float64Array(Distribution.actionSize(dist))
    const root = Key.foldIn(Key.make(options.seed), 0)
    const returns: Array<number> = []
    for (let k = 0; k < options.episodes; k++) {
      const episodeKey = Key.foldIn(root, k)
      let observation = env.reset({ key: Key.foldIn(episodeKey, 0) })
      let total = 0
      for (let t = 1; ; t++) {
        network.forward(Normalize.apply(normalizer, stats, observation, 1, width), 1, outputs)
        if (options.deterministic) Distribution.modeInto(dist, outputs, 0, action)
        else Distribution.sampleInto(dist, Key.foldIn(episodeKey, t), outputs, Policy.extra(policy, params), 0, action)
        if (env.actionSpace._tag === "Box") for (let j = 0; j < action.length; j++) action[j] = Math.min(Math.max(action[j]!, env.actionSpace.low[j]!), env.actionSpace.high[j]!)
        const step = env.step(dist._tag === "Categorical" ? action[0]! : action)
        total += step.reward
        observation = step.observation
        if (step.terminated || step.truncated) break
      }
      returns.push(total)
    }
    const mean = returns.reduce((a, b) => a + b, 0) / returns.length
    const std = Math.sqrt(returns.reduce((a, b) => a + (b - mean) ** 2, 0) / returns.length)
    return { mean, std, returns }
  })

/**
 * Whether `dir` holds a finished run.
 *
 * @category functions
 */
export const isComplete = (dir: string): Effect.Effect<boolean, StoreError, RunStore> => RunStore.use((store) => store.exists(dir, COMPLETE))

/**
 * Whether `dir` holds a run (finished or not).
 *
 * @category functions
 */
export const isRun = (dir: string): Effect.Effect<boolean, StoreError, RunStore> => RunStore.use((store) => store.exists(dir, MANIFEST))
