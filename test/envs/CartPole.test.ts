import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as CartPole from "../../src/envs/CartPole.ts"
import type * as Env from "../../src/envs/Env.ts"
import * as Contract from "./contract.ts"

// Independent float64 oracle: the equations of Gymnasium's cartpole.py written out directly
// (with `**2` where Gymnasium writes `**2`), sharing nothing with src.
const oracleStep = (s: ReadonlyArray<number>, action: 0 | 1): Array<number> => {
  const [x, xDot, th, thDot] = s as [number, number, number, number]
  const g = 9.8, mc = 1.0, mp = 0.1, l = 0.5, dt = 0.02
  const M = mp + mc
  const F = action === 1 ? 10 : -10
  const c = Math.cos(th), sn = Math.sin(th)
  const temp = (F + mp * l * thDot ** 2 * sn) / M
  const thAcc = (g * sn - c * temp) / (l * (4 / 3 - (mp * c ** 2) / M))
  const xAcc = temp - (mp * l * thAcc * c) / M
  return [x + dt * xDot, xDot + dt * xAcc, th + dt * thDot, thDot + dt * thAcc]
}
const THETA_LIMIT = (12 * 2 * Math.PI) / 360
const oracleTerminated = (s: ReadonlyArray<number>): boolean =>
  Math.abs(s[0]!) > 2.4 || Math.abs(s[2]!) > THETA_LIMIT

// The next double away from zero (one ulp larger in magnitude).
const awayFromZero = (v: number): number => {
  const bits = new BigInt64Array(new Float64Array([v]).buffer)
  bits[0] = bits[0]! + 1n
  return new Float64Array(bits.buffer)[0]!
}

const physical = (env: Env.Env): Array<number> => env.snapshot().state.slice(0, 4)

const expectClose = (actual: ReadonlyArray<number>, expected: ReadonlyArray<number>, tolerance: number): void => {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i]! - expected[i]!)).toBeLessThanOrEqual(tolerance)
}

const spec: Contract.Spec = {
  id: "CartPole-v1",
  make: CartPole.make,
  actionSpace: CartPole.actionSpace,
  observationSpace: CartPole.observationSpace,
  space: "Discrete(2)",
  observe: (state) => state.map(Math.fround),
  physical
}

