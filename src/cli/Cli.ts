/**
 * The `trustregion` command line: `train` (and `train --resume`), `replay`, `eval`, `ablate`,
 * `plot`.
 *
 * Every flag is validated before anything runs or is written; a bad value is reported on one
 * line naming the flag and what it accepts, with exit code 1.
 *
 * @since 0.1.0
 */
import { NodeWorker } from "@effect/platform-node"
import { Console, Effect, FileSystem, Layer, Option, Result, Schema } from "effect"
import { Argument, CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli"
import { RpcClient } from "effect/rpc"
import { Worker } from "node:worker_threads"
import * as Algorithms from "../algorithms/Algorithms.ts"
import * as Registry from "../envs/Registry.ts"
import * as Ablation from "../runtime/Ablation.ts"
import { AblationRpcs } from "../runtime/AblationRpc.ts"
import * as Recorder from "../runtime/Recorder.ts"
import * as RunPlot from "../runtime/RunPlot.ts"
import * as RunStore from "../runtime/RunStore.ts"
import * as Runs from "../runtime/Runs.ts"
import * as TensorBackend from "../runtime/TensorBackend.ts"

/** @category constants */
export const version = Runs.version

const envIds = Registry.ids(Registry.builtins)

/** What each flag accepts, in words, for one-line error messages. */
const accepted: Readonly<Record<string, string>> = {
  algo: Algorithms.names.join(" | "),
  env: envIds.join(" | "),
  seed: "an integer in [0, 2^53)",
  steps: "a positive integer",
  envs: "a positive integer",
  "checkpoint-every": "a positive integer",
  episodes: "a positive integer",
  workers: "a positive integer",
  backend: TensorBackend.backendNames.join(" | ")
}

/**
 * One line for a command-line error.
 *
 * @category formatting
 */
export const oneLine = (error: CliError.CliError): string => {
  switch (error._tag) {
    case "InvalidValue": {
      const name = error.kind === "flag" ? `--${error.option}` : `<${error.option}>`
      const expected = accepted[error.option] ?? error.expected.replace(/^Schema validation failed: /, "").replace(/\s*\n\s*/g, " ")
      return error.value === "" ? `missing value for ${name} (expected ${expected})` : `invalid value "${error.value}" for ${name} (expected ${expected})`
    }
    case "UnrecognizedOption":
      return `unknown flag ${error.option}${error.suggestions.length > 0 ? ` (did you mean ${error.suggestions.join(" or ")}?)` : ""}`
    case "UnknownSubcommand":
      return `unknown command "${error.subcommand}"${error.suggestions.length > 0 ? ` (did you mean ${error.suggestions.join(" or ")}?)` : ""}`
    default:
      return error.message.replace(/\s*\n\s*/g, " ")
  }
}

/**
 * Renders invalid invocations as one line on stderr (instead of the help text) and handler
 * failures as `trustregion: <message>`; drops the wizard/completions/log-level globals.
 *
 * @category layers
 */
export const layer: Layer.Layer<never> = Layer.mergeAll(
  CliOutput.layerPresenter({
    present: (event) =>
      event._tag === "InvalidInvocation"
        ? Console.error(`${event.commandPath.join(" ")}: ${event.errors.map(oneLine).join("; ")}`)
        : CliOutput.defaultPresenter.present(event)
  }),
  CliOutput.layer({ ...CliOutput.defaultFormatter(), formatError: (error) => `trustregion: ${oneLine(error)}` }),
  CliConfig.layer({ builtIns: [GlobalFlag.Help, GlobalFlag.Version] })
)

const withDefault = <const B>(description: string, value: B, shown: string = String(value)) => <A>(self: Flag.Flag<A>): Flag.Flag<A | B> =>
  self.pipe(Flag.withDescription(`${description} [default: ${shown}]`), Flag.withDefault(value))

const NonNegativeSafeInt = Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })))
const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))

/**
 * Failures of the commands as one line on stderr (`trustregion: …`) with exit code 1.
 *
 * @category formatting
 */
