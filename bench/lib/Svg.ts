/**
 * Minimal line plots as standalone SVG strings (no dependencies), for the generated docs.
 */

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<readonly [number, number]>
  readonly color: string
  readonly dashed?: boolean
}

export interface PlotOptions {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly logX?: boolean
  readonly logY?: boolean
  readonly width?: number
  readonly height?: number
  /** Horizontal reference lines, e.g. a target return or δ. */
  readonly hLines?: ReadonlyArray<{ readonly y: number; readonly label: string }>
  readonly vLines?: ReadonlyArray<{ readonly x: number; readonly label: string }>
}

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")

const niceTicks = (lo: number, hi: number, count: number): Array<number> => {
  const span = hi - lo || 1
  const step0 = span / count
  const magnitude = 10 ** Math.floor(Math.log10(step0))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= step0) ?? 10 * magnitude
  const ticks: Array<number> = []
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-12 * span; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

const logTicks = (lo: number, hi: number): Array<number> => {
  const ticks: Array<number> = []
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const t = 10 ** e
    if (t >= lo * 0.999 && t <= hi * 1.001) ticks.push(t)
  }
  return ticks.length >= 2 ? ticks : [lo, hi]
}

const format = (v: number): string =>
  Math.abs(v) >= 1e6 ? `${Number((v / 1e6).toPrecision(3))}M` : Math.abs(v) >= 1e4 ? `${Number((v / 1e3).toPrecision(3))}k` : Math.abs(v) < 1e-2 && v !== 0 ? v.toExponential(0) : String(Number(v.toPrecision(3)))

export const linePlot = (series: ReadonlyArray<Series>, options: PlotOptions): string => {
  const width = options.width ?? 720, height = options.height ?? 360
  const margin = { left: 64, right: 150, top: 36, bottom: 48 }
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  const xs = all.map((p) => p[0]), ys = [...all.map((p) => p[1]), ...(options.hLines ?? []).map((l) => l.y)]
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)]
  if (!options.logY) {
    const pad = (y1 - y0) * 0.05 || 1
    y0 -= pad
    y1 += pad
  }
  if (x0 === x1) x1 = x0 + 1
  const tx = (x: number) => margin.left + ((options.logX ? Math.log10(x) - Math.log10(x0) : x - x0) / (options.logX ? Math.log10(x1) - Math.log10(x0) : x1 - x0)) * (width - margin.left - margin.right)
  const ty = (y: number) => height - margin.bottom - ((options.logY ? Math.log10(y) - Math.log10(y0) : y - y0) / (options.logY ? Math.log10(y1) - Math.log10(y0) : y1 - y0)) * (height - margin.top - margin.bottom)
  const parts: Array<string> = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`)
  parts.push(`<rect width="100%" height="100%" fill="white"/>`)
  parts.push(`<text x="${margin.left}" y="20" text-anchor="start" font-size="14">${escape(options.title)}</text>`)
  const xTicks = options.logX ? logTicks(x0, x1) : niceTicks(x0, x1, 6)
  const yTicks = options.logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5)
  for (const t of xTicks) {
    parts.push(`<line x1="${tx(t)}" x2="${tx(t)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#eee"/>`)
    parts.push(`<text x="${tx(t)}" y="${height - margin.bottom + 16}" text-anchor="middle">${format(t)}</text>`)
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${ty(t)}" y2="${ty(t)}" stroke="#eee"/>`)
    parts.push(`<text x="${margin.left - 6}" y="${ty(t) + 4}" text-anchor="end">${format(t)}</text>`)
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${height - margin.top - margin.bottom}" fill="none" stroke="#333"/>`)
  parts.push(`<text x="${(margin.left + width - margin.right) / 2}" y="${height - 10}" text-anchor="middle">${escape(options.xLabel)}</text>`)
  parts.push(`<text transform="translate(16 ${(margin.top + height - margin.bottom) / 2}) rotate(-90)" text-anchor="middle">${escape(options.yLabel)}</text>`)
  for (const line of options.hLines ?? []) {
    parts.push(`<line x1="${margin.left}" x2="${width - margin.right}" y1="${ty(line.y)}" y2="${ty(line.y)}" stroke="#999" stroke-dasharray="4 3"/>`)
    parts.push(`<text x="${width - margin.right - 4}" y="${ty(line.y) - 4}" text-anchor="end" fill="#666">${escape(line.label)}</text>`)
  }
  for (const line of options.vLines ?? []) {
    parts.push(`<line x1="${tx(line.x)}" x2="${tx(line.x)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#999" stroke-dasharray="4 3"/>`)
    parts.push(`<text x="${tx(line.x) + 4}" y="${margin.top + 12}" fill="#666">${escape(line.label)}</text>`)
  }
  series.forEach((s, i) => {
    const path = s.points
      .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
      .map(([x, y], j) => `${j === 0 ? "M" : "L"}${tx(x).toFixed(1)},${ty(y).toFixed(1)}`)
      .join(" ")
    parts.push(`<path d="${path}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 3"' : ""}/>`)
    const ly = margin.top + 14 + i * 18
    parts.push(`<line x1="${width - margin.right + 10}" x2="${width - margin.right + 34}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 3"' : ""}/>`)
    parts.push(`<text x="${width - margin.right + 40}" y="${ly + 4}">${escape(s.name)}</text>`)
  })
  parts.push("</svg>")
  return parts.join("\n")
}
