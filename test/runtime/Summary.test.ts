import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Summary from "../../src/runtime/Summary.ts"

const line = (steps: number, episodeReturnMean: number | null, wallSeconds = steps / 100): Summary.MetricsLine => ({ steps, episodeReturnMean, wallSeconds })

// Returns null at step 0, then 0, 10, 10, 30 at steps 100, 200, 400, 500.
const tiny = [line(0, null), line(100, 0), line(200, 10), line(400, 10), line(500, 30)]

describe("Summary", () => {
  describe("parseMetrics", () => {
    it("skips blank and torn lines and reads a missing return as null", () => {
      const text = [
        `{"iteration":1,"steps":64,"episodeReturnMean":null,"wallSeconds":0.1}`,
        "",
        `{"iteration":2,"steps":128,"episodeReturnMean":12.5,"wallSeconds":0.2}`,
        `{"iteration":3,"steps":192}`,
        `[1, 2]`,
        `{"iteration":4,"steps":256,"episodeRet`
      ].join("\n")
      const lines = Summary.parseMetrics(text)
      expect(lines.map((l) => [l.steps, l.episodeReturnMean])).toEqual([[64, null], [128, 12.5], [192, null]])
      expect(lines[1]!["iteration"]).toBe(2)
    })
  })

  describe("learningCurve", () => {
    it("keeps (steps, episodeReturnMean) of the lines with a return", () => {
      expect(Summary.learningCurve(tiny)).toEqual([[100, 0], [200, 10], [400, 10], [500, 30]])
      expect(Summary.learningCurve([line(1, null)])).toEqual([])
    })
  })

  describe("finalReturn", () => {
    it("is the last non-null return", () => {
      expect(Summary.finalReturn(tiny)).toBe(30)
      expect(Summary.finalReturn([line(1, 5), line(2, null)])).toBe(5)
      expect(Summary.finalReturn([line(1, null)])).toBeNull()
      expect(Summary.finalWallSeconds(tiny)).toBe(5)
    })
  })

  describe("areaUnderCurve", () => {
    it("is the trapezoid mean over steps, cut at totalSteps (hand-derived)", () => {
      // a = 100 (first non-null), b = min(500, 450) = 450.
      // [100, 200]: 100·(0 + 10)/2 = 500; [200, 400]: 200·10 = 2000;
      // [400, 450]: r(450) = 10 + 20·(50/100) = 20, 50·(10 + 20)/2 = 750.
      // (500 + 2000 + 750) / (450 − 100) = 3250 / 350.
      expect(Summary.areaUnderCurve(tiny, 450)).toBeCloseTo(3250 / 350, 12)
      // b = 500: the last segment is [400, 500]: 100·(10 + 30)/2 = 2000; 4500 / 400.
      expect(Summary.areaUnderCurve(tiny, 1000)).toBeCloseTo(4500 / 400, 12)
    })

    it("is the constant for a flat curve and handles degenerate spans", () => {
      expect(Summary.areaUnderCurve([line(10, 7), line(20, 7), line(90, 7)], 100)).toBeCloseTo(7, 12)
      expect(Summary.areaUnderCurve([line(10, 7)], 100)).toBe(7)
      expect(Summary.areaUnderCurve([line(10, null)], 100)).toBeNull()
      expect(Summary.areaUnderCurve([line(200, 3), line(300, 4)], 100)).toBeNull()
    })
  })

  describe("quantileSorted", () => {
    it("interpolates linearly between order statistics (type 7)", () => {
      // h = (4 − 1)·0.5 = 1.5: halfway between 2 and 4.
      expect(Summary.quantileSorted([1, 2, 4, 8], 0.5)).toBe(3)
      expect(Summary.quantileSorted([1, 2, 4, 8], 0)).toBe(1)
      expect(Summary.quantileSorted([1, 2, 4, 8], 1)).toBe(8)
    })
  })

  describe("bootstrapCi", () => {
    const key = Key.make(42)
    const sample = (seed: number, n: number, sd: number) => Array.from(Key.normals(Key.make(seed), n), (z) => 10 + sd * z)

    it("contains the mean and is deterministic per key", () => {
      const values = sample(1, 8, 2)
      const [lo, hi] = Summary.bootstrapCi(values, key)
      const m = Summary.mean(values)
      expect(lo).toBeLessThan(m)
      expect(hi).toBeGreaterThan(m)
      expect(Summary.bootstrapCi(values, key)).toEqual([lo, hi])
      expect(Summary.bootstrapCi(values, Key.make(43))).not.toEqual([lo, hi])
    })

    it("narrows with more values and with less spread, and with a lower level", () => {
      const width = ([lo, hi]: readonly [number, number]) => hi - lo
      const few = width(Summary.bootstrapCi(sample(2, 5, 1), key, { resamples: 2000 }))
      const many = width(Summary.bootstrapCi(sample(2, 80, 1), key, { resamples: 2000 }))
      expect(many).toBeLessThan(few)
      const tight = width(Summary.bootstrapCi(sample(2, 80, 0.01), key, { resamples: 2000 }))
      expect(tight).toBeLessThan(many / 50)
      expect(width(Summary.bootstrapCi(sample(2, 80, 1), key, { resamples: 2000, level: 0.5 }))).toBeLessThan(many)
    })

    it("is close to the normal interval 2·1.96·σ/√n for n = 200 (within 15 %)", () => {
      const values = sample(3, 200, 1)
      const m = Summary.mean(values)
      const sd = Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length)
      const [lo, hi] = Summary.bootstrapCi(values, key, { resamples: 4000 })
      expect((hi - lo) / ((2 * 1.96 * sd) / Math.sqrt(200))).toBeGreaterThan(0.85)
      expect((hi - lo) / ((2 * 1.96 * sd) / Math.sqrt(200))).toBeLessThan(1.15)
    })

    it("is [v, v] for one value or a constant input, [NaN, NaN] for none", () => {
      expect(Summary.bootstrapCi([3.7], key)).toEqual([3.7, 3.7])
      expect(Summary.bootstrapCi([0.1, 0.1, 0.1, 0.1, 0.1], key)).toEqual([0.1, 0.1])
      expect(Summary.bootstrapCi([0.1, NaN], key)).toEqual([0.1, 0.1])
      expect(Summary.bootstrapCi([], key).every(Number.isNaN)).toBe(true)
      expect(Summary.mean([0.1, 0.1, 0.1])).toBe(0.1)
    })

    it("rejects invalid options", () => {
      expect(() => Summary.bootstrapCi([1, 2], key, { resamples: 0 })).toThrow(RangeError)
      expect(() => Summary.bootstrapCi([1, 2], key, { level: 1 })).toThrow(RangeError)
    })
  })

  describe("alignCurves", () => {
    it("interpolates linearly on the grid and is NaN outside each curve (by hand)", () => {
      const up: Summary.Curve = [[0, 0], [10, 10], [20, 0]]
      // Unsorted input; at 10 the value rises from 4 to 6 (interpolates within [5, 15]).
      const other: Summary.Curve = [[15, 8], [5, 2]]
      const aligned = Summary.alignCurves([up, other], [-5, 0, 5, 7.5, 10, 15, 20, 25])
      // up: 7.5 → 7.5; other: 2 + 6·(2.5/10) = 3.5 at 7.5, 2 + 6·(5/10) = 5 at 10.
      expect(aligned[0]).toEqual([NaN, 0, 5, 7.5, 10, 5, 0, NaN])
      expect(aligned[1]).toEqual([NaN, NaN, 2, 3.5, 5, 8, NaN, NaN])
    })

    it("takes the last point of a repeated step", () => {
      expect(Summary.alignCurves([[[0, 1], [10, 2], [10, 4], [20, 4]]], [10])).toEqual([[4]])
    })
  })

  describe("meanBand", () => {
    it("averages the seeds that cover each point and brackets the mean", () => {
      const band = Summary.meanBand([[1, 2, NaN], [3, 4, 5]], Key.make(0))
      expect(band.mean).toEqual([2, 3, 5])
      expect(band.count).toEqual([2, 2, 1])
      expect(band.lower[2]).toBe(5)
      expect(band.upper[2]).toBe(5)
      for (let g = 0; g < 2; g++) {
        expect(band.lower[g]).toBeLessThanOrEqual(band.mean[g]!)
        expect(band.upper[g]).toBeGreaterThanOrEqual(band.mean[g]!)
      }
      expect(Summary.meanBand([[1, 2, NaN], [3, 4, 5]], Key.make(0))).toEqual(band)
    })
  })

  describe("grids", () => {
    it("spaces steps evenly over the union of the curves", () => {
      expect(Summary.evenGrid(0, 100, 5)).toEqual([0, 25, 50, 75, 100])
      expect(Summary.stepGrid([[[10, 1], [50, 2]], [[20, 1], [110, 3]]], 6)).toEqual([10, 30, 50, 70, 90, 110])
      const band = Summary.curveBand([[[0, 0], [100, 10]], [[0, 2], [100, 12]]], Key.make(1), { points: 3, resamples: 200 })
      expect(band.steps).toEqual([0, 50, 100])
      expect(band.mean).toEqual([1, 6, 11])
    })
  })
})