export const userErrors = <A, E extends { readonly _tag: string; readonly message: string }, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(Effect.mapError((e) => (e._tag === "UserError" || e._tag === "ShowHelp" ? e : new CliError.UserError({ cause: e, userMessage: e.message.replace(/\s*\n\s*/g, " ") }))))

/** The progress line with the remaining time, estimated from the pace so far. */
const progressLayer = (totalSteps: number): Layer.Layer<Recorder.Recorder> =>
  Layer.succeed(
    Recorder.Recorder,
    Recorder.Recorder.of({
      record: (r) => Console.log(`${Recorder.progressLine(r)}  eta ${r.steps > 0 ? Math.max(0, (r.wallSeconds * (totalSteps - r.steps)) / r.steps).toFixed(0) : "?"}s`)
    })
  )

const store = RunStore.layerFileSystem

/**
 * `trustregion train`: a new run in `--out`, or `--resume DIR`.
 *
 * @category commands
 */
export const train = Command.make(
  "train",
  {
    algo: Flag.Literals("algo", Algorithms.names).pipe(withDefault("Algorithm", "trpo" as Algorithms.Name)),
    env: Flag.Literals("env", envIds).pipe(withDefault("Environment id", "CartPole-v1")),
    seed: Flag.Int("seed").pipe(Flag.withSchema(NonNegativeSafeInt), withDefault("Root seed of every random draw", 0)),
    steps: Flag.Int("steps").pipe(Flag.withSchema(PositiveInt), withDefault("Environment steps to train for", 100_000)),
    out: Flag.String("out").pipe(Flag.withMetavar("DIR"), Flag.withDescription("Run directory [default: runs/<env>-<algo>-seed<seed>]"), Flag.optional),
    resume: Flag.String("resume").pipe(
      Flag.withMetavar("DIR"),
      Flag.withDescription("Continue the run in DIR from its last good checkpoint (its recorded config; other flags ignored)"),
      Flag.optional
    ),
    backend: Flag.Literals("backend", TensorBackend.backendNames).pipe(withDefault("TensorFlow.js backend", "wasm" as TensorBackend.BackendName)),
    envs: Flag.Int("envs").pipe(
      Flag.withSchema(PositiveInt),
      Flag.withDescription("Environment copies stepped in lockstep, the policy evaluated on all at once [default: the recipe's]"),
      Flag.optional
    ),
    set: Flag.KeyValuePair("set").pipe(
      Flag.withDescription("Override a recipe hyperparameter, e.g. --set step.maxKl=0.02 (repeatable; a block as JSON)"),
      Flag.withDefault({})
    ),
    checkpointEvery: Flag.Int("checkpoint-every").pipe(Flag.withSchema(PositiveInt), withDefault("Write a checkpoint every K iterations", 10)),
    force: Flag.Boolean("force").pipe(withDefault("Overwrite an existing run in --out", false)),
    quiet: Flag.Boolean("quiet").pipe(withDefault("Print no progress lines", false))
  },
  (flags) =>
    userErrors(Effect.gen(function*() {
      if (Option.isSome(flags.resume)) {
        const dir = flags.resume.value
        const manifest = yield* Runs.readManifest(dir)
        const outcome = yield* Runs.resume(dir).pipe(
          Effect.provide(TensorBackend.layer(manifest.config.backend)),
          Effect.provide(flags.quiet ? Recorder.layerSilent : progressLayer(manifest.config.steps))
        )
        if (outcome.alreadyComplete) yield* Console.log(`${dir} is complete; nothing to resume`)
        return
      }
      const config: Runs.Config = {
        algo: flags.algo,
        env: flags.env,
        seed: flags.seed,
        steps: flags.steps,
        backend: flags.backend,
        set: [...(Option.isSome(flags.envs) ? [["numEnvs", String(flags.envs.value)] as const] : []), ...Object.entries(flags.set)],
        checkpointEvery: flags.checkpointEvery
      }
      const out = Option.getOrElse(flags.out, () => `runs/${flags.env}-${flags.algo}-seed${flags.seed}`)
      // Everything is checked before the backend loads, and the backend before anything is written.
      yield* Runs.train(out, config, { force: flags.force }).pipe(
        Effect.provide(TensorBackend.layer(config.backend)),
        Effect.provide(flags.quiet ? Recorder.layerSilent : progressLayer(config.steps))
      )
    }).pipe(Effect.provide(store)))
).pipe(Command.withDescription("Train a policy; writes manifest.json, metrics.jsonl, checkpoints/, policy.json and value.json into --out"))

