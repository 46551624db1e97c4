import { describe, expect, it } from "@effect/vitest"
import * as ConjugateGradient from "../../src/algebra/ConjugateGradient.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Dense from "../reference/Dense.ts"

// Dense n × n matrices, row-major, float64.
type Matrix = { readonly n: number; readonly data: Float64Array }

const matVec = (a: Matrix, v: Float64Array): Float64Array => {
  const out = new Float64Array(a.n)
  for (let i = 0; i < a.n; i++) {
    let sum = 0
    for (let j = 0; j < a.n; j++) sum += a.data[i * a.n + j] * v[j]
    out[i] = sum
  }
  return out
}

const dot = (u: Float64Array, v: Float64Array): number => {
  let sum = 0
  for (let i = 0; i < u.length; i++) sum += u[i] * v[i]
  return sum
}

const norm = (v: Float64Array): number => Math.sqrt(dot(v, v))

const sub = (u: Float64Array, v: Float64Array): Float64Array => u.map((ui, i) => ui - v[i])

const relativeError = (actual: Float64Array, expected: Float64Array): number =>
  norm(sub(actual, expected)) / norm(expected)

// A = MᵀM/n + εI with M standard normal: eigenvalues in about [ε, 4 + ε].
const gramMatrix = (key: Key.Key, n: number, epsilon: number): Matrix => {
  const m = Key.normals(key, n * n)
  const data = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let k = 0; k < n; k++) sum += m[k * n + i] * m[k * n + j]
      data[i * n + j] = sum / n + (i === j ? epsilon : 0)
    }
  }
  return { n, data }
}

// A = Qᵀ diag(d) Q with Q orthogonal (modified Gram–Schmidt on the rows of a normal matrix).
const spectralMatrix = (key: Key.Key, d: Float64Array): Matrix => {
  const n = d.length
  const q = Key.normals(key, n * n)
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      let proj = 0
      for (let j = 0; j < n; j++) proj += q[i * n + j] * q[k * n + j]
      for (let j = 0; j < n; j++) q[i * n + j] -= proj * q[k * n + j]
    }
    let length = 0
    for (let j = 0; j < n; j++) length += q[i * n + j] ** 2
    length = Math.sqrt(length)
    for (let j = 0; j < n; j++) q[i * n + j] /= length
  }
  const data = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0
      for (let k = 0; k < n; k++) sum += q[k * n + i] * d[k] * q[k * n + j]
      data[i * n + j] = sum
    }
  }
  return { n, data }
}

// Eigenvalues 10^(decades·u), u uniform: condition number up to 10^decades.
const spdSpectrum = (key: Key.Key, n: number, decades: number): Float64Array =>
  Key.uniforms(key, n).map((u) => 10 ** (decades * u))

// The product as CG sees it, with a count of the calls.
const counted = (a: Matrix): { apply: ConjugateGradient.Apply; calls: () => number } => {
  let calls = 0
  return {
    apply: (v) => {
      calls++
      return matVec(a, v)
    },
    calls: () => calls
  }
}

type Problem = { readonly label: string; readonly a: Matrix; readonly b: Float64Array }

// n iterations solve an n × n system only in exact arithmetic: in float64, CG loses
// conjugacy at a rate that grows with the condition number (at n = 20 and κ = 100 the
// error after n steps is ~1e-6, after 2n steps ~1e-15). The main problems keep κ ≤ 10.
const problems = (seed: number, decades = 1): Array<Problem> => {
  const root = Key.make(seed)
  const out: Array<Problem> = []
  for (const n of [5, 20, 50]) {
    const [gramKey, spectrumKey, basisKey, rhsKey] = Key.split(Key.foldIn(root, n), 4)
    const b = Key.normals(rhsKey, n)
    out.push({ label: `MᵀM/n + 0.5·I, n = ${n}`, a: gramMatrix(gramKey, n, 0.5), b })
    const spectrum = spdSpectrum(spectrumKey, n, decades)
    out.push({ label: `Qᵀ diag(1..10^${decades}) Q, n = ${n}`, a: spectralMatrix(basisKey, spectrum), b })
  }
  return out
}

