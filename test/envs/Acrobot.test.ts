import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Acrobot from "../../src/envs/Acrobot.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as Assert from "../reference/Assert.ts"
import * as Contract from "./contract.ts"

// Independent float64 oracle: Gymnasium's acrobot.py (`_dsdt` "book" branch, `rk4`, `wrap`,
// `bound`, `step`, `_terminal`, `_get_ob`) written out directly on plain arrays, with `**`
// where Gymnasium writes `**`, sharing nothing with src.
const pi = Math.PI
const oracleDsdt = (sAugmented: ReadonlyArray<number>): Array<number> => {
  const m1 = 1.0, m2 = 1.0, l1 = 1.0, lc1 = 0.5, lc2 = 0.5, I1 = 1.0, I2 = 1.0, g = 9.8
  const a = sAugmented[sAugmented.length - 1]!
  const [theta1, theta2, dtheta1, dtheta2] = sAugmented as [number, number, number, number]
  const d1 = m1 * lc1 ** 2 + m2 * (l1 ** 2 + lc2 ** 2 + 2 * l1 * lc2 * Math.cos(theta2)) + I1 + I2
  const d2 = m2 * (lc2 ** 2 + l1 * lc2 * Math.cos(theta2)) + I2
  const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - pi / 2.0)
  const phi1 = -m2 * l1 * lc2 * dtheta2 ** 2 * Math.sin(theta2) -
    2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.sin(theta2) +
    (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - pi / 2) +
    phi2
  const ddtheta2 = (a + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1 ** 2 * Math.sin(theta2) - phi2) /
    (m2 * lc2 ** 2 + I2 - d2 ** 2 / d1)
  const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
  return [dtheta1, dtheta2, ddtheta1, ddtheta2, 0.0]
}
const oracleRk4 = (
  derivs: (y: ReadonlyArray<number>) => Array<number>,
  y0: ReadonlyArray<number>,
  t: ReadonlyArray<number>
): Array<number> => {
  const dt = t[1]! - t[0]!
  const dt2 = dt / 2.0
  const axpy = (y: ReadonlyArray<number>, h: number, k: ReadonlyArray<number>) => y.map((v, i) => v + h * k[i]!)
  const k1 = derivs(y0)
  const k2 = derivs(axpy(y0, dt2, k1))
  const k3 = derivs(axpy(y0, dt2, k2))
  const k4 = derivs(axpy(y0, dt, k3))
  return y0.map((v, i) => v + dt / 6.0 * (k1[i]! + 2 * k2[i]! + 2 * k3[i]! + k4[i]!)).slice(0, 4)
}
const oracleWrap = (x: number, m: number, M: number): number => {
  const diff = M - m
  while (x > M) x = x - diff
  while (x < m) x = x + diff
  return x
}
const oracleBound = (x: number, m: number, M: number): number => Math.min(Math.max(x, m), M)
// The state after RK4, before wrapping and bounding (to see what the bounds did).
const oracleIntegrate = (s: ReadonlyArray<number>, action: number): Array<number> =>
  oracleRk4(oracleDsdt, [...s, [-1.0, 0.0, +1][action]!], [0, 0.2])
const oracleTerminal = (s: ReadonlyArray<number>): boolean => -Math.cos(s[0]!) - Math.cos(s[1]! + s[0]!) > 1.0
const oracleStep = (
  s: ReadonlyArray<number>,
  action: number
): { state: Array<number>; reward: number; terminated: boolean } => {
  const ns = oracleIntegrate(s, action)
  ns[0] = oracleWrap(ns[0]!, -pi, pi)
  ns[1] = oracleWrap(ns[1]!, -pi, pi)
  ns[2] = oracleBound(ns[2]!, -4 * pi, 4 * pi)
  ns[3] = oracleBound(ns[3]!, -9 * pi, 9 * pi)
  const terminated = oracleTerminal(ns)
  return { state: ns, reward: terminated ? 0.0 : -1.0, terminated }
}
const oracleObservation = (s: ReadonlyArray<number>): Array<number> =>
  [Math.cos(s[0]!), Math.sin(s[0]!), Math.cos(s[1]!), Math.sin(s[1]!), s[2]!, s[3]!].map(Math.fround)
