/**
 * Recipes as data: the JSON form of every block (`_tag` plus hyperparameters), decoded with
 * `effect/Schema` and rebuilt through the blocks' own constructors, which check ranges. This is
 * how a run's config, a `--set key=value` override or an ablation spec becomes a recipe, and
 * how a bad one is rejected with the path of the offending field.
 *
 * @since 0.1.0
 */
import { Data, Result, Schema } from "effect"
import * as Advantage from "../algebra/Advantage.ts"
import * as ConjugateGradient from "../algebra/ConjugateGradient.ts"
import * as DenseFisher from "../algebra/DenseFisher.ts"
import * as Fisher from "../algebra/Fisher.ts"
import * as LineSearch from "../algebra/LineSearch.ts"
import * as Normalize from "../algebra/Normalize.ts"
import * as Penalty from "../algebra/Penalty.ts"
import * as Schedule from "../algebra/Schedule.ts"
import * as Surrogate from "../algebra/Surrogate.ts"
import * as Wrappers from "../envs/Wrappers.ts"
import * as Critic from "./Critic.ts"
import * as FirstOrder from "./FirstOrder.ts"
import * as Recipe from "./Recipe.ts"

/**
 * A recipe (or an override of one) that does not decode: `path` is the dotted path of the
 * offending field (`step.maxKl`), `message` one line naming it and what is allowed.
 *
 * @category errors
 */
export class RecipeError extends Data.TaggedError("RecipeError")<{ readonly path: string; readonly message: string }> {}

const tagged = <const Tag extends string, const Fields extends Schema.Struct.Fields>(tag: Tag, fields: Fields) => Schema.TaggedStruct(tag, fields)
const N = Schema.Number
const I = Schema.Int

type Json = { readonly _tag: string; readonly [key: string]: unknown }
const Block = (schemas: ReadonlyArray<Schema.Top>) => Schema.Union(schemas as [Schema.Top, ...Array<Schema.Top>]) as unknown as Schema.Codec<Json>

const estimatorSchemas = (): ReadonlyArray<Schema.Top> => [
  tagged("Gae", { gamma: N, lambda: N }),
  tagged("MonteCarlo", { gamma: N, baseline: Schema.optionalKey(Schema.Boolean) }),
  tagged("NStep", { gamma: N, n: I }),
  tagged("Normalized", { inner: Schema.suspend(() => AdvantageData), epsilon: N })
]
const AdvantageData: Schema.Codec<Json> = Block(estimatorSchemas())
const ObjectiveData: Schema.Codec<Json> = Block([
  tagged("ImportanceSampled", {}),
  tagged("Clipped", { epsilon: N }),
  tagged("KlPenalized", { beta: N, inner: Schema.optionalKey(Schema.suspend(() => ObjectiveData)) }),
  tagged("EntropyBonus", { inner: Schema.suspend(() => ObjectiveData), coefficient: N })
])
const FisherData = Block([
  tagged("Analytic", { damping: N, subsampleEvery: I }),
  tagged("FiniteDifference", { damping: N, stepSize: N }),
  tagged("Pearlmutter", { damping: N })
])
const SolverData = Block([tagged("ConjugateGradient", { maxIterations: I, residualTolerance: N }), tagged("DenseCholesky", { maxParameters: I })])
const StepData = Block([
  tagged("BacktrackingLineSearch", { maxKl: N, backtrackRatio: N, maxBacktracks: I, klTolerance: N }),
  tagged("TrustRegionStep", { maxKl: N }),
  tagged("FixedStep", { stepSize: N }),
  tagged("ImprovementRatio", { maxKl: N, backtrackRatio: N, maxBacktracks: I, acceptRatio: N })
])
const CriticData = Block([tagged("AdamFit", { learningRate: N, epochs: I, minibatchSize: I })])
const JointData = Block([tagged("JointValueLoss", { coefficient: N, clipRange: Schema.optionalKey(N) })])
const NormalizerData = Block([tagged("Identity", {}), tagged("Running", { clip: N, epsilon: N })])
const RewardData = Block([tagged("Unscaled", {}), tagged("ReturnStd", { gamma: N, clip: N, epsilon: N })])
const PenaltyData = Block([
  tagged("AdaptivePenalty", { initialBeta: N, targetKl: N, tolerance: N, factor: N, minBeta: Schema.optionalKey(N), maxBeta: Schema.optionalKey(N) }),
  tagged("FixedPenalty", { beta: N, initialBeta: Schema.optionalKey(N) })
])
const ScheduleData = Block([tagged("Constant", { value: N }), tagged("Linear", { start: N, end: N })])
const OptimizerData = Block([tagged("AdamEpochs", { learningRate: ScheduleData, epochs: I, minibatchSize: I, maxGradNorm: N, epsilon: N })])
const MinibatchData = Block([tagged("Standardized", { epsilon: N }), tagged("Raw", {})])
const EarlyStopData = Block([tagged("Never", {}), tagged("ApproxKl", { targetKl: N, tolerance: N })])

