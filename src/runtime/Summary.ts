/**
 * Statistics over training runs, from their `metrics.jsonl` lines: learning curves, final
 * return, area under the curve, percentile-bootstrap confidence intervals of a mean, and
 * curves of several seeds on a common step grid with a mean and a confidence band. Pure and
 * synchronous; the only randomness is the bootstrap's, drawn from a `Key`, so every number is
 * a function of its inputs and the key. Used by `trustregion plot` and `trustregion ablate`.
 *
 * @since 0.1.0
 */
import * as Key from "../algebra/Key.ts"

/**
 * The fields of a metrics line this module reads (an `IterationReport`, or one parsed JSON
 * line of `metrics.jsonl`).
 *
 * @category models
 */
export interface MetricsLine {
  readonly steps: number
  readonly episodeReturnMean: number | null
  readonly wallSeconds?: number
}

/**
 * A learning curve: `[steps, value]` points in increasing steps.
 *
 * @category models
 */
export type Curve = ReadonlyArray<readonly [steps: number, value: number]>

/**
 * Parses the text of a `metrics.jsonl` file. Blank lines, lines that are not JSON objects
 * with a finite `steps` (e.g. the torn last line of a killed run) are skipped;
 * `episodeReturnMean` that is missing or not a finite number reads as `null`.
 *
 * @category parsing
 */
export const parseMetrics = (text: string): Array<MetricsLine & Readonly<Record<string, unknown>>> => {
  const out: Array<MetricsLine & Readonly<Record<string, unknown>>> = []
  for (const raw of text.split("\n")) {
    const line = raw.trim()
    if (line === "") continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      continue
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue
    const record = value as Readonly<Record<string, unknown>>
    const steps = record["steps"]
    if (typeof steps !== "number" || !Number.isFinite(steps)) continue
    const ret = record["episodeReturnMean"]
    out.push({ ...record, steps, episodeReturnMean: typeof ret === "number" && Number.isFinite(ret) ? ret : null })
  }
  return out
}

const isFiniteNumber = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x)

/**
 * The learning curve `(steps, episodeReturnMean)` of a run, skipping lines whose return is
 * `null` (no episode has ended yet) or not finite; sorted by steps (stable).
 *
 * @category constructors
 */
export const learningCurve = (lines: ReadonlyArray<MetricsLine>): Array<[number, number]> =>
  lines
    .filter((l) => isFiniteNumber(l.steps) && isFiniteNumber(l.episodeReturnMean))
    .map((l): [number, number] => [l.steps, l.episodeReturnMean as number])
    .sort((a, b) => a[0] - b[0])

/**
 * The last non-null `episodeReturnMean` of a run (the mean return of its last 100 episodes),
 * or `null` if no episode ended.
 *
 * @category statistics
 */
export const finalReturn = (lines: ReadonlyArray<MetricsLine>): number | null => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const r = lines[i]!.episodeReturnMean
    if (isFiniteNumber(r)) return r
  }
  return null
}

/**
 * The `wallSeconds` of the last line that has one, or `null`.
 *
 * @category statistics
 */
export const finalWallSeconds = (lines: ReadonlyArray<MetricsLine>): number | null => {
  for (let i = lines.length - 1; i >= 0; i--) {
    const w = lines[i]!.wallSeconds
    if (isFiniteNumber(w)) return w
  }
  return null
}

/**
 * The mean return over the steps axis: with the learning curve's points `(s_k, r_k)`,
 * `a = s_0` (the first non-null point) and `b = min(s_last, totalSteps)`,
 *
 *   AUC = (1 / (b − a)) · ∫_a^b r(s) ds,  r piecewise linear between the points,
 *
 * computed by the trapezoid rule, `Σ_k (s_{k+1} − s_k)·(r_k + r_{k+1})/2` over the segments
 * inside `[a, b]`, the segment crossing `b` cut at `b` by linear interpolation. Dividing by
 * the span makes it a return (same units as `episodeReturnMean`): a run that learns faster
 * has a larger AUC than one that reaches the same final return later. Iterations before the
 * first episode ended (`null` returns) are not counted.
 *
 * **Gotchas**: runs compared by AUC should share `totalSteps` and start their first point at
 * similar steps, since the span is per run. `null` when the curve is empty or starts after
 * `totalSteps`; the first point's return when the span is zero (one point).
 *
 * @category statistics
 */
