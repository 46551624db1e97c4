import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as MountainCar from "../../src/envs/MountainCar.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as Assert from "../reference/Assert.ts"
import * as Contract from "./contract.ts"

// Independent float64 oracle: Gymnasium's mountain_car.py `step` written out directly
// (`x += …` as x = x + (…), np.clip as min(max(·))), sharing nothing with src.
const npClip = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi)
const oracleStep = (
  s: ReadonlyArray<number>,
  action: number
): { state: Array<number>; reward: number; terminated: boolean } => {
  const force = 0.001, gravity = 0.0025, maxSpeed = 0.07, minPosition = -1.2, maxPosition = 0.6
  let [position, velocity] = s as [number, number]
  velocity += (action - 1) * force + Math.cos(3 * position) * (-gravity)
  velocity = npClip(velocity, -maxSpeed, maxSpeed)
  position += velocity
  position = npClip(position, minPosition, maxPosition)
  if (position === minPosition && velocity < 0) velocity = 0
  const terminated = position >= 0.5 && velocity >= 0
  return { state: [position, velocity], reward: -1.0, terminated }
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

const physical = Contract.physical

const spec: Contract.Spec = {
  id: "MountainCar-v0",
  make: MountainCar.make,
  actionSpace: MountainCar.actionSpace,
  observationSpace: MountainCar.observationSpace,
  space: "Discrete(3)",
  observe: (state) => state.map(Math.fround)
}

describe("MountainCar", () => {
  describe("constants", () => {
    it("are Gymnasium's", () => {
      expect(MountainCar.id).toBe("MountainCar-v0")
      expect([MountainCar.minPosition, MountainCar.maxPosition, MountainCar.maxSpeed]).toEqual([-1.2, 0.6, 0.07])
      expect([MountainCar.goalPosition, MountainCar.goalVelocity]).toEqual([0.5, 0])
      expect([MountainCar.force, MountainCar.gravity]).toEqual([0.001, 0.0025])
    })

    it("has Gymnasium's float32 observation box and Discrete(3) actions", () => {
      // np.array([-1.2, -0.07]) and np.array([0.6, 0.07]) with dtype=float32.
      expect(MountainCar.observationSpace.low).toEqual([-1.2000000476837158, -0.07000000029802322])
      expect(MountainCar.observationSpace.high).toEqual([0.6000000238418579, 0.07000000029802322])
      expect(MountainCar.observationSpace.shape).toEqual([2])
      expect(MountainCar.actionSpace).toEqual({ _tag: "Discrete", n: 3 })
      expect(Space.describe(MountainCar.actionSpace)).toBe("Discrete(3)")
    })
  })

  describe("make", () => {
    Contract.unlimited(spec, { start: { state: [-0.5, 0] }, steps: 300, action: () => 1 })

    Contract.rejectsOptions(
      MountainCar.make,
      [{ low: -0.4, high: -0.6 }, { low: Number.NaN }, { high: -Infinity }],
      { goal_velocity: 0.1 }
    )
  })

  describe("step", () => {
    it("matches the hand-derived transitions at the valley's inflection point p = 0", () => {
      // At p = 0: cos(3·0) = 1, so gravity contributes exactly −0.0025.
      // From [0, 0]: action 2: v' = 0 + (0.001 − 0.0025) = −0.0015, p' = −0.0015;
      //   action 1: v' = 0 + (0 − 0.0025) = −0.0025, p' = −0.0025;
      //   action 0: v' = 0 + (−0.001 − 0.0025) = −0.0035, p' = −0.0035.
      // Reward −1, not terminated (p' < 0.5).
      const env = MountainCar.make()
      for (const [action, v] of [[2, 0.001 - 0.0025], [1, -0.0025], [0, -0.001 - 0.0025]] as const) {
        env.reset({ state: [0, 0] })
        const result = env.step(action)
        expect(physical(env)).toEqual([v, v])
        expect(result).toMatchObject({ reward: -1, terminated: false, truncated: false })
        expect(Array.from(result.observation)).toEqual([Math.fround(v), Math.fround(v)])
      }
      Assert.expectClose([0.001 - 0.0025, -0.001 - 0.0025], [-0.0015, -0.0035], 1e-18)
    })

    it("matches the oracle from non-trivial states, for every action", () => {
      const states = [[-0.5, 0], [-0.9, -0.03], [0.3, 0.05], [-1.19, -0.069], [0.45, 0.069]]
      const cases = states.flatMap((state) => [0, 1, 2].map((action) => [state, action] as const))
      Contract.expectOracleSteps(spec, oracleStep, cases, 1e-12)
    })

    it("follows the oracle over a whole 200-step open-loop episode of the registered env", () => {
      Contract.expectOracleEpisode(spec, oracleStep, 200, (u) => Math.floor(3 * u))
    })

    it("is bit-identical to the oracle: Gymnasium's operations in Gymnasium's order", () => {
      // The tolerances above are the contract with Gymnasium, whose libm differs from V8's.
      // Against this oracle, on the same libm, any reordering of the arithmetic shows up.
      const u = Key.uniforms(Key.make(33), 900)
      const cases = Array.from({ length: 300 }, (_, i) => {
        const s = [-1.3 + 2 * u[3 * i]!, 0.16 * (u[3 * i + 1]! - 0.5)]
        return [s, Math.floor(3 * u[3 * i + 2]!)] as const
      })
      Contract.expectOracleSteps(spec, oracleStep, cases, 0)
      Contract.expectBitIdenticalEpisode(spec, oracleStep, 200, (a) => Math.floor(3 * a))
    })

    it("follows the oracle through an energy-pumping climb to the goal", () => {
      // Push along the velocity (read from the oracle's state: open-loop for the env): the car
      // rocks up the hill and reaches the flag within 200 steps, bouncing off the left wall.
      const env = MountainCar.make()
      let state = [-0.55, 0]
      env.reset({ state })
      let terminatedAt = -1, wallHits = 0
      for (let t = 0; t < 200 && terminatedAt < 0; t++) {
        const action = state[1]! > 0 ? 2 : 0
        const result = env.step(action)
        const expected = oracleStep(state, action)
        state = expected.state
        Assert.expectClose(physical(env), state, 1e-8)
        expect(result.terminated).toBe(expected.terminated)
        if (result.terminated) terminatedAt = t
        if (state[0] === -1.2) wallHits++
      }
      expect(terminatedAt).toBeGreaterThan(50)
      expect(physical(env)[0]).toBeGreaterThanOrEqual(0.5)
      expect(wallHits).toBeGreaterThan(0)
    })

    it("terminates from p = 0.5 with v ≥ 0, not just below it, and not with v < 0", () => {
      const env = MountainCar.make()
      const next = (state: ReadonlyArray<number>, action: number) => {
        env.reset({ state })
        const result = env.step(action)
        return { state: physical(env), result }
      }
      // From rest-ish with v = 0.01 and no push, bisect the start position to adjacent
      // doubles around p' = 0.5.
      const [lo, hi] = bisect(0.45, 0.5, (p) => next([p, 0.01], 1).state[0]! >= 0.5)
      const below = next([lo, 0.01], 1), at = next([hi, 0.01], 1)
      expect(at.state[0]).toBe(0.5)
      expect(below.state[0]).toBeLessThan(0.5)
      expect(below.state[0]).toBeGreaterThan(0.5 - 1e-15)
      expect(at.state[1]).toBeGreaterThan(0)
      expect(at.result).toMatchObject({ terminated: true, reward: -1 })
      expect(below.result).toMatchObject({ terminated: false, reward: -1 })
      // v' = 0 exactly at the goal terminates (goal_velocity 0, v ≥ 0): with no push,
      // v' = v + (0 + cos(3p)·(−0.0025)), so v = −cos(3p)·(−0.0025) cancels it.
      const p = 0.55
      const zero = next([p, -(Math.cos(3 * p) * -0.0025)], 1)
      expect(zero.state).toEqual([p, 0])
      expect(zero.result.terminated).toBe(true)
      // Moving left past the goal does not terminate, on either side of it.
      const leaving = next([0.55, -0.01], 1)
      expect(leaving.state[0]).toBeGreaterThanOrEqual(0.5)
      expect(leaving.state[1]).toBeLessThan(0)
      expect(leaving.result.terminated).toBe(false)
      // Past the right end: clipped to 0.6, still terminated.
      const end = next([0.59, 0.05], 2)
      expect(end.state[0]).toBe(0.6)
      expect(end.result.terminated).toBe(true)
    })

    it("clips the velocity to ±0.07 before moving", () => {
      // At p = −1: cos(−3) ≈ −0.99, so gravity adds ≈ +0.00247; with a push right from 0.07
      // the velocity would be ≈ 0.0735 and is clipped to 0.07, then p' = −1 + 0.07.
      const env = MountainCar.make()
      env.reset({ state: [-1, 0.07] })
      env.step(2)
      expect(physical(env)).toEqual([-1 + 0.07, 0.07])
      // At p = 0 gravity pulls −0.0025; with a push left from −0.07 it clips to −0.07.
      env.reset({ state: [0, -0.07] })
      env.step(0)
      expect(physical(env)).toEqual([-0.07, -0.07])
    })

    it("stops the car at the left wall: p = −1.2 and v < 0 set v = 0", () => {
      const env = MountainCar.make()
      env.reset({ state: [-1.19, -0.05] })
      const result = env.step(0)
      // v' = −0.05 + (−0.001 + cos(−3.57)·(−0.0025)) ≈ −0.0488, so p + v' ≈ −1.239 < −1.2.
      const v = -0.05 + (-0.001 + Math.cos(3 * -1.19) * -0.0025)
      expect(-1.19 + v).toBeLessThan(-1.2)
      expect(physical(env)).toEqual([-1.2, 0])
      expect(Array.from(result.observation)).toEqual([Math.fround(-1.2), 0])
      // At the wall a push right leaves: v > 0 is kept.
      env.step(2)
      const [p, v2] = physical(env) as [number, number]
      expect(v2).toBeGreaterThan(0)
      expect(p).toBe(-1.2 + v2)
      // Near but not at the wall, a negative velocity is kept.
      env.reset({ state: [-1.1, -0.01] })
      env.step(1)
      expect(physical(env)[0]).toBeGreaterThan(-1.2)
      expect(physical(env)[1]).toBeLessThan(0)
    })

    Contract.rejectsActions(spec, [3, -1, 1.5, Number.NaN, [1], [2]])
    Contract.refusesBeforeReset(spec, 1)
  })

  describe("reset", () => {
    it("draws p = −0.6 + 0.2·Key.uniforms(key, 1)[0] and v = 0", () => {
      Contract.expectKeyedReset(spec, MountainCar.make(), Key.make(42), 1, (u) => [-0.6 + (-0.4 - -0.6) * u[0]!, 0])
    })

    it("is deterministic per key, differs across keys and stays within [−0.6, −0.4)", () => {
      Contract.expectKeyedResets(spec)
      Contract.expectResetsWithin(spec, { low: [-0.6, 0], high: [-0.4, 0], spread: [[-0.59, -0.41]] })
    })

    it("uses the low/high options like Gymnasium's reset options", () => {
      const env = MountainCar.make({ low: -1, high: 0.2 })
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
      policy: (o) => (o[1]! > 0.001 ? 2 : o[1]! < -0.001 ? 0 : 1),
      good: { id: "MountainCar-v0", state: [-0.5, 0.01], elapsedSteps: 3 },
      otherId: "MountainCarContinuous-v0",
      invalidStates: [[0], [0, 0, 0], [0, Number.NaN]]
    })
  })

  describe("Registry.make", () => {
    Contract.truncates(spec, {
      steps: 200,
      // No push: the car just rocks in the valley.
      action: () => 1,
      last: [
        { state: [-0.5, 0], action: 1, expected: { terminated: false, truncated: true, reward: -1 } },
        // Termination and truncation on the same step are both reported.
        { state: [0.59, 0.05], action: 2, expected: { terminated: true, truncated: true, reward: -1 } }
      ]
    })

    it("passes low and high through", () => {
      const env = Registry.makeUnsafe(Registry.builtins, "MountainCar-v0", { low: 0.1, high: 0.2 })
      Contract.expectKeyedReset(spec, env, Key.make(1), 1, (u) => [0.1 + (0.2 - 0.1) * u[0]!, 0])
      expect(() => Registry.makeUnsafe(Registry.builtins, "MountainCar-v0", { goal_velocity: 0 })).toThrow(RangeError)
    })
  })
})
