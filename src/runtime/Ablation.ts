/**
 * Ablations: a spec names a base algorithm and environment, variants that replace blocks or
 * hyperparameters, seeds and a step budget; the variant × seed grid runs on a pool of worker
 * threads, each run a complete run directory (so an interrupted ablation resumes, and any run
 * can be replayed), and the results are summarised across seeds.
 *
 * ```json
 * {
 *   "name": "GAE λ on CartPole",
 *   "algo": "trpo", "env": "CartPole-v1", "steps": 100000, "seeds": [0, 1, 2, 3, 4],
 *   "set": { "numEnvs": 2 },
 *   "variants": [
 *     { "name": "GAE λ=0.9", "set": { "advantage.inner.lambda": 0.9 } },
 *     { "name": "Monte-Carlo", "set": { "advantage.inner": { "_tag": "MonteCarlo", "gamma": 0.99 } } }
 *   ]
 * }
 * ```
 *
 * `set` (for every variant) and each variant's `set` take `--set` keys (docs/ablations.md):
 * a number, a string, or a block as JSON.
 *
 * @since 0.1.0
 */
import { Clock, Console, Effect, Result, Schema } from "effect"
import * as Key from "../algebra/Key.ts"
import * as Algorithms from "../algorithms/Algorithms.ts"
import * as Registry from "../envs/Registry.ts"
import * as Report from "./Report.ts"
import { RunStore, type StoreError } from "./RunStore.ts"
import * as Runs from "./Runs.ts"

const SetValue = Schema.Union([Schema.Number, Schema.Boolean, Schema.String, Schema.Record(Schema.String, Schema.Unknown)])
const Overrides = Schema.Record(Schema.String, SetValue)

/**
 * An ablation spec (SPEC.json).
 *
 * @category models
 */
export const Spec = Schema.Struct({
  name: Schema.optionalKey(Schema.String),
  algo: Schema.Literals(Algorithms.names),
  env: Schema.Literals(Registry.ids(Registry.builtins) as ReadonlyArray<string>),
  steps: Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0))),
  seeds: Schema.Array(Schema.Int.pipe(Schema.check(Schema.isBetween({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })))).pipe(
    Schema.check(Schema.makeFilter((seeds: ReadonlyArray<number>) => (seeds.length > 0 && new Set(seeds).size === seeds.length) || "a non-empty list of distinct seeds"))
  ),
  backend: Schema.optionalKey(Schema.Literals(["wasm", "cpu", "node"])),
  checkpointEvery: Schema.optionalKey(Schema.Int.pipe(Schema.check(Schema.isGreaterThan(0)))),
  set: Schema.optionalKey(Overrides),
  variants: Schema.Array(Schema.Struct({ name: Schema.String.pipe(Schema.check(Schema.isMinLength(1))), set: Schema.optionalKey(Overrides) })).pipe(
    Schema.check(
      Schema.makeFilter((variants: ReadonlyArray<{ readonly name: string }>) =>
        (variants.length > 0 && new Set(variants.map((v) => v.name)).size === variants.length) || "a non-empty list of variants with distinct names"
      )
    )
  )
})

/** @category models */
export type Spec = typeof Spec.Type

/**
 * One run of the grid.
 *
 * @category models
 */
export interface Job {
  readonly variant: string
  readonly seed: number
  readonly dir: string
  readonly config: Runs.Config
}

// Greek letters of hyperparameter names, spelled out in directory names (λ=0.9 → lambda=0.9).
const greek: Readonly<Record<string, string>> = {
  α: "alpha", β: "beta", γ: "gamma", δ: "delta", ε: "epsilon", η: "eta", θ: "theta", κ: "kappa", λ: "lambda", μ: "mu", π: "pi", ρ: "rho", σ: "sigma", τ: "tau"
}

