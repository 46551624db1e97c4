import { describe, expect, it } from "@effect/vitest"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Key from "../../src/algebra/Key.ts"
import { expectClose, row } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

// Tolerances (absolute unless stated):
//   closed forms and the Dense oracle: 1e-12 (same float64 formulas, different order);
//   central differences with h = 1e-5: 1e-8 (truncation ≈ h²·f'''/6 ≈ 1e-10, rounding ≈ ε·|f|/h ≈ 1e-10);
//   Monte-Carlo estimates: 4 standard errors, stated per test; chi-square at α = 0.001.
const EXACT = 1e-12
const H = 1e-5
const FD = 1e-8

const sum = (values: ArrayLike<number>): number => {
  let total = 0
  for (let i = 0; i < values.length; i++) total += values[i]!
  return total
}


// A random categorical batch: N rows of n logits (scale 1.5), integer actions, weights.
const categoricalBatch = (seed: number, N: number, n: number) => {
  const [logitKey, newKey, actionKey, weightKey, tangentKey] = Key.split(Key.make(seed), 5)
  return {
    dist: Distribution.categorical(n),
    outputs: Key.normals(logitKey!, N * n).map((z) => 1.5 * z),
    outputsNew: Key.normals(newKey!, N * n).map((z) => 1.5 * z),
    actions: Key.uniforms(actionKey!, N).map((u) => Math.floor(u * n)),
    weights: Key.normals(weightKey!, N),
    tangent: Key.normals(tangentKey!, N * n),
    extra: new Float64Array(0)
  }
}

// A random diagonal Gaussian batch: N rows of d means, log-stds in [−0.5, 0.5], actions.
const gaussianBatch = (seed: number, N: number, d: number) => {
  const [meanKey, newKey, logStdKey, newLogStdKey, actionKey, weightKey, tangentKey, extraTangentKey] = Key.split(Key.make(seed), 8)
  return {
    dist: Distribution.diagGaussian(d),
    outputs: Key.normals(meanKey!, N * d),
    outputsNew: Key.normals(newKey!, N * d),
    extra: Key.uniforms(logStdKey!, d).map((u) => u - 0.5),
    extraNew: Key.uniforms(newLogStdKey!, d).map((u) => u - 0.5),
    actions: Key.normals(actionKey!, N * d).map((z) => 1.3 * z),
    weights: Key.normals(weightKey!, N),
    tangent: Key.normals(tangentKey!, N * d),
    extraTangent: Key.normals(extraTangentKey!, d)
  }
}