const common = {
  name: Schema.String,
  numEnvs: I,
  stepsPerEnv: I,
  policyHiddenSizes: Schema.Array(I),
  valueHiddenSizes: Schema.Array(I),
  initialLogStd: N,
  observations: NormalizerData,
  rewards: RewardData,
  advantage: AdvantageData
}

/**
 * The JSON form of a recipe (what `Recipe.describe` writes).
 *
 * @category schemas
 */
export const RecipeJson = Schema.Union([
  Schema.TaggedStruct("NaturalGradient", { ...common, objective: ObjectiveData, fisher: FisherData, solver: SolverData, step: StepData, critic: CriticData }),
  Schema.TaggedStruct("FirstOrder", {
    ...common,
    objective: ObjectiveData,
    penalty: PenaltyData,
    optimizer: OptimizerData,
    minibatchAdvantages: MinibatchData,
    critic: JointData,
    earlyStop: EarlyStopData
  })
])

// -- Rebuilding blocks through their constructors ------------------------------------------------

type Fields = { readonly [key: string]: unknown }
const num = (d: Fields, k: string) => d[k] as number
const opt = (d: Fields, k: string): { readonly [key: string]: number } => (d[k] === undefined ? {} : { [k]: d[k] as number })

class BuildFailure {
  readonly path: string
  readonly message: string
  constructor(path: string, message: string) {
    this.path = path
    this.message = message
  }
}