export const areaUnderCurve = (lines: ReadonlyArray<MetricsLine>, totalSteps: number): number | null => {
  const curve = learningCurve(lines)
  if (curve.length === 0 || curve[0]![0] > totalSteps) return null
  const a = curve[0]![0]
  const b = Math.min(curve[curve.length - 1]![0], totalSteps)
  if (b <= a) return curve[0]![1]
  let area = 0
  for (let k = 0; k + 1 < curve.length; k++) {
    const [s0, r0] = curve[k]!
    const [s1, r1] = curve[k + 1]!
    if (s0 >= b) break
    if (s1 <= s0) continue
    const end = Math.min(s1, b)
    const rEnd = r0 + ((r1 - r0) * (end - s0)) / (s1 - s0)
    area += ((end - s0) * (r0 + rEnd)) / 2
  }
  return area / (b - a)
}

/**
 * The mean of the finite values (`NaN` if there are none), computed as
 * `v_0 + Σ (v_i − v_0)/n` so that a constant input gives back exactly that constant.
 *
 * @category statistics
 */
export const mean = (values: ReadonlyArray<number>): number => {
  const xs = values.filter(isFiniteNumber)
  if (xs.length === 0) return NaN
  const c = xs[0]!
  let sum = 0
  for (const x of xs) sum += x - c
  return c + sum / xs.length
}

/**
 * The `q`-quantile of sorted values by linear interpolation between order statistics
 * (Hyndman & Fan type 7, the default of R and NumPy): `h = (n − 1)q`,
 * `Q = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋)`.
 *
 * @category statistics
 */
export const quantileSorted = (sorted: ArrayLike<number>, q: number): number => {
  const n = sorted.length
  if (n === 0) return NaN
  const h = (n - 1) * Math.min(1, Math.max(0, q))
  const lo = Math.floor(h)
  const hi = Math.min(n - 1, lo + 1)
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!)
}

/**
 * Options of {@link bootstrapCi}: `resamples` B (default 10 000) and the confidence `level`
 * (default 0.95).
 *
 * @category models
 */
export interface BootstrapOptions {
  readonly resamples?: number
  readonly level?: number
}

/**
 * The percentile-bootstrap confidence interval of the mean (Efron & Tibshirani, *An
 * Introduction to the Bootstrap*, 1993, §13.3).
 *
 * For the n finite values, resample b ∈ [0, B) draws n indices with replacement,
 * `i_j = ⌊u_j·n⌋` with `u = Key.uniforms(Key.foldIn(key, b), n)`, and takes the mean
 * `m_b`; the interval is the `(1 − level)/2` and `(1 + level)/2` quantiles
 * ({@link quantileSorted}, type 7) of the sorted `m_b`. The interval therefore depends only on
 * the values, their order, `key`, B and the level.
 *
 * **Gotchas**: non-finite values are dropped. One value (or all equal) gives `[v, v]`, no
 * values `[NaN, NaN]`. With few values (e.g. 3 seeds) the percentile interval is too narrow:
 * it only knows the spread the sample shows; report n alongside it.
 *
 * @param key the bootstrap's key; the same key gives the same interval
 * @category statistics
 */
export const bootstrapCi = (values: ReadonlyArray<number>, key: Key.Key, options: BootstrapOptions = {}): readonly [number, number] => {
  const resamples = options.resamples ?? 10_000
  const level = options.level ?? 0.95
  if (!Number.isInteger(resamples) || resamples < 1 || resamples >= 0x1_0000_0000) {
    throw new RangeError(`Summary.bootstrapCi: resamples must be a positive integer, got ${resamples}`)
  }
  if (!(level > 0 && level < 1)) throw new RangeError(`Summary.bootstrapCi: level must lie in (0, 1), got ${level}`)
  const xs = values.filter(isFiniteNumber)
  const n = xs.length
  if (n === 0) return [NaN, NaN]
  const c = xs[0]!
  if (xs.every((x) => x === c)) return [c, c]
  const means = new Float64Array(resamples)
  for (let b = 0; b < resamples; b++) {
    const u = Key.uniforms(Key.foldIn(key, b), n)
    let sum = 0
    for (let j = 0; j < n; j++) sum += xs[Math.min(n - 1, Math.floor(u[j]! * n))]! - c
    means[b] = c + sum / n
  }
  means.sort()
  return [quantileSorted(means, (1 - level) / 2), quantileSorted(means, (1 + level) / 2)]
}

/**
 * `count` evenly spaced steps from `start` to `end` inclusive (rounded to integers when both
 * ends are integers and the spacing is at least 1).
 *
 * @category constructors
 */
