/**
 * Line plots as pure values: series (with optional confidence bands), axes, ticks, a legend and
 * reference lines, laid out once by {@link layout} and drawn either as a standalone SVG string
 * ({@link linePlot}) or as PNG bytes (`Png.linePlotPng`, which draws the same layout). Used by
 * `trustregion plot`, the ablation report and the bench scripts; no dependencies, no I/O.
 *
 * Output is deterministic: the same series and options give the same bytes (coordinates are
 * written with one decimal, no ids or dates are generated). All text is escaped.
 *
 * @since 0.1.0
 */

/**
 * A data point `[x, y]`. A point with a non-finite coordinate (or a non-positive one on a log
 * axis) is a gap: the line breaks there.
 *
 * @category models
 */
export type Point = readonly [x: number, y: number]

/**
 * A confidence band sample `[x, lower, upper]`; non-finite samples break the band.
 *
 * @category models
 */
export type BandPoint = readonly [x: number, lower: number, upper: number]

/**
 * One named curve.
 *
 * - `color`: `#rgb` or `#rrggbb` (the PNG encoder also knows `rgb(r, g, b)` and a few names);
 *   defaults to {@link palette}`[i % 10]` for the i-th series.
 * - `band`: a filled polygon between lower and upper, in the series' colour at
 *   `PlotOptions.bandOpacity`; drawn under every line.
 * - `opacity`: of the line (1 by default), e.g. 0.35 for individual seeds behind their mean.
 * - `legend: false` leaves the series out of the legend.
 *
 * @category models
 */
export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<Point>
  readonly color?: string
  readonly dashed?: boolean
  readonly band?: ReadonlyArray<BandPoint>
  readonly lineWidth?: number
  readonly opacity?: number
  readonly legend?: boolean
}

/**
 * A labelled reference line, e.g. a target return (`hLines`) or a step budget (`vLines`).
 *
 * @category models
 */
export interface HLine {
  readonly y: number
  readonly label: string
  readonly color?: string
}

/**
 * @category models
 */
export interface VLine {
  readonly x: number
  readonly label: string
  readonly color?: string
}

/**
 * Plot options. Sizes are CSS pixels; every field is optional.
 *
 * - `xDomain`/`yDomain`: fixed axis ranges (e.g. shared by small multiples); otherwise the
 *   range of the data, bands and `hLines`, the y range padded by 5 % on a linear axis.
 * - `legend`: `false` drops the legend and its margin (default `true`).
 * - `bandOpacity`: fill opacity of the bands (default 0.2).
 * - `standalone`: `false` omits the `xmlns` attribute, for SVG inlined in HTML (default `true`).
 *
 * @category models
 */
export interface PlotOptions {
  readonly title?: string
  readonly xLabel?: string
  readonly yLabel?: string
  readonly logX?: boolean
  readonly logY?: boolean
  readonly width?: number
  readonly height?: number
  readonly xDomain?: readonly [number, number]
  readonly yDomain?: readonly [number, number]
  readonly hLines?: ReadonlyArray<HLine>
  readonly vLines?: ReadonlyArray<VLine>
  readonly legend?: boolean
  readonly bandOpacity?: number
  readonly standalone?: boolean
}

/**
 * The default series colours (Tableau 10, matplotlib's default cycle).
 *
 * @category constants
 */
export const palette: ReadonlyArray<string> = [
  "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
]

/**
 * The i-th colour of {@link palette}, cycling.
 *
 * @category constants
 */
export const colorAt = (i: number): string => palette[((i % palette.length) + palette.length) % palette.length]!

/**
 * An axis after layout: its domain, whether it is logarithmic, and its ticks with pixel
 * positions and labels.
 *
 * @category models
 */
export interface Axis {
  readonly domain: readonly [number, number]
  readonly log: boolean
  readonly ticks: ReadonlyArray<{ readonly value: number; readonly position: number; readonly label: string }>
}

/**
 * A series after layout, in pixel coordinates: its line as polylines (split at gaps) and its
 * band as closed polygons (upper edge forward, lower edge back).
 *
 * @category models
 */
export interface LaidSeries {
  readonly name: string
  readonly color: string
  readonly dashed: boolean
  readonly lineWidth: number
  readonly opacity: number
  readonly lines: ReadonlyArray<ReadonlyArray<Point>>
  readonly bands: ReadonlyArray<ReadonlyArray<Point>>
}

