/**
 * Learning curves of run directories and ablation directories (`trustregion plot`): a run
 * gives one line, an ablation one line per variant — the mean over seeds with its 95 %
 * bootstrap band. Any numeric metrics key can be plotted against environment steps.
 *
 * @since 0.1.0
 */
import { Effect, Result } from "effect"
import * as Key from "../algebra/Key.ts"
import * as Ablation from "./Ablation.ts"
import * as Plot from "./Plot.ts"
import * as Png from "./Png.ts"
import * as Report from "./Report.ts"
import * as Runs from "./Runs.ts"
import { RunStore, type StoreError } from "./RunStore.ts"
import * as Summary from "./Summary.ts"

/**
 * The image formats, by file extension.
 *
 * @category models
 */
export const formats = ["svg", "png"] as const

/** @category models */
export type Format = (typeof formats)[number]

/**
 * The format of an output file from its extension, or an error naming the allowed ones.
 *
 * @category parsing
 */
export const formatOf = (file: string): Result.Result<Format, Runs.RunError> => {
  const ext = /\.([^./\\]+)$/.exec(file)?.[1]?.toLowerCase()
  return ext === "svg" || ext === "png"
    ? Result.succeed(ext)
    : Result.fail(new Runs.RunError({ message: `--out ${file}: unknown image format; the file name must end in .svg or .png` }))
}

type Line = Summary.MetricsLine & Readonly<Record<string, unknown>>

// The metric as the curve's value (Summary's curves read `episodeReturnMean`).
const asCurveLines = (lines: ReadonlyArray<Line>, metric: string): ReadonlyArray<Summary.MetricsLine> =>
  lines.map((line) => {
    const value = line[metric]
    return { steps: line.steps, episodeReturnMean: typeof value === "number" && Number.isFinite(value) ? value : null }
  })

const keysOf = (lines: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
  [...new Set(lines.flatMap((line) => Object.keys(line).filter((k) => typeof line[k] === "number")))].filter((k) => k !== "steps")

const bandKey = Key.foldIn(Key.make(0), 0x706c6f74)

/**
 * The series of one or more directories: a run directory (it has `metrics.jsonl`) is one
 * line named after the directory; an ablation directory (it has `spec.json`) is one line and
 * band per variant. Fails, naming the directory, when it is neither or when no line has a
 * numeric `metric` (listing the keys that are there).
 *
 * @category programs
 */
export const series = (dirs: ReadonlyArray<string>, metric: string): Effect.Effect<ReadonlyArray<Plot.Series>, Runs.RunError | StoreError, RunStore> =>
  Effect.gen(function*() {
    const store = yield* RunStore
    const out: Array<Plot.Series> = []
    const prefix = (name: string, dir: string) => (dirs.length > 1 ? `${dir}: ${name}` : name)
    for (const dir of dirs) {
      const specText = yield* store.read(dir, "spec.json")
      if (specText !== undefined) {
        const spec = Ablation.decodeSpec(specText, `${dir}/spec.json`)
        if (Result.isFailure(spec)) return yield* spec.failure
        const variants = yield* Ablation.variantRuns(dir, spec.success)
        const all = variants.flatMap((v) => v.runs.flatMap((r) => r.lines))
        if (!keysOf(all).includes(metric)) return yield* noMetric(dir, metric, all)
        const relabelled = variants.map((v) => ({ ...v, runs: v.runs.map((r) => ({ ...r, lines: asCurveLines(r.lines, metric) })) }))
        const curves = Report.variantCurves(relabelled, bandKey)
        for (const v of relabelled) out.push({ name: prefix(v.name, dir), ...Report.meanAndBand(curves[v.name]!) })
        continue
      }
      const text = yield* store.read(dir, "metrics.jsonl")
      if (text === undefined) return yield* new Runs.RunError({ message: `${dir} holds neither a run (metrics.jsonl) nor an ablation (spec.json)` })
      const lines = Summary.parseMetrics(text)
      if (!keysOf(lines).includes(metric)) return yield* noMetric(dir, metric, lines)
      out.push({ name: dirs.length > 1 ? dir : metric, points: Summary.learningCurve(asCurveLines(lines, metric)) })
    }
    return out.map((s, i) => ({ ...s, color: Plot.colorAt(i) }))
  })

const noMetric = (dir: string, metric: string, lines: ReadonlyArray<Readonly<Record<string, unknown>>>) =>
  new Runs.RunError({
    message: lines.length === 0
      ? `${dir}: no metrics lines yet`
      : `--metric ${metric}: no numeric values in ${dir}; its keys: ${keysOf(lines).join(", ")}`
  })

/**
 * The plot of `series` as an image file's bytes (SVG text or a PNG at pixel ratio 2).
 *
 * @category rendering
 */
export const render = (plotted: ReadonlyArray<Plot.Series>, format: Format, options: Plot.PlotOptions): Uint8Array =>
  format === "svg" ? new TextEncoder().encode(Plot.linePlot(plotted, options)) : Png.linePlotPng(plotted, { ...options, scale: 2 })