export const evenGrid = (start: number, end: number, count: number): Array<number> => {
  if (count <= 1 || end <= start) return [start]
  const integral = Number.isInteger(start) && Number.isInteger(end) && (end - start) / (count - 1) >= 1
  return Array.from({ length: count }, (_, i) => {
    const v = i === count - 1 ? end : start + ((end - start) * i) / (count - 1)
    return integral ? Math.round(v) : v
  })
}

/**
 * The common grid of several curves: {@link evenGrid} over the union of their ranges, from
 * the smallest first step to the largest last step. Empty when every curve is.
 *
 * @category constructors
 */
export const stepGrid = (curves: ReadonlyArray<Curve>, count = 100): Array<number> => {
  const nonEmpty = curves.filter((c) => c.length > 0)
  if (nonEmpty.length === 0) return []
  const start = Math.min(...nonEmpty.map((c) => c[0]![0]))
  const end = Math.max(...nonEmpty.map((c) => c[c.length - 1]![0]))
  return evenGrid(start, end, count)
}

// The curve's value at x by linear interpolation, NaN outside [first step, last step]; at a
// repeated step, the last point with that step.
const interpolate = (curve: Curve, x: number): number => {
  const n = curve.length
  if (n === 0 || !(x >= curve[0]![0] && x <= curve[n - 1]![0])) return NaN
  let lo = 0, hi = n - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (curve[mid]![0] <= x) lo = mid
    else hi = mid - 1
  }
  const [s0, r0] = curve[lo]!
  if (s0 === x || lo === n - 1) return r0
  const [s1, r1] = curve[lo + 1]!
  return r0 + ((r1 - r0) * (x - s0)) / (s1 - s0)
}

/**
 * Curves of several runs (seeds) resampled on a common step grid: `aligned[c][g]` is curve
 * c at `grid[g]`, linearly interpolated between its two neighbouring points, `NaN` outside
 * the curve's range `[first step, last step]`. Curves are sorted by steps first.
 *
 * @category combinators
 */
export const alignCurves = (curves: ReadonlyArray<Curve>, grid: ReadonlyArray<number>): Array<Array<number>> =>
  curves.map((curve) => {
    const sorted = curve.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1])).sort((a, b) => a[0] - b[0])
    return grid.map((x) => interpolate(sorted, x))
  })

/**
 * Per grid point: the mean over the curves that cover it, the bootstrap interval of that
 * mean, and how many curves cover it.
 *
 * @category models
 */
export interface Band {
  readonly mean: ReadonlyArray<number>
  readonly lower: ReadonlyArray<number>
  readonly upper: ReadonlyArray<number>
  readonly count: ReadonlyArray<number>
}

/**
 * The mean and a bootstrap confidence band across seeds of aligned curves (see
 * {@link alignCurves}): at grid point g, over the finite `aligned[c][g]`, the {@link mean}
 * and {@link bootstrapCi} with key `Key.foldIn(key, g)`.
 *
 * **Gotchas**: near the ends of the grid fewer seeds may cover a point (`count`); with one
 * seed the band collapses onto the line. The default is 2 000 resamples (a drawn band, not a
 * reported number; 10 000 over a 100-point grid costs about a second).
 *
 * @category statistics
 */
export const meanBand = (aligned: ReadonlyArray<ReadonlyArray<number>>, key: Key.Key, options: BootstrapOptions = {}): Band => {
  const points = Math.max(0, ...aligned.map((a) => a.length))
  const opts = { resamples: options.resamples ?? 2000, level: options.level ?? 0.95 }
  const mean_: Array<number> = [], lower: Array<number> = [], upper: Array<number> = [], count: Array<number> = []
  for (let g = 0; g < points; g++) {
    const column = aligned.map((a) => a[g] ?? NaN).filter(isFiniteNumber)
    const [lo, hi] = bootstrapCi(column, Key.foldIn(key, g), opts)
    mean_.push(mean(column))
    lower.push(lo)
    upper.push(hi)
    count.push(column.length)
  }
  return { mean: mean_, lower, upper, count }
}

/**
 * The curves of several seeds summarised on a grid of `points` steps ({@link stepGrid}):
 * the grid and its {@link meanBand}.
 *
 * @category statistics
 */
export const curveBand = (
  curves: ReadonlyArray<Curve>,
  key: Key.Key,
  options: BootstrapOptions & { readonly points?: number } = {}
): Band & { readonly steps: ReadonlyArray<number> } => {
  const steps = stepGrid(curves, options.points ?? 100)
  return { steps, ...meanBand(alignCurves(curves, steps), key, options) }
}