/**
 * `trustregion replay DIR`.
 *
 * @category commands
 */
export const replay = Command.make(
  "replay",
  { dir: Argument.String("dir").pipe(Argument.withDescription("Run directory")) },
  ({ dir }) =>
    userErrors(Effect.gen(function*() {
      const manifest = yield* Runs.readManifest(dir)
      const result = yield* Runs.replay(dir).pipe(Effect.provide(TensorBackend.layer(manifest.config.backend)))
      if (result._tag === "Identical") {
        yield* Console.log(`replay: identical (${result.iterations} iterations)`)
        return
      }
      return yield* new CliError.UserError({
        cause: result,
        userMessage: `replay: iteration ${result.iteration} differs at ${result.key}: recorded ${JSON.stringify(result.recorded)}, replayed ${JSON.stringify(result.replayed)}`
      })
    }).pipe(Effect.provide(store)))
).pipe(Command.withDescription("Rerun a recorded run and check every metrics line against the recording"))

/**
 * `trustregion eval DIR`.
 *
 * @category commands
 */
export const evaluate = Command.make(
  "eval",
  {
    dir: Argument.String("dir").pipe(Argument.withDescription("Run directory")),
    episodes: Flag.Int("episodes").pipe(Flag.withSchema(PositiveInt), withDefault("Episodes to run", 20)),
    deterministic: Flag.Boolean("deterministic").pipe(withDefault("Act with the distribution's mode instead of sampling", false)),
    seed: Flag.Int("seed").pipe(Flag.withSchema(NonNegativeSafeInt), withDefault("Seed of the evaluation episodes", 0))
  },
  ({ dir, episodes, deterministic, seed }) =>
    userErrors(Effect.gen(function*() {
      const result = yield* Runs.evaluate(dir, { episodes, deterministic, seed })
      yield* Console.log(`${dir}: return ${result.mean.toFixed(2)} ± ${result.std.toFixed(2)} over ${episodes} episodes (${deterministic ? "deterministic" : "sampled"} actions)`)
    }).pipe(Effect.provide(store)))
).pipe(Command.withDescription("Mean ± std return of a run's saved policy, with its saved observation statistics"))

/**
 * The young generation of each worker's heap, in MB: V8's default lets it grow to 64 MB, which
 * a training loop's short-lived arrays fill between collections — resident memory then rises by
 * ~150 MB per thread for no gain in speed (docs/performance.md, "Memory"). The executable sets
 * the same bound for the main thread (`--max-semi-space-size=8` in bin/trustregion.js).
 *
 * @category constants
 */
export const workerYoungGenerationMb = 24

/**
 * The worker pool of `ablate`: `size` threads, one run at a time each.
 *
 * @category layers
 */
export const workerPool = (size: number) =>
  RpcClient.layerProtocolWorker({ size, concurrency: 1 }).pipe(
    Layer.provide(NodeWorker.layer(() =>
      new Worker(new URL("../runtime/AblationWorker.ts", import.meta.url), {
        resourceLimits: { maxYoungGenerationSizeMb: workerYoungGenerationMb }
      })
    ))
  )

/**
 * `trustregion ablate SPEC.json --out DIR`.
 *
 * @category commands
 */
