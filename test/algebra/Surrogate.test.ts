import { describe, expect, it } from "@effect/vitest"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Surrogate from "../../src/algebra/Surrogate.ts"
import { expectClose, row } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

// Tolerances (absolute): direct float64 computations 1e-12; central differences with
// h = 1e-5: 1e-8 (truncation ≈ h²·f'''/6, rounding ≈ ε·|f|/h, both ≈ 1e-10 here).
const EXACT = 1e-12
const H = 1e-5
const FD = 1e-8

const centralGradient = (f: (x: Float64Array) => number, x: ArrayLike<number>): Float64Array =>
  Float64Array.from({ length: x.length }, (_, p) => {
    const plus = Float64Array.from(x), minus = Float64Array.from(x)
    plus[p] += H
    minus[p] -= H
    return (f(plus) - f(minus)) / (2 * H)
  })

const N = 6

// log π(a_i | s_i) from the Dense oracle, independent of Distribution.logProbs.
const oracleLogProbs = (kind: Dense.Kind, width: number, outputs: ArrayLike<number>, extra: ArrayLike<number>, actions: ArrayLike<number>) =>
  Array.from({ length: N }, (_, i) =>
    kind === "categorical"
      ? Dense.logSoftmax(row(outputs, i, width))[actions[i]!]!
      : Dense.gaussianLogProb(row(outputs, i, width), extra, row(actions, i, width)))

// A batch of N = 6 samples collected by π_old, plus a nearby π_new (outputs + 0.3·noise).
const setup = (kind: Dense.Kind, seed: number) => {
  const [oldKey, newKey, actionKey, advantageKey, extraKey, newExtraKey] = Key.split(Key.make(seed), 6)
  const width = kind === "categorical" ? 4 : 2
  const distribution = kind === "categorical" ? Distribution.categorical(4) : Distribution.diagGaussian(2)
  const outputsOld = Key.normals(oldKey!, N * width)
  const extraOld = kind === "categorical" ? new Float64Array(0) : Key.uniforms(extraKey!, width).map((u) => u - 0.5)
  const actions = kind === "categorical"
    ? Key.uniforms(actionKey!, N).map((u) => Math.floor(u * width))
    : Key.normals(actionKey!, N * width).map((z, k) => outputsOld[k]! + Math.exp(extraOld[k % width]!) * z)
  const advantages = Key.normals(advantageKey!, N)
  const outputsNew = Key.normals(newKey!, N * width).map((z, k) => outputsOld[k]! + 0.3 * z)
  const extraNew = kind === "categorical" ? new Float64Array(0) : Key.normals(newExtraKey!, width).map((z, j) => extraOld[j]! + 0.2 * z)
  const batch = Surrogate.makeBatch({ distribution, size: N, actions, advantages, outputsOld, extraOld })
  return { kind, width, batch, outputsNew, extraNew }
}

const kinds: ReadonlyArray<Dense.Kind> = ["categorical", "gaussian"]