// The tip's height above the pivot, in link lengths (the termination rule is height > 1).
const height = (s: ReadonlyArray<number>): number => -Math.cos(s[0]!) - Math.cos(s[1]! + s[0]!)

const physical = Contract.physical

const spec: Contract.Spec = {
  id: "Acrobot-v1",
  make: Acrobot.make,
  actionSpace: Acrobot.actionSpace,
  observationSpace: Acrobot.observationSpace,
  space: "Discrete(3)",
  observe: oracleObservation
}

describe("Acrobot", () => {
  describe("constants", () => {
    it("are Gymnasium's", () => {
      expect(Acrobot.id).toBe("Acrobot-v1")
      expect([Acrobot.dt, Acrobot.linkLength1, Acrobot.linkMass1, Acrobot.linkMass2]).toEqual([0.2, 1, 1, 1])
      expect([Acrobot.linkComPos1, Acrobot.linkComPos2, Acrobot.linkMoi, Acrobot.gravity]).toEqual([0.5, 0.5, 1, 9.8])
      expect([Acrobot.maxVel1, Acrobot.maxVel2]).toEqual([4 * Math.PI, 9 * Math.PI])
      expect(Acrobot.availTorque).toEqual([-1, 0, 1])
    })

    it("has Gymnasium's float32 observation box ±[1, 1, 1, 1, 4π, 9π] and Discrete(3) actions", () => {
      // np.array([1, 1, 1, 1, 4π, 9π], dtype=float32): 4π and 9π round up in float32.
      const high = [1, 1, 1, 1, 12.566370964050293, 28.274333953857422]
      expect(Acrobot.observationSpace.high).toEqual(high)
      expect(Acrobot.observationSpace.low).toEqual(high.map((h) => -h))
      expect(Acrobot.observationSpace.shape).toEqual([6])
      expect(high.map(Math.fround)).toEqual(high)
      expect(Acrobot.actionSpace).toEqual({ _tag: "Discrete", n: 3 })
      expect(Space.describe(Acrobot.actionSpace)).toBe("Discrete(3)")
    })
  })

  describe("make", () => {
    Contract.unlimited(spec, { start: { state: [0, 0, 0, 0] }, steps: 600, action: (t) => t % 3 })

    Contract.rejectsOptions(
      Acrobot.make,
      [{ low: 0.1, high: -0.1 }, { low: Number.NaN }, { high: Infinity }],
      { hihg: 1 }
    )
  })

  describe("dsdt", () => {
    it("matches the hand-derived derivatives at rest, hanging down, with torque +1", () => {
      // θ₁ = θ₂ = θ̇₁ = θ̇₂ = 0, τ = 1: cos θ₂ = 1, sin θ₂ = 0.
      //   d₁ = 1·0.25 + 1·(1 + 0.25 + 2·1·0.5·1) + 1 + 1 = 4.5;  d₂ = 1·(0.25 + 0.5·1) + 1 = 1.75.
      //   φ₂ = 0.5·9.8·cos(−π/2) ≈ 0 and φ₁ = 0 − 0 + 1.5·9.8·cos(−π/2) + φ₂ ≈ 0 (cos(−π/2) is
      //   6.1e−17 in double, so both are ~1e−15, not exactly 0).
      //   θ̈₂ = (1 + (1.75/4.5)·0 − 0 − 0) / (0.25 + 1 − 1.75²/4.5) = 1 / (90/72 − 49/72) = 72/41;
      //   θ̈₁ = −(1.75·72/41 + 0)/4.5 = −(126/41)/4.5 = −28/41.
      // So dsdt = [0, 0, −28/41, 72/41, 0]; torque −1 mirrors it and torque 0 gives ≈ 0.
      Assert.expectClose(Acrobot.dsdt([0, 0, 0, 0, 1]), [0, 0, -28 / 41, 72 / 41, 0], 1e-14)
      Assert.expectClose(Acrobot.dsdt([0, 0, 0, 0, -1]), [0, 0, 28 / 41, -72 / 41, 0], 1e-14)
      Assert.expectClose(Acrobot.dsdt([0, 0, 0, 0, 0]), [0, 0, 0, 0, 0], 1e-14)
      // Velocities at zero angles enter only through sin θ₂ = 0: the accelerations are unchanged.
      Assert.expectClose(Acrobot.dsdt([0, 0, 0.3, -0.7, 1]), [0.3, -0.7, -28 / 41, 72 / 41, 0], 1e-14)
    })

    it("matches the oracle's _dsdt at random states", () => {
      const u = Key.uniforms(Key.make(21), 500)
      for (let i = 0; i < 100; i++) {
        const s = [
          2 * Math.PI * (u[5 * i]! - 0.5),
          2 * Math.PI * (u[5 * i + 1]! - 0.5),
          8 * Math.PI * (u[5 * i + 2]! - 0.5),
          18 * Math.PI * (u[5 * i + 3]! - 0.5),
          Math.floor(3 * u[5 * i + 4]!) - 1
        ]
        Assert.expectClose(Acrobot.dsdt(s), oracleDsdt(s), 1e-12)
      }
      expect(() => Acrobot.dsdt([0, 0, 0, 0])).toThrow(RangeError)
    })
  })

  describe("wrap", () => {
    it("is Gymnasium's repeated ±2π, keeping both ends", () => {
      const twoPi = Math.PI - -Math.PI
      expect(Acrobot.wrap(Math.PI, -Math.PI, Math.PI)).toBe(Math.PI)
      expect(Acrobot.wrap(-Math.PI, -Math.PI, Math.PI)).toBe(-Math.PI)
      expect(Acrobot.wrap(1.5, -Math.PI, Math.PI)).toBe(1.5)
      expect(Acrobot.wrap(4, -Math.PI, Math.PI)).toBe(4 - twoPi)
      expect(Acrobot.wrap(-4, -Math.PI, Math.PI)).toBe(-4 + twoPi)
      // Three rounded subtractions, not one modulo.
      expect(Acrobot.wrap(20, -Math.PI, Math.PI)).toBe(((20 - twoPi) - twoPi) - twoPi)
      expect(Acrobot.wrap(-20, -Math.PI, Math.PI)).toBe(((-20 + twoPi) + twoPi) + twoPi)
      for (const x of [3.2, -3.2, 7, -7, 100, -100]) {
        const w = Acrobot.wrap(x, -Math.PI, Math.PI)
        expect(w).toBe(oracleWrap(x, -Math.PI, Math.PI))
        expect(Math.abs(w)).toBeLessThanOrEqual(Math.PI)
      }
    })
  })

  describe("step", () => {
    it("integrates one RK4 step from rest with torque +1 like the oracle", () => {
      // From [0, 0, 0, 0] with τ = +1: k₁ = dsdt(0) = [0, 0, −28/41, 72/41] (derived above);
      // k₂ = dsdt at [0, 0, −2.8/41, 7.2/41]: the angles are still 0, so (sin θ₂ = 0) the
      // accelerations are again −28/41, 72/41 and k₂ = [−2.8/41, 7.2/41, −28/41, 72/41].
      // k₃ and k₄ see non-zero angles; the oracle finishes the step. To second order in dt the
      // step is θ ≈ θ̈·dt²/2 = [−14/1025, 36/1025], θ̇ ≈ θ̈·dt = [−28/205, 72/205]; gravity's
      // restoring pull over 0.2 s makes the true step a few per cent smaller.
      const env = Acrobot.make()
      env.reset({ state: [0, 0, 0, 0] })
      const result = env.step(2)
      const expected = oracleStep([0, 0, 0, 0], 2)
      Assert.expectClose(physical(env), expected.state, 1e-12)
      Assert.expectClose(physical(env), [-14 / 1025, 36 / 1025, -28 / 205, 72 / 205], 2e-2)
      Assert.expectClose(physical(env).slice(0, 2), [-14 / 1025, 36 / 1025], 1e-3)
      expect(result).toMatchObject({ reward: -1, terminated: false, truncated: false })
      expect(Array.from(result.observation)).toEqual(oracleObservation(expected.state))
    })

    it("matches the oracle from non-trivial states, for every action", () => {
      const states = [[0.3, -0.7, 1.2, -2.5], [2.9, 1.1, -5, 12], [-3.1, 3.1, 12, -27], [1.2, 0.4, 0, 0]]
      const cases = states.flatMap((state) => [0, 1, 2].map((action) => [state, action] as const))
      Contract.expectOracleSteps(spec, oracleStep, cases, 1e-12)
    })

    it("follows the oracle over a whole 500-step open-loop episode of the registered env", () => {
      Contract.expectOracleEpisode(spec, oracleStep, 500, (u) => Math.floor(3 * u))
    })

    it("is bit-identical to the oracle: Gymnasium's operations in Gymnasium's order", () => {
      // The tolerances above are the contract with Gymnasium, whose libm differs from V8's.
      // Against this oracle, on the same libm, any reordering of the arithmetic shows up.
      const u = Key.uniforms(Key.make(33), 1500)
      const cases = Array.from({ length: 300 }, (_, i) => {
        const s = [0, 1, 2, 3].map((j) => [8, 8, 30, 60][j]! * (u[5 * i + j]! - 0.5))
        return [s, Math.floor(3 * u[5 * i + 4]!)] as const
      })
      for (const [s, action] of cases) {
        const augmented = [...s, action - 1]
        expect(Array.from(Acrobot.dsdt(augmented))).toEqual(oracleDsdt(augmented))
      }
      Contract.expectOracleSteps(spec, oracleStep, cases, 0)
      Contract.expectBitIdenticalEpisode(spec, oracleStep, 500, (a) => Math.floor(3 * a))
    })

    it("follows the oracle through a swing-up to termination", () => {
      // Torque along θ̇₂ (read from the oracle's state, so the env is driven open-loop) pumps
      // energy in and lifts the tip above the bar within 100 steps.
      const env = Acrobot.make()
      let state = [0.01, 0, 0, 0]
      env.reset({ state })
      let terminatedAt = -1
      for (let t = 0; t < 100 && terminatedAt < 0; t++) {
        const action = state[3]! > 0 ? 2 : 0
        const result = env.step(action)
        const expected = oracleStep(state, action)
        state = expected.state
        Assert.expectClose(physical(env), state, 1e-8)
        expect(result.terminated).toBe(expected.terminated)
        expect(result.reward).toBe(expected.terminated ? 0 : -1)
        if (result.terminated) terminatedAt = t
      }
      expect(terminatedAt).toBeGreaterThan(10)
      expect(height(physical(env))).toBeGreaterThan(1)
    })

    it("terminates strictly when the tip's height −cos θ₁ − cos(θ₁ + θ₂) exceeds 1", () => {
      // Starting at rest at θ₁ = x, θ₂ = 0, the arm falls back a little in one step; the tip's
      // height afterwards increases with x. Bisect x to adjacent doubles around height 1.
      const env = Acrobot.make()
      const after = (x: number): { h: number; result: Env.Step } => {
        env.reset({ state: [x, 0, 0, 0] })
        const result = env.step(1)
        return { h: height(physical(env)), result }
      }
      let lo = 2 * Math.PI / 3 - 0.3, hi = 2 * Math.PI / 3 + 0.3
      expect(after(lo).h).toBeLessThan(1)
      expect(after(hi).h).toBeGreaterThan(1)
      for (let i = 0; i < 200; i++) {
        const mid = lo + (hi - lo) / 2
        if (mid === lo || mid === hi) break
        if (after(mid).h > 1) hi = mid
        else lo = mid
      }
      const below = after(lo), above = after(hi)
      // The lower side lands on height exactly 1 (in double), which does not terminate.
      expect(below.h).toBe(1)
      expect(above.h).toBeGreaterThan(1)
      expect(above.h - 1).toBeLessThan(1e-14)
      expect(below.result).toMatchObject({ terminated: false, reward: -1 })
      expect(above.result).toMatchObject({ terminated: true, reward: 0 })
      // Upright at rest: terminated; and stepping on keeps paying 0 while terminated.
      env.reset({ state: [Math.PI, 0, 0, 0] })
      expect(env.step(1)).toMatchObject({ terminated: true, reward: 0, truncated: false })
      expect(env.step(1)).toMatchObject({ terminated: true, reward: 0 })
    })

    it("wraps the angles into [−π, π] by repeated ±2π", () => {
      const twoPi = Math.PI - -Math.PI
      const env = Acrobot.make()
      // Across +π and −π in one step.
      for (const state of [[Math.PI - 0.01, -Math.PI + 0.02, 3, -4], [-Math.PI + 0.01, Math.PI - 0.02, -3, 4]]) {
        env.reset({ state })
        env.step(1)
        const raw = oracleIntegrate(state, 1)
        expect(Math.abs(raw[0]!)).toBeGreaterThan(Math.PI)
        expect(Math.abs(raw[1]!)).toBeGreaterThan(Math.PI)
        const [th1, th2] = physical(env) as [number, number]
        expect(th1).toBe(raw[0]! > 0 ? raw[0]! - twoPi : raw[0]! + twoPi)
        expect(th2).toBe(raw[1]! > 0 ? raw[1]! - twoPi : raw[1]! + twoPi)
      }
      // An explicit state far outside: three subtractions, each rounded.
      env.reset({ state: [20, -20, 0, 0] })
      env.step(0)
      const raw = oracleIntegrate([20, -20, 0, 0], 0)
      const [th1, th2] = physical(env) as [number, number]
      expect(th1).toBe(((raw[0]! - twoPi) - twoPi) - twoPi)
      expect(th2).toBe(((raw[1]! + twoPi) + twoPi) + twoPi)
      expect(Math.max(Math.abs(th1), Math.abs(th2))).toBeLessThanOrEqual(Math.PI)
    })

    it("clips θ̇₁ to ±4π and θ̇₂ to ±9π after the step", () => {
      const env = Acrobot.make()
      for (const [state, clipped] of [
        [[0, 0, 20, -40], [4 * Math.PI, -9 * Math.PI]],
        [[0, 0, -20, 40], [-4 * Math.PI, 9 * Math.PI]]
      ] as const) {
        env.reset({ state })
        const result = env.step(1)
        const raw = oracleIntegrate(state, 1)
        expect(Math.abs(raw[2]!)).toBeGreaterThan(4 * Math.PI)
        expect(Math.abs(raw[3]!)).toBeGreaterThan(9 * Math.PI)
        expect(physical(env).slice(2)).toEqual(clipped)
        // The float32 observation is exactly the box's bound.
        expect(Math.abs(result.observation[4]!)).toBe(Acrobot.observationSpace.high[4])
        expect(Math.abs(result.observation[5]!)).toBe(Acrobot.observationSpace.high[5])
      }
      // Inside the bounds nothing is clipped or wrapped: the state is what RK4 made it.
      env.reset({ state: [0, 0, 1, -1] })
      env.step(1)
      expect(physical(env)).toEqual(oracleIntegrate([0, 0, 1, -1], 1))
    })

    it("is mirror-symmetric: (−s, −τ) gives the mirrored next state", () => {
      const env = Acrobot.make(), mirror = Acrobot.make()
      const u = Key.uniforms(Key.make(5), 500)
      for (let i = 0; i < 100; i++) {
        const s = [0, 1, 2, 3].map((j) => 4 * (u[5 * i + j]! - 0.5))
        const action = Math.floor(3 * u[5 * i + 4]!)
        env.reset({ state: s })
        mirror.reset({ state: s.map((v) => -v) })
        const r = env.step(action), m = mirror.step(2 - action)
        Assert.expectClose(physical(mirror), physical(env).map((v) => -v), 1e-13)
        expect(m.terminated).toBe(r.terminated)
      }
    })

    Contract.rejectsActions(spec, [3, -1, 0.5, Number.NaN, Infinity, [1], [0]])
    Contract.refusesBeforeReset(spec, 1)
  })

  describe("reset", () => {
    it("draws float32(low + (high − low)·Key.uniforms(key, 4)[i]), float64 after the first step", () => {
      const env = Acrobot.make()
      const key = Key.make(42)
      const draw = (u: Float64Array) => Array.from(u, (ui) => Math.fround(-0.1 + (0.1 - -0.1) * ui))
      const expected = Contract.expectKeyedReset(spec, env, key, 4, draw)
      expect(expected).not.toEqual(Array.from(Key.uniforms(key, 4), (ui) => -0.1 + (0.1 - -0.1) * ui))
      // The first step integrates the float32 state in double and keeps the double.
      env.step(2)
      const next = physical(env)
      expect(next).toEqual(oracleStep(expected, 2).state)
      expect(next.map(Math.fround)).not.toEqual(next)
    })

    it("is deterministic per key, differs across keys and stays within float32 ±0.1", () => {
      Contract.expectKeyedResets(spec)
      const a = Acrobot.make()
      const key = Key.make(7)
      let min = Infinity, max = -Infinity
      for (let i = 0; i < 200; i++) {
        a.reset({ key: Key.foldIn(key, i) })
        for (const v of physical(a)) {
          expect(Math.fround(v)).toBe(v)
          expect(Math.abs(v)).toBeLessThanOrEqual(Math.fround(0.1))
          min = Math.min(min, v)
          max = Math.max(max, v)
        }
      }
      expect([min < -0.099, max > 0.099]).toEqual([true, true])
    })

    it("uses the low/high options like Gymnasium's reset options", () => {
      const env = Acrobot.make({ low: -1, high: 0.5 })
      Contract.expectKeyedReset(spec, env, Key.make(3), 4, (u) => Array.from(u, (ui) => Math.fround(-1 + 1.5 * ui)))
    })

    // Exactly: not rounded, not wrapped.
    Contract.startsFromStates(
      spec,
      [[0.1234567891234, -0.987654321987, 1.1111111111, -2.2222222222], [7, -7, 20, -40]],
      [[0, 0, 0], [0, 0, 0, 0, 0], [0, Number.NaN, 0, 0], [0, 0, Infinity, 0]]
    )
  })

  describe("snapshot", () => {
    Contract.snapshots(spec, {
      policy: (o) => (o[5]! > 0 ? 2 : o[5]! < -1 ? 0 : 1),
      good: { id: "Acrobot-v1", state: [0.5, -0.5, 1, -1], elapsedSteps: 3 },
      otherId: "CartPole-v1",
      invalidStates: [[0, 0, 0], [0, 0, 0, 0, 0], [0, 0, Number.NaN, 0]]
    })
  })

  describe("Registry.make", () => {
    Contract.truncates(spec, {
      steps: 500,
      // Torque 0 from near rest: the arm never rises far enough to terminate.
      action: () => 1,
      last: [{ state: [0, 0, 0, 0], action: 1, expected: { terminated: false, truncated: true, reward: -1 } }]
    })

    it("passes low and high through", () => {
      const env = Registry.makeUnsafe(Registry.builtins, "Acrobot-v1", { low: 0.2, high: 0.3 })
      Contract.expectKeyedReset(spec, env, Key.make(1), 4, (u) => Array.from(u, (ui) => Math.fround(0.2 + 0.1 * ui)))
      expect(() => Registry.makeUnsafe(Registry.builtins, "Acrobot-v1", { torque_noise_max: 0.1 })).toThrow(RangeError)
    })
  })
})
