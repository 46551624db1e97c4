import { describe, expect, it } from "@effect/vitest"
import * as Svg from "../../bench/lib/Svg.ts"
import * as Plot from "../../src/runtime/Plot.ts"

// A minimal XML walker (no regular expressions): every tag is opened and closed in order,
// text between tags holds no raw '<' or unescaped '&', attribute values are quoted.
const checkXml = (text: string): { readonly tags: number; readonly names: ReadonlyArray<string> } => {
  const stack: Array<string> = []
  const names: Array<string> = []
  let i = 0
  const isNameChar = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "-" || c === ":"
  const checkText = (s: string) => {
    for (let k = 0; k < s.length; k++) {
      if (s[k] === "&") {
        const end = s.indexOf(";", k)
        const entity = s.slice(k + 1, end)
        if (end < 0 || !["amp", "lt", "gt", "quot", "#39"].includes(entity)) throw new Error(`bad entity at ${k}: ${s.slice(k, k + 10)}`)
      }
    }
  }
  while (i < text.length) {
    const open = text.indexOf("<", i)
    if (open < 0) {
      checkText(text.slice(i))
      break
    }
    checkText(text.slice(i, open))
    let close = open + 1
    let quote: string | undefined
    for (; close < text.length; close++) {
      const c = text[close]!
      if (quote !== undefined) {
        if (c === quote) quote = undefined
        else if (c === "<") throw new Error(`raw '<' in an attribute at ${close}`)
      } else if (c === "\"" || c === "'") quote = c
      else if (c === ">") break
    }
    if (close >= text.length) throw new Error(`unterminated tag at ${open}`)
    const body = text.slice(open + 1, close)
    i = close + 1
    if (body.startsWith("!") || body.startsWith("?")) continue
    if (body.startsWith("/")) {
      const name = body.slice(1).trim()
      const top = stack.pop()
      if (top !== name) throw new Error(`</${name}> closes <${top}>`)
      continue
    }
    let n = 0
    while (n < body.length && isNameChar(body[n]!)) n++
    const name = body.slice(0, n)
    if (name === "") throw new Error(`tag without a name at ${open}`)
    names.push(name)
    checkText(body.slice(n))
    if (!body.endsWith("/")) stack.push(name)
  }
  if (stack.length > 0) throw new Error(`unclosed: ${stack.join(", ")}`)
  return { tags: names.length, names }
}

const count = (text: string, needle: string): number => text.split(needle).length - 1

const series: ReadonlyArray<Plot.Series> = [
  {
    name: `trpo <δ=0.01> & "fixed"`,
    points: [[0, 1], [100, 3], [200, NaN], [300, 4], [400, 6]],
    band: [[0, 0.5, 1.5], [100, 2, 4], [300, 3, 5], [400, 5, 7]]
  },
  { name: "npg", points: [[0, 2], [400, 5]], dashed: true, color: "#d62728" }
]
const options: Plot.PlotOptions = {
  title: "Returns <CartPole>",
  xLabel: "steps",
  yLabel: "return",
  hLines: [{ y: 5, label: "target & goal" }],
  vLines: [{ x: 250, label: "budget" }]
}

