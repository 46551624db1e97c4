import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as MountainCarContinuous from "../../src/envs/MountainCarContinuous.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as Assert from "../reference/Assert.ts"
import * as Contract from "./contract.ts"

// Independent float64 oracle: Gymnasium's continuous_mountain_car.py `step` written out
// directly (`x += …` as x = x + (…), `math.pow(a, 2)` as `a ** 2`, the float32 state as
// Math.fround), sharing nothing with src. `unrounded` is the state before the float32 store.
const oracleStep = (
  s: ReadonlyArray<number>,
  action: number
): { state: Array<number>; unrounded: Array<number>; reward: number; terminated: boolean } => {
  const minAction = -1.0, maxAction = 1.0, power = 0.0015, maxSpeed = 0.07
  const minPosition = -1.2, maxPosition = 0.6, goalPosition = 0.45, goalVelocity = 0
  let position = s[0]!
  let velocity = s[1]!
  const force = Math.min(Math.max(action, minAction), maxAction)
  velocity += force * power - 0.0025 * Math.cos(3 * position)
  if (velocity > maxSpeed) velocity = maxSpeed
  if (velocity < -maxSpeed) velocity = -maxSpeed
  position += velocity
  if (position > maxPosition) position = maxPosition
  if (position < minPosition) position = minPosition
  if (position === minPosition && velocity < 0) velocity = 0
  const terminated = position >= goalPosition && velocity >= goalVelocity
  let reward = 0
  if (terminated) reward = 100.0
  reward -= Math.pow(action, 2) * 0.1
  return { state: [Math.fround(position), Math.fround(velocity)], unrounded: [position, velocity], reward, terminated }
}

// The smallest x in (lo, hi] with pred(x), to adjacent doubles, given !pred(lo) and pred(hi).
const bisect = (lo: number, hi: number, pred: (x: number) => boolean): [number, number] => {
  for (let i = 0; i < 2000; i++) {
    const mid = lo + (hi - lo) / 2
    if (mid === lo || mid === hi) break
    if (pred(mid)) hi = mid
    else lo = mid
  }
  return [lo, hi]
}

const isFloat32 = (v: number): boolean => Math.fround(v) === v

const physical = Contract.physical

const spec: Contract.Spec = {
  id: "MountainCarContinuous-v0",
  make: MountainCarContinuous.make,
  actionSpace: MountainCarContinuous.actionSpace,
  observationSpace: MountainCarContinuous.observationSpace,
  space: "Box(-1, 1, (1,))",
  observe: (state) => state.map(Math.fround),
  act: (action) => [action]
}

