import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Normalize from "../../src/algebra/Normalize.ts"

// Two-pass float64 statistics of all rows seen plus the prior, a pseudo-sample of weight
// w = 1e-4 with mean 0 and variance 1: mean = Σx / (n + w),
// variance = (w (1 + mean²) + Σ (x − mean)²) / (n + w). The reference for the running merge.
const PRIOR = 1e-4
const direct = (rows: ReadonlyArray<ReadonlyArray<number>>) => {
  const width = rows[0]!.length, n = rows.length + PRIOR
  const mean = Array.from({ length: width }, (_, j) => rows.reduce((a, r) => a + r[j]!, 0) / n)
  const variance = Array.from({ length: width }, (_, j) => (PRIOR * (1 + mean[j]! ** 2) + rows.reduce((a, r) => a + (r[j]! - mean[j]!) ** 2, 0)) / n)
  return { mean, variance }
}

describe("Normalize", () => {
  describe("update", () => {
    it("merged over uneven batches equals the two-pass statistics of all rows and the prior", () => {
      const width = 3
      const all: Array<Array<number>> = []
      let stats = Normalize.init(width)
      ;[5, 1, 17, 2, 40].forEach((rows, b) => {
        const z = Key.normals(Key.foldIn(Key.make(4), b), rows * width)
        const batch = Float64Array.from(z, (v, i) => 3 + [1, 10, 0.1][i % width]! * v)
        for (let n = 0; n < rows; n++) all.push(Array.from(batch.subarray(n * width, (n + 1) * width)))
        stats = Normalize.update(stats, batch, rows, width)
      })
      const expected = direct(all)
      expect(stats.count).toBeCloseTo(65 + 1e-4, 10)
      for (let j = 0; j < width; j++) {
        expect(Math.abs(stats.mean[j]! / expected.mean[j]! - 1)).toBeLessThan(1e-12)
        expect(Math.abs(stats.variance[j]! / expected.variance[j]! - 1)).toBeLessThan(1e-12)
      }
    })

    it("a single batch of two values: mean and population variance by hand", () => {
      // rows 1 and 3 → mean 2, variance 1; the prior count 1e-4 contributes (0, 1) with weight 1e-4.
      const s = Normalize.update(Normalize.init(1), [1, 3], 2, 1)
      const n = 2 + 1e-4
      const mean = (2 * 2) / n
      const variance = (1 * 1e-4 + 1 * 2 + (2 * 2 * 1e-4 * 2) / n) / n
      expect(s.mean[0]).toBeCloseTo(mean, 14)
      expect(s.variance[0]).toBeCloseTo(variance, 14)
    })
  })

  describe("apply", () => {
    it("standardises with √(σ² + ε) and clips to ±clip", () => {
      const stats: Normalize.Stats = { mean: Float64Array.of(1, -2), variance: Float64Array.of(4, 0.25), count: 10 }
      const out = Normalize.apply(Normalize.running({ clip: 5, epsilon: 1e-8 }), stats, [3, -2, 1, 100], 2, 2)
      expect(out[0]).toBeCloseTo(Math.fround((3 - 1) / Math.sqrt(4 + 1e-8)), 6)
      expect(out[1]).toBe(0)
      expect(out[2]).toBe(0)
      expect(out[3]).toBe(5)
    })

    it("identity copies the observations", () => {
      expect(Array.from(Normalize.apply(Normalize.identity(), Normalize.init(2), [1.5, -2], 1, 2))).toEqual([1.5, -2])
    })

    it("rejects a non-positive clip or epsilon", () => {
      expect(() => Normalize.running({ clip: 0 })).toThrow(RangeError)
      expect(() => Normalize.running({ epsilon: 0 })).toThrow(RangeError)
    })
  })
})