const slug = (name: string) =>
  name
    .replace(/[αβγδεηθκλμπρστ]/g, (ch) => greek[ch]!)
    .normalize("NFKD")
    .replace(/[^\w.=-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase() || "variant"

const overrideText = (value: unknown) => (typeof value === "string" ? value : typeof value === "number" ? String(value) : JSON.stringify(value))

/**
 * A spec from SPEC.json's text: its schema, then every variant resolved into a recipe, so that
 * a bad block or hyperparameter is rejected — with the path of the offending field and what
 * is allowed — before anything runs.
 *
 * @category decoding
 */
export const decodeSpec = (text: string, file: string): Result.Result<Spec, Runs.RunError> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    return Result.fail(new Runs.RunError({ message: `${file} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}` }))
  }
  const decoded = Schema.decodeUnknownResult(Spec)(parsed, { errors: "first", onExcessProperty: "error" })
  if (Result.isFailure(decoded)) {
    const text = decoded.failure.message
    const at = /at (\[.*\])\s*$/.exec(text)
    const path = at === null ? "" : [...at[1]!.matchAll(/\[("([^"]*)"|(\d+))\]/g)].map((m) => (m[3] !== undefined ? `[${m[3]}]` : `.${m[2]}`)).join("").replace(/^\./, "")
    const problem = /excess property/.test(text)
      ? `unknown field; allowed: ${(/^variants\[\d+\]\./.test(path) ? ["name", "set"] : Object.keys(Spec.fields)).join(", ")}`
      : text.replace(/\s*at \[.*\]\s*$/, "").replace(/\s*\n\s*/g, " ")
    return Result.fail(new Runs.RunError({ message: `${file}: ${path === "" ? "" : `${path}: `}${problem}` }))
  }
  const spec = decoded.success
  const slugs = new Map<string, number>()
  for (const [index, variant] of spec.variants.entries()) {
    const name = slug(variant.name)
    const other = slugs.get(name)
    if (other !== undefined) {
      return Result.fail(new Runs.RunError({
        message: `${file}: variants[${index}].name: "${variant.name}" and "${spec.variants[other]!.name}" share the run directory runs/${name}; rename one`
      }))
    }
    slugs.set(name, index)
  }
  for (const [index, variant] of spec.variants.entries()) {
    const config = configOf(spec, variant.set ?? {}, spec.seeds[0]!)
    const run = Runs.runOf(config)
    if (Result.isFailure(run)) {
      const named = /key "([\w.]+)"|for ([\w.]+)/.exec(run.failure.message)
      const key = named?.[1] ?? named?.[2]
      const where = key !== undefined && variant.set !== undefined && key in variant.set ? `variants[${index}].set["${key}"]` : key !== undefined && spec.set !== undefined && key in spec.set ? `set["${key}"]` : `variants[${index}]`
      return Result.fail(new Runs.RunError({ message: `${file}: ${where} (variant "${variant.name}"): ${run.failure.message.replace(/^--set /, "")}` }))
    }
  }
  return Result.succeed(spec)
}

const configOf = (spec: Spec, overrides: Readonly<Record<string, unknown>>, seed: number): Runs.Config => ({
  algo: spec.algo,
  env: spec.env,
  seed,
  steps: spec.steps,
  backend: spec.backend ?? "wasm",
  set: [...Object.entries(spec.set ?? {}), ...Object.entries(overrides)].map(([k, v]) => [k, overrideText(v)] as const),
  checkpointEvery: spec.checkpointEvery ?? 10
})

/**
 * The grid: every variant × seed, each with its run directory `DIR/runs/<variant>/seed-<s>`.
 *
 * @category functions
 */
export const jobs = (spec: Spec, dir: string): ReadonlyArray<Job> =>
  spec.variants.flatMap((variant) =>
    spec.seeds.map((seed) => ({ variant: variant.name, seed, dir: `${dir}/${runPath(variant.name, seed)}`, config: configOf(spec, variant.set ?? {}, seed) }))
  )

/** A run's directory inside the ablation's DIR. */
const runPath = (variant: string, seed: number) => `runs/${slug(variant)}/seed-${seed}`

/**
 * Prepares DIR for the spec: a new DIR gets `spec.json`; a DIR holding the same spec is resumed;
 * one holding a different spec is refused (nothing in it is touched).
 *
 * @category programs
 */
export const prepare = (dir: string, spec: Spec): Effect.Effect<"new" | "resumed", Runs.RunError | StoreError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const text = `${JSON.stringify(spec, null, 2)}\n`
    const existing = yield* store.read(dir, "spec.json")
    if (existing === undefined) {
      if ((yield* store.list(dir)).length > 0) return yield* new Runs.RunError({ message: `${dir} is not empty and holds no ablation; choose another --out` })
      yield* store.write(dir, "spec.json", text)
      return "new"
    }
    if (existing !== text) return yield* new Runs.RunError({ message: `${dir} holds a different ablation (its spec.json differs); choose another --out` })
    return "resumed"
  })

/**
 * What a job needs: nothing (complete), a resumption (started), or a fresh start.
 *
 * @category functions
 */
export const status = (job: Job): Effect.Effect<"complete" | "started" | "new", StoreError, RunStore> =>
  Effect.gen(function*() {
    if (yield* Runs.isComplete(job.dir)) return "complete"
    return (yield* Runs.isRun(job.dir)) ? "started" : "new"
  })

