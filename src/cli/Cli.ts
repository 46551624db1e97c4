/**
 * The `trustregion` command line: `trustregion train …`.
 *
 * Every flag is validated before anything runs or is written; a bad value is reported on one
 * line naming the flag and what it accepts, with exit code 1.
 *
 * @since 0.1.0
 */
import { Console, Data, Effect, FileSystem, Layer, Option, Path, Result, Schema, Stream } from "effect"
import { CliConfig, CliError, CliOutput, Command, Flag, GlobalFlag } from "effect/cli"
import * as Key from "../algebra/Key.ts"
import * as Npg from "../algorithms/Npg.ts"
import * as Ppo from "../algorithms/Ppo.ts"
import * as Recipe from "../algorithms/Recipe.ts"
import * as RecipeData from "../algorithms/RecipeData.ts"
import * as Train from "../algorithms/Train.ts"
import * as Trpo from "../algorithms/Trpo.ts"
import * as Registry from "../envs/Registry.ts"
import * as Wrappers from "../envs/Wrappers.ts"
import * as Recorder from "../runtime/Recorder.ts"
import * as TensorBackend from "../runtime/TensorBackend.ts"

/** @category constants */
export const version = "0.1.0"

/** The algorithms `--algo` accepts, with the recipe each resolves to for an environment. */
const algorithms = {
  npg: (envId: string): Recipe.Recipe => Npg.forEnv(envId),
  trpo: (envId: string): Recipe.Recipe => Trpo.forEnv(envId),
  "ppo-penalty": (envId: string): Recipe.Recipe => Ppo.penaltyForEnv(envId),
  "ppo-clip": (envId: string): Recipe.Recipe => Ppo.clipForEnv(envId)
} as const
type Algorithm = keyof typeof algorithms
const algorithmNames = Object.keys(algorithms) as ReadonlyArray<Algorithm>

const envIds = Registry.ids(Registry.builtins)

/** What each flag accepts, in words, for one-line error messages. */
const accepted: Readonly<Record<string, string>> = {
  algo: algorithmNames.join(" | "),
  env: envIds.join(" | "),
  seed: "an integer in [0, 2^53)",
  steps: "a positive integer",
  envs: "a positive integer",
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

/**
 * The run directory already holds a run.
 *
 * @category errors
 */
export class RunExistsError extends Data.TaggedError("RunExistsError")<{ readonly dir: string }> {
  override get [CliError.userMessage](): string {
    return `${this.dir} already holds a run (metrics.jsonl); pass --force to overwrite it or choose another --out`
  }
}

const withDefault = <const B>(description: string, value: B, shown: string = String(value)) => <A>(self: Flag.Flag<A>): Flag.Flag<A | B> =>
  self.pipe(Flag.withDescription(`${description} [default: ${shown}]`), Flag.withDefault(value))

const NonNegativeSafeInt = Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })))
const PositiveInt = Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))

/**
 * Everything `train` writes, resolved before the run starts (and written as config.json).
 *
 * @category models
 */
export interface TrainConfig {
  readonly algo: Algorithm
  readonly env: string
  readonly seed: number
  readonly steps: number
  readonly backend: TensorBackend.BackendName
  readonly out: string
  /** `--set key=value` overrides, applied in order to the algorithm's recipe for the env. */
  readonly set: ReadonlyArray<readonly [string, string]>
}

/**
 * The recipe a train command resolves to: the algorithm's recipe for the environment with every
 * `--set` override applied in order; the first bad override is a one-line error.
 *
 * @category commands
 */
export const resolveRecipe = (config: Pick<TrainConfig, "algo" | "env" | "set">): Result.Result<Recipe.Recipe, CliError.UserError> => {
  let recipe: Recipe.Recipe = algorithms[config.algo](config.env)
  for (const [key, value] of config.set) {
    const next = RecipeData.override(recipe, key, value)
    if (Result.isFailure(next)) return Result.fail(new CliError.UserError({ cause: next.failure, userMessage: `--set ${next.failure.message}` }))
    recipe = next.success
  }
  return Result.succeed(recipe)
}

// A user-facing failure of the train handler, rendered on one line.
const userError = (message: string) => (cause: unknown) => new CliError.UserError({ cause, userMessage: message })

/**
 * Trains and writes config.json, metrics.jsonl (one line per iteration), policy.json and
 * value.json into `out`.
 *
 * @category commands
 */
