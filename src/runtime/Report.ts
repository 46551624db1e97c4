/**
 * The results of an ablation (variants × seeds) as a typed summary and its three renderings:
 * `summary.md` ({@link summaryMarkdown}), `summary.json` ({@link summaryJson}, decodable with
 * {@link decodeSummary}) and a self-contained `report.html` ({@link reportHtml}: table, learning
 * curves with confidence bands, one small plot per variant; no scripts, no external assets).
 * {@link make} and {@link variantCurves} compute the summary and the curves from the runs'
 * metrics lines with `Summary.ts`. Pure: the caller reads the runs and writes the files.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import * as Key from "../algebra/Key.ts"
import * as Plot from "./Plot.ts"
import * as Summary from "./Summary.ts"

const Num = Schema.NullOr(Schema.Number)

/**
 * A mean over seeds and its confidence interval; `null` where no seed had a value.
 *
 * @category models
 */
export const Estimate = Schema.Struct({ mean: Num, lower: Num, upper: Num })
export type Estimate = typeof Estimate.Type

/**
 * One run of a variant. `steps` is the last line's `steps`; `wallSeconds` its `wallSeconds`.
 *
 * @category models
 */
export const SeedResult = Schema.Struct({
  seed: Schema.Number,
  finalReturn: Num,
  auc: Num,
  wallSeconds: Num,
  steps: Num,
  dir: Schema.optionalKey(Schema.String)
})
export type SeedResult = typeof SeedResult.Type

/**
 * One variant: its name, what it changes relative to the base recipe (as text, e.g.
 * `advantage = monteCarlo(gamma=0.99)`; empty for the base), its seeds, the final return and
 * AUC over seeds (`Summary.finalReturn`, `Summary.areaUnderCurve`) with bootstrap intervals,
 * wall time, and the per-seed values.
 *
 * @category models
 */
export const VariantSummary = Schema.Struct({
  name: Schema.String,
  changes: Schema.Array(Schema.String),
  seeds: Schema.Array(Schema.Number),
  finalReturn: Estimate,
  auc: Estimate,
  wallSeconds: Schema.Struct({ mean: Num, total: Schema.Number }),
  runs: Schema.Array(SeedResult)
})
export type VariantSummary = typeof VariantSummary.Type

/**
 * The summary of an ablation, as written to `summary.json`. `level` and `resamples` describe
 * the bootstrap intervals; `generatedAt` is only present when the caller passes it (the
 * renderings are otherwise deterministic).
 *
 * @category models
 */
export const AblationSummary = Schema.Struct({
  title: Schema.String,
  description: Schema.optionalKey(Schema.String),
  totalSteps: Schema.Number,
  level: Schema.Number,
  resamples: Schema.Number,
  variants: Schema.Array(VariantSummary),
  generatedAt: Schema.optionalKey(Schema.String)
})
export type AblationSummary = typeof AblationSummary.Type

/**
 * Decodes `summary.json` (parsed) back into an {@link AblationSummary}; throws a
 * `SchemaError` on anything else.
 *
 * @category parsing
 */
export const decodeSummary = (u: unknown): AblationSummary => Schema.decodeUnknownSync(AblationSummary)(u)

/**
 * The runs of one variant: its name, its changes as text, and per seed the parsed
 * `metrics.jsonl` lines.
 *
 * @category models
 */
export interface VariantRuns {
  readonly name: string
  readonly changes?: ReadonlyArray<string>
  readonly runs: ReadonlyArray<{ readonly seed: number; readonly lines: ReadonlyArray<Summary.MetricsLine>; readonly dir?: string }>
}

/**
 * Everything {@link make} needs.
 *
 * @category models
 */
export interface AblationInput {
  readonly title: string
  readonly description?: string
  readonly totalSteps: number
  readonly variants: ReadonlyArray<VariantRuns>
  readonly generatedAt?: string
}