/**
 * Everything a renderer draws, in pixels (origin top-left). Text positions are baselines;
 * `anchor` says which end of the text the x coordinate is.
 *
 * @category models
 */
export interface Layout {
  readonly width: number
  readonly height: number
  /** The plot area; lines and bands are clipped to it. */
  readonly area: { readonly left: number; readonly top: number; readonly right: number; readonly bottom: number }
  readonly x: Axis
  readonly y: Axis
  readonly title: string | undefined
  readonly xLabel: string | undefined
  readonly yLabel: string | undefined
  readonly series: ReadonlyArray<LaidSeries>
  readonly bandOpacity: number
  readonly hLines: ReadonlyArray<{ readonly y: number; readonly label: string; readonly color: string; readonly labelY: number }>
  readonly vLines: ReadonlyArray<{ readonly x: number; readonly label: string; readonly color: string; readonly labelY: number }>
  readonly legend: ReadonlyArray<{ readonly name: string; readonly color: string; readonly dashed: boolean; readonly band: boolean; readonly x: number; readonly y: number }>
}

/** Text-width budget per character, in pixels (12 px sans-serif ≈ 6.5 px; the PNG font is 6 px). */
export const charWidth = 7
const LEGEND_MAX_CHARS = 36
const REFERENCE_COLOR = "#999999"

// Multiples of the smallest step of the form {1, 2, 5}·10^e that is at least span/count; a step
// smaller when that leaves fewer than min(3, count) ticks (a short axis with an awkward range).
const niceTicks = (lo: number, hi: number, count: number): Array<number> => {
  const span = hi - lo || 1
  const step0 = span / count
  const magnitude = 10 ** Math.floor(Math.log10(step0))
  const candidates = [0.1, 0.2, 0.5, 1, 2, 5, 10].map((m) => m * magnitude)
  const at = (step: number): Array<number> => {
    const ticks: Array<number> = []
    for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + 1e-9 * span; k++) ticks.push(Number((k * step).toPrecision(12)))
    return ticks
  }
  let index = candidates.findIndex((s) => s >= step0)
  let ticks = at(candidates[index]!)
  while (ticks.length < Math.min(3, count) && index > 0) ticks = at(candidates[--index]!)
  return ticks
}

const logTicks = (lo: number, hi: number): Array<number> => {
  const ticks: Array<number> = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const t = Number((10 ** e).toPrecision(12))
    if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t)
  }
  return ticks.length >= 2 ? ticks : [lo, hi]
}

/**
 * A short tick label with `precision` significant digits (default 3): `1.5M`, `25k`, `0.25`,
 * `1e-3`, `1.2e-3`.
 *
 * @category formatting
 */
export const formatTick = (v: number, precision = 3): string =>
  Math.abs(v) >= 1e6
    ? `${Number((v / 1e6).toPrecision(precision))}M`
    : Math.abs(v) >= 1e4
    ? `${Number((v / 1e3).toPrecision(precision))}k`
    : Math.abs(v) < 1e-2 && v !== 0
    ? Number(v.toPrecision(precision)).toExponential()
    : String(Number(v.toPrecision(precision)))

/**
 * Labels for the ticks of one axis: {@link formatTick} with the fewest significant digits
 * (from 3) that tell every tick apart.
 *
 * @category formatting
 */
export const formatTicks = (values: ReadonlyArray<number>): Array<string> => {
  for (let precision = 3; precision < 12; precision++) {
    const labels = values.map((v) => formatTick(v, precision))
    if (new Set(labels).size === labels.length) return labels
  }
  return values.map((v) => formatTick(v, 12))
}