export const runTrain = (config: TrainConfig, options: { readonly force: boolean; readonly progress: boolean }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const metricsPath = path.join(config.out, "metrics.jsonl")
    const resolved = resolveRecipe(config)
    if (Result.isFailure(resolved)) return yield* resolved.failure
    const recipe = resolved.success
    const run: Train.Run = { recipe, makeEnv: () => Registry.makeUnsafe(Registry.builtins, config.env), seed: config.seed, totalSteps: config.steps }
    yield* Train.check(run)
    if (!options.force && (yield* fs.exists(metricsPath))) return yield* new RunExistsError({ dir: config.out })
    // The backend is acquired before anything is written, so an unavailable one writes nothing.
    return yield* Effect.gen(function*() {
      const backend = yield* TensorBackend.TensorBackend
      yield* fs.makeDirectory(config.out, { recursive: true })
      yield* fs.writeFileString(
        path.join(config.out, "config.json"),
        `${JSON.stringify({ trustregion: version, ...config, set: Object.fromEntries(config.set), keyFormat: Key.format, tfjs: backend.version, recipe: Recipe.describe(recipe) }, null, 2)}\n`
      )
      yield* fs.writeFileString(metricsPath, "")
      const last = yield* Train.iterations(run).pipe(
        Stream.tap((iteration) => Recorder.record(iteration.report)),
        Stream.runLast,
        Effect.provide(
          options.progress ? Recorder.layerTee(Recorder.layerTerminal, Recorder.layerJsonl(metricsPath)) : Recorder.layerJsonl(metricsPath)
        )
      )
      if (Option.isSome(last)) {
        const state = last.value.state
        yield* fs.writeFileString(
          path.join(config.out, "policy.json"),
          `${JSON.stringify({
            policy: state.policy,
            params: Array.from(state.policyParams),
            observations: { normalizer: state.rollout.venv.normalizer, ...Wrappers.statsJson(state.rollout.venv.observationStats()) }
          })}\n`
        )
        yield* fs.writeFileString(
          path.join(config.out, "value.json"),
          `${JSON.stringify({ network: state.value, params: Array.from(state.valueParams) })}\n`
        )
      }
    }).pipe(Effect.provide(TensorBackend.layer(config.backend)))
  }).pipe(
    Effect.catchTags({
      TrainError: (e) => Effect.fail(userError(e.message)(e)),
      BackendUnavailableError: (e) => Effect.fail(userError(e.message)(e)),
      PlatformError: (e) => Effect.fail(userError(`cannot write ${config.out}: ${e.message}`)(e))
    })
  )

/**
 * `trustregion train`.
 *
 * @category commands
 */
export const train = Command.make(
  "train",
  {
    algo: Flag.Literals("algo", algorithmNames).pipe(withDefault("Algorithm", "trpo" as Algorithm)),
    env: Flag.Literals("env", envIds).pipe(withDefault("Environment id", "CartPole-v1")),
    seed: Flag.Int("seed").pipe(Flag.withSchema(NonNegativeSafeInt), withDefault("Root seed of every random draw", 0)),
    steps: Flag.Int("steps").pipe(Flag.withSchema(PositiveInt), withDefault("Environment steps to train for", 100_000)),
    out: Flag.String("out").pipe(Flag.withMetavar("DIR"), Flag.withDescription("Run directory [default: runs/<env>-<algo>-seed<seed>]"), Flag.optional),
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
    force: Flag.Boolean("force").pipe(withDefault("Overwrite an existing run in --out", false)),
    quiet: Flag.Boolean("quiet").pipe(withDefault("Print no progress lines", false))
  },
  (flags) =>
    runTrain(
      {
        algo: flags.algo,
        env: flags.env,
        seed: flags.seed,
        steps: flags.steps,
        backend: flags.backend,
        out: Option.getOrElse(flags.out, () => `runs/${flags.env}-${flags.algo}-seed${flags.seed}`),
        set: [...(Option.isSome(flags.envs) ? [["numEnvs", String(flags.envs.value)] as const] : []), ...Object.entries(flags.set)]
      },
      { force: flags.force, progress: !flags.quiet }
    )
).pipe(Command.withDescription("Train a policy and write config.json, metrics.jsonl, policy.json and value.json into --out"))

/**
 * The `trustregion` command.
 *
 * @category commands
 */
export const command = Command.make("trustregion").pipe(
  Command.withDescription("Natural-gradient policy optimisation (NPG, TRPO, PPO-penalty, PPO-clip) on TensorFlow.js"),
  Command.withSubcommands([train])
)
