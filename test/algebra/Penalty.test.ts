import { describe, expect, it } from "@effect/vitest"
import * as Penalty from "../../src/algebra/Penalty.ts"

// β values are powers of the factor times the initial β, so every comparison here is exact.

describe("Penalty", () => {
  describe("adaptive", () => {
    it("defaults to the PPO paper's rule: initial β 1, d_targ 0.01, tolerance 1.5, factor 2, no bounds (manifest data)", () => {
      const rule = Penalty.adaptive()
      expect(JSON.parse(JSON.stringify(rule))).toEqual({ _tag: "AdaptivePenalty", initialBeta: 1, targetKl: 0.01, tolerance: 1.5, factor: 2 })
      expect("minBeta" in rule).toBe(false)
      expect("maxBeta" in rule).toBe(false)
      const bounded = Penalty.adaptive({ minBeta: 1e-2, maxBeta: 1e6 })
      expect(JSON.parse(JSON.stringify(bounded))).toMatchObject({ minBeta: 1e-2, maxBeta: 1e6 })
    })

    it("follows the paper's β rule on a scripted sequence of measured KLs (d_targ 0.01, from β = 1)", () => {
      // Thresholds: d_targ/1.5 = 0.00666…, 1.5·d_targ = 0.015 (strict inequalities).
      //   kl 0.001        < 0.00667        → β/2:  1    → 0.5
      //   kl 0.02         > 0.015          → 2β:   0.5  → 1
      //   kl 0.01         inside           → β:    1    → 1
      //   kl 0.01/1.5     = lower, not <   → β:    1    → 1
      //   kl 0.015        = upper, not >   → β:    1    → 1
      //   kl 0.0066       < 0.00667        → β/2:  1    → 0.5
      //   kl 0.0151       > 0.015          → 2β:   0.5  → 1
      //   kl 0.5          > 0.015          → 2β:   1    → 2
      //   kl 0.3          > 0.015          → 2β:   2    → 4
      //   kl 0            < 0.00667        → β/2:  4    → 2
      const rule = Penalty.adaptive({ initialBeta: 1, targetKl: 0.01 })
      const kls = [0.001, 0.02, 0.01, 0.01 / 1.5, 0.015, 0.0066, 0.0151, 0.5, 0.3, 0]
      const expected = [0.5, 1, 1, 1, 1, 0.5, 1, 2, 4, 2]
      const betas: Array<number> = []
      let beta = rule.initialBeta
      for (const kl of kls) {
        beta = rule.next(beta, kl)
        betas.push(beta)
      }
      expect(betas).toEqual(expected)
      // 1.5·0.01 is the float64 0.015 itself, so the literal is the boundary.
      expect(1.5 * 0.01).toBe(0.015)
    })

    it("uses the given tolerance and factor (d_targ 0.02, tolerance 2, factor 4: band [0.01, 0.04])", () => {
      const rule = Penalty.adaptive({ initialBeta: 3, targetKl: 0.02, tolerance: 2, factor: 4 })
      expect(rule.next(3, 0.0099)).toBe(0.75)
      expect(rule.next(3, 0.01)).toBe(3)
      expect(rule.next(3, 0.04)).toBe(3)
      expect(rule.next(3, 0.0401)).toBe(12)
    })

    it("with tolerance 1 only d = d_targ leaves β unchanged", () => {
      const rule = Penalty.adaptive({ tolerance: 1 })
      expect(rule.next(1, 0.01)).toBe(1)
      expect(rule.next(1, 0.0099)).toBe(0.5)
      expect(rule.next(1, 0.0101)).toBe(2)
    })

    it("clamps to [minBeta, maxBeta] when given (rllab's [1e-2, 1e6])", () => {
      const rule = Penalty.adaptive({ initialBeta: 1, minBeta: 1e-2, maxBeta: 1e6 })
      expect(rule.next(0.015, 0)).toBe(1e-2) // 0.0075 → 0.01
      expect(rule.next(8e5, 1)).toBe(1e6) // 1.6e6 → 1e6
      expect(rule.next(0.04, 0)).toBe(0.02) // inside the bounds: plain halving
      const unbounded = Penalty.adaptive()
      expect(unbounded.next(0.015, 0)).toBe(0.0075)
      expect(unbounded.next(8e5, 1)).toBe(1.6e6)
    })

    it("is pure: the answer depends only on (β, kl), not on earlier calls", () => {
      const rule = Penalty.adaptive()
      const first = rule.next(0.25, 0.03)
      for (let k = 0; k < 5; k++) rule.next(7, 0)
      expect(rule.next(0.25, 0.03)).toBe(first)
      expect(first).toBe(0.5)
    })

    it("rejects invalid parameters with a RangeError naming them", () => {
      const cases: ReadonlyArray<readonly [Parameters<typeof Penalty.adaptive>[0], string]> = [
        [{ initialBeta: 0 }, "initialBeta"],
        [{ initialBeta: Number.NaN }, "initialBeta"],
        [{ targetKl: 0 }, "targetKl"],
        [{ targetKl: Number.POSITIVE_INFINITY }, "targetKl"],
        [{ tolerance: 0.9 }, "tolerance"],
        [{ factor: 1 }, "factor"],
        [{ factor: 0.5 }, "factor"],
        [{ minBeta: 0 }, "minBeta"],
        [{ maxBeta: -1 }, "maxBeta"],
        [{ minBeta: 2, maxBeta: 1, initialBeta: 1.5 }, "minBeta"],
        [{ initialBeta: 0.001, minBeta: 0.01 }, "initialBeta"],
        [{ initialBeta: 10, maxBeta: 5 }, "initialBeta"]
      ]
      for (const [options, name] of cases) {
        expect(() => Penalty.adaptive(options), JSON.stringify(options)).toThrow(RangeError)
        expect(() => Penalty.adaptive(options)).toThrow(name)
      }
    })

    it("next rejects a NaN KL and an invalid β with a RangeError; an infinite KL doubles β", () => {
      const rule = Penalty.adaptive()
      expect(() => rule.next(1, Number.NaN)).toThrow(RangeError)
      expect(() => rule.next(-1, 0.01)).toThrow(RangeError)
      expect(() => rule.next(Number.POSITIVE_INFINITY, 0.01)).toThrow(RangeError)
      expect(rule.next(1, Number.POSITIVE_INFINITY)).toBe(2)
    })
  })

  describe("fixed", () => {
    it("keeps β whatever the KL (the paper's fixed-β ablation), β = 0 included", () => {
      const rule = Penalty.fixed({ beta: 3 })
      expect(JSON.parse(JSON.stringify(rule))).toEqual({ _tag: "FixedPenalty", beta: 3, initialBeta: 3 })
      for (const kl of [0, 0.001, 0.01, 0.5, Number.NaN]) expect(rule.next(3, kl)).toBe(3)
      expect(Penalty.fixed({ beta: 0 }).next(0, 1)).toBe(0)
    })

    it("rejects β < 0 or non-finite with a RangeError", () => {
      for (const beta of [-0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => Penalty.fixed({ beta }), `β = ${beta}`).toThrow(RangeError)
      }
    })
  })
})
