import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Fisher from "../../src/algebra/Fisher.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Mlp from "../../src/algebra/Mlp.ts"
import * as Policy from "../../src/algebra/Policy.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"
import * as Dense from "../reference/Dense.ts"

// A tiny 3 → 5 → 5 → 2 policy on a batch of 7, where the dense float64 Fisher
// F = (1/N) Σ J_iᵀ M_i J_i from explicit per-sample Jacobians is the reference.
const sizes = [3, 5, 5, 2]
const N = 7

const setup = (kind: Dense.Kind, seed: number) => {
  const key = Key.make(seed)
  const [paramKey, obsKey] = Key.split(key, 2)
  const distribution = kind === "categorical" ? Distribution.categorical(2) : Distribution.diagGaussian(2)
  const policy = Policy.make({ observationSize: 3, hiddenSizes: [5, 5], distribution })
  const params = Dense.randomParameters(paramKey!, sizes, kind, 0.7)
  if (kind === "gaussian") params.set([-0.3, 0.4], Policy.networkSize(policy))
  const observations = Float32Array.from(Key.normals(obsKey!, N * 3))
  const dense = Dense.fisher(sizes, params, Dense.rows(observations, 3), kind)
  return { policy, params, observations, dense }
}

const withOperator = <A>(strategy: Fisher.Strategy, kind: Dense.Kind, seed: number, f: (op: Fisher.Operator, s: ReturnType<typeof setup>) => A): A => {
  const s = setup(kind, seed)
  const linearization = Mlp.linearize(s.policy.network, s.params, s.observations, N)
  const op = strategy.prepare({ policy: s.policy, params: s.params, observations: s.observations, size: N, linearization })
  try {
    return f(op, s)
  } finally {
    op.dispose()
    linearization.dispose()
  }
}

const strategies: ReadonlyArray<[string, Fisher.Strategy]> = [
  ["analytic", Fisher.analytic({ damping: 0 })],
  ["finiteDifference", Fisher.finiteDifference({ damping: 0 })],
  ["pearlmutter", Fisher.pearlmutter({ damping: 0 })]
]

layer(TensorBackend.layerWasm)("Fisher", (it) => {
  for (const [name, strategy] of strategies) {
    describe(name, () => {
      for (const kind of ["categorical", "gaussian"] as const) {
        it.effect(`matches the dense Fisher from per-sample Jacobians (${kind}, rel. error ≤ 1e-3)`, () =>
          Effect.sync(() =>
            withOperator(strategy, kind, 11, (op, s) => {
              for (let trial = 0; trial < 3; trial++) {
                const v = Key.normals(Key.foldIn(Key.make(99), trial), s.params.length)
                const expected = Dense.matVec(s.dense, v)
                expect(Dense.relativeError(op.apply(v), expected)).toBeLessThan(1e-3)
              }
            })
          ))
      }

      it.effect("is symmetric and positive semi-definite", () =>
        Effect.sync(() =>
          withOperator(strategy, "categorical", 5, (op, s) => {
            const [ku, kv] = Key.split(Key.make(3), 2)
            const u = Key.normals(ku!, s.params.length), v = Key.normals(kv!, s.params.length)
            const uFv = Dense.dot(u, op.apply(v)), vFu = Dense.dot(v, op.apply(u))
            expect(Math.abs(uFv - vFu)).toBeLessThan(1e-3 * (Math.abs(uFv) + 1e-6))
            for (let trial = 0; trial < 5; trial++) {
              const w = Key.normals(Key.foldIn(Key.make(4), trial), s.params.length)
              expect(Dense.dot(w, op.apply(w))).toBeGreaterThanOrEqual(-1e-6)
            }
          })
        ))
    })
  }

  describe("analytic", () => {
    it.effect("through the plain J and Jᵀ (a categorical over 4 actions, rank 3) matches the dense Fisher", () =>
      Effect.sync(() => {
        const wide = [3, 5, 5, 4]
        const policy = Policy.make({ observationSize: 3, hiddenSizes: [5, 5], distribution: Distribution.categorical(4) })
        const params = Dense.randomParameters(Key.make(21), wide, "categorical", 0.7)
        const observations = Float32Array.from(Key.normals(Key.make(22), N * 3))
        const dense = Dense.fisher(wide, params, Dense.rows(observations, 3), "categorical")
        const linearization = Mlp.linearize(policy.network, params, observations, N)
        const op = Fisher.analytic({ damping: 0 }).prepare({ policy, params, observations, size: N, linearization })
        const v = Key.normals(Key.make(23), params.length)
        expect(Dense.relativeError(op.apply(v), Dense.matVec(dense, v))).toBeLessThan(1e-4)
        op.dispose()
        linearization.dispose()
      }))

    it.effect("the reduced path (rank 1) and the plain path agree", () =>
      Effect.sync(() => {
        const s = setup("categorical", 31)
        const linearization = Mlp.linearize(s.policy.network, s.params, s.observations, N)
        const v = Key.normals(Key.make(32), s.params.length)
        const reducedOp = Fisher.analytic({ damping: 0 }).prepare({ policy: s.policy, params: s.params, observations: s.observations, size: N, linearization })
        const reduced = reducedOp.apply(v)
        reducedOp.dispose()
        const tangent = linearization.jvp(v)
        const u = Distribution.fisherOutputs(s.policy.distribution, linearization.outputs, [], tangent, N, 1 / N)
        const plain = linearization.vjp(u)
        expect(Dense.relativeError(reduced, plain)).toBeLessThan(1e-5)
        linearization.dispose()
      }))

    it.effect("adds damping λ v", () =>
      Effect.sync(() => {
        const v = Key.normals(Key.make(8), Dense.parameterCount(sizes, "categorical"))
        const plain = withOperator(Fisher.analytic({ damping: 0 }), "categorical", 2, (op) => op.apply(v))
        const damped = withOperator(Fisher.analytic({ damping: 0.1 }), "categorical", 2, (op) => op.apply(v))
        for (let p = 0; p < v.length; p++) expect(damped[p]! - plain[p]!).toBeCloseTo(0.1 * v[p]!, 6)
      }))

    it.effect("with subsampleEvery k equals the dense Fisher of every k-th sample", () =>
      Effect.sync(() =>
        withOperator(Fisher.analytic({ damping: 0, subsampleEvery: 3 }), "gaussian", 9, (op, s) => {
          const sub = Fisher.subsampleRows(s.observations, N, 3, 3)
          expect(sub.size).toBe(3) // rows 0, 3, 6
          const dense = Dense.fisher(sizes, s.params, Dense.rows(sub.rows, 3), "gaussian")
          const v = Key.normals(Key.make(12), s.params.length)
          expect(Dense.relativeError(op.apply(v), Dense.matVec(dense, v))).toBeLessThan(1e-4)
        })
      ))

    it.effect("leaves the tensor count unchanged", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        const before = backend.numTensors()
        withOperator(Fisher.analytic(), "gaussian", 1, (op, s) => {
          for (let i = 0; i < 3; i++) op.apply(Key.normals(Key.make(i), s.params.length))
        })
        withOperator(Fisher.pearlmutter(), "categorical", 1, (op, s) => op.apply(Key.normals(Key.make(0), s.params.length)))
        withOperator(Fisher.finiteDifference(), "categorical", 1, (op, s) => op.apply(Key.normals(Key.make(0), s.params.length)))
        expect(backend.numTensors()).toBe(before)
      }))
  })
})
