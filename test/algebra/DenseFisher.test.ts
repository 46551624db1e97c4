import { describe, expect, it as plain, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as ConjugateGradient from "../../src/algebra/ConjugateGradient.ts"
import * as DenseFisher from "../../src/algebra/DenseFisher.ts"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Fisher from "../../src/algebra/Fisher.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Mlp from "../../src/algebra/Mlp.ts"
import * as Policy from "../../src/algebra/Policy.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"
import * as Dense from "../reference/Dense.ts"

// Tiny policies on a batch of 7, where the float64 Fisher F = (1/N) Σ J_iᵀ M_i J_i from
// explicit per-sample Jacobians (test/reference/Dense.ts) is the reference.
const N = 7

interface Setup {
  readonly sizes: ReadonlyArray<number>
  readonly kind: Dense.Kind
  readonly problem: Fisher.Problem
  readonly dense: Float64Array
  dispose(): void
}

// A policy with hidden layers `hidden`, n0 = 3 inputs and K actions (categorical) or a 2-d
// Gaussian, random parameters of scale 0.7 and standard normal observations.
const setup = (kind: Dense.Kind, seed: number, options: { readonly hidden?: ReadonlyArray<number>; readonly actions?: number } = {}): Setup => {
  const hidden = options.hidden ?? [5, 5]
  const outputs = kind === "categorical" ? options.actions ?? 2 : 2
  const sizes = [3, ...hidden, outputs]
  const [paramKey, obsKey] = Key.split(Key.make(seed), 2)
  const distribution = kind === "categorical" ? Distribution.categorical(outputs) : Distribution.diagGaussian(outputs)
  const policy = Policy.make({ observationSize: 3, hiddenSizes: hidden, distribution })
  const params = Dense.randomParameters(paramKey!, sizes, kind, 0.7)
  if (kind === "gaussian") params.set([-0.3, 0.4], Policy.networkSize(policy))
  const observations = Float32Array.from(Key.normals(obsKey!, N * 3))
  const linearization = Mlp.linearize(policy.network, params, observations, N)
  return {
    sizes,
    kind,
    problem: { policy, params, observations, size: N, linearization },
    dense: Dense.fisher(sizes, params, Dense.rows(observations, 3), kind),
    dispose: () => linearization.dispose()
  }
}

const using = <A>(s: Setup, f: (s: Setup) => A): A => {
  try {
    return f(s)
  } finally {
    s.dispose()
  }
}

const damped = (F: Float64Array, damping: number): Float64Array => {
  const n = Math.round(Math.sqrt(F.length))
  const A = Float64Array.from(F)
  for (let p = 0; p < n; p++) A[p * n + p] += damping
  return A
}

// The damped analytic Fisher operator of a problem with its dense matrix attached, as Fisher.ts
// will expose it.
const operatorOf = (problem: Fisher.Problem, damping: number): Fisher.Operator => {
  const op = Fisher.analytic({ damping }).prepare(problem)
  return { dimension: op.dimension, apply: op.apply, dense: DenseFisher.denseOperator(problem, damping), dispose: op.dispose }
}

layer(TensorBackend.layerWasm)("DenseFisher", (it) => {
  describe("matrix", () => {
    const cases: ReadonlyArray<[string, () => Setup]> = [
      ["3→5→5→2 categorical", () => setup("categorical", 11)],
      ["3→5→5→2 Gaussian with log-std", () => setup("gaussian", 12)],
      ["3→5→5→4 categorical (reduced rank 3)", () => setup("categorical", 13, { actions: 4 })],
      ["3→6→2 categorical (one hidden layer)", () => setup("categorical", 14, { hidden: [6] })],
      ["3→2 Gaussian (no hidden layer)", () => setup("gaussian", 15, { hidden: [] })],
      ["3→4→5→6→3 categorical (three hidden layers)", () => setup("categorical", 16, { hidden: [4, 5, 6], actions: 3 })],
      ["3→24→24→2 categorical (P = 770, two column blocks)", () => setup("categorical", 17, { hidden: [24, 24] })]
    ]
    for (const [name, make] of cases) {
      it.effect(`equals the float64 Fisher from per-sample Jacobians: ${name} (rel. error ≤ 1e-4)`, () =>
        Effect.sync(() =>
          using(make(), (s) => {
            const F = DenseFisher.matrix(s.problem)
            expect(F.length).toBe(s.dense.length)
            expect(Dense.relativeError(F, s.dense)).toBeLessThan(1e-4)
          })
        ))
    }

    it.effect("is exactly symmetric and positive semi-definite", () =>
      Effect.sync(() =>
        using(setup("categorical", 21, { actions: 3 }), (s) => {
          const F = DenseFisher.matrix(s.problem)
          expect(Dense.isSymmetric(F, 0)).toBe(true)
          // The categorical Fisher is singular: its least eigenvalue is 0 up to float32 rounding.
          const scale = Math.max(...Dense.symmetricEigenvalues(F))
          expect(Dense.minEigenvalue(F)).toBeGreaterThan(-1e-6 * scale)
        })
      ))

    it.effect("holds the Gaussian log-std block 2I with no cross terms", () =>
      Effect.sync(() =>
        using(setup("gaussian", 22), (s) => {
          const F = DenseFisher.matrix(s.problem)
          const P = s.problem.params.length, net = Policy.networkSize(s.problem.policy)
          for (let i = net; i < P; i++) {
            for (let j = 0; j < P; j++) {
              expect(F[i * P + j]).toBe(i === j ? 2 : 0)
              expect(F[j * P + i]).toBe(i === j ? 2 : 0)
            }
          }
        })
      ))

    it.effect("does not depend on the tiling (column blocks of one row, row chunks of 3)", () =>
      Effect.sync(() =>
        using(setup("categorical", 23, { actions: 4 }), (s) => {
          const whole = DenseFisher.matrix(s.problem)
          const tiled = DenseFisher.matrix(s.problem, { blockColumns: 1, chunkRows: 3 })
          expect(Dense.isSymmetric(tiled, 0)).toBe(true)
          expect(Dense.relativeError(tiled, whole)).toBeLessThan(1e-6)
          expect(Dense.relativeError(tiled, s.dense)).toBeLessThan(1e-4)
        })
      ))

    it.effect("agrees with the analytic Fisher-vector product (rel. error ≤ 1e-5)", () =>
      Effect.sync(() =>
        using(setup("gaussian", 24), (s) => {
          const op = Fisher.analytic({ damping: 0 }).prepare(s.problem)
          const F = DenseFisher.matrix(s.problem)
          for (let trial = 0; trial < 3; trial++) {
            const v = Key.normals(Key.foldIn(Key.make(25), trial), s.problem.params.length)
            expect(Dense.relativeError(Dense.matVec(F, v), op.apply(v))).toBeLessThan(1e-5)
          }
          op.dispose()
        })
      ))
  })

  describe("denseOperator", () => {
    it.effect("is F + λI", () =>
      Effect.sync(() =>
        using(setup("categorical", 31), (s) => {
          const F = DenseFisher.matrix(s.problem)
          const A = DenseFisher.denseOperator(s.problem, 0.25)()
          const P = s.problem.params.length
          for (let p = 0; p < P; p++) {
            for (let q = 0; q < P; q++) expect(A[p * P + q]).toBe(F[p * P + q]! + (p === q ? 0.25 : 0))
          }
        })
      ))
  })

  describe("cholesky", () => {
    const damping = 0.1

    // Both routes carry F's float32 rounding (~1.5e-7 relative), which the solve amplifies by
    // up to κ(F + λI): with λ = 0.1, κ ≈ 12–30 for these categoricals (the two solutions differ
    // by ~2e-7) but ≈ 150 for the Gaussian (~2e-6), so the Gaussian is solved with λ = 1 (κ ≈ 16).
    const solves: ReadonlyArray<[string, () => Setup, number]> = [
      ["3→5→5→2 categorical, λ = 0.1", () => setup("categorical", 41), 0.1],
      ["3→5→5→4 categorical, λ = 0.1", () => setup("categorical", 41, { actions: 4 }), 0.1],
      ["3→5→5→2 Gaussian, λ = 1", () => setup("gaussian", 41), 1]
    ]
    for (const [name, make, damping] of solves) {
      it.effect(`solves (F + λI) x = g like CG to convergence (rel. error ≤ 1e-6) and Dense.solve (≤ 1e-5): ${name}`, () =>
        Effect.sync(() =>
          using(make(), (s) => {
            const op = operatorOf(s.problem, damping)
            const g = Key.normals(Key.make(42), op.dimension)
            const result = DenseFisher.cholesky().solve(op, g)
            expect(result.breakdown).toBe(false)
            expect(result.iterations).toBe(0)
            // CG on the same operator's float32 analytic products, to convergence.
            const cg = ConjugateGradient.solve(op.apply, g, { maxIterations: 500, residualTolerance: 1e-24 })
            expect(cg.breakdown).toBe(false)
            expect(Dense.relativeError(result.solution, cg.solution)).toBeLessThan(1e-6)
            // CG with float64 products of the same dense matrix: equal to CG's own precision.
            const A = op.dense!()
            const cgDense = ConjugateGradient.solve((v) => Dense.matVec(A, v), g, { maxIterations: 500, residualTolerance: 1e-26 })
            expect(Dense.relativeError(result.solution, cgDense.solution)).toBeLessThan(1e-10)
            // The float64 oracle: F from float64 Jacobians, solved by its own Cholesky.
            const reference = Dense.solve(damped(s.dense, damping), g)
            expect(Dense.relativeError(result.solution, reference)).toBeLessThan(1e-5)
            op.dispose()
          })
        ))
    }

    it.effect("at λ = 0.1 on the Gaussian (κ ≈ 150) still agrees with the float64 oracle to 1e-5", () =>
      Effect.sync(() =>
        using(setup("gaussian", 41), (s) => {
          const op = operatorOf(s.problem, 0.1)
          const g = Key.normals(Key.make(42), op.dimension)
          const result = DenseFisher.cholesky().solve(op, g)
          expect(Dense.relativeError(result.solution, Dense.solve(damped(s.dense, 0.1), g))).toBeLessThan(1e-5)
          op.dispose()
        })
      ))

    it.effect("reports ‖b − A x‖ and xᵀAx computed exactly", () =>
      Effect.sync(() =>
        using(setup("categorical", 43, { actions: 3 }), (s) => {
          const op = operatorOf(s.problem, damping)
          const g = Key.normals(Key.make(44), op.dimension)
          const { solution, residualNorm, xAx } = DenseFisher.cholesky().solve(op, g)
          const A = op.dense!()
          const Ax = Dense.matVec(A, solution)
          const residual = g.map((b, p) => b - Ax[p]!)
          expect(residualNorm).toBeCloseTo(Dense.norm(residual), 14)
          expect(residualNorm).toBeLessThan(1e-12 * Dense.norm(g))
          expect(Math.abs(xAx - Dense.dot(solution, Ax))).toBeLessThan(1e-12 * Math.abs(xAx))
          op.dispose()
        })
      ))

    it.effect("leaves the tensor count unchanged", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        const before = backend.numTensors()
        for (const s of [setup("categorical", 51, { actions: 4 }), setup("gaussian", 52)]) {
          using(s, () => {
            DenseFisher.matrix(s.problem)
            DenseFisher.matrix(s.problem, { blockColumns: 1, chunkRows: 2 })
            const op = operatorOf(s.problem, damping)
            DenseFisher.cholesky().solve(op, Key.normals(Key.make(53), op.dimension))
            op.dispose()
          })
        }
        expect(backend.numTensors()).toBe(before)
      }))
  })
})