export const ablate = Command.make(
  "ablate",
  {
    spec: Argument.String("spec").pipe(Argument.withDescription("Ablation spec (JSON): algo, env, steps, seeds, set, variants")),
    out: Flag.String("out").pipe(Flag.withMetavar("DIR"), Flag.withDescription("Directory of the ablation's runs and reports")),
    workers: Flag.Int("workers").pipe(Flag.withSchema(PositiveInt), withDefault("Worker threads running the grid", 2))
  },
  ({ spec: file, out, workers }) =>
    userErrors(Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(file).pipe(Effect.mapError((e) => new Runs.RunError({ message: `cannot read ${file}: ${e.message}` })))
      const decoded = Ablation.decodeSpec(text, file)
      if (Result.isFailure(decoded)) return yield* decoded.failure
      const spec = decoded.success
      const mode = yield* Ablation.prepare(out, spec)
      const grid = Ablation.jobs(spec, out)
      yield* Console.log(`${mode === "new" ? "ablation" : "resuming ablation"} ${spec.name ?? file}: ${spec.variants.length} variants × ${spec.seeds.length} seeds on ${workers} worker${workers === 1 ? "" : "s"}`)
      yield* Effect.scoped(Effect.gen(function*() {
        const client = yield* RpcClient.make(AblationRpcs)
        yield* Ablation.execute(grid, workers, (job, resume) =>
          client.TrainRun({ dir: job.dir, config: job.config, resume }).pipe(Effect.mapError((message) => new Runs.RunError({ message: `${job.dir}: ${message}` }))))
      }).pipe(Effect.provide(workerPool(workers))))
      const written = yield* Ablation.report(out, spec)
      yield* Console.log(`wrote ${written.join(", ")}`)
    }).pipe(Effect.provide(store)))
).pipe(Command.withDescription("Run an ablation spec's variant × seed grid on worker threads; writes summary.md, summary.json and report.html"))

/**
 * `trustregion plot DIR... --out FILE`.
 *
 * @category commands
 */
export const plot = Command.make(
  "plot",
  {
    dirs: Argument.String("dir").pipe(Argument.withDescription("Run directories and ablation directories (one line per run, one mean and band per variant)"), Argument.atLeast(1)),
    out: Flag.String("out").pipe(Flag.withMetavar("FILE"), Flag.withDescription("Image to write: FILE.svg or FILE.png")),
    metric: Flag.String("metric").pipe(withDefault("Metrics key on the y axis", "episodeReturnMean")),
    title: Flag.String("title").pipe(Flag.withDescription("Plot title [default: none]"), Flag.optional)
  },
  ({ dirs, out, metric, title }) =>
    userErrors(Effect.gen(function*() {
      const format = RunPlot.formatOf(out)
      if (Result.isFailure(format)) return yield* format.failure
      const plotted = yield* RunPlot.series(dirs, metric)
      const image = RunPlot.render(plotted, format.success, {
        xLabel: "environment steps",
        yLabel: metric,
        ...(Option.isSome(title) ? { title: title.value } : {})
      })
      const fs = yield* FileSystem.FileSystem
      // Written beside the target and renamed over it: an existing image is replaced whole or not at all.
      const tmp = `${out}.${process.pid}.tmp`
      yield* fs.writeFile(tmp, image).pipe(Effect.flatMap(() => fs.rename(tmp, out)), Effect.mapError((e) => new Runs.RunError({ message: `cannot write ${out}: ${e.message}` })))
      yield* Console.log(`wrote ${out} (${plotted.length} curve${plotted.length === 1 ? "" : "s"} of ${metric})`)
    }).pipe(Effect.provide(store)))
).pipe(Command.withDescription("Learning curves of runs and ablations as an SVG or PNG image"))

/**
 * The `trustregion` command.
 *
 * @category commands
 */
export const command = Command.make("trustregion").pipe(
  Command.withDescription("Natural-gradient policy optimisation (NPG, TRPO, PPO-penalty, PPO-clip) on TensorFlow.js"),
  Command.withSubcommands([train, replay, evaluate, ablate, plot])
)
