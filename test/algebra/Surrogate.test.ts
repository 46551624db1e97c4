import { describe, expect, it } from "@effect/vitest"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Surrogate from "../../src/algebra/Surrogate.ts"
import { expectClose, row } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

// Tolerances (absolute): direct float64 computations 1e-12; central differences with
// h = 1e-5: 1e-8 (truncation ≈ h²·f'''/6, rounding ≈ ε·|f|/h, both ≈ 1e-10 here).
const EXACT = 1e-12
const FD = 1e-8


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
        expectClose(gradient.outputs, Dense.centralGradient((z) => objective.value(batch, z, extraNew), outputsNew), FD)
        expectClose(gradient.extra, Dense.centralGradient((s) => objective.value(batch, outputsNew, s), extraNew), FD)
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

  // Wider batches for PPO's objectives: N = 16, π_new = π_old + 0.5·noise, so that some
  // ratios leave [0.8, 1.2] on both sides and with both signs of Â.
  const M = 16
  const wideSetup = (kind: Dense.Kind, seed: number) => {
    const [oldKey, newKey, actionKey, advantageKey, extraKey, newExtraKey] = Key.split(Key.make(seed), 6)
    const width = kind === "categorical" ? 3 : 2
    const distribution = kind === "categorical" ? Distribution.categorical(3) : Distribution.diagGaussian(2)
    const outputsOld = Key.normals(oldKey!, M * width)
    const extraOld = kind === "categorical" ? new Float64Array(0) : Key.uniforms(extraKey!, width).map((u) => u - 0.5)
    const actions = kind === "categorical"
      ? Key.uniforms(actionKey!, M).map((u) => Math.floor(u * width))
      : Key.normals(actionKey!, M * width).map((z, k) => outputsOld[k]! + Math.exp(extraOld[k % width]!) * z)
    const advantages = Key.normals(advantageKey!, M)
    const outputsNew = Key.normals(newKey!, M * width).map((z, k) => outputsOld[k]! + 0.5 * z)
    const extraNew = kind === "categorical" ? new Float64Array(0) : Key.normals(newExtraKey!, width).map((z, j) => extraOld[j]! + 0.1 * z)
    const batch = Surrogate.makeBatch({ distribution, size: M, actions, advantages, outputsOld, extraOld })
    return { width, batch, outputsNew, extraNew }
  }

  // r_i = π_new/π_old from the Dense oracle.
  const oracleRatios = (kind: Dense.Kind, width: number, batch: Surrogate.Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>) => {
    const size = batch.size
    const logp = Array.from({ length: size }, (_, i) =>
      kind === "categorical"
        ? Dense.logSoftmax(row(outputs, i, width))[batch.actions[i]!]!
        : Dense.gaussianLogProb(row(outputs, i, width), extra, row(batch.actions, i, width)))
    const logpOld = Array.from({ length: size }, (_, i) =>
      kind === "categorical"
        ? Dense.logSoftmax(row(batch.outputsOld, i, width))[batch.actions[i]!]!
        : Dense.gaussianLogProb(row(batch.outputsOld, i, width), batch.extraOld, row(batch.actions, i, width)))
    return logp.map((l, i) => Math.exp(l - logpOld[i]!))
  }

  // One categorical sample over 2 actions with p_old = ½ (logits [0, 0]) that took action 1:
  // new logits [0, x] give p = σ(x) and r = 2σ(x), so x = ln(r / (2 − r)) puts the ratio at r.
  const singleSample = (advantage: number) =>
    Surrogate.makeBatch({ distribution: Distribution.categorical(2), size: 1, actions: [1], advantages: [advantage], outputsOld: [0, 0], extraOld: [] })
  const logitsFor = (r: number) => Float64Array.of(0, Math.log(r / (2 - r)))

  describe("clipped", () => {
    it("defaults to ε = 0.2, records ε as data, and rejects ε ≤ 0 or non-finite with a RangeError", () => {
      const objective = Surrogate.clipped()
      expect(objective._tag).toBe("Clipped")
      expect(objective.epsilon).toBe(0.2)
      expect(JSON.parse(JSON.stringify(Surrogate.clipped({ epsilon: 0.1 })))).toEqual({ _tag: "Clipped", epsilon: 0.1 })
      for (const epsilon of [0, -0.1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => Surrogate.clipped({ epsilon }), `ε = ${epsilon}`).toThrow(RangeError)
      }
    })

    for (const kind of kinds) {
      it(`at θ_old every ratio is 1, so value and gradient equal importanceSampled's (${kind}; tol 1e-15)`, () => {
        const { batch } = wideSetup(kind, 10)
        const clip = Surrogate.clipped().valueAndGradient(batch, batch.outputsOld, batch.extraOld)
        const plain = Surrogate.importanceSampled().valueAndGradient(batch, batch.outputsOld, batch.extraOld)
        expectClose([clip.value], [plain.value], 1e-15)
        expectClose(clip.gradient.outputs, plain.gradient.outputs, 1e-15)
        expectClose(clip.gradient.extra, plain.gradient.extra, 1e-15)
      })
    }

    // Ratios on both sides of both kinks at 0.8 and 1.2 (none within 0.01 of a kink).
    const scan = [0.5, 0.7, 0.79, 0.81, 0.9, 1, 1.1, 1.19, 1.21, 1.3, 1.5]

    it("equals the unclipped objective inside [1 − ε, 1 + ε] and is flat outside in the pessimistic direction (one sample, Â = ±1.5; tol 1e-12)", () => {
      // Â > 0: L = min(r, 1.2)·Â — unclipped below 1.2 (also below 0.8), constant 1.2·Â above.
      // Â < 0: L = min(r·Â, clip(r)·Â) = max(r, 0.8)·Â — constant 0.8·Â below 0.8, unclipped above.
      const objective = Surrogate.clipped({ epsilon: 0.2 })
      for (const advantage of [1.5, -1.5]) {
        const batch = singleSample(advantage)
        for (const target of scan) {
          const z = logitsFor(target)
          const r = Surrogate.ratios(batch, z, [])[0]!
          expect(Math.abs(r - target)).toBeLessThan(1e-12)
          const value = objective.value(batch, z, [])
          const unclipped = Surrogate.importanceSampled().value(batch, z, [])
          const flat = advantage > 0 ? r > 1.2 : r < 0.8
          if (flat) expect(value, `Â ${advantage}, r ${target}`).toBe((advantage > 0 ? 1.2 : 0.8) * advantage)
          else expectClose([value], [unclipped], 1e-12)
          if (r >= 0.8 && r <= 1.2) expect(flat).toBe(false)
        }
      }
    })

    it("has zero gradient exactly where flat and the unclipped gradient elsewhere, matching central differences away from the kinks (one sample; tol 1e-8)", () => {
      const objective = Surrogate.clipped({ epsilon: 0.2 })
      for (const advantage of [1.5, -1.5]) {
        const batch = singleSample(advantage)
        for (const target of scan) {
          const z = logitsFor(target)
          const { gradient } = objective.valueAndGradient(batch, z, [])
          const flat = advantage > 0 ? target > 1.2 : target < 0.8
          const unclipped = Surrogate.importanceSampled().valueAndGradient(batch, z, []).gradient
          if (flat) expectClose(gradient.outputs, [0, 0], 0)
          else expectClose(gradient.outputs, unclipped.outputs, 1e-15)
          // h = 1e-5 in the logit moves r by at most h/2: no stencil crosses a kink.
          expectClose(gradient.outputs, Dense.centralGradient((x) => objective.value(batch, x, []), z), FD)
        }
      }
    })

    it("ties at r = 1 ± ε exactly keep the unclipped gradient (PyTorch: clamp passes its bounds, min splits a tie ½ + ½); just beyond, the flat side has none", () => {
      // ε is built from r so that 1 + ε (resp. 1 − ε) rounds to r itself: r − 1 is exact (Sterbenz).
      for (const [target, advantage] of [[1.25, 2], [0.75, -2]] as const) {
        const batch = singleSample(advantage)
        const z = logitsFor(target)
        const r = Surrogate.ratios(batch, z, [])[0]!
        const epsilon = Math.abs(r - 1)
        expect(advantage > 0 ? 1 + epsilon : 1 - epsilon).toBe(r)
        const objective = Surrogate.clipped({ epsilon })
        const at = objective.valueAndGradient(batch, z, [])
        const unclipped = Surrogate.importanceSampled().valueAndGradient(batch, z, [])
        expect(at.value).toBe(unclipped.value)
        expectClose(at.gradient.outputs, unclipped.gradient.outputs, 0)
        expect(Math.abs(at.gradient.outputs[1]!)).toBeGreaterThan(0.1)
        expect(Surrogate.clipFraction(batch, z, [], epsilon)).toBe(0)
        // One step further into the flat side: no gradient, value pinned at (1 ± ε)·Â.
        const beyond = Float64Array.of(0, z[1]! + (advantage > 0 ? 1e-6 : -1e-6))
        const past = objective.valueAndGradient(batch, beyond, [])
        expectClose(past.gradient.outputs, [0, 0], 0)
        expect(past.value).toBe(r * advantage)
        expect(Surrogate.clipFraction(batch, beyond, [], epsilon)).toBe(1)
      }
    })

    for (const kind of kinds) {
      it(`on a random batch, value is mean(min(r·Â, clamp(r, 0.8, 1.2)·Â)) with Dense-oracle ratios and the gradient is that of the non-flat samples (${kind}; tol 1e-12)`, () => {
        const { width, batch, outputsNew, extraNew } = wideSetup(kind, 11)
        const r = oracleRatios(kind, width, batch, outputsNew, extraNew)
        let expected = 0
        const weights = new Float64Array(M)
        let flatCount = 0, outsideUnclipped = 0, inside = 0
        for (let i = 0; i < M; i++) {
          const a = batch.advantages[i]!
          expected += Math.min(r[i]! * a, Math.min(Math.max(r[i]!, 0.8), 1.2) * a) / M
          const flat = (a > 0 && r[i]! > 1.2) || (a < 0 && r[i]! < 0.8)
          if (flat) flatCount++
          else if (r[i]! < 0.8 || r[i]! > 1.2) outsideUnclipped++
          else inside++
          weights[i] = flat ? 0 : (r[i]! * a) / M
        }
        // The fixture exercises all three cases.
        expect(flatCount).toBeGreaterThan(0)
        expect(outsideUnclipped).toBeGreaterThan(0)
        expect(inside).toBeGreaterThan(0)
        const objective = Surrogate.clipped()
        const { value, gradient } = objective.valueAndGradient(batch, outputsNew, extraNew)
        expectClose([objective.value(batch, outputsNew, extraNew)], [expected], EXACT)
        expectClose([value], [expected], EXACT)
        const masked = Distribution.logProbGradient(batch.distribution, outputsNew, extraNew, batch.actions, weights, M)
        expectClose(gradient.outputs, masked.outputs, EXACT)
        expectClose(gradient.extra, masked.extra, EXACT)
      })

      it(`valueAndGradient's gradient equals central differences of value in the outputs${kind === "gaussian" ? " and the log-std" : ""} (${kind}, no ratio within 1e-3 of a kink; tol 1e-8)`, () => {
        const { batch, outputsNew, extraNew } = wideSetup(kind, 12)
        const r = Surrogate.ratios(batch, outputsNew, extraNew)
        for (let i = 0; i < M; i++) expect(Math.min(Math.abs(r[i]! - 0.8), Math.abs(r[i]! - 1.2))).toBeGreaterThan(1e-3)
        expect(Surrogate.clipFraction(batch, outputsNew, extraNew, 0.2)).toBeGreaterThan(0)
        const objective = Surrogate.clipped()
        const { gradient } = objective.valueAndGradient(batch, outputsNew, extraNew)
        expectClose(gradient.outputs, Dense.centralGradient((z) => objective.value(batch, z, extraNew), outputsNew), FD)
        expectClose(gradient.extra, Dense.centralGradient((s) => objective.value(batch, outputsNew, s), extraNew), FD)
      })
    }
  })

  describe("klPenalized", () => {
    it("records β as data and rejects β < 0 or non-finite with a RangeError", () => {
      expect(JSON.parse(JSON.stringify(Surrogate.klPenalized({ beta: 3 })))).toEqual({ _tag: "KlPenalized", beta: 3 })
      for (const beta of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => Surrogate.klPenalized({ beta }), `β = ${beta}`).toThrow(RangeError)
      }
    })

    for (const kind of kinds) {
      it(`value is mean(r·Â) − β·mean KL(π_old ‖ π_θ) with the Dense oracle's ratios and KL (${kind}; β = 0.7, tol 1e-12)`, () => {
        const { width, batch, outputsNew, extraNew } = wideSetup(kind, 13)
        const r = oracleRatios(kind, width, batch, outputsNew, extraNew)
        let expected = 0
        for (let i = 0; i < M; i++) {
          const kl = kind === "categorical"
            ? Dense.categoricalKl(row(batch.outputsOld, i, width), row(outputsNew, i, width))
            : Dense.gaussianKl(row(batch.outputsOld, i, width), batch.extraOld, row(outputsNew, i, width), extraNew)
          expected += (r[i]! * batch.advantages[i]! - 0.7 * kl) / M
        }
        const objective = Surrogate.klPenalized({ beta: 0.7 })
        expectClose([objective.value(batch, outputsNew, extraNew)], [expected], EXACT)
        expectClose([objective.valueAndGradient(batch, outputsNew, extraNew).value], [expected], EXACT)
      })

      it(`valueAndGradient's gradient equals central differences of value in the outputs${kind === "gaussian" ? " and the log-std" : ""} (${kind}; β = 0.7, tol 1e-8)`, () => {
        const { batch, outputsNew, extraNew } = wideSetup(kind, 14)
        const objective = Surrogate.klPenalized({ beta: 0.7 })
        const { gradient } = objective.valueAndGradient(batch, outputsNew, extraNew)
        expectClose(gradient.outputs, Dense.centralGradient((z) => objective.value(batch, z, extraNew), outputsNew), FD)
        expectClose(gradient.extra, Dense.centralGradient((s) => objective.value(batch, outputsNew, s), extraNew), FD)
        expect(gradient.extra.length).toBe(kind === "categorical" ? 0 : 2)
      })

      it(`at θ_old the KL term has value and gradient 0, leaving mean(Â) and the policy gradient (${kind}; tol 1e-12)`, () => {
        const { batch } = wideSetup(kind, 15)
        const objective = Surrogate.klPenalized({ beta: 5 })
        const penalized = objective.valueAndGradient(batch, batch.outputsOld, batch.extraOld)
        const plain = Surrogate.importanceSampled().valueAndGradient(batch, batch.outputsOld, batch.extraOld)
        expect(penalized.value).toBe(plain.value)
        expectClose(penalized.gradient.outputs, plain.gradient.outputs, EXACT)
        expectClose(penalized.gradient.extra, plain.gradient.extra, EXACT)
      })

      it(`β = 0 is importanceSampled exactly, and the value decreases linearly in β by mean KL (${kind})`, () => {
        const { batch, outputsNew, extraNew } = wideSetup(kind, 16)
        const zero = Surrogate.klPenalized({ beta: 0 }).valueAndGradient(batch, outputsNew, extraNew)
        const plain = Surrogate.importanceSampled().valueAndGradient(batch, outputsNew, extraNew)
        expect(zero.value).toBe(plain.value)
        expectClose(zero.gradient.outputs, plain.gradient.outputs, 0)
        const kl = Surrogate.meanKl(batch, outputsNew, extraNew)
        expectClose([Surrogate.klPenalized({ beta: 2 }).value(batch, outputsNew, extraNew)], [plain.value - 2 * kl], EXACT)
      })

      it(`with inner: the inner objective's value − β·mean KL, and a gradient equal to central differences of it (${kind}; clipped ε 0.1, β = 0.7, tol 1e-12 / 1e-8)`, () => {
        const { batch, outputsNew, extraNew } = wideSetup(kind, 19)
        const inner = Surrogate.clipped({ epsilon: 0.1 })
        const objective = Surrogate.klPenalized({ beta: 0.7, inner })
        const expected = inner.value(batch, outputsNew, extraNew) - 0.7 * Surrogate.meanKl(batch, outputsNew, extraNew)
        expectClose([objective.value(batch, outputsNew, extraNew)], [expected], EXACT)
        const { value, gradient } = objective.valueAndGradient(batch, outputsNew, extraNew)
        expectClose([value], [expected], EXACT)
        expectClose(gradient.outputs, Dense.centralGradient((z) => objective.value(batch, z, extraNew), outputsNew), FD)
        expectClose(gradient.extra, Dense.centralGradient((s) => objective.value(batch, outputsNew, s), extraNew), FD)
      })
    }

    it("records inner as data only when given: klPenalized({ beta }) is around importanceSampled", () => {
      const objective = Surrogate.klPenalized({ beta: 0.5, inner: Surrogate.clipped({ epsilon: 0.1 }) })
      expect(JSON.parse(JSON.stringify(objective))).toEqual({ _tag: "KlPenalized", beta: 0.5, inner: { _tag: "Clipped", epsilon: 0.1 } })
      expect("inner" in Surrogate.klPenalized({ beta: 0.5 })).toBe(false)
      const { batch, outputsNew, extraNew } = wideSetup("categorical", 20)
      const around = Surrogate.klPenalized({ beta: 0.5, inner: Surrogate.importanceSampled() }).valueAndGradient(batch, outputsNew, extraNew)
      const plain = Surrogate.klPenalized({ beta: 0.5 }).valueAndGradient(batch, outputsNew, extraNew)
      expect(around.value).toBe(plain.value)
      expectClose(around.gradient.outputs, plain.gradient.outputs, 0)
    })
  })

  describe("withEntropyBonus", () => {
    it("is a block with _tag EntropyBonus, the inner block and the coefficient as data; rejects c < 0 or non-finite", () => {
      const objective = Surrogate.withEntropyBonus(Surrogate.clipped({ epsilon: 0.1 }), { coefficient: 0.01 })
      expect(JSON.parse(JSON.stringify(objective))).toEqual({ _tag: "EntropyBonus", inner: { _tag: "Clipped", epsilon: 0.1 }, coefficient: 0.01 })
      for (const coefficient of [-0.01, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => Surrogate.withEntropyBonus(Surrogate.importanceSampled(), { coefficient }), `c = ${coefficient}`).toThrow(RangeError)
      }
    })

    for (const kind of kinds) {
      it(`value is the inner value + c · mean H(π_θ) with the Dense oracle's entropy (${kind}; c = 0.05, tol 1e-12)`, () => {
        const { width, batch, outputsNew, extraNew } = wideSetup(kind, 17)
        const inner = Surrogate.klPenalized({ beta: 0.5 })
        let entropy = 0
        for (let i = 0; i < M; i++) {
          entropy += (kind === "categorical" ? Dense.categoricalEntropy(row(outputsNew, i, width)) : Dense.gaussianEntropy(extraNew)) / M
        }
        const expected = inner.value(batch, outputsNew, extraNew) + 0.05 * entropy
        const objective = Surrogate.withEntropyBonus(inner, { coefficient: 0.05 })
        expectClose([objective.value(batch, outputsNew, extraNew)], [expected], EXACT)
        expectClose([objective.valueAndGradient(batch, outputsNew, extraNew).value], [expected], EXACT)
      })

      it(`valueAndGradient's gradient equals central differences of value, around importanceSampled and klPenalized (${kind}; c = 0.05, tol 1e-8)`, () => {
        const { batch, outputsNew, extraNew } = wideSetup(kind, 18)
        for (const inner of [Surrogate.importanceSampled(), Surrogate.klPenalized({ beta: 0.5 })]) {
          const objective = Surrogate.withEntropyBonus(inner, { coefficient: 0.05 })
          const { gradient } = objective.valueAndGradient(batch, outputsNew, extraNew)
          expectClose(gradient.outputs, Dense.centralGradient((z) => objective.value(batch, z, extraNew), outputsNew), FD)
          expectClose(gradient.extra, Dense.centralGradient((s) => objective.value(batch, outputsNew, s), extraNew), FD)
        }
      })
    }

    it("Gaussian: adds exactly c to each log-std gradient and nothing to the means; c = 0 is the inner objective (tol 1e-15)", () => {
      const { batch, outputsNew, extraNew } = wideSetup("gaussian", 19)
      const inner = Surrogate.clipped()
      const base = inner.valueAndGradient(batch, outputsNew, extraNew)
      const bonus = Surrogate.withEntropyBonus(inner, { coefficient: 0.3 }).valueAndGradient(batch, outputsNew, extraNew)
      expectClose(bonus.gradient.outputs, base.gradient.outputs, 0)
      expectClose(bonus.gradient.extra, base.gradient.extra.map((g) => g + 0.3), 1e-15)
      const none = Surrogate.withEntropyBonus(inner, { coefficient: 0 }).valueAndGradient(batch, outputsNew, extraNew)
      expect(none.value).toBe(base.value)
      expectClose(none.gradient.extra, base.gradient.extra, 0)
    })
  })

  describe("ratios", () => {
    for (const kind of kinds) {
      it(`equals π_θ/π_old from the Dense oracle and is exactly 1 at θ_old (${kind}; tol 1e-12)`, () => {
        const { width, batch, outputsNew, extraNew } = wideSetup(kind, 20)
        expectClose(Surrogate.ratios(batch, outputsNew, extraNew), oracleRatios(kind, width, batch, outputsNew, extraNew), EXACT)
        expect(Array.from(Surrogate.ratios(batch, batch.outputsOld, batch.extraOld))).toEqual(new Array(M).fill(1))
      })
    }
  })

  describe("clipFraction", () => {
    it("counts |r − 1| > ε: ratios [0.5, 0.85, 1, 1.15, 1.5] give 2/5 at ε = 0.2, 4/5 at ε = 0.1, 0 at ε = 0.6", () => {
      const targets = [0.5, 0.85, 1, 1.15, 1.5]
      const batch = Surrogate.makeBatch({
        distribution: Distribution.categorical(2),
        size: 5,
        actions: [1, 1, 1, 1, 1],
        advantages: [1, -1, 1, -1, 1],
        outputsOld: new Float64Array(10),
        extraOld: []
      })
      const outputs = Float64Array.from(targets.flatMap((r) => Array.from(logitsFor(r))))
      expectClose(Surrogate.ratios(batch, outputs, []), targets, 1e-12)
      expect(Surrogate.clipFraction(batch, outputs, [], 0.2)).toBe(2 / 5)
      expect(Surrogate.clipFraction(batch, outputs, [], 0.1)).toBe(4 / 5)
      expect(Surrogate.clipFraction(batch, outputs, [], 0.6)).toBe(0)
      expect(Surrogate.clipFraction(batch, batch.outputsOld, [], 0.2)).toBe(0)
    })
  })

  describe("approxKl", () => {
    for (const kind of kinds) {
      it(`is mean((r − 1) − log r) with Dense-oracle ratios, ≥ 0 term by term, and exactly 0 at θ_old (${kind}; tol 1e-12)`, () => {
        for (const seed of [21, 22, 23]) {
          const { width, batch, outputsNew, extraNew } = wideSetup(kind, seed)
          // A large step too (outputs moved 4× further), where k1 = −mean log r is often negative.
          const far = outputsNew.map((z, k) => batch.outputsOld[k]! + 4 * (z - batch.outputsOld[k]!))
          for (const outputs of [outputsNew, far]) {
            const r = oracleRatios(kind, width, batch, outputs, extraNew)
            const terms = r.map((x) => x - 1 - Math.log(x))
            for (const t of terms) expect(t).toBeGreaterThanOrEqual(0)
            const approx = Surrogate.approxKl(batch, outputs, extraNew)
            expectClose([approx], [terms.reduce((a, b) => a + b, 0) / M], EXACT)
            expect(approx).toBeGreaterThan(0)
          }
          expect(Surrogate.approxKl(batch, batch.outputsOld, batch.extraOld)).toBe(0)
        }
      })
    }

    it("categorical: on a batch whose actions follow π_old exactly, equals mean KL(π_old ‖ π_θ) for any step (E_old[r] = 1; tol 1e-12)", () => {
      // Logits ln[1, 2, 3, 4] give p_old = [0.1, 0.2, 0.3, 0.4]; ten rows of that state with
      // actions 0 ×1, 1 ×2, 2 ×3, 3 ×4, so the batch mean of f(a) is Σ_a p_old(a) f(a), and
      // Σ p_old [(r − 1) − log r] = Σ p_new − 1 + KL(old ‖ new) = KL.
      const old = [1, 2, 3, 4].map(Math.log)
      const actions = [0, 1, 1, 2, 2, 2, 3, 3, 3, 3]
      const batch = Surrogate.makeBatch({
        distribution: Distribution.categorical(4),
        size: 10,
        actions,
        advantages: new Float64Array(10),
        outputsOld: Float64Array.from(actions.flatMap(() => old)),
        extraOld: []
      })
      for (const seed of [24, 25]) {
        const step = Key.normals(Key.make(seed), 4)
        const outputs = Float64Array.from(actions.flatMap(() => old.map((z, k) => z + step[k]!)))
        const kl = Surrogate.meanKl(batch, outputs, [])
        expect(kl).toBeGreaterThan(0.05)
        expectClose([Surrogate.approxKl(batch, outputs, [])], [kl], EXACT)
      }
    })

    it("Gaussian: agrees with mean KL to second order — |approxKl/meanKl − 1| shrinks ∝ the step (3-point Gauss–Hermite batch)", () => {
      // Actions a = μ + σz at z ∈ {−√3, 0, 0, 0, 0, √3} (weights 1/6, 4/6, 1/6) reproduce E[z²] = 1
      // and E[z⁴] = 3, so the batch mean of ½(∇log π·δ)² — the second-order term of both k3 and
      // KL — is ½(Δμ²/σ² + 2Δs²) exactly. A Key-sampled batch would agree only up to Monte-Carlo
      // error, which does not shrink with the step.
      const mu = 0.4, s = -0.3, sigma = Math.exp(s)
      const zs = [-Math.sqrt(3), 0, 0, 0, 0, Math.sqrt(3)]
      const batch = Surrogate.makeBatch({
        distribution: Distribution.diagGaussian(1),
        size: 6,
        actions: zs.map((z) => mu + sigma * z),
        advantages: new Float64Array(6),
        outputsOld: new Float64Array(6).fill(mu),
        extraOld: [s]
      })
      const errors = [1e-1, 1e-2, 1e-3].map((t) => {
        const outputs = new Float64Array(6).fill(mu + 0.8 * t), extra = [s - 0.5 * t]
        return Math.abs(Surrogate.approxKl(batch, outputs, extra) / Surrogate.meanKl(batch, outputs, extra) - 1)
      })
      // Relative error O(t) (measured: 9.0e-3, 1.4e-3, 1.5e-4): each tenfold smaller step cuts it at
      // least fourfold, and at t = 1e-3 it is below 1e-3.
      expect(errors[1]!).toBeLessThan(errors[0]! / 4)
      expect(errors[2]!).toBeLessThan(errors[1]! / 4)
      expect(errors[2]!).toBeLessThan(1e-3)
    })

    it("Gaussian: is an unbiased estimate of mean KL from 20 000 actions drawn from π_old (4 standard errors)", () => {
      const draws = 20_000
      const [actionKey] = Key.split(Key.make(26), 1)
      const mu = [0.2, -0.5], s = [0.1, -0.4]
      const z = Key.normals(actionKey!, draws * 2)
      const batch = Surrogate.makeBatch({
        distribution: Distribution.diagGaussian(2),
        size: draws,
        actions: z.map((x, k) => mu[k % 2]! + Math.exp(s[k % 2]!) * x),
        advantages: new Float64Array(draws),
        outputsOld: Float64Array.from({ length: draws * 2 }, (_, k) => mu[k % 2]!),
        extraOld: s
      })
      const outputs = Float64Array.from({ length: draws * 2 }, (_, k) => mu[k % 2]! + (k % 2 === 0 ? 0.3 : -0.2))
      const extra = [s[0]! + 0.15, s[1]! - 0.1]
      const terms = Surrogate.ratios(batch, outputs, extra).map((r) => r - 1 - Math.log(r))
      const mean = terms.reduce((a, b) => a + b, 0) / draws
      const variance = terms.reduce((a, t) => a + (t - mean) ** 2, 0) / (draws - 1)
      const kl = Surrogate.meanKl(batch, outputs, extra)
      expect(Math.abs(Surrogate.approxKl(batch, outputs, extra) - kl)).toBeLessThan(4 * Math.sqrt(variance / draws))
    })
  })
})