describe("CartPole", () => {
  describe("constants", () => {
    it("are Gymnasium's", () => {
      expect(CartPole.id).toBe("CartPole-v1")
      expect([CartPole.gravity, CartPole.massCart, CartPole.massPole, CartPole.length]).toEqual([9.8, 1.0, 0.1, 0.5])
      expect([CartPole.forceMag, CartPole.tau, CartPole.xThreshold]).toEqual([10, 0.02, 2.4])
      expect(CartPole.totalMass).toBe(1.1)
      expect(CartPole.poleMassLength).toBe(0.05)
      // 12° = π/15 rad.
      expect(CartPole.thetaThresholdRadians).toBeCloseTo(Math.PI / 15, 15)
      expect(CartPole.thetaThresholdRadians).toBe(THETA_LIMIT)
    })

    it("has Gymnasium's float32 observation box and Discrete(2) actions", () => {
      // np.array([4.8, finfo(float32).max, 2·12°, finfo(float32).max], dtype=float32).
      const f32max = 3.4028234663852886e38
      const high = [Math.fround(4.8), f32max, Math.fround(0.41887902047863906), f32max]
      expect(CartPole.observationSpace.high).toEqual(high)
      expect(CartPole.observationSpace.low).toEqual(high.map((h) => -h))
      expect(CartPole.observationSpace.shape).toEqual([4])
      expect(Math.abs(CartPole.observationSpace.high[2]! - 0.41887903)).toBeLessThan(1e-7)
      expect(CartPole.actionSpace).toEqual({ _tag: "Discrete", n: 2 })
    })
  })

  describe("make", () => {
    // Long past termination: never truncated.
    Contract.unlimited(spec, { start: { state: [0, 0, 0, 0] }, steps: 1000, action: (t) => t % 2 })

    Contract.rejectsOptions(
      CartPole.make,
      [{ low: 0.1, high: -0.1 }, { low: Number.NaN }, { high: Infinity }],
      { hihg: 1 }
    )
  })

  describe("step", () => {
    it("matches the hand-derived transition from rest", () => {
      // From [0, 0, 0, 0]: sin θ = 0, cos θ = 1.
      // Action 1 (F = +10): temp = 10/1.1 = 100/11;
      //   θ̈ = (0 − 1·temp) / (0.5·(4/3 − 0.1/1.1)) = −(100/11) / (41/66) = −600/41;
      //   ẍ = temp − 0.05·θ̈/1.1 = 100/11 + 300/451 = 400/41.
      //   Next state [0, 0.02·ẍ, 0, 0.02·θ̈] = [0, 8/41, 0, −12/41].
      // Action 0 (F = −10) mirrors it: [0, −8/41, 0, 12/41].
      const env = CartPole.make()
      env.reset({ state: [0, 0, 0, 0] })
      const right = env.step(1)
      expectClose(physical(env), [0, 8 / 41, 0, -12 / 41], 1e-12)
      expect(right.reward).toBe(1)
      expect(right.terminated).toBe(false)
      expect(right.truncated).toBe(false)
      env.reset({ state: [0, 0, 0, 0] })
      env.step(0)
      expectClose(physical(env), [0, -8 / 41, 0, 12 / 41], 1e-12)
    })

    it("matches the float64 oracle from non-trivial states", () => {
      const env = CartPole.make()
      const cases: Array<[Array<number>, 0 | 1]> = [
        [[0.3, -0.7, 0.12, 1.5], 0],
        [[0.3, -0.7, 0.12, 1.5], 1],
        [[-1.1, 0.9, -0.15, -0.8], 1],
        [[2.0, 1.3, 0.2, -2.1], 0]
      ]
      for (const [state, action] of cases) {
        env.reset({ state })
        const result = env.step(action)
        const expected = oracleStep(state, action)
        expectClose(physical(env), expected, 1e-12)
        expect(result.terminated).toBe(oracleTerminated(expected))
      }
    })

    it("follows the oracle over a whole 500-step episode", () => {
      const env = CartPole.make()
      let state = [0.01, -0.02, 0.03, 0.04]
      env.reset({ state })
      // Actions come from a linear controller on the oracle's state, so the env is driven
      // open-loop; the controller keeps the pole up for all 500 steps.
      for (let t = 0; t < 500; t++) {
        const action: 0 | 1 = 0.1 * state[0]! + 0.2 * state[1]! + state[2]! + 0.3 * state[3]! > 0 ? 1 : 0
        const result = env.step(action)
        state = oracleStep(state, action)
        expectClose(physical(env), state, 1e-8)
        expect(result.terminated).toBe(false)
        expect(oracleTerminated(state)).toBe(false)
        expect(result.reward).toBe(1)
      }
    })

    it("returns the float32 rounding of the state as the observation", () => {
      const env = CartPole.make()
      const state = [0.1234567891234, -0.987654321987, 0.0333333333333, 1.111111111111]
      const first = env.reset({ state })
      expect(first).toBeInstanceOf(Float32Array)
      expect(Array.from(first)).toEqual(state.map(Math.fround))
      const result = env.step(1)
      expect(result.observation).toBeInstanceOf(Float32Array)
      expect(Array.from(result.observation)).toEqual(physical(env).map(Math.fround))
      expect(Array.from(result.observation)).toEqual(oracleStep(state, 1).map(Math.fround))
    })

    it("terminates strictly beyond |x| = 2.4", () => {
      const env = CartPole.make()
      // With ẋ = 0 the position does not move in one Euler step: x' = x exactly.
      for (const edge of [2.4, -2.4]) {
        env.reset({ state: [edge, 0, 0, 0] })
        const at = env.step(1)
        expect(physical(env)[0]).toBe(edge)
        expect(at.terminated).toBe(false)
        env.reset({ state: [awayFromZero(edge), 0, 0, 0] })
        const beyond = env.step(1)
        expect(beyond.terminated).toBe(true)
        expect(beyond.reward).toBe(1)
      }
    })

    it("terminates strictly beyond |θ| = 12°", () => {
      const env = CartPole.make()
      // With θ̇ = 0 the angle does not move in one Euler step: θ' = θ exactly.
      for (const edge of [THETA_LIMIT, -THETA_LIMIT]) {
        env.reset({ state: [0, 0, edge, 0] })
        const at = env.step(0)
        expect(physical(env)[2]).toBe(edge)
        expect(at.terminated).toBe(false)
        env.reset({ state: [0, 0, awayFromZero(edge), 0] })
        const beyond = env.step(0)
        expect(beyond.terminated).toBe(true)
        expect(beyond.reward).toBe(1)
      }
    })

    it("pays 1 on the terminating step and 0 on later terminated steps, as Gymnasium", () => {
      const env = CartPole.make()
      env.reset({ state: [2.39, 1, 0, 0] })
      const fell = env.step(1)
      expect(fell.terminated).toBe(true)
      expect(fell.reward).toBe(1)
      const after = env.step(1)
      expect(after.terminated).toBe(true)
      expect(after.reward).toBe(0)
      // A reset clears it.
      env.reset({ state: [2.39, 1, 0, 0] })
      expect(env.step(1).reward).toBe(1)
    })

    Contract.rejectsActions(spec, [2, -1, 0.5, Number.NaN, [1], [0]])
    Contract.refusesBeforeReset(spec, 1)
  })

  describe("reset", () => {
    it("draws low + (high − low)·Key.uniforms(key, 4)[i]", () => {
      const draw = (u: Float64Array) => Array.from(u, (ui) => -0.05 + (0.05 - -0.05) * ui)
      Contract.expectKeyedReset(spec, CartPole.make(), Key.make(42), 4, draw)
    })

    it("is deterministic per key, differs across keys and stays within ±0.05", () => {
      Contract.expectKeyedResets(spec)
      Contract.expectResetsWithin(spec, { low: [-0.05, -0.05, -0.05, -0.05], high: [0.05, 0.05, 0.05, 0.05] })
    })

    it("uses the low/high options like Gymnasium's reset options", () => {
      const env = CartPole.make({ low: 0.1, high: 0.3 })
      Contract.expectKeyedReset(spec, env, Key.make(3), 4, (u) => Array.from(u, (ui) => 0.1 + (0.3 - 0.1) * ui))
    })

    Contract.startsFromStates(
      spec,
      [[0.1, 0.2, -0.03, 0.4]],
      [[0, 0, 0], [0, 0, 0, 0, 0], [0, Number.NaN, 0, 0], [0, 0, Infinity, 0]]
    )
  })

  describe("snapshot", () => {
    Contract.snapshots(spec, {
      policy: (o) => (0.1 * o[0]! + 0.2 * o[1]! + o[2]! + 0.3 * o[3]! > 0 ? 1 : 0),
      good: { id: "CartPole-v1", state: [0, 0, 0, 0, 0], elapsedSteps: 3 },
      otherId: "Pendulum-v1",
      invalidStates: [[0, 0, 0], [0, 0, Number.NaN, 0], [0, 0, 0, 0, 2]]
    })

    it("carries the terminated flag, so later rewards stay 0", () => {
      const env = CartPole.make()
      env.reset({ state: [2.39, 1, 0, 0] })
      env.step(1)
      const snapshot = env.snapshot()
      expect(snapshot.state[4]).toBe(1)
      const copy = CartPole.make()
      copy.restore(snapshot)
      expect(copy.step(1).reward).toBe(0)
      // The 4 physical components alone restore a not-yet-terminated episode.
      copy.restore({ ...snapshot, state: snapshot.state.slice(0, 4) })
      expect(copy.step(1).reward).toBe(1)
    })
  })
})