describe("Surrogate", () => {
  describe("makeBatch", () => {
    for (const kind of kinds) {
      it(`computes logProbsOld = log π_old(a_i | s_i) and keeps the other fields (${kind}; Dense oracle, tol 1e-12)`, () => {
        const { width, batch } = setup(kind, 1)
        expectClose(batch.logProbsOld, oracleLogProbs(kind, width, batch.outputsOld, batch.extraOld, batch.actions), EXACT)
        expect(batch.size).toBe(N)
        expect(batch.distribution._tag).toBe(kind === "categorical" ? "Categorical" : "DiagGaussian")
        expect(batch.advantages.length).toBe(N)
      })
    }

    it("logits [0, ln 3] and actions [0, 1] give logProbsOld = [ln ¼, ln ¾] (tol 1e-15)", () => {
      const batch = Surrogate.makeBatch({
        distribution: Distribution.categorical(2),
        size: 2,
        actions: [0, 1],
        advantages: [1, 1],
        outputsOld: [0, Math.log(3), 0, Math.log(3)],
        extraOld: []
      })
      expectClose(batch.logProbsOld, [Math.log(0.25), Math.log(0.75)], 1e-15)
    })
  })

  describe("importanceSampled", () => {
    for (const kind of kinds) {
      it(`at the old outputs every ratio is 1, so the value is mean(Â) exactly (${kind})`, () => {
        const { batch } = setup(kind, 2)
        let total = 0
        for (let i = 0; i < N; i++) total += batch.advantages[i]!
        const objective = Surrogate.importanceSampled()
        expect(objective.value(batch, batch.outputsOld, batch.extraOld)).toBe(total / N)
        expect(objective.valueAndGradient(batch, batch.outputsOld, batch.extraOld).value).toBe(total / N)
      })

      it(`at other outputs equals mean(exp(log π − log π_old)·Â) computed with the Dense oracle (${kind}; tol 1e-12)`, () => {
        const { width, batch, outputsNew, extraNew } = setup(kind, 3)
        const logp = oracleLogProbs(kind, width, outputsNew, extraNew, batch.actions)
        const logpOld = oracleLogProbs(kind, width, batch.outputsOld, batch.extraOld, batch.actions)
        let expected = 0
        for (let i = 0; i < N; i++) expected += (Math.exp(logp[i]! - logpOld[i]!) * batch.advantages[i]!) / N
        const objective = Surrogate.importanceSampled()
        expectClose([objective.value(batch, outputsNew, extraNew)], [expected], EXACT)
        expectClose([objective.valueAndGradient(batch, outputsNew, extraNew).value], [expected], EXACT)
      })

      it(`valueAndGradient's gradient equals central differences of value in the outputs and the extra parameters (${kind}; tol 1e-8)`, () => {
        const { batch, outputsNew, extraNew } = setup(kind, 4)
        const objective = Surrogate.importanceSampled()
        const { gradient } = objective.valueAndGradient(batch, outputsNew, extraNew)
        expectClose(gradient.outputs, centralGradient((z) => objective.value(batch, z, extraNew), outputsNew), FD)
        expectClose(gradient.extra, centralGradient((s) => objective.value(batch, outputsNew, s), extraNew), FD)
        expect(gradient.extra.length).toBe(kind === "categorical" ? 0 : 2)
      })

      it(`at θ_old the gradient is the policy gradient (1/N) Σ Â_i ∇log π_i (${kind}; tol 1e-12)`, () => {
        const { batch } = setup(kind, 5)
        const weights = Float64Array.from(batch.advantages, (a) => a / N)
        const expected = Distribution.logProbGradient(batch.distribution, batch.outputsOld, batch.extraOld, batch.actions, weights, N)
        const { gradient } = Surrogate.importanceSampled().valueAndGradient(batch, batch.outputsOld, batch.extraOld)
        expectClose(gradient.outputs, expected.outputs, EXACT)
        expectClose(gradient.extra, expected.extra, EXACT)
      })
    }

    it("hand example: one categorical sample, p_old = ½ → p = ¾ for the taken action, Â = 2 gives L = 3 and ∂L/∂z = 3·(e₁ − p) = [−¾, ¾] (tol 1e-15)", () => {
      // r = ¾ / ½ = 3/2, L = r·Â = 3; ∂L/∂log π = r·Â = 3, ∂log π_1/∂z = e₁ − [¼, ¾].
      const batch = Surrogate.makeBatch({
        distribution: Distribution.categorical(2),
        size: 1,
        actions: [1],
        advantages: [2],
        outputsOld: [0, 0],
        extraOld: []
      })
      const { value, gradient } = Surrogate.importanceSampled().valueAndGradient(batch, [0, Math.log(3)], [])
      expectClose([value], [3], 1e-15)
      expectClose(gradient.outputs, [-0.75, 0.75], 1e-15)
    })
  })

  describe("meanKl", () => {
    for (const kind of kinds) {
      it(`equals Distribution.meanKl(old, new) and the Dense oracle's mean (${kind}; tol 1e-12)`, () => {
        const { width, batch, outputsNew, extraNew } = setup(kind, 6)
        const kl = Surrogate.meanKl(batch, outputsNew, extraNew)
        expect(kl).toBe(Distribution.meanKl(batch.distribution, batch.outputsOld, batch.extraOld, outputsNew, extraNew, N))
        let expected = 0
        for (let i = 0; i < N; i++) {
          expected += (kind === "categorical"
            ? Dense.categoricalKl(row(batch.outputsOld, i, width), row(outputsNew, i, width))
            : Dense.gaussianKl(row(batch.outputsOld, i, width), batch.extraOld, row(outputsNew, i, width), extraNew)) / N
        }
        expectClose([kl], [expected], EXACT)
        expect(kl).toBeGreaterThan(0)
        expect(Surrogate.meanKl(batch, batch.outputsOld, batch.extraOld)).toBe(0)
      })
    }
  })
})