// FNV-1a of the UTF-16 code units: a variant's key depends on its name, not its position.
const nameHash = (name: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0
  return h >>> 0
}

// [final return, AUC, curves] keys of a variant.
const variantKeys = (key: Key.Key, name: string): Array<Key.Key> => Key.split(Key.foldIn(key, nameHash(name)), 3)

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null)

const estimate = (values: ReadonlyArray<number | null>, key: Key.Key, options: Summary.BootstrapOptions): Estimate => {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v))
  const [lower, upper] = Summary.bootstrapCi(xs, key, options)
  return { mean: finiteOrNull(Summary.mean(xs)), lower: finiteOrNull(lower), upper: finiteOrNull(upper) }
}

/**
 * The summary of an ablation from its runs. Variant v's intervals use keys split from
 * `Key.foldIn(key, fnv1a(v.name))`, so adding or reordering variants leaves the others'
 * numbers unchanged.
 *
 * @param options the bootstrap's `resamples` (default 10 000) and `level` (default 0.95)
 * @category constructors
 */
export const make = (input: AblationInput, key: Key.Key, options: Summary.BootstrapOptions = {}): AblationSummary => {
  const resamples = options.resamples ?? 10_000
  const level = options.level ?? 0.95
  const bootstrap = { resamples, level }
  const variants = input.variants.map((variant): VariantSummary => {
    const [finalKey, aucKey] = variantKeys(key, variant.name)
    const runs = variant.runs.map((run): SeedResult => ({
      seed: run.seed,
      finalReturn: Summary.finalReturn(run.lines),
      auc: Summary.areaUnderCurve(run.lines, input.totalSteps),
      wallSeconds: Summary.finalWallSeconds(run.lines),
      steps: run.lines.length === 0 ? null : finiteOrNull(run.lines[run.lines.length - 1]!.steps),
      ...(run.dir === undefined ? {} : { dir: run.dir })
    }))
    const walls = runs.flatMap((r) => (r.wallSeconds === null ? [] : [r.wallSeconds]))
    return {
      name: variant.name,
      changes: variant.changes ?? [],
      seeds: runs.map((r) => r.seed),
      finalReturn: estimate(runs.map((r) => r.finalReturn), finalKey!, bootstrap),
      auc: estimate(runs.map((r) => r.auc), aucKey!, bootstrap),
      wallSeconds: { mean: finiteOrNull(Summary.mean(walls)), total: walls.reduce((a, b) => a + b, 0) },
      runs
    }
  })
  return {
    title: input.title,
    ...(input.description === undefined ? {} : { description: input.description }),
    totalSteps: input.totalSteps,
    level,
    resamples,
    variants,
    ...(input.generatedAt === undefined ? {} : { generatedAt: input.generatedAt })
  }
}

/**
 * A variant's learning curves for the report: the per-seed curves and their mean and
 * confidence band on a common grid (`Summary.curveBand`).
 *
 * @category models
 */
export interface VariantCurves extends Summary.Band {
  readonly steps: ReadonlyArray<number>
  readonly seeds: ReadonlyArray<{ readonly seed: number; readonly curve: Summary.Curve }>
}

/**
 * The curves of every variant, keyed by variant name, on `points` grid steps (default 100)
 * with bootstrap bands of `resamples` (default 2 000) at `level` (default 0.95).
 *
 * @category constructors
 */
export const variantCurves = (
  variants: ReadonlyArray<VariantRuns>,
  key: Key.Key,
  options: Summary.BootstrapOptions & { readonly points?: number } = {}
): Record<string, VariantCurves> => {
  const out: Record<string, VariantCurves> = {}
  for (const variant of variants) {
    const seeds = variant.runs.map((run) => ({ seed: run.seed, curve: Summary.learningCurve(run.lines) }))
    out[variant.name] = { ...Summary.curveBand(seeds.map((s) => s.curve), variantKeys(key, variant.name)[2]!, options), seeds }
  }
  return out
}

