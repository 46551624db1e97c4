import { describe, expect, it } from "@effect/vitest"
import * as Gradient from "../../src/algebra/Gradient.ts"
import * as Key from "../../src/algebra/Key.ts"
import { expectClose } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

describe("Gradient", () => {
  describe("norm", () => {
    it("is the Euclidean norm: [3, 4] → 5, [1, 2, 2] → 3, [] → 0 (exact)", () => {
      expect(Gradient.norm([3, 4])).toBe(5)
      expect(Gradient.norm(Float64Array.of(1, -2, 2))).toBe(3)
      expect(Gradient.norm([])).toBe(0)
    })

    it("matches √(g·g) of the Dense oracle on a random vector (tol 1e-12 relative)", () => {
      const g = Key.normals(Key.make(1), 101)
      expect(Math.abs(Gradient.norm(g) / Dense.norm(g) - 1)).toBeLessThan(1e-12)
    })
  })

  describe("clipByGlobalNorm", () => {
    it("[3, 4] with maxNorm 1: scales by 1/(5 + 1e-6), returns the norm before clipping (tol 1e-16)", () => {
      // c = 1/(5 + 1e-6) = 0.19999996…; g·c = [0.59999988…, 0.79999984…]; ‖g·c‖ = 5/(5 + 1e-6).
      const input = Float64Array.of(3, 4)
      const result = Gradient.clipByGlobalNorm(input, 1)
      expect(result.norm).toBe(5)
      expect(result.clipped).toBe(true)
      expectClose(result.gradient, [3 / (5 + 1e-6), 4 / (5 + 1e-6)], 1e-16)
      expectClose([Gradient.norm(result.gradient)], [5 / (5 + 1e-6)], 1e-15)
      expect(Array.from(input)).toEqual([3, 4])
    })

    it("leaves a gradient below the bound unchanged (a copy): [3, 4] with maxNorm 10", () => {
      const input = Float64Array.of(3, 4)
      const result = Gradient.clipByGlobalNorm(input, 10)
      expect(result).toMatchObject({ norm: 5, clipped: false })
      expect(Array.from(result.gradient)).toEqual([3, 4])
      expect(result.gradient).not.toBe(input)
    })

    it("follows PyTorch at the bound: ‖g‖ = maxNorm still scales by maxNorm/(‖g‖ + 1e-6); maxNorm = ‖g‖ + 1e-6 does not", () => {
      // c = 5/(5 + 1e-6) < 1 → clipped; c = (5 + 1e-6)/(5 + 1e-6) = 1 → unchanged.
      const at = Gradient.clipByGlobalNorm([3, 4], 5)
      expect(at.clipped).toBe(true)
      expectClose(at.gradient, [(3 * 5) / (5 + 1e-6), (4 * 5) / (5 + 1e-6)], 1e-15)
      const above = Gradient.clipByGlobalNorm([3, 4], 5 + 1e-6)
      expect(above.clipped).toBe(false)
      expect(Array.from(above.gradient)).toEqual([3, 4])
    })

    it("keeps a zero gradient at zero (the 1e-6 avoids 0/0) and never clips with maxNorm = ∞", () => {
      const zero = Gradient.clipByGlobalNorm([0, 0, 0], 0.5)
      expect(zero).toMatchObject({ norm: 0, clipped: false })
      expect(Array.from(zero.gradient)).toEqual([0, 0, 0])
      const huge = Gradient.clipByGlobalNorm([1e6, -1e6], Number.POSITIVE_INFINITY)
      expect(Array.from(huge.gradient)).toEqual([1e6, -1e6])
      expect(huge.clipped).toBe(false)
    })

    it("on random vectors keeps the direction and brings the norm to maxNorm·‖g‖/(‖g‖ + 1e-6) (tol 1e-12)", () => {
      for (let t = 0; t < 5; t++) {
        const g = Key.normals(Key.foldIn(Key.make(2), t), 37).map((x) => 3 * x)
        const { gradient, norm, clipped } = Gradient.clipByGlobalNorm(g, 0.5)
        expect(clipped).toBe(true)
        expectClose([Gradient.norm(gradient)], [(0.5 * norm) / (norm + 1e-6)], 1e-12)
        expectClose([Dense.dot(gradient, g) / (Gradient.norm(gradient) * norm)], [1], 1e-12)
      }
    })

    it("propagates a NaN norm (PyTorch without error_if_nonfinite) and rejects maxNorm ≤ 0 or NaN", () => {
      const result = Gradient.clipByGlobalNorm([1, Number.NaN], 1)
      expect(result.norm).toBeNaN()
      expect(result.clipped).toBe(false)
      expect(Array.from(result.gradient).every(Number.isNaN)).toBe(true)
      for (const maxNorm of [0, -1, Number.NaN]) expect(() => Gradient.clipByGlobalNorm([1], maxNorm), `${maxNorm}`).toThrow(RangeError)
    })
  })

  describe("concat", () => {
    it("joins vectors in order, empty ones included", () => {
      expect(Array.from(Gradient.concat([1, 2], Float64Array.of(), Float64Array.of(3), [4, 5, 6]))).toEqual([1, 2, 3, 4, 5, 6])
      expect(Gradient.concat().length).toBe(0)
    })
  })

  describe("split", () => {
    it("is the inverse of concat and returns copies", () => {
      const v = Float64Array.of(1, 2, 3, 4, 5, 6)
      const pieces = Gradient.split(v, [2, 0, 1, 3])
      expect(pieces.map((p) => Array.from(p))).toEqual([[1, 2], [], [3], [4, 5, 6]])
      expect(Array.from(Gradient.concat(...pieces))).toEqual(Array.from(v))
      pieces[0]![0] = 99
      expect(v[0]).toBe(1)
    })

    it("rejects sizes that do not sum to the length, or are negative or fractional", () => {
      expect(() => Gradient.split([1, 2, 3], [1, 1])).toThrow(RangeError)
      expect(() => Gradient.split([1, 2, 3], [4, -1])).toThrow(RangeError)
      expect(() => Gradient.split([1, 2, 3], [1.5, 1.5])).toThrow(RangeError)
    })
  })
})