/** Builds a block from decoded data; a constructor's RangeError names the bad parameter. */
const builders: Readonly<Record<string, (d: Fields, build: (d: Fields, path: string) => unknown, path: string) => unknown>> = {
  Gae: (d) => Advantage.gae({ gamma: num(d, "gamma"), lambda: num(d, "lambda") }),
  MonteCarlo: (d) => Advantage.monteCarlo({ gamma: num(d, "gamma"), ...(d.baseline === undefined ? {} : { baseline: d.baseline as boolean }) }),
  NStep: (d) => Advantage.nStep({ gamma: num(d, "gamma"), n: num(d, "n") }),
  Normalized: (d, build, path) => Advantage.normalized(build(d.inner as Fields, `${path}.inner`) as Advantage.Estimator, { epsilon: num(d, "epsilon") }),
  ImportanceSampled: () => Surrogate.importanceSampled(),
  Clipped: (d) => Surrogate.clipped({ epsilon: num(d, "epsilon") }),
  KlPenalized: (d, build, path) =>
    Surrogate.klPenalized({ beta: num(d, "beta"), ...(d.inner === undefined ? {} : { inner: build(d.inner as Fields, `${path}.inner`) as Surrogate.Objective }) }),
  EntropyBonus: (d, build, path) => Surrogate.withEntropyBonus(build(d.inner as Fields, `${path}.inner`) as Surrogate.Objective, { coefficient: num(d, "coefficient") }),
  Analytic: (d) => Fisher.analytic({ damping: num(d, "damping"), subsampleEvery: num(d, "subsampleEvery") }),
  FiniteDifference: (d) => Fisher.finiteDifference({ damping: num(d, "damping"), stepSize: num(d, "stepSize") }),
  Pearlmutter: (d) => Fisher.pearlmutter({ damping: num(d, "damping") }),
  ConjugateGradient: (d) => ConjugateGradient.make({ maxIterations: num(d, "maxIterations"), residualTolerance: num(d, "residualTolerance") }),
  DenseCholesky: (d) => DenseFisher.cholesky({ maxParameters: num(d, "maxParameters") }),
  BacktrackingLineSearch: (d) =>
    LineSearch.backtracking({ maxKl: num(d, "maxKl"), backtrackRatio: num(d, "backtrackRatio"), maxBacktracks: num(d, "maxBacktracks"), klTolerance: num(d, "klTolerance") }),
  TrustRegionStep: (d) => LineSearch.trustRegionStep({ maxKl: num(d, "maxKl") }),
  FixedStep: (d) => LineSearch.fixedStep({ stepSize: num(d, "stepSize") }),
  ImprovementRatio: (d) =>
    LineSearch.improvementRatio({ maxKl: num(d, "maxKl"), backtrackRatio: num(d, "backtrackRatio"), maxBacktracks: num(d, "maxBacktracks"), acceptRatio: num(d, "acceptRatio") }),
  AdamFit: (d) => Critic.adam({ learningRate: num(d, "learningRate"), epochs: num(d, "epochs"), minibatchSize: num(d, "minibatchSize") }),
  JointValueLoss: (d) => Critic.joint({ coefficient: num(d, "coefficient"), ...opt(d, "clipRange") }),
  Identity: () => Normalize.identity(),
  Running: (d) => Normalize.running({ clip: num(d, "clip"), epsilon: num(d, "epsilon") }),
  Unscaled: () => Wrappers.unscaled(),
  ReturnStd: (d) => Wrappers.returnStd({ gamma: num(d, "gamma"), clip: num(d, "clip"), epsilon: num(d, "epsilon") }),
  AdaptivePenalty: (d) =>
    Penalty.adaptive({ initialBeta: num(d, "initialBeta"), targetKl: num(d, "targetKl"), tolerance: num(d, "tolerance"), factor: num(d, "factor"), ...opt(d, "minBeta"), ...opt(d, "maxBeta") }),
  FixedPenalty: (d, _, path) => {
    if (d.initialBeta !== undefined && d.initialBeta !== d.beta) {
      throw new BuildFailure(`${path}.initialBeta`, `must equal beta (${d.beta}) for a fixed penalty, got ${d.initialBeta}`)
    }
    return Penalty.fixed({ beta: num(d, "beta") })
  },
  Constant: (d) => Schedule.constant(num(d, "value")),
  Linear: (d) => Schedule.linear({ start: num(d, "start"), end: num(d, "end") }),
  AdamEpochs: (d, build, path) =>
    FirstOrder.adamEpochs({
      learningRate: build(d.learningRate as Fields, `${path}.learningRate`) as Schedule.Schedule,
      epochs: num(d, "epochs"),
      minibatchSize: num(d, "minibatchSize"),
      maxGradNorm: num(d, "maxGradNorm"),
      epsilon: num(d, "epsilon")
    }),
  Standardized: (d) => FirstOrder.standardized({ epsilon: num(d, "epsilon") }),
  Raw: () => FirstOrder.raw(),
  Never: () => FirstOrder.never(),
  ApproxKl: (d) => FirstOrder.approxKlStop({ targetKl: num(d, "targetKl"), tolerance: num(d, "tolerance") })
}

const buildBlock = (d: Fields, path: string): unknown => {
  const builder = builders[d._tag as string]!
  try {
    return builder(d, buildBlock, path)
  } catch (cause) {
    if (cause instanceof BuildFailure) throw cause
    // "LineSearch.backtracking: maxKl must be > 0, got -1" → field maxKl.
    const message = cause instanceof Error ? cause.message.replace(/^[\w.]+: /, "") : String(cause)
    const field = /^(\w+)/.exec(message)?.[1]
    throw new BuildFailure(field !== undefined && field in d ? `${path}.${field}` : path, message)
  }
}

