import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Report from "../../src/runtime/Report.ts"
import type * as Summary from "../../src/runtime/Summary.ts"

// Run r of a variant: returns null for the first line, then rise linearly to `top + r`.
const lines = (top: number, r: number): Array<Summary.MetricsLine> =>
  Array.from({ length: 6 }, (_, i) => ({ steps: 100 * (i + 1), episodeReturnMean: i === 0 ? null : ((top + r) * i) / 5, wallSeconds: 2 * (i + 1) }))

const variants: ReadonlyArray<Report.VariantRuns> = [
  { name: "base", runs: [0, 1, 2].map((seed) => ({ seed, lines: lines(100, seed), dir: `runs/base/seed-${seed}` })) },
  { name: "gae <λ=1> | mc", changes: ["advantage = gae(lambda=1)", "a & b"], runs: [0, 1].map((seed) => ({ seed, lines: lines(50, seed) })) }
]
const input: Report.AblationInput = { title: "Ablation <test>", description: "TRPO on CartPole-v1", totalSteps: 600, variants }
const key = Key.make(3)
const summary = Report.make(input, key, { resamples: 500 })
const curves = Report.variantCurves(variants, key, { points: 20, resamples: 200 })

describe("Report", () => {
  describe("make", () => {
    it("summarises each variant over its seeds", () => {
      const [base, mc] = summary.variants
      // Final returns 100, 101, 102; AUC of the ramp r(s) = top·(s − 200)/500 + top/5 from 200 to 600
      // is its midpoint value r(400) = 3·top/5.
      expect(base!.finalReturn.mean).toBe(101)
      expect(base!.finalReturn.lower).toBeLessThanOrEqual(101)
      expect(base!.finalReturn.upper).toBeGreaterThanOrEqual(101)
      expect(base!.runs.map((r) => r.auc)).toEqual([60, 60.6, 61.2].map((v) => expect.closeTo(v, 9)))
      expect(base!.seeds).toEqual([0, 1, 2])
      expect(base!.wallSeconds).toEqual({ mean: 12, total: 36 })
      expect(base!.runs[0]!.steps).toBe(600)
      expect(base!.runs[0]!.dir).toBe("runs/base/seed-0")
      expect(base!.changes).toEqual([])
      expect(mc!.finalReturn.mean).toBe(50.5)
      expect(summary.level).toBe(0.95)
      expect(summary.resamples).toBe(500)
    })

    it("gives a variant the same intervals whatever the other variants", () => {
      const alone = Report.make({ ...input, variants: [variants[1]!] }, key, { resamples: 500 })
      expect(alone.variants[0]).toEqual(summary.variants[1])
    })
  })

  describe("summaryJson", () => {
    it("round-trips through decodeSummary", () => {
      const text = Report.summaryJson(summary)
      expect(text.endsWith("}\n")).toBe(true)
      expect(Report.decodeSummary(JSON.parse(text))).toEqual(summary)
      expect(() => Report.decodeSummary({ title: 1 })).toThrow()
    })
  })

  describe("summaryMarkdown", () => {
    const md = Report.summaryMarkdown(summary)
    // Cells of a table row, honouring escaped pipes.
    const cells = (row: string): Array<string> => row.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim())

    it("has a title and well-formed tables", () => {
      expect(md.startsWith("# Ablation <test>\n")).toBe(true)
      const tableRows = md.split("\n").filter((l) => l.startsWith("|"))
      for (const row of tableRows) expect(row.endsWith("|")).toBe(true)
      const [header, rule, first, second] = tableRows
      expect(cells(header!)).toEqual(["variant", "changes", "seeds", "final return", "95 % CI", "AUC", "95 % CI", "wall s (mean)", "wall s (total)"])
      expect(cells(rule!)).toEqual(["---", "---", "---:", "---:", "---", "---:", "---", "---:", "---:"])
      expect(cells(first!).slice(0, 4)).toEqual(["base", "(none)", "3", "**101.0**"])
      expect(cells(second!)[0]).toBe("gae <λ=1> \\| mc")
      expect(cells(second!)[1]).toBe("advantage = gae(lambda=1); a & b")
      expect(cells(second!)).toHaveLength(9)
      // Per-run table: 3 + 2 runs after its header and rule.
      expect(tableRows).toHaveLength(2 + 2 + 2 + 5)
      expect(md).toContain("| base | 2 | 102.0 | 61.20 | 12.0 | 600 |")
    })

    it("is deterministic", () => {
      expect(Report.summaryMarkdown(summary)).toBe(md)
    })
  })

  describe("reportHtml", () => {
    const html = Report.reportHtml(summary, curves)

    it("contains the table rows, the plots and escaped names", () => {
      expect(html.startsWith("<!DOCTYPE html>")).toBe(true)
      expect(html).toContain("<title>Ablation &lt;test&gt;</title>")
      expect(html).toContain(`${"base"}</td><td><em>(none)</em></td><td class="num">3</td><td class="num"><strong>101.0</strong></td>`)
      expect(html).toContain("gae &lt;λ=1&gt; | mc")
      expect(html).toContain("<code>a &amp; b</code>")
      expect(html).not.toContain("<λ")
      // One overview plot and one small plot per variant.
      expect(html.split("<svg ").length - 1).toBe(3)
      expect(html.split("</svg>").length - 1).toBe(3)
      expect(html.split("<tr>").length - 1).toBe(1 + 2 + 1 + 5)
    })

    it("is self-contained", () => {
      expect(html).not.toContain("http")
      expect(html).not.toContain("<script")
      expect(html).not.toContain("src=")
      expect(html).not.toContain("href=")
      expect(html).not.toContain("@import")
    })

    it("is deterministic and leaves out variants without curves", () => {
      expect(Report.reportHtml(summary, curves)).toBe(html)
      const { base } = curves
      const partial = Report.reportHtml(summary, { base: base! })
      expect(partial.split("<svg ").length - 1).toBe(2)
      expect(Report.reportHtml(summary, {}).includes("<svg")).toBe(false)
    })
  })

  describe("formatNumber", () => {
    it("keeps about four significant digits", () => {
      expect([12345.6, 487.34, 12.345, 0.12345, 0, -0.0001, null, NaN].map(Report.formatNumber)).toEqual(["12346", "487.3", "12.35", "0.123", "0", "-0.000100", "—", "—"])
    })
  })
})