describe("Distribution", () => {
  describe("categorical", () => {
    it("builds a categorical over n actions with n logits, no extra parameters and one index per action", () => {
      const dist = Distribution.categorical(3)
      expect(dist).toEqual({ _tag: "Categorical", n: 3 })
      expect(Distribution.outputSize(dist)).toBe(3)
      expect(Distribution.extraSize(dist)).toBe(0)
      expect(Distribution.actionSize(dist)).toBe(1)
      expect(Distribution.initialExtra(dist)).toEqual(new Float64Array(0))
    })

    it("rejects n that is not an integer ≥ 2 with a RangeError", () => {
      for (const n of [1, 0, -2, 2.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => Distribution.categorical(n), `n = ${n}`).toThrow(RangeError)
      }
    })
  })

  describe("diagGaussian", () => {
    it("builds a Gaussian with d means, d log-stds initialised to initialLogStd (default 0) and d numbers per action", () => {
      const dist = Distribution.diagGaussian(3)
      expect(dist).toEqual({ _tag: "DiagGaussian", dimension: 3, initialLogStd: 0 })
      expect(Distribution.outputSize(dist)).toBe(3)
      expect(Distribution.extraSize(dist)).toBe(3)
      expect(Distribution.actionSize(dist)).toBe(3)
      expect(Array.from(Distribution.initialExtra(dist))).toEqual([0, 0, 0])
      const shifted = Distribution.diagGaussian(2, { initialLogStd: -0.5 })
      expect(Array.from(Distribution.initialExtra(shifted))).toEqual([-0.5, -0.5])
    })

    it("rejects a dimension that is not a positive integer with a RangeError", () => {
      for (const d of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => Distribution.diagGaussian(d), `d = ${d}`).toThrow(RangeError)
      }
    })
  })

  describe("logProbs", () => {
    it("categorical: logits [0, ln 3] give log p = [ln ¼, ln ¾] (tol 1e-15)", () => {
      // softmax([0, ln 3]) = [1, 3] / 4. Two rows with the same logits, actions 0 and 1.
      const dist = Distribution.categorical(2)
      const outputs = Float64Array.of(0, Math.log(3), 0, Math.log(3))
      const logp = Distribution.logProbs(dist, outputs, [], [0, 1], 2)
      expectClose(logp, [Math.log(0.25), Math.log(0.75)], 1e-15)
    })

    it("categorical: is invariant to a constant shift of the logits and stable at large logits (tol 1e-12)", () => {
      // [1000, 1000 + ln 3] would overflow exp without the max shift; same answer as [0, ln 3].
      const dist = Distribution.categorical(2)
      const logp = Distribution.logProbs(dist, [1000, 1000 + Math.log(3)], [], [1], 1)
      expectClose(logp, [Math.log(0.75)], EXACT)
    })

    it("Gaussian: μ = 1, σ = 2, a = 3 gives −½ − ln 2 − ½ ln 2π (tol 1e-15)", () => {
      // z = (3 − 1)/2 = 1, so log π = −½ z² − ln σ − ½ ln 2π.
      const dist = Distribution.diagGaussian(1)
      const logp = Distribution.logProbs(dist, [1], [Math.log(2)], [3], 1)
      expectClose(logp, [-0.5 - Math.log(2) - 0.5 * Math.log(2 * Math.PI)], 1e-15)
    })

    it("matches the Dense oracle on random batches (categorical n = 5, Gaussian d = 3, N = 7; tol 1e-12)", () => {
      const c = categoricalBatch(1, 7, 5)
      const expectedC = Array.from({ length: 7 }, (_, i) => Dense.logSoftmax(row(c.outputs, i, 5))[c.actions[i]!]!)
      expectClose(Distribution.logProbs(c.dist, c.outputs, c.extra, c.actions, 7), expectedC, EXACT)
      const g = gaussianBatch(2, 7, 3)
      const expectedG = Array.from({ length: 7 }, (_, i) => Dense.gaussianLogProb(row(g.outputs, i, 3), g.extra, row(g.actions, i, 3)))
      expectClose(Distribution.logProbs(g.dist, g.outputs, g.extra, g.actions, 7), expectedG, EXACT)
    })
  })

  describe("meanEntropy", () => {
    it("categorical: uniform over 4 actions is ln 4 and [0, ln 3] is ln 4 − ¾ ln 3 (tol 1e-15)", () => {
      // H([¼, ¾]) = −¼ ln ¼ − ¾ ln ¾ = ln 4 − ¾ ln 3. Batch mean of the two rows.
      const dist4 = Distribution.categorical(4)
      expectClose([Distribution.meanEntropy(dist4, [0.3, 0.3, 0.3, 0.3], [], 1)], [Math.log(4)], 1e-15)
      const dist2 = Distribution.categorical(2)
      const h = Distribution.meanEntropy(dist2, [0, Math.log(3), 5, 5], [], 2)
      expectClose([h], [(Math.log(4) - 0.75 * Math.log(3) + Math.log(2)) / 2], 1e-15)
    })

    it("Gaussian: log-stds [0, ln 2] give ln(2πe) + ln 2 whatever the means (tol 1e-14)", () => {
      // Σ_j (s_j + ½ ln 2πe) = 0 + ln 2 + ln(2πe).
      const dist = Distribution.diagGaussian(2)
      const h = Distribution.meanEntropy(dist, [1, 2, -3, 4], [0, Math.log(2)], 2)
      expectClose([h], [Math.log(2 * Math.PI * Math.E) + Math.log(2)], 1e-14)
    })

    it("matches the Dense oracle's batch mean (categorical n = 5, Gaussian d = 3, N = 7; tol 1e-12)", () => {
      const c = categoricalBatch(3, 7, 5)
      let expected = 0
      for (let i = 0; i < 7; i++) expected += Dense.categoricalEntropy(row(c.outputs, i, 5)) / 7
      expectClose([Distribution.meanEntropy(c.dist, c.outputs, c.extra, 7)], [expected], EXACT)
      const g = gaussianBatch(4, 7, 3)
      expectClose([Distribution.meanEntropy(g.dist, g.outputs, g.extra, 7)], [Dense.gaussianEntropy(g.extra)], EXACT)
    })
  })

  describe("entropyGradient", () => {
    it("categorical: p = [¼, ¾] gives ∂H/∂z = [3/16 ln 3, −3/16 ln 3] (tol 1e-15)", () => {
      // H = ln 4 − ¾ ln 3, so log p_0 + H = −¾ ln 3 and log p_1 + H = ¼ ln 3;
      // ∂H/∂z_j = −p_j (log p_j + H) = [¼·¾ ln 3, −¾·¼ ln 3].
      const g = Distribution.entropyGradient(Distribution.categorical(2), [0, Math.log(3)], [], 1, 1)
      expectClose(g.outputs, [(3 / 16) * Math.log(3), -(3 / 16) * Math.log(3)], 1e-15)
      expect(g.extra.length).toBe(0)
    })

    it("categorical: is 0 at uniform logits (the maximum) and every row sums to 0 (shift invariance; tol 1e-15)", () => {
      const dist = Distribution.categorical(4)
      expectClose(Distribution.entropyGradient(dist, [0.3, 0.3, 0.3, 0.3], [], 1, 2).outputs, [0, 0, 0, 0], 1e-15)
      const c = categoricalBatch(30, 5, 4)
      const g = Distribution.entropyGradient(c.dist, c.outputs, [], 5, 1)
      expectClose(Array.from({ length: 5 }, (_, i) => sum(row(g.outputs, i, 4))), new Float64Array(5), 1e-15)
    })

    it("categorical: equals central differences of scale · N · meanEntropy in the logits (N = 5, n = 4, scale 0.7; tol 1e-8)", () => {
      const c = categoricalBatch(31, 5, 4)
      const f = (z: Float64Array) => 0.7 * 5 * Distribution.meanEntropy(c.dist, z, [], 5)
      const g = Distribution.entropyGradient(c.dist, c.outputs, [], 5, 0.7)
      expectClose(g.outputs, Dense.centralGradient(f, c.outputs), FD)
      // The Dense oracle's entropy gives the same differences.
      const oracle = (z: Float64Array) => 0.7 * Array.from({ length: 5 }, (_, i) => Dense.categoricalEntropy(row(z, i, 4))).reduce((a, b) => a + b, 0)
      expectClose(g.outputs, Dense.centralGradient(oracle, c.outputs), FD)
    })

    it("Gaussian: no gradient in the means and scale · N per log-std, matching central differences (N = 5, d = 3, scale 0.3; tol 1e-8)", () => {
      // H = Σ_j (s_j + ½ ln 2πe) per sample, so Σ_i H_i has ∂/∂s_j = N.
      const g = gaussianBatch(32, 5, 3)
      const f = (outputs: Float64Array, extra: Float64Array) => 0.3 * 5 * Distribution.meanEntropy(g.dist, outputs, extra, 5)
      const grad = Distribution.entropyGradient(g.dist, g.outputs, g.extra, 5, 0.3)
      expectClose(grad.outputs, new Float64Array(15), 0)
      expectClose(grad.extra, [1.5, 1.5, 1.5], 1e-15)
      expectClose(grad.extra, Dense.centralGradient((s) => f(Float64Array.from(g.outputs), s), g.extra), FD)
      expectClose(grad.outputs, Dense.centralGradient((m) => f(m, Float64Array.from(g.extra)), g.outputs), FD)
    })
  })

  describe("kls", () => {
    it("Gaussian: KL(N(0, 1) ‖ N(1, 2²)) = ln 2 − ¼ (tol 1e-15)", () => {
      // ln(σ_new/σ_old) + (σ_old² + (μ_old − μ_new)²)/(2σ_new²) − ½ = ln 2 + (1 + 1)/8 − ½.
      const kl = Distribution.kls(Distribution.diagGaussian(1), [0], [0], [1], [Math.log(2)], 1)
      expectClose(kl, [Math.log(2) - 0.25], 1e-15)
    })

    it("categorical: KL([½, ½] ‖ [¼, ¾]) = ½ ln(4/3) (tol 1e-15)", () => {
      // ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ ln 2 + ½ ln ⅔ = ½ ln(4/3).
      const kl = Distribution.kls(Distribution.categorical(2), [0, 0], [], [0, Math.log(3)], [], 1)
      expectClose(kl, [0.5 * Math.log(4 / 3)], 1e-15)
    })

    it("matches the Dense oracle per sample (categorical n = 5, Gaussian d = 3, N = 7; tol 1e-12)", () => {
      const c = categoricalBatch(5, 7, 5)
      const expectedC = Array.from({ length: 7 }, (_, i) => Dense.categoricalKl(row(c.outputs, i, 5), row(c.outputsNew, i, 5)))
      expectClose(Distribution.kls(c.dist, c.outputs, [], c.outputsNew, [], 7), expectedC, EXACT)
      const g = gaussianBatch(6, 7, 3)
      const expectedG = Array.from({ length: 7 }, (_, i) =>
        Dense.gaussianKl(row(g.outputs, i, 3), g.extra, row(g.outputsNew, i, 3), g.extraNew))
      expectClose(Distribution.kls(g.dist, g.outputs, g.extra, g.outputsNew, g.extraNew, 7), expectedG, EXACT)
    })

    it("KL(p ‖ p) = 0 (tol 1e-15) and KL(p ‖ q) ≥ 0 on 20 random pairs of each family", () => {
      for (let trial = 0; trial < 20; trial++) {
        const c = categoricalBatch(100 + trial, 6, 4)
        expectClose(Distribution.kls(c.dist, c.outputs, [], c.outputs, [], 6), new Float64Array(6), 1e-15)
        for (const kl of Distribution.kls(c.dist, c.outputs, [], c.outputsNew, [], 6)) expect(kl).toBeGreaterThanOrEqual(0)
        const g = gaussianBatch(200 + trial, 6, 2)
        expectClose(Distribution.kls(g.dist, g.outputs, g.extra, g.outputs, g.extra, 6), new Float64Array(6), 1e-15)
        for (const kl of Distribution.kls(g.dist, g.outputs, g.extra, g.outputsNew, g.extraNew, 6)) expect(kl).toBeGreaterThanOrEqual(0)
      }
    })
  })

  describe("meanKl", () => {
    it("is the batch mean of kls, and of the Dense oracle (Gaussian d = 2, N = 5; tol 1e-12)", () => {
      const g = gaussianBatch(7, 5, 2)
      const perSample = Distribution.kls(g.dist, g.outputs, g.extra, g.outputsNew, g.extraNew, 5)
      let expected = 0
      for (let i = 0; i < 5; i++) expected += Dense.gaussianKl(row(g.outputs, i, 2), g.extra, row(g.outputsNew, i, 2), g.extraNew) / 5
      const mean = Distribution.meanKl(g.dist, g.outputs, g.extra, g.outputsNew, g.extraNew, 5)
      expectClose([mean], [sum(perSample) / 5], EXACT)
      expectClose([mean], [expected], EXACT)
    })

    it("uses only the first `size` rows (categorical, 2 of 3 rows; tol 1e-15)", () => {
      // Rows 0 and 1: KL([½, ½] ‖ [¼, ¾]) = ½ ln(4/3) and KL(p ‖ p) = 0; row 2 is ignored.
      const dist = Distribution.categorical(2)
      const mean = Distribution.meanKl(dist, [0, 0, 1, 2, 0, 0], [], [0, Math.log(3), 1, 2, 0, 50], [], 2)
      expectClose([mean], [0.25 * Math.log(4 / 3)], 1e-15)
    })
  })

  describe("logProbGradient", () => {
    it("categorical: logits [0, ln 3], action 1, weight 2 give 2(e₁ − p) = [−½, ½] (tol 1e-15)", () => {
      const g = Distribution.logProbGradient(Distribution.categorical(2), [0, Math.log(3)], [], [1], [2], 1)
      expectClose(g.outputs, [-0.5, 0.5], 1e-15)
      expect(g.extra.length).toBe(0)
    })

    it("Gaussian: μ = 1, σ = 2, a = 3, weight 1 give ∂μ = (a − μ)/σ² = ½ and ∂s = (a − μ)²/σ² − 1 = 0 (tol 1e-15)", () => {
      const g = Distribution.logProbGradient(Distribution.diagGaussian(1), [1], [Math.log(2)], [3], [1], 1)
      expectClose(g.outputs, [0.5], 1e-15)
      expectClose(g.extra, [0], 1e-15)
    })

    it("categorical: equals central differences of Σ w_i log π_i with respect to the logits (N = 6, n = 4; tol 1e-8)", () => {
      const c = categoricalBatch(8, 6, 4)
      const objective = (z: Float64Array) => Dense.dot(c.weights, Distribution.logProbs(c.dist, z, [], c.actions, 6))
      const g = Distribution.logProbGradient(c.dist, c.outputs, [], c.actions, c.weights, 6)
      expectClose(g.outputs, Dense.centralGradient(objective, c.outputs), FD)
    })

    it("Gaussian: equals central differences of Σ w_i log π_i with respect to the means and the shared log-std (N = 6, d = 3; tol 1e-8)", () => {
      const g = gaussianBatch(9, 6, 3)
      const grad = Distribution.logProbGradient(g.dist, g.outputs, g.extra, g.actions, g.weights, 6)
      const ofOutputs = (mu: Float64Array) => Dense.dot(g.weights, Distribution.logProbs(g.dist, mu, g.extra, g.actions, 6))
      const ofExtra = (s: Float64Array) => Dense.dot(g.weights, Distribution.logProbs(g.dist, g.outputs, s, g.actions, 6))
      expectClose(grad.outputs, Dense.centralGradient(ofOutputs, g.outputs), FD)
      expectClose(grad.extra, Dense.centralGradient(ofExtra, g.extra), FD)
    })
  })

  describe("klGradient", () => {
    it("categorical: is scale · (p_new − p_old), e.g. 3 · ([¼, ¾] − [½, ½]) = [−¾, ¾] (tol 1e-15)", () => {
      const g = Distribution.klGradient(Distribution.categorical(2), [0, 0], [], [0, Math.log(3)], [], 1, 3)
      expectClose(g.outputs, [-0.75, 0.75], 1e-15)
    })

    it("Gaussian: old N(0, 1), new N(1, 2²) give ∂μ = 1/4 and ∂s = 1 − (1 + 1)/4 = ½ (tol 1e-15)", () => {
      const g = Distribution.klGradient(Distribution.diagGaussian(1), [0], [0], [1], [Math.log(2)], 1, 1)
      expectClose(g.outputs, [0.25], 1e-15)
      expectClose(g.extra, [0.5], 1e-15)
    })

    it("categorical: equals central differences of scale · Σ_i KL_i with respect to the new logits (scale 0.37; tol 1e-8)", () => {
      const c = categoricalBatch(10, 6, 4)
      const scale = 0.37
      const objective = (z: Float64Array) => scale * sum(Distribution.kls(c.dist, c.outputs, [], z, [], 6))
      const g = Distribution.klGradient(c.dist, c.outputs, [], c.outputsNew, [], 6, scale)
      expectClose(g.outputs, Dense.centralGradient(objective, c.outputsNew), FD)
    })

    it("Gaussian: equals central differences of scale · Σ_i KL_i with respect to the new means and log-std (scale 0.37; tol 1e-8)", () => {
      const g = gaussianBatch(11, 6, 3)
      const scale = 0.37
      const grad = Distribution.klGradient(g.dist, g.outputs, g.extra, g.outputsNew, g.extraNew, 6, scale)
      const ofOutputs = (mu: Float64Array) => scale * sum(Distribution.kls(g.dist, g.outputs, g.extra, mu, g.extraNew, 6))
      const ofExtra = (s: Float64Array) => scale * sum(Distribution.kls(g.dist, g.outputs, g.extra, g.outputsNew, s, 6))
      expectClose(grad.outputs, Dense.centralGradient(ofOutputs, g.outputsNew), FD)
      expectClose(grad.extra, Dense.centralGradient(ofExtra, g.extraNew), FD)
    })

    it("vanishes at new = old (tol 1e-15)", () => {
      const c = categoricalBatch(12, 4, 3)
      expectClose(Distribution.klGradient(c.dist, c.outputs, [], c.outputs, [], 4, 1).outputs, new Float64Array(12), 1e-15)
      const g = gaussianBatch(13, 4, 2)
      const grad = Distribution.klGradient(g.dist, g.outputs, g.extra, g.outputs, g.extra, 4, 1)
      expectClose(grad.outputs, new Float64Array(8), 1e-15)
      expectClose(grad.extra, new Float64Array(2), 1e-15)
    })
  })

  describe("fisherOutputs", () => {
    it("categorical: equals scale · (diag(p) − p pᵀ) ż per sample, p from the Dense oracle (scale 0.5; tol 1e-12)", () => {
      const c = categoricalBatch(14, 5, 4)
      const expected = new Float64Array(20)
      for (let i = 0; i < 5; i++) {
        const p = Dense.probs(row(c.outputs, i, 4))
        for (let a = 0; a < 4; a++) {
          for (let b = 0; b < 4; b++) expected[i * 4 + a] += 0.5 * ((a === b ? p[a]! : 0) - p[a]! * p[b]!) * c.tangent[i * 4 + b]!
        }
      }
      expectClose(Distribution.fisherOutputs(c.dist, c.outputs, [], c.tangent, 5, 0.5), expected, EXACT)
    })

    it("categorical: p = [¼, ¾] and ż = [1, 0] give [¼ − 1/16, −3/16] = [3/16, −3/16] (scale defaults to 1; tol 1e-15)", () => {
      const u = Distribution.fisherOutputs(Distribution.categorical(2), [0, Math.log(3)], [], [1, 0], 1)
      expectClose(u, [3 / 16, -3 / 16], 1e-15)
    })

    it("Gaussian: equals scale · diag(1/σ²) ż, e.g. σ = [½, 2] and ż = [1, 1] give [4, ¼] (tol 1e-14)", () => {
      const dist = Distribution.diagGaussian(2)
      expectClose(Distribution.fisherOutputs(dist, [9, 9], [Math.log(0.5), Math.log(2)], [1, 1], 1), [4, 0.25], 1e-14)
      const g = gaussianBatch(15, 5, 3)
      const expected = Float64Array.from(g.tangent, (t, k) => (0.5 * t) / Math.exp(2 * g.extra[k % 3]!))
      expectClose(Distribution.fisherOutputs(g.dist, g.outputs, g.extra, g.tangent, 5, 0.5), expected, EXACT)
    })

    it("categorical: equals the Hessian of (1/N) Σ KL(old ‖ new) at new = old, by central differences of klGradient (tol 1e-8)", () => {
      const c = categoricalBatch(16, 5, 4)
      const N = 5
      const plus = c.outputs.map((z, k) => z + H * c.tangent[k]!)
      const minus = c.outputs.map((z, k) => z - H * c.tangent[k]!)
      const gPlus = Distribution.klGradient(c.dist, c.outputs, [], plus, [], N, 1 / N).outputs
      const gMinus = Distribution.klGradient(c.dist, c.outputs, [], minus, [], N, 1 / N).outputs
      const hessianVector = gPlus.map((v, k) => (v - gMinus[k]!) / (2 * H))
      expectClose(Distribution.fisherOutputs(c.dist, c.outputs, [], c.tangent, N, 1 / N), hessianVector, FD)
    })

    it("Gaussian: with fisherExtra, equals the Hessian of (1/N) Σ KL(old ‖ new) at new = old along a joint (mean, log-std) tangent (tol 1e-8)", () => {
      // The Hessian is block-diagonal: diag(1/σ²)/N per sample on the means, 2I on the shared
      // log-std (Σ_i over N samples times 1/N), and no cross terms.
      const g = gaussianBatch(17, 5, 3)
      const N = 5
      const at = (sign: number) =>
        Distribution.klGradient(
          g.dist,
          g.outputs,
          g.extra,
          g.outputs.map((m, k) => m + sign * H * g.tangent[k]!),
          g.extra.map((s, j) => s + sign * H * g.extraTangent[j]!),
          N,
          1 / N
        )
      const plus = at(1), minus = at(-1)
      const hvOutputs = plus.outputs.map((v, k) => (v - minus.outputs[k]!) / (2 * H))
      const hvExtra = plus.extra.map((v, j) => (v - minus.extra[j]!) / (2 * H))
      expectClose(Distribution.fisherOutputs(g.dist, g.outputs, g.extra, g.tangent, N, 1 / N), hvOutputs, FD)
      expectClose(Distribution.fisherExtra(g.dist, g.extraTangent), hvExtra, FD)
    })
  })

  describe("fisherExtra", () => {
    it("is 2·v for the Gaussian and empty for the categorical (exact)", () => {
      expect(Array.from(Distribution.fisherExtra(Distribution.diagGaussian(3), [1, -0.5, 3]))).toEqual([2, -1, 6])
      expect(Distribution.fisherExtra(Distribution.categorical(3), []).length).toBe(0)
    })

    it("matches a Monte-Carlo Fisher E[∇log π ∇log πᵀ] of a 1-D Gaussian: (s, s) = 2, (μ, s) = 0, (μ, μ) = 1/σ² (2e5 draws, 4 standard errors)", () => {
      // With a = μ + σz: ∂log π/∂μ = z/σ, ∂log π/∂s = z² − 1.
      //   E[(z² − 1)²] = 3 − 2 + 1 = 2, Var = E[(z² − 1)⁴] − 4 = (105 − 60 + 18 − 4 + 1) − 4 = 56;
      //   E[z(z² − 1)/σ] = 0, Var = E[z²(z² − 1)²]/σ² = (15 − 6 + 1)/σ² = 10/σ²;
      //   E[z²/σ²] = 1/σ², Var = 2/σ⁴.
      // The scores come from logProbGradient, one sample at a time (weight 1).
      const M = 200_000
      const dist = Distribution.diagGaussian(1)
      const mu = 0.3, s = -0.4, sigma = Math.exp(s)
      const z = Key.normals(Key.make(2024), M)
      let fss = 0, fms = 0, fmm = 0
      for (let t = 0; t < M; t++) {
        const score = Distribution.logProbGradient(dist, [mu], [s], [mu + sigma * z[t]!], [1], 1)
        const gm = score.outputs[0]!, gs = score.extra[0]!
        fss += gs * gs
        fms += gm * gs
        fmm += gm * gm
      }
      fss /= M
      fms /= M
      fmm /= M
      const se = (variance: number) => Math.sqrt(variance / M)
      expect(Math.abs(fss - Distribution.fisherExtra(dist, [1])[0]!)).toBeLessThan(4 * se(56))
      expect(Math.abs(fms)).toBeLessThan(4 * se(10 / sigma ** 2))
      expect(Math.abs(fmm - Distribution.fisherOutputs(dist, [mu], [s], [1], 1)[0]!)).toBeLessThan(4 * se(2 / sigma ** 4))
    })
  })

  describe("sampleInto", () => {
    it("categorical: frequencies of 20 000 draws match softmax by a chi-square test (df = 3, critical value 16.27 at α = 0.001)", () => {
      // Row 1 has logits 0.7 + ln[1, 2, 3, 4], so p = [0.1, 0.2, 0.3, 0.4]; row 0 is a decoy.
      const dist = Distribution.categorical(4)
      const outputs = Float64Array.of(5, -5, 0, 0, ...[1, 2, 3, 4].map((w) => 0.7 + Math.log(w)))
      const p = Dense.probs(row(outputs, 1, 4))
      expectClose(p, [0.1, 0.2, 0.3, 0.4], 1e-15)
      const M = 20_000
      const counts = [0, 0, 0, 0]
      const root = Key.make(77)
      const actions = Float64Array.of(-1, -1)
      for (let t = 0; t < M; t++) {
        Distribution.sampleInto(dist, Key.foldIn(root, t), outputs, [], 1, actions)
        counts[actions[1]!]! += 1
      }
      expect(actions[0]).toBe(-1)
      const chiSquare = (q: ArrayLike<number>) => counts.reduce((acc, o, k) => acc + (o - M * q[k]!) ** 2 / (M * q[k]!), 0)
      expect(chiSquare(p)).toBeLessThan(16.27)
      // Power check: the same counts reject a wrong distribution (uniform), so the test can fail.
      expect(chiSquare([0.25, 0.25, 0.25, 0.25])).toBeGreaterThan(16.27)
    })

    it("categorical: is the inverse CDF of softmax at Key.uniform(key) (200 keys)", () => {
      // Expected index: the first k with u < Σ_{j ≤ k} p_j, p from the Dense oracle.
      const dist = Distribution.categorical(3)
      const outputs = Float64Array.of(0.2, -1.1, 0.9)
      const p = Dense.probs(outputs)
      const actions = new Float64Array(1)
      for (let t = 0; t < 200; t++) {
        const key = Key.foldIn(Key.make(5), t)
        const u = Key.uniform(key)
        const expected = u < p[0]! ? 0 : u < p[0]! + p[1]! ? 1 : 2
        Distribution.sampleInto(dist, key, outputs, [], 0, actions)
        expect(actions[0]).toBe(expected)
      }
    })

    it("Gaussian: is μ + σ ⊙ Key.normals(key, d) written into row i (tol 1e-15)", () => {
      const dist = Distribution.diagGaussian(2)
      const outputs = Float64Array.of(10, 20, 1, -2)
      const extra = Float64Array.of(Math.log(0.5), Math.log(2))
      const key = Key.make(8)
      const z = Key.normals(key, 2)
      const actions = Float64Array.of(-7, -7, 0, 0)
      Distribution.sampleInto(dist, key, outputs, extra, 1, actions)
      expectClose(actions, [-7, -7, 1 + 0.5 * z[0]!, -2 + 2 * z[1]!], 1e-15)
    })

    it("Gaussian: 20 000 draws have mean ≈ μ (4σ/√M) and standard deviation ≈ σ (4σ/√(2M))", () => {
      const dist = Distribution.diagGaussian(2)
      const mu = [1, -2], sigma = [0.5, 2]
      const outputs = Float64Array.of(0, 0, ...mu)
      const extra = Float64Array.from(sigma, Math.log)
      const M = 20_000
      const total = [0, 0], squares = [0, 0]
      const actions = new Float64Array(4)
      const root = Key.make(31)
      for (let t = 0; t < M; t++) {
        Distribution.sampleInto(dist, Key.foldIn(root, t), outputs, extra, 1, actions)
        for (let j = 0; j < 2; j++) {
          total[j]! += actions[2 + j]!
          squares[j]! += actions[2 + j]! ** 2
        }
      }
      for (let j = 0; j < 2; j++) {
        const mean = total[j]! / M
        const std = Math.sqrt((squares[j]! - M * mean * mean) / (M - 1))
        expect(Math.abs(mean - mu[j]!)).toBeLessThan((4 * sigma[j]!) / Math.sqrt(M))
        expect(Math.abs(std - sigma[j]!)).toBeLessThan((4 * sigma[j]!) / Math.sqrt(2 * M))
      }
    })

    it("is a function of the key: the same key gives the same action (both families)", () => {
      const key = Key.make(9)
      const a = new Float64Array(3), b = new Float64Array(3)
      Distribution.sampleInto(Distribution.diagGaussian(3), key, [0, 1, 2], [0, 0, 0], 0, a)
      Distribution.sampleInto(Distribution.diagGaussian(3), key, [0, 1, 2], [0, 0, 0], 0, b)
      expect(Array.from(a)).toEqual(Array.from(b))
      const c = new Float64Array(1), d = new Float64Array(1)
      Distribution.sampleInto(Distribution.categorical(3), key, [0, 0, 0], [], 0, c)
      Distribution.sampleInto(Distribution.categorical(3), key, [0, 0, 0], [], 0, d)
      expect(c[0]).toBe(d[0])
    })
  })

  describe("modeInto", () => {
    it("categorical: writes the argmax of row i, leaving other rows untouched", () => {
      const dist = Distribution.categorical(3)
      const outputs = Float64Array.of(5, 1, 2, -1, 0.5, 0.25, 0, -3, 7)
      const actions = Float64Array.of(-1, -1, -1)
      Distribution.modeInto(dist, outputs, 1, actions)
      expect(Array.from(actions)).toEqual([-1, 1, -1])
      Distribution.modeInto(dist, outputs, 2, actions)
      Distribution.modeInto(dist, outputs, 0, actions)
      expect(Array.from(actions)).toEqual([0, 1, 2])
    })

    it("Gaussian: writes the mean of row i, leaving other rows untouched", () => {
      const dist = Distribution.diagGaussian(2)
      const actions = Float64Array.of(-1, -1, -1, -1)
      Distribution.modeInto(dist, [1, 2, 3.5, -4.25], 1, actions)
      expect(Array.from(actions)).toEqual([-1, -1, 3.5, -4.25])
    })
  })
})