const truncate = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 3)}...`)

const domainOf = (values: ReadonlyArray<number>, log: boolean, pad: boolean, fixed: readonly [number, number] | undefined): [number, number] => {
  if (fixed !== undefined) {
    const [a, b] = fixed
    if (a < b && (!log || a > 0)) return [a, b]
  }
  const usable = values.filter((v) => Number.isFinite(v) && (!log || v > 0))
  if (usable.length === 0) return log ? [1, 10] : [0, 1]
  let lo = usable.reduce((a, b) => Math.min(a, b)), hi = usable.reduce((a, b) => Math.max(a, b))
  if (lo === hi) return log ? [lo / 10, hi * 10] : [lo - (Math.abs(lo) * 0.1 || 1), hi + (Math.abs(hi) * 0.1 || 1)]
  if (pad && !log) {
    const margin = (hi - lo) * 0.05
    lo -= margin
    hi += margin
  }
  return [lo, hi]
}

// Splits a sequence at the indices where `ok` fails, dropping empty runs.
const runs = <A>(items: ReadonlyArray<A>, ok: (a: A) => boolean): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  let current: Array<A> = []
  for (const item of items) {
    if (ok(item)) current.push(item)
    else if (current.length > 0) {
      out.push(current)
      current = []
    }
  }
  if (current.length > 0) out.push(current)
  return out
}

/**
 * Lays a plot out: domains, ticks, margins (sized from the tick labels and the legend names),
 * pixel coordinates of every line and band, legend entries and reference lines. Both
 * renderers draw this value, so the SVG and the PNG of a plot agree.
 *
 * **Gotchas**: legend names longer than 36 characters are shortened with `...`.
 *
 * @category constructors
 */
export const layout = (series: ReadonlyArray<Series>, options: PlotOptions = {}): Layout => {
  const width = options.width ?? 720, height = options.height ?? 360
  const logX = options.logX === true, logY = options.logY === true
  // Only points drawable on both axes count towards the domains.
  const okX = (v: number) => Number.isFinite(v) && (!logX || v > 0)
  const okY = (v: number) => Number.isFinite(v) && (!logY || v > 0)
  const points = series.flatMap((s) => s.points.filter((p) => okX(p[0]) && okY(p[1])))
  const bands = series.flatMap((s) => (s.band ?? []).filter((b) => okX(b[0]) && okY(b[1]) && okY(b[2])))
  const xs = [...points.map((p) => p[0]), ...bands.map((b) => b[0])]
  const ys = [...points.map((p) => p[1]), ...bands.flatMap((b) => [b[1], b[2]]), ...(options.hLines ?? []).map((l) => l.y)]
  const xDomain = domainOf(xs, logX, false, options.xDomain)
  const yDomain = domainOf(ys, logY, true, options.yDomain)
  const xTickValues = logX ? logTicks(xDomain[0], xDomain[1]) : niceTicks(xDomain[0], xDomain[1], Math.max(2, Math.round(width / 120)))
  const yTickValues = logY ? logTicks(yDomain[0], yDomain[1]) : niceTicks(yDomain[0], yDomain[1], Math.max(2, Math.round(height / 72)))
  const xLabels = formatTicks(xTickValues)
  const yLabels = formatTicks(yTickValues)

  const showLegend = options.legend !== false
  const legendSeries = series.map((s, i) => ({ s, i })).filter(({ s }) => s.legend !== false)
  const legendChars = Math.max(0, ...legendSeries.map(({ s }) => truncate(s.name, LEGEND_MAX_CHARS).length))
  const left = Math.max(40, (options.yLabel ? 24 : 8) + 10 + charWidth * Math.max(0, ...yLabels.map((l) => l.length)))
  const right = width - (showLegend && legendSeries.length > 0 ? Math.max(60, 50 + charWidth * legendChars) : 24)
  const top = options.title ? 36 : 16
  const bottom = height - (options.xLabel ? 46 : 28)

  const fx = (v: number) => (logX ? (v > 0 ? Math.log10(v) : NaN) : v)
  const fy = (v: number) => (logY ? (v > 0 ? Math.log10(v) : NaN) : v)
  const [fx0, fx1] = [fx(xDomain[0]), fx(xDomain[1])]
  const [fy0, fy1] = [fy(yDomain[0]), fy(yDomain[1])]
  const px = (v: number) => left + ((fx(v) - fx0) / (fx1 - fx0)) * (right - left)
  const py = (v: number) => bottom - ((fy(v) - fy0) / (fy1 - fy0)) * (bottom - top)
  const finite = (p: Point) => Number.isFinite(p[0]) && Number.isFinite(p[1])

  const laid = series.map((s, i): LaidSeries => {
    const line = s.points.map((p): Point => [px(p[0]), py(p[1])])
    const bandPx = (s.band ?? []).map((b) => [px(b[0]), py(b[1]), py(b[2])] as const)
    const bands = runs(bandPx, (b) => Number.isFinite(b[0]) && Number.isFinite(b[1]) && Number.isFinite(b[2]))
      .filter((r) => r.length >= 2)
      .map((r) => [...r.map((b): Point => [b[0], b[2]]), ...r.slice().reverse().map((b): Point => [b[0], b[1]])])
    return {
      name: s.name,
      color: s.color ?? colorAt(i),
      dashed: s.dashed === true,
      lineWidth: s.lineWidth ?? 1.8,
      opacity: s.opacity ?? 1,
      lines: runs(line, finite),
      bands
    }
  })

  return {
    width,
    height,
    area: { left, top, right, bottom },
    x: { domain: xDomain, log: logX, ticks: xTickValues.map((value, j) => ({ value, position: px(value), label: xLabels[j]! })) },
    y: { domain: yDomain, log: logY, ticks: yTickValues.map((value, j) => ({ value, position: py(value), label: yLabels[j]! })) },
    title: options.title || undefined,
    xLabel: options.xLabel || undefined,
    yLabel: options.yLabel || undefined,
    series: laid,
    bandOpacity: options.bandOpacity ?? 0.2,
    // Labels: above a horizontal line (below it when the line is near the top), at the foot of a
    // vertical one, so that a target return and a step budget do not overprint each other.
    hLines: (options.hLines ?? []).filter((l) => Number.isFinite(py(l.y))).map((l) => {
      const y = py(l.y)
      return { y, label: l.label, color: l.color ?? REFERENCE_COLOR, labelY: y - top < 16 ? y + 14 : y - 4 }
    }),
    vLines: (options.vLines ?? []).filter((l) => Number.isFinite(px(l.x))).map((l) => ({ x: px(l.x), label: l.label, color: l.color ?? REFERENCE_COLOR, labelY: bottom - 6 })),
    legend: showLegend
      ? legendSeries.map(({ s, i }, k) => ({
        name: truncate(s.name, LEGEND_MAX_CHARS),
        color: laid[i]!.color,
        dashed: laid[i]!.dashed,
        band: laid[i]!.bands.length > 0,
        x: right + 10,
        y: top + 14 + k * 18
      }))
      : []
  }
}

/**
 * Escapes text for XML and HTML content and attribute values (`& < > " '`) and drops the
 * characters XML 1.0 forbids.
 *
 * @category formatting
 */