const blockSlots = ["observations", "rewards", "advantage", "objective", "fisher", "solver", "step", "critic", "penalty", "optimizer", "minibatchAdvantages", "earlyStop"] as const

const checkSizes = (path: string, sizes: ReadonlyArray<number>): void => {
  if (sizes.length === 0 || sizes.some((n) => !(n >= 1))) throw new BuildFailure(path, `${path} must be a non-empty list of positive integers, got [${sizes.join(", ")}]`)
}

const formatSchemaError = (error: Schema.SchemaError): RecipeError => {
  // The message ends with the path, e.g. `Expected number\n  at ["step"]["maxKl"]`.
  const text = error.message
  const at = /at (\[.*\])\s*$/.exec(text)
  const path = at === null ? "" : [...at[1]!.matchAll(/\["?([^"\]]*)"?\]/g)].map((m) => m[1]).join(".")
  const what = text.replace(/\s*at \[.*\]\s*$/, "").replace(/\s*\n\s*/g, " ")
  const unknownTag = /^Expected \{ readonly "_tag": /.test(what)
  const message = unknownTag
    ? `${path || "recipe"}: unknown block; expected one of ${[...what.matchAll(/"_tag": "(\w+)"/g)].map((m) => m[1]).join(", ")}`
    : `${path || "recipe"}: ${what.replace(/^Expected/, "expected")}`
  return new RecipeError({ path, message })
}

/**
 * Decodes the JSON form of a recipe and rebuilds every block through its constructor.
 *
 * @category decoding
 */
export const decode = (json: unknown): Result.Result<Recipe.Recipe, RecipeError> => {
  const decoded = Schema.decodeUnknownResult(RecipeJson)(json)
  if (Result.isFailure(decoded)) return Result.fail(formatSchemaError(decoded.failure))
  const data = decoded.success as unknown as Fields
  try {
    checkSizes("policyHiddenSizes", data.policyHiddenSizes as ReadonlyArray<number>)
    checkSizes("valueHiddenSizes", data.valueHiddenSizes as ReadonlyArray<number>)
    for (const key of ["numEnvs", "stepsPerEnv"]) {
      if (!((data[key] as number) >= 1)) throw new BuildFailure(key, `${key} must be a positive integer, got ${data[key]}`)
    }
    const recipe: Record<string, unknown> = { ...data }
    for (const slot of blockSlots) if (data[slot] !== undefined) recipe[slot] = buildBlock(data[slot] as Fields, slot)
    return Result.succeed(recipe as unknown as Recipe.Recipe)
  } catch (cause) {
    if (cause instanceof BuildFailure) {
      // "maxKl must be > 0, got -1" → "must be > 0, got -1" (the path already names maxKl).
      const detail = cause.message.replace(new RegExp(`^${cause.path.split(".").at(-1)} (?=must )`), "")
      return Result.fail(new RecipeError({ path: cause.path, message: `${cause.path}: ${detail}` }))
    }
    throw cause
  }
}

/**
 * The dotted paths of every hyperparameter of a recipe (leaves of its JSON form, `_tag`s
 * excluded), e.g. `step.maxKl`, `advantage.inner.lambda`, `numEnvs`.
 *
 * @category getters
 */
export const keys = (recipe: Recipe.Recipe): ReadonlyArray<string> => {
  const out: Array<string> = []
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      const derived = derivedKeys[(value as { readonly _tag?: string })._tag ?? ""] ?? []
      for (const [k, v] of Object.entries(value)) if (k !== "_tag" && !derived.includes(k)) walk(v, path === "" ? k : `${path}.${k}`)
    } else if (path !== "") {
      out.push(path)
    }
  }
  walk(Recipe.describe(recipe), "")
  return out
}

/**
 * The recipe with the hyperparameter at `path` set from its command-line text: a number, a list
 * of integers (`64,64`), or — for a whole block — its JSON form (`{"_tag":"DenseCholesky",…}`).
 * An unknown path, a malformed value or an out-of-range one is a {@link RecipeError} naming
 * the key and what is allowed.
 *
 * @category combinators
 */
