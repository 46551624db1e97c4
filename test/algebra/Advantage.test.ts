import { describe, expect, it } from "@effect/vitest"
import * as Advantage from "../../src/algebra/Advantage.ts"
import * as Key from "../../src/algebra/Key.ts"

const TOLERANCE = 1e-12

const expectClose = (actual: Float64Array, expected: ReadonlyArray<number>, tolerance = TOLERANCE): void => {
  expect(actual.length).toBe(expected.length)
  actual.forEach((value, i) => {
    expect(Math.abs(value - expected[i]!), `index ${i}: ${value} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance)
  })
}

const flags = (...values: Array<number>): Uint8Array => Uint8Array.from(values)

// One env, four steps, γ = 0.9, λ = 0.5 (γλ = 0.45):
//   r = [1, 2, 3, 4], V = [0.5, 1, 1.5, 2], nextV = [1, 10, 2, 3].
// nextV[0] = V[1] and nextV[2] = V[3] (inside episodes); nextV[1] = 10 is the value of the
// final observation of the episode ending at t = 1; nextV[3] = 3 bootstraps the batch end.
const base = {
  numSteps: 4,
  numEnvs: 1,
  rewards: Float64Array.of(1, 2, 3, 4),
  values: Float64Array.of(0.5, 1, 1.5, 2),
  nextValues: Float64Array.of(1, 10, 2, 3)
}
const withFlags = (terminations: Uint8Array, truncations: Uint8Array): Advantage.Trajectories => ({
  ...base,
  terminations,
  truncations
})
const terminatedAt1 = withFlags(flags(0, 1, 0, 0), flags(0, 0, 0, 0))
const truncatedAt1 = withFlags(flags(0, 0, 0, 0), flags(0, 1, 0, 0))
const bothAt1 = withFlags(flags(0, 1, 0, 0), flags(0, 1, 0, 0))
const noBoundary: Advantage.Trajectories = {
  ...base,
  nextValues: Float64Array.of(1, 1.5, 2, 3),
  terminations: flags(0, 0, 0, 0),
  truncations: flags(0, 0, 0, 0)
}

// Random batches in the batch layout. nextValues is consistent (= values[t+1]) inside
// episodes, an independent draw at boundaries and at the batch end.
const randomTrajectories = (key: Key.Key, numSteps: number, numEnvs: number): Advantage.Trajectories => {
  const size = numSteps * numEnvs
  const [rewardKey, valueKey, finalValueKey, terminationKey, truncationKey] = Key.split(key, 5)
  const rewards = Key.normals(rewardKey, size)
  const values = Key.normals(valueKey, size)
  const finalValues = Key.normals(finalValueKey, size)
  const terminations = Uint8Array.from(Key.uniforms(terminationKey, size), (u) => (u < 0.2 ? 1 : 0))
  const truncations = Uint8Array.from(Key.uniforms(truncationKey, size), (u) => (u < 0.2 ? 1 : 0))
  const nextValues = new Float64Array(size)
  for (let t = 0; t < numSteps; t++) {
    for (let e = 0; e < numEnvs; e++) {
      const i = t * numEnvs + e
      const boundary = terminations[i] !== 0 || truncations[i] !== 0 || t === numSteps - 1
      nextValues[i] = boundary ? finalValues[i] : values[i + numEnvs]
    }
  }
  return { numSteps, numEnvs, rewards, values, nextValues, terminations, truncations }
}

// Env e of a batch as a one-env batch.
const column = (trajectories: Advantage.Trajectories, e: number): Advantage.Trajectories => {
  const { numSteps, numEnvs } = trajectories
  const pick = <A extends Float64Array | Uint8Array>(array: A): A =>
    array.filter((_, i) => i % numEnvs === e) as A
  return {
    numSteps,
    numEnvs: 1,
    rewards: pick(trajectories.rewards),
    values: pick(trajectories.values),
    nextValues: pick(trajectories.nextValues),
    terminations: pick(trajectories.terminations),
    truncations: pick(trajectories.truncations)
  }
}

// The TD error δ_t = r_t + γ(1 − term_t)·nextV_t − V_t, computed directly.
const tdErrors = (trajectories: Advantage.Trajectories, gamma: number): Array<number> =>
  Array.from(trajectories.rewards, (r, i) =>
    r + (trajectories.terminations[i] ? 0 : gamma * trajectories.nextValues[i]) - trajectories.values[i]
  )

// GAE as the forward sum Â_t = Σ_l (γλ)^l δ_{t+l} up to the episode or batch end, one env
// at a time: an oracle independent of the backward recursion.
const gaeOracle = (trajectories: Advantage.Trajectories, gamma: number, lambda: number): Array<number> => {
  const { numSteps, numEnvs, terminations, truncations } = trajectories
  const delta = tdErrors(trajectories, gamma)
  const out = new Array<number>(numSteps * numEnvs).fill(0)
  for (let e = 0; e < numEnvs; e++) {
    for (let t = 0; t < numSteps; t++) {
      let sum = 0
      let weight = 1
      for (let u = t; u < numSteps; u++) {
        const j = u * numEnvs + e
        sum += weight * delta[j]
        weight *= gamma * lambda
        if (terminations[j] || truncations[j]) break
      }
      out[t * numEnvs + e] = sum
    }
  }
  return out
}

const addValues = (advantages: ReadonlyArray<number>, values: Float64Array): Array<number> =>
  advantages.map((a, i) => a + values[i])

describe("Advantage", () => {
  describe("gae", () => {
    it("stops at a termination without bootstrapping", () => {
      // δ_0 = 1 + 0.9·1 − 0.5 = 1.4     δ_1 = 2 + 0 − 1 = 1 (terminated: nextV ignored)
      // δ_2 = 3 + 0.9·2 − 1.5 = 3.3     δ_3 = 4 + 0.9·3 − 2 = 4.7 (batch end: bootstrap nextV = 3)
      // Â_3 = 4.7;  Â_2 = 3.3 + 0.45·4.7 = 5.415;  Â_1 = 1 (boundary);  Â_0 = 1.4 + 0.45·1 = 1.85
      // returns = Â + V = [2.35, 2, 6.915, 6.7]
      const { advantages, returns } = Advantage.gae({ gamma: 0.9, lambda: 0.5 }).estimate(terminatedAt1)
      expectClose(advantages, [1.85, 1, 5.415, 4.7])
      expectClose(returns, [2.35, 2, 6.915, 6.7])
    })

    it("stops at a truncation but bootstraps from nextValues", () => {
      // δ_1 = 2 + 0.9·10 − 1 = 10;  Â_1 = 10 (boundary);  Â_0 = 1.4 + 0.45·10 = 5.9;  Â_2, Â_3 as above.
      // returns = [6.4, 11, 6.915, 6.7]
      const { advantages, returns } = Advantage.gae({ gamma: 0.9, lambda: 0.5 }).estimate(truncatedAt1)
      expectClose(advantages, [5.9, 10, 5.415, 4.7])
      expectClose(returns, [6.4, 11, 6.915, 6.7])
    })

    it("treats a step with both flags as a termination", () => {
      const estimator = Advantage.gae({ gamma: 0.9, lambda: 0.5 })
      expect(estimator.estimate(bothAt1)).toEqual(estimator.estimate(terminatedAt1))
    })

    it("bootstraps the last step of the batch from nextValues", () => {
      // Without boundaries: δ = [1 + 0.9·1 − 0.5, 2 + 0.9·1.5 − 1, 3.3, 4.7] = [1.4, 2.35, 3.3, 4.7]
      // Â_3 = 4.7, Â_2 = 5.415, Â_1 = 2.35 + 0.45·5.415 = 4.78675, Â_0 = 1.4 + 0.45·4.78675 = 3.5540375
      const estimator = Advantage.gae({ gamma: 0.9, lambda: 0.5 })
      expectClose(estimator.estimate(noBoundary).advantages, [3.5540375, 4.78675, 5.415, 4.7])
      // Raising the final nextV by 1 raises Â_3 by γ = 0.9 and Â_t by 0.9·0.45^(3−t).
      const raised = estimator.estimate({ ...noBoundary, nextValues: Float64Array.of(1, 1.5, 2, 4) }).advantages
      expectClose(raised, [3.5540375 + 0.9 * 0.45 ** 3, 4.78675 + 0.9 * 0.45 ** 2, 5.415 + 0.9 * 0.45, 5.6])
    })

    it("is the TD error when γλ = 0", () => {
      const trajectories = randomTrajectories(Key.make(1), 7, 3)
      const td = Advantage.gae({ gamma: 0.9, lambda: 0 }).estimate(trajectories)
      expectClose(td.advantages, tdErrors(trajectories, 0.9))
      // γ = 0: δ_t = r_t − V_t whatever λ.
      const immediate = Array.from(trajectories.rewards, (r, i) => r - trajectories.values[i])
      expectClose(Advantage.gae({ gamma: 0, lambda: 0.7 }).estimate(trajectories).advantages, immediate)
    })

    it("is the Monte-Carlo return minus V when λ = 1", () => {
      for (const [numSteps, numEnvs] of [[7, 3], [16, 1], [5, 4]] as const) {
        const trajectories = randomTrajectories(Key.foldIn(Key.make(2), numSteps), numSteps, numEnvs)
        const gae = Advantage.gae({ gamma: 0.95, lambda: 1 }).estimate(trajectories)
        const monteCarlo = Advantage.monteCarlo({ gamma: 0.95 }).estimate(trajectories)
        expectClose(gae.advantages, Array.from(monteCarlo.advantages))
        expectClose(gae.returns, Array.from(monteCarlo.returns))
      }
    })

    it("on a vector batch equals the forward-sum oracle and each env run separately (3 envs × 7 steps)", () => {
      const root = Key.make(3)
      let terminated = 0
      let truncated = 0
      let both = 0
      for (let trial = 0; trial < 5; trial++) {
        const trajectories = randomTrajectories(Key.foldIn(root, trial), 7, 3)
        trajectories.terminations.forEach((term, i) => {
          const trunc = trajectories.truncations[i]
          if (term && trunc) both++
          else if (term) terminated++
          else if (trunc) truncated++
        })
        const estimator = Advantage.gae({ gamma: 0.97, lambda: 0.9 })
        const { advantages, returns } = estimator.estimate(trajectories)
        const oracle = gaeOracle(trajectories, 0.97, 0.9)
        expectClose(advantages, oracle)
        expectClose(returns, addValues(oracle, trajectories.values))
        for (let e = 0; e < 3; e++) {
          const single = estimator.estimate(column(trajectories, e))
          expectClose(single.advantages, Array.from(advantages).filter((_, i) => i % 3 === e), 0)
        }
      }
      // The random batches exercise every kind of boundary.
      expect(Math.min(terminated, truncated, both)).toBeGreaterThan(0)
    })

    it("serialises its hyperparameters", () => {
      expect(JSON.parse(JSON.stringify(Advantage.gae({ gamma: 0.99, lambda: 0.95 })))).toEqual({
        _tag: "Gae",
        gamma: 0.99,
        lambda: 0.95
      })
    })

    it("rejects hyperparameters outside [0, 1] and mis-sized batches", () => {
      expect(() => Advantage.gae({ gamma: 1.1, lambda: 0.95 })).toThrow(RangeError)
      expect(() => Advantage.gae({ gamma: 0.99, lambda: -0.1 })).toThrow(RangeError)
      expect(() => Advantage.gae({ gamma: NaN, lambda: 0.95 })).toThrow(RangeError)
      const estimator = Advantage.gae({ gamma: 0.99, lambda: 0.95 })
      expect(() => estimator.estimate({ ...terminatedAt1, numEnvs: 2 })).toThrow(RangeError)
      expect(() => estimator.estimate({ ...terminatedAt1, truncations: flags(0, 0, 0) })).toThrow(RangeError)
    })
  })

  describe("monteCarlo", () => {
    it("sums discounted rewards to the episode end: 0 at a termination, nextV at the batch end", () => {
      // G_3 = 4 + 0.9·3 = 6.7;  G_2 = 3 + 0.9·6.7 = 9.03;  G_1 = 2 (terminated);  G_0 = 1 + 0.9·2 = 2.8
      // Â = G − V = [2.3, 1, 7.53, 4.7]
      const { advantages, returns } = Advantage.monteCarlo({ gamma: 0.9 }).estimate(terminatedAt1)
      expectClose(returns, [2.8, 2, 9.03, 6.7])
      expectClose(advantages, [2.3, 1, 7.53, 4.7])
    })

    it("without a baseline the advantage is the return itself; the returns are unchanged", () => {
      // Same G as above; Â = G (no V subtracted): the GAE paper's "no value function" variant.
      const withBaseline = Advantage.monteCarlo({ gamma: 0.9 }).estimate(terminatedAt1)
      const without = Advantage.monteCarlo({ gamma: 0.9, baseline: false }).estimate(terminatedAt1)
      expectClose(without.advantages, [2.8, 2, 9.03, 6.7])
      expect(without.returns).toEqual(withBaseline.returns)
      expect(Advantage.monteCarlo({ gamma: 0.9 }).baseline).toBe(true)
    })

    it("bootstraps from nextValues at a truncation; termination wins over truncation", () => {
      // G_1 = 2 + 0.9·10 = 11;  G_0 = 1 + 0.9·11 = 10.9;  Â = [10.4, 10, 7.53, 4.7]
      const estimator = Advantage.monteCarlo({ gamma: 0.9 })
      expectClose(estimator.estimate(truncatedAt1).advantages, [10.4, 10, 7.53, 4.7])
      expect(estimator.estimate(bothAt1)).toEqual(estimator.estimate(terminatedAt1))
    })

    it("on a vector batch equals each env run separately (3 envs × 7 steps)", () => {
      const trajectories = randomTrajectories(Key.make(4), 7, 3)
      const estimator = Advantage.monteCarlo({ gamma: 0.9 })
      const { advantages } = estimator.estimate(trajectories)
      for (let e = 0; e < 3; e++) {
        const single = estimator.estimate(column(trajectories, e)).advantages
        expectClose(single, Array.from(advantages).filter((_, i) => i % 3 === e), 0)
      }
    })
  })

  describe("nStep", () => {
    it("sums n rewards and bootstraps from the value reached", () => {
      // n = 2, γ = 0.9, no boundaries, nextV = [1, 1.5, 2, 3]:
      // Â_0 = 1 + 0.9·2 + 0.81·1.5 − 0.5 = 3.515     Â_1 = 2 + 0.9·3 + 0.81·2 − 1 = 5.32
      // Â_2 = 3 + 0.9·4 + 0.81·3 − 1.5 = 7.53        Â_3 = 4 + 0.9·3 − 2 = 4.7 (cut at the batch end)
      expectClose(Advantage.nStep({ gamma: 0.9, n: 2 }).estimate(noBoundary).advantages, [3.515, 5.32, 7.53, 4.7])
    })

    it("stops at a termination without bootstrap and at a truncation with bootstrap", () => {
      // Terminated at 1: Â_0 = 1 + 0.9·2 − 0.5 = 2.3, Â_1 = 2 − 1 = 1, Â_2 = 7.53, Â_3 = 4.7.
      // Truncated at 1:  Â_0 = 1 + 0.9·2 + 0.81·10 − 0.5 = 10.4, Â_1 = 2 + 0.9·10 − 1 = 10.
      const estimator = Advantage.nStep({ gamma: 0.9, n: 2 })
      expectClose(estimator.estimate(terminatedAt1).advantages, [2.3, 1, 7.53, 4.7])
      expectClose(estimator.estimate(truncatedAt1).advantages, [10.4, 10, 7.53, 4.7])
      expect(estimator.estimate(bothAt1)).toEqual(estimator.estimate(terminatedAt1))
    })

    it("with n = 1 equals gae with λ = 0", () => {
      const trajectories = randomTrajectories(Key.make(5), 7, 3)
      const oneStep = Advantage.nStep({ gamma: 0.9, n: 1 }).estimate(trajectories)
      const td = Advantage.gae({ gamma: 0.9, lambda: 0 }).estimate(trajectories)
      expectClose(oneStep.advantages, Array.from(td.advantages))
      expectClose(oneStep.returns, Array.from(td.returns))
    })

    it("with n ≥ numSteps equals monteCarlo", () => {
      const trajectories = randomTrajectories(Key.make(6), 7, 3)
      const long = Advantage.nStep({ gamma: 0.9, n: 7 }).estimate(trajectories)
      expectClose(long.advantages, Array.from(Advantage.monteCarlo({ gamma: 0.9 }).estimate(trajectories).advantages))
    })

    it("on a vector batch equals each env run separately (3 envs × 7 steps)", () => {
      const trajectories = randomTrajectories(Key.make(7), 7, 3)
      const estimator = Advantage.nStep({ gamma: 0.9, n: 3 })
      const { advantages } = estimator.estimate(trajectories)
      for (let e = 0; e < 3; e++) {
        const single = estimator.estimate(column(trajectories, e)).advantages
        expectClose(single, Array.from(advantages).filter((_, i) => i % 3 === e), 0)
      }
    })

    it("rejects a non-positive or fractional n", () => {
      expect(() => Advantage.nStep({ gamma: 0.9, n: 0 })).toThrow(RangeError)
      expect(() => Advantage.nStep({ gamma: 0.9, n: 1.5 })).toThrow(RangeError)
    })
  })

  describe("normalized", () => {
    it("standardises advantages to mean 0 and population std 1, and keeps the inner returns", () => {
      const trajectories = randomTrajectories(Key.make(8), 7, 3)
      const inner = Advantage.gae({ gamma: 0.99, lambda: 0.95 })
      const raw = inner.estimate(trajectories)
      const { advantages, returns } = Advantage.normalized(inner).estimate(trajectories)
      const size = advantages.length
      const mean = advantages.reduce((sum, a) => sum + a, 0) / size
      const std = Math.sqrt(advantages.reduce((sum, a) => sum + (a - mean) ** 2, 0) / size)
      expect(Math.abs(mean)).toBeLessThan(1e-12)
      // std = σ / (σ + ε) with ε = 1e-8.
      expect(Math.abs(std - 1)).toBeLessThan(1e-7)
      expect(returns).toEqual(raw.returns)
      expectClose(returns, addValues(Array.from(raw.advantages), trajectories.values), 0)
      // Order is kept: standardising is an increasing affine map.
      const rawMean = raw.advantages.reduce((sum, a) => sum + a, 0) / size
      const rawStd = Math.sqrt(raw.advantages.reduce((sum, a) => sum + (a - rawMean) ** 2, 0) / size)
      expectClose(advantages, Array.from(raw.advantages, (a) => (a - rawMean) / (rawStd + 1e-8)))
    })

    it("maps a batch of equal advantages to zeros, not NaN", () => {
      // r = V = 0 everywhere, no boundaries, nextV = 0: every δ is 0.
      const zeros: Advantage.Trajectories = {
        numSteps: 3,
        numEnvs: 1,
        rewards: new Float64Array(3),
        values: new Float64Array(3),
        nextValues: new Float64Array(3),
        terminations: flags(0, 0, 0),
        truncations: flags(0, 0, 0)
      }
      expect(Array.from(Advantage.normalized(Advantage.monteCarlo({ gamma: 0.9 })).estimate(zeros).advantages)).toEqual(
        [0, 0, 0]
      )
    })

    it("is a Normalized block that serialises with its inner estimator", () => {
      const estimator = Advantage.normalized(Advantage.gae({ gamma: 0.99, lambda: 0.95 }), { epsilon: 1e-6 })
      expect(JSON.parse(JSON.stringify(estimator))).toEqual({
        _tag: "Normalized",
        inner: { _tag: "Gae", gamma: 0.99, lambda: 0.95 },
        epsilon: 1e-6
      })
      expect(Advantage.normalized(Advantage.monteCarlo({ gamma: 0.9 })).epsilon).toBe(1e-8)
    })
  })
})