describe("ConjugateGradient", () => {
  describe("solve", () => {
    it("matches a dense Cholesky solve with maxIterations = n (relative error < 1e-8)", () => {
      for (const { a, b, label } of problems(1)) {
        const expected = Dense.solve(a.data, b)
        const result = ConjugateGradient.solve((v) => matVec(a, v), b, { maxIterations: a.n, residualTolerance: 1e-28 })
        expect(result.breakdown, label).toBe(false)
        expect(relativeError(result.solution, expected), label).toBeLessThan(1e-8)
      }
    })

    it("reaches 1e-8 relative error within 2n iterations at condition number 100", () => {
      for (const { a, b, label } of problems(1, 2)) {
        const expected = Dense.solve(a.data, b)
        const options = { maxIterations: 2 * a.n, residualTolerance: 1e-28 }
        const result = ConjugateGradient.solve((v) => matVec(a, v), b, options)
        expect(relativeError(result.solution, expected), label).toBeLessThan(1e-8)
      }
    })

    it("stops with the squared residual below the tolerance, recurrence and true residual alike", () => {
      for (const { a, b, label } of problems(2)) {
        const result = ConjugateGradient.solve((v) => matVec(a, v), b, { maxIterations: a.n })
        expect(result.residualNorm ** 2, label).toBeLessThan(1e-10)
        // The recomputed residual agrees with the recurrence up to rounding (‖b‖ ≈ √n).
        const trueResidual = norm(sub(b, matVec(a, result.solution)))
        expect(trueResidual ** 2, label).toBeLessThan(1e-10 + 1e-12)
        expect(result.iterations, label).toBeLessThanOrEqual(a.n)
      }
    })

    it("reports residualNorm = ‖b − A x‖ after a few iterations (relative 1e-8)", () => {
      for (const { a, b, label } of problems(3)) {
        for (const maxIterations of [1, 2, 3]) {
          const result = ConjugateGradient.solve((v) => matVec(a, v), b, { maxIterations })
          expect(result.iterations).toBe(maxIterations)
          const trueResidual = norm(sub(b, matVec(a, result.solution)))
          expect(Math.abs(result.residualNorm - trueResidual) / trueResidual, label).toBeLessThan(1e-8)
        }
      }
    })

    it("reports xAx = xᵀ A x without an extra product (relative 1e-10)", () => {
      for (const { a, b, label } of problems(4)) {
        for (const maxIterations of [1, 3, a.n]) {
          const { apply, calls } = counted(a)
          const result = ConjugateGradient.solve(apply, b, { maxIterations })
          expect(calls()).toBe(result.iterations)
          const direct = dot(result.solution, matVec(a, result.solution))
          expect(Math.abs(result.xAx - direct) / direct, label).toBeLessThan(1e-10)
        }
      }
    })

    it("counts the products it used in iterations", () => {
      for (const { a, b, label } of problems(5)) {
        for (const options of [{ maxIterations: 0 }, { maxIterations: 2 }, { maxIterations: a.n }, {}]) {
          const { apply, calls } = counted(a)
          const result = ConjugateGradient.solve(apply, b, options)
          expect(result.iterations, label).toBe(calls())
        }
      }
      // An early stop on the tolerance uses fewer products than allowed: the well-conditioned
      // Gram matrix at n = 50 converges long before 50 iterations.
      const gram = problems(5)[4]
      const { apply, calls } = counted(gram.a)
      const result = ConjugateGradient.solve(apply, gram.b, { maxIterations: 50 })
      expect(calls()).toBe(result.iterations)
      expect(result.iterations).toBeLessThan(50)
    })

    it("solves A x = b exactly in one product when b is an eigenvector", () => {
      // A = diag(2, 3, 5), b = (0, 6, 0): x = (0, 2, 0), xᵀAx = 2·3·2 = 12, residual 0.
      const a: Matrix = { n: 3, data: Float64Array.of(2, 0, 0, 0, 3, 0, 0, 0, 5) }
      const result = ConjugateGradient.solve((v) => matVec(a, v), Float64Array.of(0, 6, 0))
      expect(Array.from(result.solution)).toEqual([0, 2, 0])
      expect(result).toMatchObject({ iterations: 1, residualNorm: 0, xAx: 12, breakdown: false })
    })

    it("returns zeros after 0 products for b = 0", () => {
      const a = problems(6)[0].a
      for (const residualTolerance of [1e-10, 0]) {
        const { apply, calls } = counted(a)
        const result = ConjugateGradient.solve(apply, new Float64Array(5), { residualTolerance })
        expect(Array.from(result.solution)).toEqual([0, 0, 0, 0, 0])
        expect(result).toMatchObject({ iterations: 0, residualNorm: 0, xAx: 0, breakdown: false })
        expect(calls()).toBe(0)
      }
    })

    it("reports a breakdown on an indefinite operator, with a finite solution", () => {
      // A = diag(1, −1/2), b = (1, 1).
      // k = 0: p = (1, 1), Ap = (1, −1/2), pᵀAp = 1/2, α = 2 / (1/2) = 4, x = (4, 4),
      //        r = (1, 1) − 4·(1, −1/2) = (−3, 3), rᵀr = 18, β = 18/2 = 9,
      //        p = (−3, 3) + 9·(1, 1) = (6, 12).
      // k = 1: Ap = (6, −6), pᵀAp = 36 − 72 = −36 ≤ 0: breakdown after 2 products, x stays (4, 4).
      // xᵀAx = 16 − 8 = 8 = xᵀ(b − r) = (4, 4)·(4, −2).
      const a: Matrix = { n: 2, data: Float64Array.of(1, 0, 0, -0.5) }
      const { apply, calls } = counted(a)
      const result = ConjugateGradient.solve(apply, Float64Array.of(1, 1))
      expect(Array.from(result.solution)).toEqual([4, 4])
      expect(result).toMatchObject({ iterations: 2, breakdown: true, xAx: 8, residualNorm: Math.sqrt(18) })
      expect(calls()).toBe(2)
    })

    it("reports a breakdown on random indefinite matrices, never a non-finite solution", () => {
      const root = Key.make(7)
      for (const n of [5, 20, 50]) {
        const [spectrumKey, basisKey, rhsKey] = Key.split(Key.foldIn(root, n), 3)
        // Eigenvalues uniform in [−1, 3): some negative.
        const d = Key.uniforms(spectrumKey, n).map((u) => 4 * u - 1)
        d[0] = -1
        const a = spectralMatrix(basisKey, d)
        const result = ConjugateGradient.solve((v) => matVec(a, v), Key.normals(rhsKey, n), {
          maxIterations: n,
          residualTolerance: 0
        })
        expect(result.breakdown, `n = ${n}`).toBe(true)
        expect(result.solution.every(Number.isFinite)).toBe(true)
        expect(Number.isFinite(result.xAx) && Number.isFinite(result.residualNorm)).toBe(true)
      }
    })

    it("reports a breakdown on a zero or non-finite product at the first step, returning zeros", () => {
      const b = Float64Array.of(1, 2, 3)
      for (const value of [0, NaN, Infinity]) {
        const result = ConjugateGradient.solve(() => new Float64Array(3).fill(value), b)
        expect(Array.from(result.solution)).toEqual([0, 0, 0])
        expect(result).toMatchObject({ iterations: 1, breakdown: true, xAx: 0, residualNorm: Math.sqrt(14) })
      }
    })

    it("rejects invalid options and a product of the wrong length", () => {
      const apply = (v: Float64Array) => v
      const b = Float64Array.of(1)
      expect(() => ConjugateGradient.solve(apply, b, { maxIterations: -1 })).toThrow(RangeError)
      expect(() => ConjugateGradient.solve(apply, b, { maxIterations: 2.5 })).toThrow(RangeError)
      expect(() => ConjugateGradient.solve(apply, b, { residualTolerance: -1 })).toThrow(RangeError)
      expect(() => ConjugateGradient.solve(apply, b, { residualTolerance: NaN })).toThrow(RangeError)
      expect(() => ConjugateGradient.solve(() => new Float64Array(2), b)).toThrow(RangeError)
    })
  })

  describe("make", () => {
    it("is a Solver block whose data fields serialise and whose solve uses them", () => {
      const solver: ConjugateGradient.Solver = ConjugateGradient.make({ maxIterations: 3 })
      expect(JSON.parse(JSON.stringify(solver))).toEqual({
        _tag: "ConjugateGradient",
        maxIterations: 3,
        residualTolerance: 1e-10
      })
      const { a, b } = problems(8)[2]
      expect(solver.solve({ dimension: a.n, apply: (v) => matVec(a, v) }, b)).toEqual(
        ConjugateGradient.solve((v) => matVec(a, v), b, { maxIterations: 3 })
      )
    })

    it("defaults to 10 iterations and tolerance 1e-10", () => {
      expect(ConjugateGradient.make()).toMatchObject({ maxIterations: 10, residualTolerance: 1e-10 })
      expect(() => ConjugateGradient.make({ maxIterations: -3 })).toThrow(RangeError)
    })
  })
})