/**
 * A mean curve and its confidence band as plot data on the curves' grid: `points`
 * `[step, mean]` and `band` `[step, lower, upper]`, `NaN` where no seed covers a step (a gap).
 *
 * @category rendering
 */
export const meanAndBand = (
  curves: Summary.Band & { readonly steps: ReadonlyArray<number> }
): { readonly points: ReadonlyArray<Plot.Point>; readonly band: ReadonlyArray<Plot.BandPoint> } => ({
  points: curves.steps.map((s, g): Plot.Point => [s, curves.mean[g] ?? NaN]),
  band: curves.steps.map((s, g): Plot.BandPoint => [s, curves.lower[g] ?? NaN, curves.upper[g] ?? NaN])
})

// -- Formatting ----------------------------------------------------------------------------------

/**
 * A number for a table: 4 significant digits at most (`1234`, `487.3`, `12.35`, `0.123`),
 * `—` for `null` or non-finite.
 *
 * @category formatting
 */
export const formatNumber = (v: number | null | undefined): string => {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—"
  const a = Math.abs(v)
  const s = a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(1) : a >= 1 ? v.toFixed(2) : a === 0 ? "0" : v.toPrecision(3)
  return s.startsWith("-") && Number(s) === 0 ? s.slice(1) : s
}

const interval = (e: Estimate): string => (e.lower === null || e.upper === null ? "—" : `[${formatNumber(e.lower)}, ${formatNumber(e.upper)}]`)

const percent = (level: number): string => `${Number((level * 100).toPrecision(3))} %`

const seconds = (v: number | null): string => (v === null ? "—" : v.toFixed(1))

// Index of the variant with the largest mean, if any has one.
const best = (summary: AblationSummary, pick: (v: VariantSummary) => number | null): number => {
  let index = -1, value = -Infinity
  summary.variants.forEach((v, i) => {
    const x = pick(v)
    if (x !== null && x > value) {
      value = x
      index = i
    }
  })
  return summary.variants.length > 1 ? index : -1
}

const methodText = (summary: AblationSummary): string =>
  `Final return: the last \`episodeReturnMean\` of a run (mean return of its last 100 episodes). ` +
  `AUC: the mean \`episodeReturnMean\` over environment steps (trapezoid rule from the first finished episode to min(last step, ${summary.totalSteps})). ` +
  `Intervals: ${percent(summary.level)} percentile bootstrap of the mean over seeds (${summary.resamples} resamples). Bold: the largest mean.`

const mdCell = (s: string): string => s.replace(/\r?\n/g, " ").replace(/\|/g, "\\|")

/**
 * `summary.md`: title, description, the method in one paragraph, one row per variant
 * (changes, number of seeds, final return and AUC with intervals, wall time mean and total),
 * then one row per run. Pipes in text are escaped.
 *
 * @category rendering
 */
export const summaryMarkdown = (summary: AblationSummary): string => {
  const bestFinal = best(summary, (v) => v.finalReturn.mean)
  const bestAuc = best(summary, (v) => v.auc.mean)
  const bold = (s: string, on: boolean) => (on ? `**${s}**` : s)
  const ci = `${percent(summary.level)} CI`
  const lines: Array<string> = [`# ${mdCell(summary.title)}`, ""]
  if (summary.description !== undefined) lines.push(summary.description, "")
  if (summary.generatedAt !== undefined) lines.push(`Generated ${summary.generatedAt}.`, "")
  lines.push(methodText(summary), "")
  lines.push(`| variant | changes | seeds | final return | ${ci} | AUC | ${ci} | wall s (mean) | wall s (total) |`)
  lines.push("| --- | --- | ---: | ---: | --- | ---: | --- | ---: | ---: |")
  summary.variants.forEach((v, i) => {
    const changes = v.changes.length === 0 ? "(none)" : v.changes.map(mdCell).join("; ")
    lines.push(
      `| ${mdCell(v.name)} | ${changes} | ${v.seeds.length} | ${bold(formatNumber(v.finalReturn.mean), i === bestFinal)} | ${interval(v.finalReturn)} | ` +
        `${bold(formatNumber(v.auc.mean), i === bestAuc)} | ${interval(v.auc)} | ${seconds(v.wallSeconds.mean)} | ${v.wallSeconds.total.toFixed(1)} |`
    )
  })
  lines.push("", "## Runs", "", "| variant | seed | final return | AUC | wall s | steps |", "| --- | ---: | ---: | ---: | ---: | ---: |")
  for (const v of summary.variants) {
    for (const r of v.runs) {
      lines.push(`| ${mdCell(v.name)} | ${r.seed} | ${formatNumber(r.finalReturn)} | ${formatNumber(r.auc)} | ${seconds(r.wallSeconds)} | ${r.steps ?? "—"} |`)
    }
  }
  return `${lines.join("\n")}\n`
}