export const override = (recipe: Recipe.Recipe, path: string, text: string): Result.Result<Recipe.Recipe, RecipeError> => {
  const json = Recipe.describe(recipe)
  const parts = path.split(".")
  let parent: Record<string, unknown> = json
  for (const part of parts.slice(0, -1)) {
    const next = parent[part]
    if (next === null || typeof next !== "object" || Array.isArray(next)) return Result.fail(unknownKey(recipe, path))
    parent = next as Record<string, unknown>
  }
  const leaf = parts.at(-1)!
  const current = parent[leaf]
  if (leaf === "_tag" || (current === undefined && !optionalKeyOf(parent, leaf))) return Result.fail(unknownKey(recipe, path))
  if ((derivedKeys[parent._tag as string] ?? []).includes(leaf)) {
    return Result.fail(new RecipeError({ path, message: `${path} is derived from the block's other fields and cannot be set` }))
  }
  const parsed = parseValue(current, text)
  if (parsed === undefined) {
    const expected = typeof current === "object" && current !== null && !Array.isArray(current) ? "a block as JSON, e.g. {\"_tag\": …}" : Array.isArray(current) ? "a comma-separated list of integers" : typeof current === "string" ? "a string" : typeof current === "boolean" ? "true or false" : "a number"
    return Result.fail(new RecipeError({ path, message: `invalid value "${text}" for ${path} (expected ${expected})` }))
  }
  parent[leaf] = parsed
  const decoded = decode(json)
  if (Result.isSuccess(decoded)) return decoded
  const detail = decoded.failure.message.replace(/^[\w.]+: /, "")
  const where = decoded.failure.path === path || decoded.failure.path === "" ? "" : ` at ${decoded.failure.path}`
  return Result.fail(new RecipeError({ path, message: `invalid value "${text}" for ${path}${where} (${detail})` }))
}

// Fields a block derives from others (written into its JSON for readers, not settable).
const derivedKeys: Readonly<Record<string, ReadonlyArray<string>>> = {
  FixedPenalty: ["initialBeta"]
}

// Optional hyperparameters that may be absent from the JSON form (and can still be set).
const optionalKeys: Readonly<Record<string, ReadonlyArray<string>>> = {
  JointValueLoss: ["clipRange"],
  AdaptivePenalty: ["minBeta", "maxBeta"]
}
const optionalKeyOf = (parent: Record<string, unknown>, key: string): boolean => (optionalKeys[parent._tag as string] ?? []).includes(key)

const parseValue = (current: unknown, text: string): unknown => {
  if (typeof current === "string") return text
  if (typeof current === "boolean") return text === "true" ? true : text === "false" ? false : undefined
  if (Array.isArray(current)) {
    const values = text.split(",").map((s) => s.trim())
    return values.every((v) => /^-?\d+$/.test(v)) ? values.map(Number) : undefined
  }
  if (current !== null && typeof current === "object") {
    try {
      const value = JSON.parse(text)
      return value !== null && typeof value === "object" && !Array.isArray(value) ? value : undefined
    } catch {
      return undefined
    }
  }
  // Decimal notation only (no hexadecimal, no Infinity).
  return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text.trim()) ? Number(text) : undefined
}

const unknownKey = (recipe: Recipe.Recipe, path: string): RecipeError => {
  const all = keys(recipe)
  // The deepest existing block on the path: its keys are the ones to suggest.
  const parts = path.split(".")
  let prefix = ""
  for (let i = parts.length - 1; i > 0; i--) {
    const candidate = `${parts.slice(0, i).join(".")}.`
    if (all.some((k) => k.startsWith(candidate))) {
      prefix = candidate
      break
    }
  }
  const shown = prefix === "" ? all : all.filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes("."))
  return new RecipeError({ path, message: `unknown key "${path}" for ${recipe.name}; keys${prefix === "" ? "" : ` under ${prefix.slice(0, -1)}`}: ${(shown.length > 0 ? shown : all).join(", ")}` })
}