/**
 * Runs the jobs that are not complete with `runJob`, `workers` at a time, printing one
 * progress line per finished run with an estimate of the time left.
 *
 * @category programs
 */
export const execute = <E, R>(
  grid: ReadonlyArray<Job>,
  workers: number,
  runJob: (job: Job, resume: boolean) => Effect.Effect<unknown, E, R>
): Effect.Effect<{ readonly ran: number; readonly skipped: number }, E | StoreError, R | RunStore> =>
  Effect.gen(function*() {
    const statuses = yield* Effect.forEach(grid, status)
    const todo = grid.flatMap((job, i) => (statuses[i] === "complete" ? [] : [{ job, resume: statuses[i] === "started" }]))
    const skipped = grid.length - todo.length
    if (skipped > 0) yield* Console.log(`${skipped} of ${grid.length} runs already complete; running ${todo.length}`)
    const started = yield* Clock.currentTimeMillis
    let done = 0
    yield* Effect.forEach(
      todo,
      ({ job, resume }) =>
        Effect.gen(function*() {
          yield* runJob(job, resume)
          done++
          const elapsed = ((yield* Clock.currentTimeMillis) - started) / 1000
          const eta = (elapsed / done) * (todo.length - done)
          yield* Console.log(`[${done}/${todo.length}] ${job.variant}, seed ${job.seed} done  (${elapsed.toFixed(0)} s elapsed, eta ${eta.toFixed(0)} s)`)
        }),
      { concurrency: workers, discard: true }
    )
    return { ran: todo.length, skipped }
  })

/**
 * The key of an ablation's bootstrap intervals: fixed, so that a report is a function of the
 * runs' metrics (rewriting it gives the same intervals).
 */
const reportKey = Key.foldIn(Key.make(0), 0x7265706f)

/**
 * A variant's runs as read from DIR: every metrics line with all its keys.
 *
 * @category models
 */
export interface VariantRecords extends Report.VariantRuns {
  readonly changes: ReadonlyArray<string>
  readonly runs: ReadonlyArray<{ readonly seed: number; readonly dir: string; readonly lines: ReadonlyArray<Runs.MetricsLine> }>
}

/**
 * The runs of every variant, read from DIR (`Runs.readMetrics`: a run's torn last line is skipped).
 *
 * @category programs
 */
export const variantRuns = (dir: string, spec: Spec): Effect.Effect<ReadonlyArray<VariantRecords>, StoreError, RunStore> =>
  Effect.forEach(spec.variants, (variant) =>
    Effect.gen(function*() {
      const runs = yield* Effect.forEach(spec.seeds, (seed) =>
        Effect.map(Runs.readMetrics(`${dir}/${runPath(variant.name, seed)}`), (lines) => ({ seed, lines, dir: runPath(variant.name, seed) })))
      return { name: variant.name, changes: Object.entries(variant.set ?? {}).map(([k, v]) => `${k}=${overrideText(v)}`), runs }
    }))

const describeSpec = (spec: Spec): string => {
  const common = Object.entries(spec.set ?? {}).map(([k, v]) => `${k}=${overrideText(v)}`)
  return `${spec.algo} on ${spec.env}, ${spec.steps} environment steps per run, seeds ${spec.seeds.join(", ")}` +
    `${common.length === 0 ? "" : `; every variant with ${common.join(", ")}`}; backend ${spec.backend ?? "wasm"}. ` +
    `Each run is a run directory under runs/ that trustregion replay reproduces.`
}

/**
 * Reads every run of the grid and writes DIR/summary.json, DIR/summary.md and DIR/report.html
 * (final return and area under the learning curve per variant, mean and 95 % bootstrap
 * interval over seeds, wall time; learning curves with confidence bands). Returns the files
 * written.
 *
 * @category programs
 */
export const report = (dir: string, spec: Spec): Effect.Effect<ReadonlyArray<string>, StoreError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const variants = yield* variantRuns(dir, spec)
    const summary = Report.make({ title: spec.name ?? `${spec.algo} on ${spec.env}`, description: describeSpec(spec), totalSteps: spec.steps, variants }, reportKey)
    const curves = Report.variantCurves(variants, reportKey)
    yield* store.write(dir, "summary.json", Report.summaryJson(summary))
    yield* store.write(dir, "summary.md", Report.summaryMarkdown(summary))
    yield* store.write(dir, "report.html", Report.reportHtml(summary, curves))
    return ["summary.json", "summary.md", "report.html"].map((name) => `${dir}/${name}`)
  })
