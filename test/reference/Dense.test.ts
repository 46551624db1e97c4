import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Dense from "./Dense.ts"

const sizes = [3, 5, 5, 2] as const

// N inputs of width n0, standard normal.
const batch = (key: Key.Key, n: number): Array<Float64Array> => Dense.rows(Key.normals(key, n * sizes[0]), sizes[0])

const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]))
  return m
}

describe("Dense", () => {
  describe("layoutSize", () => {
    it("counts weights and biases; a Gaussian adds nL log-stds", () => {
      // 3·5 + 5 + 5·5 + 5 + 5·2 + 2 = 62
      expect(Dense.layoutSize(sizes)).toBe(62)
      expect(Dense.parameterCount(sizes, "categorical")).toBe(62)
      expect(Dense.parameterCount(sizes, "gaussian")).toBe(64)
      expect(Dense.layerOffsets(sizes)).toEqual([
        { weights: 0, bias: 15 },
        { weights: 20, bias: 45 },
        { weights: 50, bias: 60 }
      ])
    })
  })

  describe("forward", () => {
    it("follows the row-major [n_{l−1}, n_l] layout on a hand-computed net", () => {
      // sizes [2, 2, 1]; W1 = [[1, 2], [3, 4]], b1 = [2, 2.5], W2 = [[5], [6]], b2 = [0.25].
      // x = [1, −1]: z1 = x W1 + b1 = [1 − 3, 2 − 4] + [2, 2.5] = [0, 0.5], h1 = [0, tanh 0.5],
      // out = 5·0 + 6·tanh(0.5) + 0.25 = 6·0.46211715726000974 + 0.25 = 3.0227029435600584.
      // (A transposed layout would give z1 = [1 − 2, 3 − 4] + b1 = [1, 1.5].)
      const theta = [1, 2, 3, 4, 2, 2.5, 5, 6, 0.25]
      const { activations, output } = Dense.forward([2, 2, 1], theta, [1, -1])
      expect(activations[0]).toEqual(Float64Array.of(1, -1))
      expect(activations[1][0]).toBe(0)
      expect(activations[1][1]).toBeCloseTo(Math.tanh(0.5), 15)
      expect(output[0]).toBeCloseTo(3.0227029435600584, 14)
      expect(activations[2]).toBe(output)
    })
  })

  describe("jacobian", () => {
    it("matches central finite differences of forward (h = 1e-6, rel. error < 1e-6)", () => {
      const [thetaKey, xKey] = Key.split(Key.make(1), 2)
      const theta = Dense.randomParameters(thetaKey, sizes, "categorical", 0.7)
      const P = Dense.layoutSize(sizes)
      const nL = sizes[3]
      const h = 1e-6
      for (const x of batch(xKey, 5)) {
        const J = Dense.jacobian(sizes, theta, x)
        const fd = new Float64Array(nL * P)
        for (let p = 0; p < P; p++) {
          const plus = Float64Array.from(theta)
          const minus = Float64Array.from(theta)
          plus[p] += h
          minus[p] -= h
          const up = Dense.forward(sizes, plus, x).output
          const down = Dense.forward(sizes, minus, x).output
          for (let k = 0; k < nL; k++) fd[k * P + p] = (up[k] - down[k]) / (2 * h)
        }
        // observed ≤ 3e-10
        expect(Dense.relativeError(J, fd)).toBeLessThan(1e-6)
      }
    })
  })

  describe("categorical", () => {
    it("logits [0, ln 3] give p = [1/4, 3/4] and H = −(¼ ln ¼ + ¾ ln ¾)", () => {
      const logits = [0, Math.log(3)]
      const p = Dense.probs(logits)
      expect(p[0]).toBeCloseTo(0.25, 15)
      expect(p[1]).toBeCloseTo(0.75, 15)
      const logP = Dense.logSoftmax(logits)
      expect(logP[0]).toBeCloseTo(Math.log(0.25), 15)
      expect(logP[1]).toBeCloseTo(Math.log(0.75), 15)
      // −(0.25·(−1.3862943611198906) + 0.75·(−0.2876820724517809)) = 0.5623351446188083
      expect(Dense.categoricalEntropy(logits)).toBeCloseTo(0.5623351446188083, 14)
    })

    it("KL([1/4, 3/4] ‖ [1/2, 1/2]) = ¼ ln ½ + ¾ ln 3/2", () => {
      // 0.25·(−0.6931471805599453) + 0.75·0.4054651081081644 = 0.13081203594113694
      expect(Dense.categoricalKl([0, Math.log(3)], [0, 0])).toBeCloseTo(0.13081203594113694, 15)
    })

    it("KL(p ‖ p) = 0, KL ≥ 0, and logits are shift-invariant", () => {
      const keys = Key.split(Key.make(2), 20)
      for (let t = 0; t < 10; t++) {
        const a = Key.normals(keys[2 * t], 4).map((z) => 3 * z)
        const b = Key.normals(keys[2 * t + 1], 4).map((z) => 3 * z)
        expect(Dense.categoricalKl(a, a)).toBe(0)
        expect(Dense.categoricalKl(a, b)).toBeGreaterThan(0)
        expect(Dense.categoricalKl(a, a.map((z) => z + 7))).toBeLessThan(1e-15)
      }
    })
  })

  describe("gaussian", () => {
    it("log-density of a hand-computed 1-D case", () => {
      // μ = 1, s = ln 2 (σ = 2), a = 3: −(2)²/(2·4) − ln 2 − ½ ln 2π
      //   = −0.5 − 0.6931471805599453 − 0.9189385332046727 = −2.112085713764618
      expect(Dense.gaussianLogProb([1], [Math.log(2)], [3])).toBeCloseTo(-2.112085713764618, 14)
    })

    it("entropy is Σ (s_i + ½ log 2πe)", () => {
      // s = 0: ½ log(2πe) = 1.4189385332046727; s = [0, ln 2]: 2·1.4189… + ln 2 = 3.5310242469692907
      expect(Dense.gaussianEntropy([0])).toBeCloseTo(1.4189385332046727, 15)
      expect(Dense.gaussianEntropy([0, Math.log(2)])).toBeCloseTo(3.5310242469692907, 14)
    })

    it("KL of identical distributions is 0", () => {
      expect(Dense.gaussianKl([0.3, -1], [0.2, -0.5], [0.3, -1], [0.2, -0.5])).toBe(0)
    })

    it("KL of a hand-computed 1-D case", () => {
      // old N(0, 1), new N(1, 2²): s_new − s_old + (σ_old² + (μ_old − μ_new)²)/(2σ_new²) − ½
      //   = ln 2 + (1 + 1)/8 − ½ = ln 2 − ¼ = 0.4431471805599453
      expect(Dense.gaussianKl([0], [0], [1], [Math.log(2)])).toBeCloseTo(0.4431471805599453, 15)
      // Reversed: −ln 2 + (4 + 1)/2 − ½ = 2 − ln 2 = 1.3068528194400546
      expect(Dense.gaussianKl([1], [Math.log(2)], [0], [0])).toBeCloseTo(1.3068528194400546, 15)
    })
  })

  describe("fisher", () => {
    const [thetaKey, xKey, vKey, probeKey] = Key.split(Key.make(3), 4)
    const X = batch(xKey, 7)

    for (const kind of ["categorical", "gaussian"] as const) {
      describe(kind, () => {
        const theta = Dense.randomParameters(thetaKey, sizes, kind, 0.7)
        const F = Dense.fisher(sizes, theta, X, kind)
        const P = Dense.parameterCount(sizes, kind)

        it("equals the finite-difference Hessian of the mean KL at θ_old (batch 7, rel. error < 1e-5)", () => {
          expect(F.length).toBe(P * P)
          const H = Dense.klHessianFd(sizes, theta, X, kind)
          // observed 6e-8 (categorical), 2e-8 (gaussian)
          expect(Dense.relativeError(F, H)).toBeLessThan(1e-5)
        })

        it("F v equals the finite-difference Hessian-vector product of the mean KL (rel. error < 1e-5)", () => {
          for (const key of Key.split(vKey, 3)) {
            const v = Key.normals(key, P)
            const Hv = Dense.klHessianVectorFd(sizes, theta, X, kind, v)
            // observed ≤ 8e-8 (categorical), 2e-8 (gaussian)
            expect(Dense.relativeError(Dense.fisherVector(F, v), Hv)).toBeLessThan(1e-5)
          }
        })

        it("is symmetric and positive semi-definite", () => {
          expect(Dense.isSymmetric(F, 1e-12)).toBe(true)
          expect(Dense.minRayleighQuotient(probeKey, F, 64)).toBeGreaterThanOrEqual(0)
          expect(Dense.minEigenvalue(F)).toBeGreaterThan(-1e-12 * maxAbs(F))
        })
      })
    }

    it("categorical: shifting every output bias by the same amount is a null direction", () => {
      const theta = Dense.randomParameters(thetaKey, sizes, "categorical", 0.7)
      const F = Dense.fisher(sizes, theta, X, "categorical")
      const v = new Float64Array(Dense.layoutSize(sizes))
      const { bias } = Dense.layerOffsets(sizes)[2]
      v[bias] = v[bias + 1] = 1
      expect(maxAbs(Dense.fisherVector(F, v))).toBeLessThan(1e-15)
    })

    it("gaussian: the logStd block is 2·I with no cross terms", () => {
      const theta = Dense.randomParameters(thetaKey, sizes, "gaussian", 0.7)
      const F = Dense.fisher(sizes, theta, X, "gaussian")
      const P = 64
      const Pnet = 62
      for (let i = Pnet; i < P; i++) {
        for (let j = 0; j < P; j++) {
          expect(F[i * P + j]).toBe(i === j ? 2 : 0)
          expect(F[j * P + i]).toBe(i === j ? 2 : 0)
        }
      }
    })
  })

  describe("solve", () => {
    it("A x = b on random SPD matrices up to κ = 1e4 (Cholesky; relative residual < 1e-10)", () => {
      let t = 0
      for (const n of [1, 2, 5, 17, 40]) {
        for (const kappa of [1, 10, 1e4]) {
          const [aKey, bKey] = Key.split(Key.foldIn(Key.make(4), t++), 2)
          const A = Dense.randomSpd(aKey, n, kappa)
          const b = Key.normals(bKey, n)
          const x = Dense.solve(A, b)
          // observed ≤ 2e-13 (at n = 40, κ = 1e4); backward-stable, so the bound grows like n·ε·κ
          expect(Dense.relativeError(Dense.matVec(A, x), b)).toBeLessThan(1e-10)
        }
      }
    })

    it("rejects indefinite and non-symmetric matrices", () => {
      expect(() => Dense.solve([1, 2, 2, 1], [1, 1])).toThrow(RangeError)
      expect(() => Dense.solve([2, 1, 0, 2], [1, 1])).toThrow(RangeError)
    })
  })

  describe("randomSpd", () => {
    it("is symmetric with eigenvalues κ^{j/(n−1)} (Jacobi, rel. error < 1e-12)", () => {
      const n = 9
      const kappa = 1000
      const A = Dense.randomSpd(Key.make(5), n, kappa)
      expect(Dense.isSymmetric(A, 0)).toBe(true)
      const expected = Float64Array.from({ length: n }, (_, j) => kappa ** (j / (n - 1)))
      expect(Dense.relativeError(Dense.symmetricEigenvalues(A), expected)).toBeLessThan(1e-12)
      expect(Dense.minRayleighQuotient(Key.make(6), A)).toBeGreaterThanOrEqual(1 - 1e-12)
    })
  })

  describe("symmetricEigenvalues", () => {
    it("finds the eigenvalues of a hand-computed 2×2 and an indefinite matrix", () => {
      // [[2, 1], [1, 2]] has eigenvalues 1 and 3; [[0, 1], [1, 0]] has −1 and 1.
      const a = Dense.symmetricEigenvalues([2, 1, 1, 2])
      expect(a[0]).toBeCloseTo(1, 15)
      expect(a[1]).toBeCloseTo(3, 15)
      const b = Dense.symmetricEigenvalues([0, 1, 1, 0])
      expect(b[0]).toBeCloseTo(-1, 15)
      expect(b[1]).toBeCloseTo(1, 15)
    })
  })
})