describe("MountainCarContinuous", () => {
  describe("constants", () => {
    it("are Gymnasium's", () => {
      expect(MountainCarContinuous.id).toBe("MountainCarContinuous-v0")
      expect([MountainCarContinuous.minAction, MountainCarContinuous.maxAction]).toEqual([-1, 1])
      expect([MountainCarContinuous.minPosition, MountainCarContinuous.maxPosition]).toEqual([-1.2, 0.6])
      expect([MountainCarContinuous.maxSpeed, MountainCarContinuous.goalPosition]).toEqual([0.07, 0.45])
      expect([MountainCarContinuous.goalVelocity, MountainCarContinuous.power]).toEqual([0, 0.0015])
      expect([MountainCarContinuous.gravity, MountainCarContinuous.goalReward]).toEqual([0.0025, 100])
    })

    it("has Gymnasium's Box(-1, 1, (1,)) actions and float32 observation box", () => {
      expect(MountainCarContinuous.actionSpace).toEqual({ _tag: "Box", shape: [1], low: [-1], high: [1] })
      expect(Space.describe(MountainCarContinuous.actionSpace)).toBe("Box(-1, 1, (1,))")
      expect(MountainCarContinuous.observationSpace.low).toEqual([-1.2000000476837158, -0.07000000029802322])
      expect(MountainCarContinuous.observationSpace.high).toEqual([0.6000000238418579, 0.07000000029802322])
      expect(MountainCarContinuous.observationSpace.shape).toEqual([2])
    })
  })

  describe("make", () => {
    Contract.unlimited(spec, { start: { state: [-0.5, 0] }, steps: 1100, action: () => [0] })

    Contract.rejectsOptions(
      MountainCarContinuous.make,
      [{ low: -0.4, high: -0.6 }, { low: Number.NaN }, { high: Infinity }],
      { power: 1 }
    )
  })

  describe("step", () => {
    it("matches the hand-derived transition at p = 0, stored in float32", () => {
      // At p = 0: cos(3·0) = 1. From [0, 0] with a = 1: f = 1,
      //   v' = 0 + (1·0.0015 − 0.0025·1) = −0.001, p' = 0 + v' = −0.001;
      //   reward = 0 − 1²·0.1 = −0.1; the state is stored as float32(−0.001) = −0.0010000000475.
      // With a = −0.5: v' = −0.00075 − 0.0025 = −0.00325, p' = −0.00325, reward −0.025.
      const env = MountainCarContinuous.make()
      env.reset({ state: [0, 0] })
      const right = env.step([1])
      expect(physical(env)).toEqual([Math.fround(-0.001), Math.fround(-0.001)])
      expect(Math.fround(-0.001)).toBe(-0.0010000000474974513)
      expect(Math.abs(right.reward - -0.1)).toBeLessThanOrEqual(1e-17)
      expect(right).toMatchObject({ terminated: false, truncated: false })
      expect(Array.from(right.observation)).toEqual(physical(env))
      env.reset({ state: [0, 0] })
      const half = env.step([-0.5])
      expect(physical(env)).toEqual([Math.fround(-0.00325), Math.fround(-0.00325)])
      expect(Math.abs(half.reward - -0.025)).toBeLessThanOrEqual(1e-17)
    })

    it("moves a = 3 like a = 1 but charges 0.1·3² = 0.9, as Gymnasium's unclipped reward", () => {
      const env = MountainCarContinuous.make()
      for (const [big, clipped] of [[3, 1], [-7, -1], [1.0000001, 1]] as const) {
        env.reset({ state: [-0.3, 0.01] })
        const atLimit = env.step([clipped])
        const moved = physical(env)
        env.reset({ state: [-0.3, 0.01] })
        const beyond = env.step([big])
        expect(physical(env)).toEqual(moved)
        expect(Array.from(beyond.observation)).toEqual(Array.from(atLimit.observation))
        expect(beyond.reward).toBe(0 - big * big * 0.1)
        expect(atLimit.reward).toBe(-0.1)
      }
      env.reset({ state: [-0.3, 0.01] })
      expect(env.step([3]).reward).toBeCloseTo(-0.9, 15)
    })

    it("matches the oracle from non-trivial states", () => {
      const cases: Array<[Array<number>, number]> = [
        [[-0.5, 0], 0.3],
        [[-0.9, -0.03], -1],
        [[0.3, 0.05], 0.7],
        [[-1.19, -0.069], -0.2],
        [[0.44, 0.02], 1.5],
        [[0.1234567891, -0.0123456789], -2.5]
      ]
      Contract.expectOracleSteps(spec, oracleStep, cases, 1e-12)
    })

    it("follows the oracle over a whole 999-step open-loop episode of the registered env", () => {
      // Actions in [−1.5, 1.5): a third of them are clipped.
      Contract.expectOracleEpisode(spec, oracleStep, 999, (u) => 3 * u - 1.5)
    })

    it("is bit-identical to the oracle: Gymnasium's operations in Gymnasium's order", () => {
      // The tolerances above are the contract with Gymnasium, whose libm differs from V8's.
      // Against this oracle, on the same libm, any reordering of the arithmetic shows up
      // (here before the float32 store: the unrounded state decides termination).
      const u = Key.uniforms(Key.make(33), 900)
      const cases = Array.from({ length: 300 }, (_, i) => {
        const s = [-1.3 + 2 * u[3 * i]!, 0.16 * (u[3 * i + 1]! - 0.5)]
        return [s, 4 * (u[3 * i + 2]! - 0.5)] as const
      })
      Contract.expectOracleSteps(spec, oracleStep, cases, 0)
      Contract.expectBitIdenticalEpisode(spec, oracleStep, 999, (a) => 3 * a - 1.5)
    })

    it("follows the oracle through an energy-pumping climb to the flag, paying 100 there", () => {
      // Full force along the velocity (read from the oracle's state: open-loop for the env).
      const env = MountainCarContinuous.make()
      let state = [-0.5, 0]
      env.reset({ state })
      let terminatedAt = -1
      for (let t = 0; t < 999 && terminatedAt < 0; t++) {
        const action = state[1]! >= 0 ? 1 : -1
        const result = env.step([action])
        const expected = oracleStep(state, action)
        state = expected.state
        Assert.expectClose(physical(env), state, 1e-8)
        expect(result.terminated).toBe(expected.terminated)
        expect(result.reward).toBe(expected.reward)
        if (result.terminated) {
          terminatedAt = t
          expect(result.reward).toBe(100 - 0.1)
        } else {
          expect(result.reward).toBe(-0.1)
        }
      }
      expect(terminatedAt).toBeGreaterThan(30)
    })

    it("stores the state as float32 after every step, but keeps the reset state in float64", () => {
      const env = MountainCarContinuous.make()
      const start = env.reset({ key: Key.make(5) })
      const [p0, v0] = physical(env) as [number, number]
      expect(isFloat32(p0)).toBe(false)
      expect(v0).toBe(0)
      expect(Array.from(start)).toEqual([Math.fround(p0), 0])
      const actions = Key.uniforms(Key.make(6), 300)
      let roundedAway = 0
      let state = [p0, v0]
      for (let t = 0; t < 300; t++) {
        const a = 2 * actions[t]! - 1
        const expected = oracleStep(state, a)
        const result = env.step([a])
        const stored = physical(env)
        expect(stored.every(isFloat32)).toBe(true)
        expect(stored).toEqual(expected.state)
        expect(Array.from(result.observation)).toEqual(stored)
        if (expected.unrounded[0] !== stored[0]) roundedAway++
        state = expected.state
      }
      // The rounding is real: the double results are almost never float32 values.
      expect(roundedAway).toBeGreaterThan(290)
    })

    it("terminates on the double position ≥ 0.45 even though float32 stores it below 0.45", () => {
      // float32(0.45) = 0.4499999881 < 0.45. Bisect the start position (v = 0.01, no force)
      // to adjacent doubles around the double p' = 0.45: both sides store and observe the same
      // float32 position 0.4499999881, yet only the side with p' ≥ 0.45 is terminated.
      const env = MountainCarContinuous.make()
      const next = (p: number) => {
        env.reset({ state: [p, 0.01] })
        const result = env.step([0])
        return { stored: physical(env), result, expected: oracleStep([p, 0.01], 0) }
      }
      const [lo, hi] = bisect(0.4, 0.45, (p) => next(p).result.terminated)
      const below = next(lo), at = next(hi)
      // The terminating side lands on p' = 0.45 exactly: ≥, not >.
      expect(at.expected.unrounded[0]).toBe(0.45)
      expect(at.expected.unrounded[1]).toBeGreaterThan(0)
      expect(below.expected.unrounded[0]).toBeLessThan(0.45)
      expect(at.stored[0]).toBe(Math.fround(0.45))
      expect(below.stored[0]).toBe(Math.fround(0.45))
      expect(Math.fround(0.45)).toBeLessThan(0.45)
      expect(Array.from(at.result.observation)).toEqual(Array.from(below.result.observation))
      expect(at.result).toMatchObject({ terminated: true, reward: 100 })
      expect(below.result).toMatchObject({ terminated: false, reward: 0 })
      // v' = 0 exactly at the goal terminates: with no force, v' = v + (0 − 0.0025·cos(3p)).
      const p = 0.5
      env.reset({ state: [p, 0.0025 * Math.cos(3 * p)] })
      expect(env.step([0])).toMatchObject({ terminated: true, reward: 100 })
      expect(physical(env)).toEqual([0.5, 0])
      // Moving left past the goal does not terminate.
      env.reset({ state: [0.55, -0.01] })
      const leaving = env.step([0])
      expect(physical(env)[0]).toBeGreaterThanOrEqual(0.45)
      expect(physical(env)[1]).toBeLessThan(0)
      expect(leaving.terminated).toBe(false)
    })

    it("agrees with the oracle on termination at the goal boundary from many starts", () => {
      // For 400 (v, a), bisect the start position to adjacent doubles around the oracle's
      // p' = 0.45 and compare flags on both sides: the float32 store hides one-ulp differences
      // in the double state, but this boundary sees some of them (`(v + f·power) − …` for
      // Gymnasium's `v += f·power − …` flips 3 of these 800 flags).
      const env = MountainCarContinuous.make()
      for (let i = 0; i < 400; i++) {
        const v0 = 0.003 + 0.00015 * i
        const action = (i % 5) / 2 - 1
        const [lo, hi] = bisect(0.3, 0.45, (p) => oracleStep([p, v0], action).terminated)
        expect(oracleStep([lo, v0], action).terminated).toBe(false)
        expect(oracleStep([hi, v0], action).terminated).toBe(true)
        for (const p of [lo, hi]) {
          env.reset({ state: [p, v0] })
          expect(env.step([action]).terminated).toBe(oracleStep([p, v0], action).terminated)
        }
      }
    })

    it("stops the car at the left wall and stores it at float32(−1.2), left of the wall", () => {
      const env = MountainCarContinuous.make()
      env.reset({ state: [-1.19, -0.05] })
      // v' = −0.05 + (−0.0015 − 0.0025·cos(−3.57)) ≈ −0.0492, so p + v' ≈ −1.239 < −1.2.
      expect(-1.19 + (-0.05 + (-0.0015 - 0.0025 * Math.cos(3 * -1.19)))).toBeLessThan(-1.2)
      const result = env.step([-1])
      expect(physical(env)).toEqual([Math.fround(-1.2), 0])
      expect(Math.fround(-1.2)).toBeLessThan(-1.2)
      expect(Array.from(result.observation)).toEqual([Math.fround(-1.2), 0])
      // From there, pushing left again: the slope (cos(−3.6) < 0) still wins, v' > 0.
      let state = physical(env)
      for (let t = 0; t < 3; t++) {
        env.step([-1])
        state = oracleStep(state, -1).state
        expect(physical(env)).toEqual(state)
      }
      expect(state[1]).toBeGreaterThan(0)
      // Near but not at the wall, a negative velocity is kept.
      env.reset({ state: [-1.1, -0.01] })
      env.step([0])
      expect(physical(env)[0]).toBeGreaterThan(-1.2)
      expect(physical(env)[1]).toBeLessThan(0)
    })

    it("clips the velocity to ±0.07, stored as float32(0.07) = 0.0700000003", () => {
      // At p = −1, gravity adds ≈ +0.00247; from v = 0.07 with full force v' ≈ 0.074 → 0.07.
      const env = MountainCarContinuous.make()
      env.reset({ state: [-1, 0.07] })
      env.step([1])
      expect(physical(env)).toEqual([Math.fround(-1 + 0.07), Math.fround(0.07)])
      expect(physical(env)[1]).toBeGreaterThan(0.07)
      // At p = 0 gravity pulls −0.0025; with full force left from −0.07 it clips to −0.07.
      env.reset({ state: [0, -0.07] })
      env.step([-1])
      expect(physical(env)).toEqual([Math.fround(-0.07), Math.fround(-0.07)])
    })

    Contract.acceptsScalarActions(spec, [-0.5, 0.01], 0.625)
    Contract.rejectsActions(spec, Contract.invalidBoxActions)
    Contract.refusesBeforeReset(spec, [0])
  })

  describe("reset", () => {
    it("draws p = −0.6 + 0.2·Key.uniforms(key, 1)[0] and v = 0, in float64", () => {
      const env = MountainCarContinuous.make()
      Contract.expectKeyedReset(spec, env, Key.make(42), 1, (u) => [-0.6 + (-0.4 - -0.6) * u[0]!, 0])
    })

    it("is deterministic per key, differs across keys and stays within [−0.6, −0.4)", () => {
      Contract.expectKeyedResets(spec)
      Contract.expectResetsWithin(spec, { low: [-0.6, 0], high: [-0.4, 0], spread: [[-0.59, -0.41]] })
    })

    it("uses the low/high options like Gymnasium's reset options", () => {
      const env = MountainCarContinuous.make({ low: -1, high: 0.2 })
      Contract.expectKeyedReset(spec, env, Key.make(3), 1, (u) => [-1 + 1.2 * u[0]!, 0])
    })

    Contract.startsFromStates(
      spec,
      [[-0.123456789123, 0.0123456789], [-3, 0.5]],
      [[0], [0, 0, 0], [Number.NaN, 0], [0, Infinity]]
    )
  })

  describe("snapshot", () => {
    Contract.snapshots(spec, {
      policy: (o) => new Float64Array([40 * o[1]! - 0.1]),
      good: { id: "MountainCarContinuous-v0", state: [-0.5, 0.01], elapsedSteps: 3 },
      otherId: "MountainCar-v0",
      invalidStates: [[0], [0, 0, 0], [0, Number.NaN]]
    })
  })

  describe("Registry.make", () => {
    Contract.truncates(spec, {
      steps: 999,
      // No force: the car just rocks in the valley.
      action: () => [0],
      last: [{ state: [-0.5, 0], action: [0], expected: { terminated: false, truncated: true } }]
    })

    it("passes low and high through", () => {
      const env = Registry.makeUnsafe(Registry.builtins, "MountainCarContinuous-v0", { low: 0.1, high: 0.2 })
      Contract.expectKeyedReset(spec, env, Key.make(1), 1, (u) => [0.1 + (0.2 - 0.1) * u[0]!, 0])
      expect(() => Registry.makeUnsafe(Registry.builtins, "MountainCarContinuous-v0", { goal_velocity: 0 })).toThrow(
        RangeError
      )
    })
  })
})