describe("Plot", () => {
  describe("linePlot", () => {
    it("is well-formed XML with balanced tags", () => {
      const svg = Plot.linePlot(series, options)
      const { names } = checkXml(svg)
      expect(names[0]).toBe("svg")
      expect(svg.startsWith(`<svg xmlns="http://www.w3.org/2000/svg"`)).toBe(true)
      expect(svg.endsWith("</svg>")).toBe(true)
    })

    it("escapes the legend names, title and labels", () => {
      const svg = Plot.linePlot(series, options)
      expect(svg).toContain("trpo &lt;δ=0.01&gt; &amp; &quot;fixed&quot;")
      expect(svg).toContain("Returns &lt;CartPole&gt;")
      expect(svg).toContain("target &amp; goal")
      expect(svg).not.toContain("<δ")
      expect(svg).toContain(">npg</text>")
    })

    it("draws the band as a closed, semi-transparent polygon in the series colour", () => {
      const svg = Plot.linePlot(series, options)
      const bands = svg.split("\n").filter((l) => l.includes("fill-opacity=\"0.2\"") && l.startsWith("<path"))
      // The band breaks nowhere (its samples are all finite), so one polygon of 2·4 vertices.
      expect(bands).toHaveLength(1)
      expect(bands[0]).toContain(`fill="${Plot.colorAt(0)}"`)
      expect(bands[0]).toContain(" Z\"")
      expect(count(bands[0]!, "L") + count(bands[0]!, "M")).toBe(8)
      // The legend shows a band swatch for it and none for the series without a band.
      expect(count(svg, `<rect x="`) - 2).toBe(1)
    })

    it("breaks a line at a non-finite point and uses the given or palette colours", () => {
      const plot = Plot.layout(series, options)
      expect(plot.series[0]!.lines.map((l) => l.length)).toEqual([2, 2])
      expect(plot.series[0]!.color).toBe(Plot.colorAt(0))
      expect(plot.series[1]!.color).toBe("#d62728")
      expect(Plot.linePlot(series, options)).toContain(`stroke-dasharray="6 3"`)
    })

    it("is deterministic", () => {
      expect(Plot.linePlot(series, options)).toBe(Plot.linePlot(series, options))
      expect(Plot.linePlot(series.slice(0, 1), options)).not.toBe(Plot.linePlot(series, options))
    })

    it("omits xmlns when inlined and the legend when asked", () => {
      const svg = Plot.linePlot(series, { ...options, standalone: false, legend: false })
      expect(svg).not.toContain("http")
      expect(svg).not.toContain("&quot;fixed&quot;</text>")
      checkXml(svg)
    })
  })

  describe("layout", () => {
    it("puts log ticks on powers of ten and drops non-positive points", () => {
      const plot = Plot.layout([{ name: "t", points: [[0, 1], [10, 0.01], [1000, 10], [10000, -1]] }], { logX: true, logY: true })
      expect(plot.x.ticks.map((t) => t.value)).toEqual([10, 100, 1000])
      expect(plot.x.ticks.map((t) => t.label)).toEqual(["10", "100", "1000"])
      expect(plot.y.ticks.map((t) => t.value)).toEqual([0.01, 0.1, 1, 10])
      expect(plot.series[0]!.lines).toHaveLength(1)
      expect(plot.series[0]!.lines[0]).toHaveLength(2)
    })

    it("honours fixed domains and maps them onto the plot area", () => {
      const plot = Plot.layout([{ name: "a", points: [[0, 0], [1, 1]] }], { xDomain: [0, 2], yDomain: [0, 4], legend: false })
      const [start, end] = plot.series[0]!.lines[0]!
      expect(start).toEqual([plot.area.left, plot.area.bottom])
      expect(end![0]).toBeCloseTo((plot.area.left + plot.area.right) / 2, 9)
      expect(end![1]).toBeCloseTo(plot.area.bottom - (plot.area.bottom - plot.area.top) / 4, 9)
      expect(plot.y.ticks.map((t) => t.value)).toEqual([0, 1, 2, 3, 4])
    })

    it("keeps series with legend: false out of the legend and shortens long names", () => {
      const plot = Plot.layout([
        { name: "seed 0", points: [[0, 1]], legend: false },
        { name: "x".repeat(50), points: [[0, 1]] }
      ])
      expect(plot.legend.map((e) => e.name)).toEqual([`${"x".repeat(33)}...`])
    })

    it("formats ticks compactly", () => {
      expect([1_500_000, 25_000, 0.25, 0.001, 0.0012, 0, -3].map((v) => Plot.formatTick(v))).toEqual(["1.5M", "25k", "0.25", "1e-3", "1.2e-3", "0", "-3"])
      // More digits only where three would merge neighbouring ticks.
      expect(Plot.formatTicks([1, 1.001, 1.002])).toEqual(["1", "1.001", "1.002"])
      expect(Plot.formatTicks([10_000, 10_500, 11_000])).toEqual(["10k", "10.5k", "11k"])
    })

    it("keeps at least three ticks on a short axis with an awkward range", () => {
      // [30, 390] padded by 5 %: the first nice step (200) would leave the single tick 200.
      const plot = Plot.layout([{ name: "a", points: [[0, 30], [1, 390]] }], { width: 340, height: 230 })
      expect(plot.y.ticks.map((t) => t.value)).toEqual([100, 200, 300, 400])
    })
  })

  describe("bench/lib/Svg", () => {
    it("still renders the bench plots through the library", () => {
      const svg = Svg.linePlot([{ name: "CG", color: "#1f77b4", points: [[10, 1], [100, 3]] }], { title: "t", xLabel: "P", yLabel: "ms", logX: true, logY: true })
      checkXml(svg)
      expect(svg).toBe(Plot.linePlot([{ name: "CG", color: "#1f77b4", points: [[10, 1], [100, 3]] }], { title: "t", xLabel: "P", yLabel: "ms", logX: true, logY: true }))
    })
  })
})