// Pure float64 parts: no tensors.
describe("DenseFisher", () => {
  describe("solve", () => {
    plain("matches Dense.solve on random SPD matrices of odd sizes (rel. error ≤ 1e-10)", () => {
      for (const n of [1, 2, 3, 4, 5, 7, 8, 13, 37, 64]) {
        const A = Dense.randomSpd(Key.make(n), n, 100)
        const b = Key.normals(Key.make(1000 + n), n)
        const result = DenseFisher.solve(A, b)
        expect(result.breakdown).toBe(false)
        expect(Dense.relativeError(result.solution, Dense.solve(A, b))).toBeLessThan(1e-10)
        // The packed factor, row i from i (i + 1) / 2.
        const packed = DenseFisher.factor(A, n)!
        const L = Dense.cholesky(A)
        expect(packed.length).toBe((n * (n + 1)) / 2)
        expect(Dense.relativeError(packed, Array.from({ length: packed.length }, (_, e) => {
          const i = Math.floor((Math.sqrt(8 * e + 1) - 1) / 2), j = e - (i * (i + 1)) / 2
          return L[i * n + j]!
        }))).toBeLessThan(1e-12)
      }
    })

    plain("reports breakdown with a zero solution on an indefinite or non-finite matrix", () => {
      const b = Float64Array.from([1, 2, 3])
      // Eigenvalues 4, −2, 1: indefinite, though its first pivot is positive.
      const indefinite = Float64Array.from([1, 3, 0, 3, 1, 0, 0, 0, 1])
      const nan = Float64Array.from([1, 0, 0, 0, NaN, 0, 0, 0, 1])
      for (const A of [indefinite, nan, new Float64Array(9)]) {
        const result = DenseFisher.solve(A, b)
        expect(result.breakdown).toBe(true)
        expect(Array.from(result.solution)).toEqual([0, 0, 0])
        expect(result.residualNorm).toBeCloseTo(Math.sqrt(14), 14)
        expect(result.xAx).toBe(0)
      }
      expect(DenseFisher.factor(indefinite, 3)).toBeUndefined()
    })
  })

  describe("cholesky", () => {
    const operator = (A: Float64Array): ConjugateGradient.LinearOperator => ({
      dimension: Math.round(Math.sqrt(A.length)),
      apply: (v) => Dense.matVec(A, v),
      dense: () => A
    })

    plain("adds nothing to the operator's matrix and reports breakdown through the block", () => {
      const A = Float64Array.from([4, 1, 1, 3])
      const result = DenseFisher.cholesky().solve(operator(A), Float64Array.from([1, 2]))
      // x = A⁻¹ b = (1/11) [3 −1; −1 4] [1, 2] = [1/11, 7/11]
      expect(result.solution[0]).toBeCloseTo(1 / 11, 14)
      expect(result.solution[1]).toBeCloseTo(7 / 11, 14)
      expect(result.xAx).toBeCloseTo(15 / 11, 14) // xᵀb
      const broken = DenseFisher.cholesky().solve(operator(Float64Array.from([1, 2, 2, 1])), Float64Array.from([1, 1]))
      expect(broken.breakdown).toBe(true)
      expect(Array.from(broken.solution)).toEqual([0, 0])
    })

    plain("rejects a policy above maxParameters with DenseSolveTooLargeError, before building the matrix", () => {
      const op: ConjugateGradient.LinearOperator = {
        dimension: 4610,
        apply: () => {
          throw new Error("no products expected")
        },
        dense: () => {
          throw new Error("the matrix must not be built")
        }
      }
      const message = "the dense Fisher solve supports at most 2000 parameters; this policy has 4610 — use conjugate gradient"
      const solver = DenseFisher.cholesky()
      expect(solver).toMatchObject({ _tag: "DenseCholesky", maxParameters: 2000 })
      expect(() => solver.solve(op, new Float64Array(4610))).toThrow(DenseFisher.DenseSolveTooLargeError)
      expect(() => solver.solve(op, new Float64Array(4610))).toThrow(message)
      const error = DenseFisher.checkSize(4610, 2000)
      expect(error).toBeInstanceOf(DenseFisher.DenseSolveTooLargeError)
      expect(error).toMatchObject({ _tag: "DenseSolveTooLargeError", parameters: 4610, maxParameters: 2000, message })
      expect(DenseFisher.checkSize(2000, 2000)).toBeUndefined()
      // The block's check, which a run calls before training, is the same rule.
      expect(solver.check?.(4610)).toMatchObject({ _tag: "DenseSolveTooLargeError", parameters: 4610, maxParameters: 2000, message })
      expect(solver.check?.(2000)).toBeUndefined()
      expect(DenseFisher.cholesky({ maxParameters: 5000 }).maxParameters).toBe(5000)
    })

    plain("needs the operator's dense matrix", () => {
      const op: ConjugateGradient.LinearOperator = { dimension: 2, apply: (v) => v }
      expect(() => DenseFisher.cholesky().solve(op, new Float64Array(2))).toThrow(DenseFisher.DenseMatrixUnavailableError)
      expect(() => DenseFisher.cholesky({ maxParameters: 0 })).toThrow(RangeError)
    })
  })
})
