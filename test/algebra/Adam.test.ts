import { describe, expect, it } from "@effect/vitest"
import * as Adam from "../../src/algebra/Adam.ts"
import * as Dense from "../reference/Dense.ts"

// Tolerances: hand-derived steps 1e-15 (absolute, the values are O(0.01–1)); the first step's
// distance from −lr·sign(g) is bounded by lr·ε/|g| (stated below); the quadratic's minimiser
// within relative error 1e-6 of the dense normal-equation solution.

describe("Adam", () => {
  describe("options", () => {
    it("defaults to PyTorch's β₁ = 0.9, β₂ = 0.999, ε = 1e-8 and keeps overrides", () => {
      expect(Adam.options(0.003)).toEqual({ learningRate: 0.003, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 })
      expect(Adam.options(0.1, { beta1: 0.5, epsilon: 1e-6 })).toEqual({ learningRate: 0.1, beta1: 0.5, beta2: 0.999, epsilon: 1e-6 })
    })
  })

  describe("init", () => {
    it("starts with zero moments and t = 0", () => {
      const state = Adam.init(3)
      expect(Array.from(state.m)).toEqual([0, 0, 0])
      expect(Array.from(state.v)).toEqual([0, 0, 0])
      expect(state.t).toBe(0)
    })
  })

  describe("step", () => {
    it("first step from zero state moves each parameter by −lr·sign(g) up to lr·ε/|g|", () => {
      // t = 1: m = (1 − β₁)g, v = (1 − β₂)g², so m̂ = m/(1 − β₁) = g and v̂ = v/(1 − β₂) = g²;
      // Δθ = −lr·g/(|g| + ε) = −lr·sign(g)·|g|/(|g| + ε), within lr·ε/|g| of −lr·sign(g).
      // g = 0 gives m̂ = 0 and Δθ = 0/ε = 0 exactly.
      const lr = 0.1, epsilon = 1e-8
      const params = Float64Array.of(1, -2, 0.5, 3, 0)
      const gradient = Float64Array.of(0.5, -3, 1e-3, 0, 250)
      const { params: next, state } = Adam.step(params, gradient, Adam.init(5), Adam.options(lr))
      gradient.forEach((g, p) => {
        const bound = g === 0 ? 0 : (lr * epsilon) / Math.abs(g) + 1e-16
        expect(Math.abs(next[p]! - params[p]! + lr * Math.sign(g)), `parameter ${p}`).toBeLessThanOrEqual(bound)
      })
      expect(next[3]).toBe(3)
      expect(state.t).toBe(1)
      // m = 0.1·g and v = 0.001·g² (tol 1e-15 relative).
      gradient.forEach((g, p) => {
        expect(Math.abs(state.m[p]! - 0.1 * g)).toBeLessThanOrEqual(1e-15 * Math.abs(g))
        expect(Math.abs(state.v[p]! - 0.001 * g * g)).toBeLessThanOrEqual(1e-15 * g * g)
      })
    })

    it("two steps match a hand computation with the bias corrections (tol 1e-15)", () => {
      // lr = 0.01, θ₀ = 0, g₁ = 2, g₂ = 1.
      // Step 1: m₁ = 0.2, v₁ = 0.004, m̂ = 2, v̂ = 4, θ₁ = −0.01·2/(2 + 1e-8) = −0.00999999995.
      // Step 2: m₂ = 0.9·0.2 + 0.1·1 = 0.28, v₂ = 0.999·0.004 + 0.001·1 = 0.004996,
      //   1 − β₁² = 0.19, 1 − β₂² = 0.001999, m̂ = 28/19 = 1.47368…, v̂ = 4996/1999 = 2.49925…,
      //   θ₂ = θ₁ − 0.01·(28/19)/(√(4996/1999) + 1e-8) = −0.0193217962791…
      const opts = Adam.options(0.01)
      const first = Adam.step(Float64Array.of(0), [2], Adam.init(1), opts)
      const theta1 = -0.02 / (2 + 1e-8)
      expect(Math.abs(first.params[0]! - theta1)).toBeLessThanOrEqual(1e-15)
      const second = Adam.step(first.params, [1], first.state, opts)
      const theta2 = theta1 - (0.01 * (28 / 19)) / (Math.sqrt(4996 / 1999) + 1e-8)
      expect(Math.abs(second.params[0]! - theta2)).toBeLessThanOrEqual(1e-15)
      expect(Math.abs(second.params[0]! - -0.0193217962791)).toBeLessThanOrEqual(1e-13)
      expect(Math.abs(second.state.m[0]! - 0.28)).toBeLessThanOrEqual(1e-15)
      expect(Math.abs(second.state.v[0]! - 0.004996)).toBeLessThanOrEqual(1e-15)
      expect(second.state.t).toBe(2)
    })

    it("with β₁ = β₂ = 0 every step is −lr·g/(|g| + ε) (no memory; tol 1e-15)", () => {
      // 1 − 0ᵗ = 1, m = g, v = g²: three steps with g = 3, −1, 0.5 from θ = 1 and lr = 0.2.
      const opts = Adam.options(0.2, { beta1: 0, beta2: 0 })
      let params: Float64Array = Float64Array.of(1)
      let state = Adam.init(1)
      let expected = 1
      for (const g of [3, -1, 0.5]) {
        ;({ params, state } = Adam.step(params, [g], state, opts))
        expected -= (0.2 * g) / (Math.abs(g) + 1e-8)
      }
      expect(Math.abs(params[0]! - expected)).toBeLessThanOrEqual(1e-15)
      expect(state.t).toBe(3)
    })

    it("uses the learningRate argument over opts.learningRate (first step −0.5·g/(|g| + ε); tol 1e-15)", () => {
      // With opts.learningRate = 0.1 the step would be ∓0.1; the override 0.5 gives ∓0.5·4/(4 + 1e-8).
      const { params } = Adam.step(Float64Array.of(0, 0), [4, -4], Adam.init(2), Adam.options(0.1), 0.5)
      expect(Math.abs(params[0]! + 2 / (4 + 1e-8))).toBeLessThanOrEqual(1e-15)
      expect(Math.abs(params[1]! - 2 / (4 + 1e-8))).toBeLessThanOrEqual(1e-15)
    })

    it("does not mutate its inputs and returns fresh arrays", () => {
      const params = Float64Array.of(1, 2)
      const gradient = Float64Array.of(0.3, -0.7)
      const state: Adam.State = { m: Float64Array.of(0.1, 0.2), v: Float64Array.of(0.01, 0.02), t: 3 }
      const result = Adam.step(params, gradient, state, Adam.options(0.01))
      expect(Array.from(params)).toEqual([1, 2])
      expect(Array.from(gradient)).toEqual([0.3, -0.7])
      expect(Array.from(state.m)).toEqual([0.1, 0.2])
      expect(Array.from(state.v)).toEqual([0.01, 0.02])
      expect(state.t).toBe(3)
      expect(result.params).not.toBe(params)
      expect(result.state.m).not.toBe(state.m)
      expect(result.state.v).not.toBe(state.v)
      expect(result.state.t).toBe(4)
      expect(Array.from(result.params)).not.toEqual([1, 2])
    })

    it("minimises ½‖Aθ − b‖² to the dense least-squares solution (4×3 A, lr 0.05, 2000 steps; rel. error ≤ 1e-6)", () => {
      // A has full column rank (AᵀA eigenvalues ≈ 1.34, 2.21, 16.7); θ* = (AᵀA)⁻¹Aᵀb by Cholesky,
      // which is [4/3, −4/3, 7/6] for these numbers. The gradient is Aᵀ(Aθ − b).
      const m = 4, n = 3
      const A = Float64Array.of(2, 1, 0, 1, 3, 1, 0.5, 0, 1, 1, 1, 1)
      const b = Float64Array.of(1, -2, 0.5, 3)
      const transposeTimes = (r: Float64Array) =>
        Float64Array.from({ length: n }, (_, i) => {
          let s = 0
          for (let k = 0; k < m; k++) s += A[k * n + i]! * r[k]!
          return s
        })
      const AtA = new Float64Array(n * n)
      for (let i = 0; i < n; i++) AtA.set(transposeTimes(Float64Array.from({ length: m }, (_, k) => A[k * n + i]!)), i * n)
      const solution = Dense.solve(AtA, transposeTimes(b))
      expect(Dense.relativeError(solution, [4 / 3, -4 / 3, 7 / 6])).toBeLessThan(1e-12)
      const opts = Adam.options(0.05)
      let params: Float64Array = new Float64Array(n)
      let state = Adam.init(n)
      const loss = (theta: Float64Array) => 0.5 * Dense.matVec(A, theta).reduce((acc, x, k) => acc + (x - b[k]!) ** 2, 0)
      const initialLoss = loss(params)
      for (let t = 0; t < 2000; t++) {
        const gradient = transposeTimes(Dense.matVec(A, params).map((x, k) => x - b[k]!))
        ;({ params, state } = Adam.step(params, gradient, state, opts))
      }
      expect(Dense.relativeError(params, solution)).toBeLessThan(1e-6)
      expect(loss(params)).toBeLessThan(initialLoss)
    })
  })
})