export const escape = (s: string): string =>
  s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;")

const n = (v: number): string => {
  const s = v.toFixed(1)
  return s === "-0.0" ? "0.0" : s
}

const polyline = (points: ReadonlyArray<Point>): string => points.map(([x, y], j) => `${j === 0 ? "M" : "L"}${n(x)},${n(y)}`).join(" ")

/**
 * Renders a {@link Layout} as an SVG document (one element per line, `\n`-separated).
 *
 * @category rendering
 */
export const renderSvg = (plot: Layout, options: { readonly standalone?: boolean } = {}): string => {
  const { width, height, area } = plot
  const a = escape
  const clipId = `plot-clip-${n(area.left)}-${n(area.top)}-${n(area.right)}-${n(area.bottom)}`.replace(/\./g, "_")
  const parts: Array<string> = []
  const xmlns = options.standalone === false ? "" : ` xmlns="http://www.w3.org/2000/svg"`
  parts.push(`<svg${xmlns} width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`)
  // Identical ids always denote identical rectangles, so several plots can share one HTML page.
  parts.push(`<defs><clipPath id="${clipId}"><rect x="${n(area.left)}" y="${n(area.top)}" width="${n(area.right - area.left)}" height="${n(area.bottom - area.top)}"/></clipPath></defs>`)
  parts.push(`<rect width="100%" height="100%" fill="white"/>`)
  if (plot.title !== undefined) parts.push(`<text x="${n(area.left)}" y="22" text-anchor="start" font-size="14" font-weight="bold">${a(plot.title)}</text>`)
  for (const t of plot.x.ticks) {
    parts.push(`<line x1="${n(t.position)}" x2="${n(t.position)}" y1="${n(area.top)}" y2="${n(area.bottom)}" stroke="#eeeeee"/>`)
    parts.push(`<line x1="${n(t.position)}" x2="${n(t.position)}" y1="${n(area.bottom)}" y2="${n(area.bottom + 4)}" stroke="#333333"/>`)
    parts.push(`<text x="${n(t.position)}" y="${n(area.bottom + 17)}" text-anchor="middle">${a(t.label)}</text>`)
  }
  for (const t of plot.y.ticks) {
    parts.push(`<line x1="${n(area.left)}" x2="${n(area.right)}" y1="${n(t.position)}" y2="${n(t.position)}" stroke="#eeeeee"/>`)
    parts.push(`<line x1="${n(area.left - 4)}" x2="${n(area.left)}" y1="${n(t.position)}" y2="${n(t.position)}" stroke="#333333"/>`)
    parts.push(`<text x="${n(area.left - 7)}" y="${n(t.position + 4)}" text-anchor="end">${a(t.label)}</text>`)
  }
  if (plot.xLabel !== undefined) parts.push(`<text x="${n((area.left + area.right) / 2)}" y="${height - 10}" text-anchor="middle">${a(plot.xLabel)}</text>`)
  if (plot.yLabel !== undefined) parts.push(`<text transform="translate(16 ${n((area.top + area.bottom) / 2)}) rotate(-90)" text-anchor="middle">${a(plot.yLabel)}</text>`)
  for (const s of plot.series) {
    for (const band of s.bands) {
      parts.push(`<path d="${polyline(band)} Z" fill="${a(s.color)}" fill-opacity="${plot.bandOpacity}" stroke="none" clip-path="url(#${clipId})"/>`)
    }
  }
  for (const line of plot.hLines) {
    parts.push(`<line x1="${n(area.left)}" x2="${n(area.right)}" y1="${n(line.y)}" y2="${n(line.y)}" stroke="${a(line.color)}" stroke-dasharray="4 3"/>`)
    parts.push(`<text x="${n(area.right - 4)}" y="${n(line.labelY)}" text-anchor="end" fill="#666666">${a(line.label)}</text>`)
  }
  for (const line of plot.vLines) {
    parts.push(`<line x1="${n(line.x)}" x2="${n(line.x)}" y1="${n(area.top)}" y2="${n(area.bottom)}" stroke="${a(line.color)}" stroke-dasharray="4 3"/>`)
    parts.push(`<text x="${n(line.x + 4)}" y="${n(line.labelY)}" fill="#666666">${a(line.label)}</text>`)
  }
  for (const s of plot.series) {
    const style = `fill="none" stroke="${a(s.color)}" stroke-width="${s.lineWidth}" stroke-linejoin="round" stroke-linecap="round"${s.opacity < 1 ? ` stroke-opacity="${s.opacity}"` : ""}${s.dashed ? ` stroke-dasharray="6 3"` : ""}`
    for (const line of s.lines) {
      // A lone point is drawn as a zero-length segment so that the round cap shows it.
      const d = line.length === 1 ? `${polyline(line)} L${n(line[0]![0])},${n(line[0]![1])}` : polyline(line)
      parts.push(`<path d="${d}" ${style} clip-path="url(#${clipId})"/>`)
    }
  }
  parts.push(`<rect x="${n(area.left)}" y="${n(area.top)}" width="${n(area.right - area.left)}" height="${n(area.bottom - area.top)}" fill="none" stroke="#333333"/>`)
  for (const entry of plot.legend) {
    if (entry.band) parts.push(`<rect x="${n(entry.x)}" y="${n(entry.y - 6)}" width="24" height="12" fill="${a(entry.color)}" fill-opacity="${plot.bandOpacity}"/>`)
    parts.push(`<line x1="${n(entry.x)}" x2="${n(entry.x + 24)}" y1="${n(entry.y)}" y2="${n(entry.y)}" stroke="${a(entry.color)}" stroke-width="2"${entry.dashed ? ` stroke-dasharray="6 3"` : ""}/>`)
    parts.push(`<text x="${n(entry.x + 30)}" y="${n(entry.y + 4)}">${a(entry.name)}</text>`)
  }
  parts.push("</svg>")
  return parts.join("\n")
}

/**
 * A line plot as a standalone SVG string: {@link layout} then {@link renderSvg}.
 *
 * @example
 * ```ts
 * Plot.linePlot(
 *   [{ name: "TRPO", points: [[0, 10], [1000, 80]], band: [[0, 8, 12], [1000, 60, 95]] }],
 *   { title: "CartPole-v1", xLabel: "environment steps", yLabel: "episodeReturnMean" }
 * )
 * ```
 *
 * @category rendering
 */
export const linePlot = (series: ReadonlyArray<Series>, options: PlotOptions = {}): string =>
  renderSvg(layout(series, options), options.standalone === undefined ? {} : { standalone: options.standalone })