/**
 * `summary.json`: the summary as indented JSON with a trailing newline.
 *
 * @category rendering
 */
export const summaryJson = (summary: AblationSummary): string => `${JSON.stringify(summary, null, 2)}\n`

const STYLE = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em}
table{border-collapse:collapse;margin:1em 0;font-size:0.92em}
th,td{border:1px solid #ccc;padding:0.3em 0.6em;vertical-align:top}
th{background:#f3f3f3;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
code{font-size:0.92em;background:#f6f6f6;padding:0 0.2em}
.swatch{display:inline-block;width:0.9em;height:0.9em;margin-right:0.4em;vertical-align:-0.1em;border-radius:2px}
.multiples{display:flex;flex-wrap:wrap;gap:0.5em}
.method{color:#555;font-size:0.92em}`

/**
 * `report.html`: one self-contained page (inline CSS and SVG; no scripts, fonts, images or
 * links) with the title, the method, the summary table, a plot of every variant's mean
 * learning curve with its confidence band (colours `Plot.colorAt(i)` by variant order), one
 * small plot per variant on shared axes (each seed thin, the mean and band on top), and the
 * per-run table. Variants missing from `curvesByVariant` are left out of the plots.
 *
 * @category rendering
 */
export const reportHtml = (summary: AblationSummary, curvesByVariant: Readonly<Record<string, VariantCurves>>): string => {
  const h = Plot.escape
  const bestFinal = best(summary, (v) => v.finalReturn.mean)
  const bestAuc = best(summary, (v) => v.auc.mean)
  const num = (s: string, on = false) => `<td class="num">${on ? `<strong>${h(s)}</strong>` : h(s)}</td>`
  const ci = `${percent(summary.level)} CI`
  const plotted = summary.variants
    .map((v, i) => ({ v, color: Plot.colorAt(i), curves: Object.hasOwn(curvesByVariant, v.name) ? curvesByVariant[v.name] : undefined }))
    .filter((p): p is { v: VariantSummary; color: string; curves: VariantCurves } => p.curves !== undefined)

  const main = Plot.linePlot(
    plotted.map(({ v, color, curves }) => ({ name: v.name, color, ...meanAndBand(curves) })),
    {
      title: `Learning curves: mean and ${ci} over seeds`,
      xLabel: "environment steps",
      yLabel: "episodeReturnMean",
      width: 960,
      height: 440,
      standalone: false
    }
  )
  // Shared axes, so that the small plots compare at a glance.
  const xs = plotted.flatMap(({ curves }) => [...curves.steps, ...curves.seeds.flatMap((s) => s.curve.map((p) => p[0]))]).filter(Number.isFinite)
  const ys = plotted
    .flatMap(({ curves }) => [...curves.mean, ...curves.lower, ...curves.upper, ...curves.seeds.flatMap((s) => s.curve.map((p) => p[1]))])
    .filter(Number.isFinite)
  const range = (values: ReadonlyArray<number>, pad: number): readonly [number, number] | undefined => {
    if (values.length === 0) return undefined
    const lo = values.reduce((a, b) => Math.min(a, b)), hi = values.reduce((a, b) => Math.max(a, b))
    return hi > lo ? [lo - (hi - lo) * pad, hi + (hi - lo) * pad] : undefined
  }
  const xDomain = range(xs, 0), yDomain = range(ys, 0.05)
  const multiples = plotted.map(({ v, color, curves }) =>
    Plot.linePlot(
      [
        ...curves.seeds.map((s) => ({ name: `seed ${s.seed}`, color, points: s.curve, lineWidth: 1, opacity: 0.35, legend: false })),
        { name: v.name, color, ...meanAndBand(curves) }
      ],
      {
        title: v.name,
        width: 340,
        height: 230,
        legend: false,
        standalone: false,
        ...(xDomain === undefined ? {} : { xDomain }),
        ...(yDomain === undefined ? {} : { yDomain })
      }
    )
  )

  const rows = summary.variants.map((v, i) => {
    const changes = v.changes.length === 0 ? "<em>(none)</em>" : v.changes.map((c) => `<code>${h(c)}</code>`).join("<br>")
    return (
      `<tr><td><span class="swatch" style="background:${h(Plot.colorAt(i))}"></span>${h(v.name)}</td><td>${changes}</td>` +
      num(String(v.seeds.length)) +
      num(formatNumber(v.finalReturn.mean), i === bestFinal) + num(interval(v.finalReturn)) +
      num(formatNumber(v.auc.mean), i === bestAuc) + num(interval(v.auc)) +
      num(seconds(v.wallSeconds.mean)) + num(v.wallSeconds.total.toFixed(1)) + `</tr>`
    )
  })
  const runRows = summary.variants.flatMap((v) =>
    v.runs.map((r) =>
      `<tr><td>${h(v.name)}</td>${num(String(r.seed))}${num(formatNumber(r.finalReturn))}${num(formatNumber(r.auc))}${num(seconds(r.wallSeconds))}${num(r.steps === null ? "—" : String(r.steps))}</tr>`
    )
  )
  const parts = [
    "<!DOCTYPE html>",
    `<html lang="en">`,
    `<head>`,
    `<meta charset="utf-8">`,
    `<meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${h(summary.title)}</title>`,
    `<style>\n${STYLE}\n</style>`,
    `</head>`,
    `<body>`,
    `<h1>${h(summary.title)}</h1>`,
    ...(summary.description === undefined ? [] : [`<p>${h(summary.description)}</p>`]),
    ...(summary.generatedAt === undefined ? [] : [`<p class="method">Generated ${h(summary.generatedAt)}.</p>`]),
    `<p class="method">${h(methodText(summary)).replace(/`([^`]*)`/g, "<code>$1</code>")}</p>`,
    `<h2>Summary</h2>`,
    `<table>`,
    `<thead><tr><th>variant</th><th>changes</th><th>seeds</th><th>final return</th><th>${h(ci)}</th><th>AUC</th><th>${h(ci)}</th><th>wall s (mean)</th><th>wall s (total)</th></tr></thead>`,
    `<tbody>`,
    ...rows,
    `</tbody>`,
    `</table>`,
    ...(plotted.length === 0 ? [] : [`<h2>Learning curves</h2>`, `<figure>`, main, `</figure>`, `<h2>Per variant</h2>`, `<div class="multiples">`, ...multiples, `</div>`]),
    `<h2>Runs</h2>`,
    `<table>`,
    `<thead><tr><th>variant</th><th>seed</th><th>final return</th><th>AUC</th><th>wall s</th><th>steps</th></tr></thead>`,
    `<tbody>`,
    ...runRows,
    `</tbody>`,
    `</table>`,
    `</body>`,
    `</html>`
  ]
  return `${parts.join("\n")}\n`
}
