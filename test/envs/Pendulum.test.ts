import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Pendulum from "../../src/envs/Pendulum.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as Assert from "../reference/Assert.ts"
import * as Contract from "./contract.ts"

// Independent float64 oracle: Gymnasium's pendulum.py `step` written out directly (with `**`
// where Gymnasium writes `**`, Python's floor-mod as a − b·⌊a/b⌋), sharing nothing with src.
const pyMod = (a: number, b: number): number => a - b * Math.floor(a / b)
const oracleNormalize = (x: number): number => pyMod(x + Math.PI, 2 * Math.PI) - Math.PI
const clip = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi)
const oracleStep = (s: ReadonlyArray<number>, action: number, g = 10.0): { state: Array<number>; reward: number } => {
  const [th, thdot] = s as [number, number]
  const m = 1.0, l = 1.0, dt = 0.05, maxSpeed = 8, maxTorque = 2.0
  const u = clip(action, -maxTorque, maxTorque)
  const costs = oracleNormalize(th) ** 2 + 0.1 * thdot ** 2 + 0.001 * u ** 2
  let newthdot = thdot + ((3 * g) / (2 * l) * Math.sin(th) + 3.0 / (m * l ** 2) * u) * dt
  newthdot = clip(newthdot, -maxSpeed, maxSpeed)
  const newth = th + newthdot * dt
  return { state: [newth, newthdot], reward: -costs }
}

// The next double away from zero (one ulp larger in magnitude).
const awayFromZero = (v: number): number => {
  const bits = new BigInt64Array(new Float64Array([v]).buffer)
  bits[0] = bits[0]! + 1n
  return new Float64Array(bits.buffer)[0]!
}

const physical = Contract.physical

const spec: Contract.Spec = {
  id: "Pendulum-v1",
  make: Pendulum.make,
  actionSpace: Pendulum.actionSpace,
  observationSpace: Pendulum.observationSpace,
  space: "Box(-2, 2, (1,))",
  observe: ([th, thDot]) => [Math.cos(th!), Math.sin(th!), thDot!].map(Math.fround)
}

describe("Pendulum", () => {
  describe("constants", () => {
    it("are Gymnasium's", () => {
      expect(Pendulum.id).toBe("Pendulum-v1")
      expect([Pendulum.gravity, Pendulum.mass, Pendulum.length, Pendulum.dt]).toEqual([10.0, 1.0, 1.0, 0.05])
      expect([Pendulum.maxSpeed, Pendulum.maxTorque]).toEqual([8, 2])
      expect([Pendulum.defaultXInit, Pendulum.defaultYInit]).toEqual([Math.PI, 1.0])
    })

    it("has Gymnasium's Box(-2, 2, (1,)) actions and float32 observation box ±[1, 1, 8]", () => {
      expect(Pendulum.actionSpace).toEqual({ _tag: "Box", shape: [1], low: [-2], high: [2] })
      expect(Space.describe(Pendulum.actionSpace)).toBe("Box(-2, 2, (1,))")
      expect(Pendulum.observationSpace.shape).toEqual([3])
      expect(Pendulum.observationSpace.high).toEqual([1, 1, 8])
      expect(Pendulum.observationSpace.low).toEqual([-1, -1, -8])
      // Exact in float32, as numpy stores them.
      expect(Pendulum.observationSpace.high.map(Math.fround)).toEqual([1, 1, 8])
    })
  })

  describe("angleNormalize", () => {
    it("uses Python's floor-mod for negative angles", () => {
      // π_d = 884279719003555·2^-48, so every intermediate below is a multiple of 2^-48 of
      // magnitude < 32 and exact: for θ = −4, θ + π = −(4 − π) ≈ −0.858; fmod keeps it
      // (|·| < 2π) with the dividend's sign; Python adds the divisor: 3π − 4; minus π: 2π − 4.
      expect(Pendulum.angleNormalize(-4)).toBe(2 * Math.PI - 4)
      expect(Pendulum.angleNormalize(-4)).toBe(2.2831853071795862)
      // The naive JavaScript transcription keeps fmod's sign and gives back −4 (outside [−π, π]).
      expect(((-4 + Math.PI) % (2 * Math.PI)) - Math.PI).toBe(-4)
      // θ = −7: −7 + π ≈ −3.858 → + 2π → − π = 2π − 7. θ = −20: fmod removes two periods
      // exactly, then + 2π: 6π − 20. θ = −π/2: π/2 → −π/2.
      expect(Pendulum.angleNormalize(-7)).toBe(2 * Math.PI - 7)
      expect(Pendulum.angleNormalize(-20)).toBe(6 * Math.PI - 20)
      expect(Pendulum.angleNormalize(-Math.PI / 2)).toBe(-Math.PI / 2)
      // Values checked against numpy 2.4: ((x + np.pi) % (2 * np.pi)) - np.pi.
      expect([-4, -7, -20].map(Pendulum.angleNormalize)).toEqual([2.2831853071795862, -0.7168146928204138, -1.1504440784612413])
    })

    it("maps θ = π to −π, as Python does, and handles the boundaries", () => {
      // (π + π) mod 2π = 0 → 0 − π = −π.
      expect(Pendulum.angleNormalize(Math.PI)).toBe(-Math.PI)
      // (−π + π) = 0 → −π; (3π + π) = 4π exactly → 0 → −π.
      expect(Pendulum.angleNormalize(-Math.PI)).toBe(-Math.PI)
      expect(Pendulum.angleNormalize(3 * Math.PI)).toBe(-Math.PI)
      // One ulp below −π: θ + π = −2^-51, and −2^-51 + 2π is a tie that rounds to 2π, so the
      // result is +π (numpy gives 3.141592653589793 too).
      expect(Pendulum.angleNormalize(awayFromZero(-Math.PI))).toBe(Math.PI)
      // Positive angles: 10 + π → fmod removes one period → − π = 10 − 4π.
      expect(Pendulum.angleNormalize(10)).toBe(10 - 4 * Math.PI)
      expect(Pendulum.angleNormalize(0)).toBe(0)
      expect(Pendulum.angleNormalize(Math.PI / 2)).toBe(Math.PI / 2)
    })

    it("lands in [−π, π] on the same point of the circle", () => {
      for (let i = -1000; i <= 1000; i++) {
        const x = i * 0.0537
        const r = Pendulum.angleNormalize(x)
        expect(r).toBeGreaterThanOrEqual(-Math.PI)
        expect(r).toBeLessThanOrEqual(Math.PI)
        expect(Math.abs(Math.sin(r) - Math.sin(x))).toBeLessThan(1e-12)
        expect(Math.abs(Math.cos(r) - Math.cos(x))).toBeLessThan(1e-12)
        expect(Math.abs(r ** 2 - oracleNormalize(x) ** 2)).toBeLessThan(1e-12)
      }
    })
  })

  describe("make", () => {
    Contract.unlimited(spec, {
      start: { key: Key.make(0) },
      steps: 1000,
      action: (t) => [2 * Math.sin(0.1 * t)],
      neverTerminates: true
    })

    it("takes gravity from the g option", () => {
      // From θ = π/2, θ̇ = 0, u = 0 with g = 9.81: θ̇' = (3·9.81/2)·1·0.05 = 0.73575,
      // θ' = π/2 + 0.73575·0.05 = π/2 + 0.0367875.
      const env = Pendulum.make({ g: 9.81 })
      env.reset({ state: [Math.PI / 2, 0] })
      env.step([0])
      Assert.expectClose(physical(env), [Math.PI / 2 + 0.0367875, 0.73575], 1e-15)
      Assert.expectClose(physical(env), oracleStep([Math.PI / 2, 0], 0, 9.81).state, 1e-15)
      // Without gravity, nothing moves from rest.
      const flat = Pendulum.make({ g: 0 })
      flat.reset({ state: [1, 0] })
      flat.step([0])
      expect(physical(flat)).toEqual([1, 0])
    })

    it("rejects malformed options", () => {
      expect(() => Pendulum.make({ g: Number.NaN })).toThrow(RangeError)
      expect(() => Pendulum.make({ g: Infinity })).toThrow(RangeError)
      expect(() => Pendulum.make({ x_init: -1 })).toThrow(/x_init/)
      expect(() => Pendulum.make({ y_init: Infinity })).toThrow(/y_init/)
      expect(() => Pendulum.make({ G: 9.81 } as Pendulum.Options)).toThrow(/unknown option "G"/)
      expect(() => Pendulum.make({ x_init: "1" } as unknown as Pendulum.Options)).toThrow(RangeError)
    })
  })

  describe("step", () => {
    it("matches the hand-derived transition from the horizontal", () => {
      // From θ = π/2, θ̇ = 0 with u = 1 (sin(π/2) rounds to exactly 1; g = 10, m = l = 1):
      //   θ̇' = 0 + (3·10/2·1 + 3/1·1)·0.05 = (15 + 3)·0.05 = 0.9 (no clipping);
      //   θ' = π/2 + 0.9·0.05 = π/2 + 0.045;
      //   angle_normalize(π/2) = π/2, so reward = −((π/2)² + 0.1·0² + 0.001·1²).
      const env = Pendulum.make()
      env.reset({ state: [Math.PI / 2, 0] })
      const result = env.step(new Float64Array([1]))
      Assert.expectClose(physical(env), [Math.PI / 2 + 0.045, 0.9], 1e-15)
      expect(Math.abs(result.reward - -((Math.PI / 2) ** 2 + 0.001))).toBeLessThanOrEqual(1e-15)
      expect(result.terminated).toBe(false)
      expect(result.truncated).toBe(false)
    })

    it("matches the hand-derived transitions at the equilibria", () => {
      const env = Pendulum.make()
      // Upright at rest without torque: sin 0 = 0, nothing moves, cost 0, reward −0.0 (as Python's -costs).
      env.reset({ state: [0, 0] })
      const up = env.step([0])
      expect(physical(env)).toEqual([0, 0])
      expect(Object.is(up.reward, -0)).toBe(true)
      // Hanging at θ = π: angle_normalize(π) = −π, so reward = −π² exactly; sin(π_d) ≈ 1.22e-16
      // nudges θ̇' = 15·sin(π_d)·0.05.
      env.reset({ state: [Math.PI, 0] })
      const down = env.step([0])
      expect(down.reward).toBe(-(Math.PI * Math.PI))
      expect(physical(env)[1]).toBe(15 * Math.sin(Math.PI) * 0.05)
    })

    it("matches the float64 oracle from non-trivial states", () => {
      const env = Pendulum.make()
      const cases: Array<[Array<number>, number]> = [
        [[0.7, -1.3], 0.4],
        [[-2.5, 3.1], -1.75],
        [[4.2, -0.6], 1.999],
        [[-9.3, 5.5], -0.01],
        [[12.34, -7.2], 3.5],
        [[-0.001, 0.002], -2.5]
      ]
      for (const [state, action] of cases) {
        env.reset({ state })
        const result = env.step([action])
        const expected = oracleStep(state, action)
        Assert.expectClose(physical(env), expected.state, 1e-12)
        expect(Math.abs(result.reward - expected.reward)).toBeLessThanOrEqual(1e-12)
      }
    })

    it("follows the oracle over a 200-step open-loop trajectory, through both clips", () => {
      const env = Pendulum.make()
      let state = [2.9, 6.5]
      env.reset({ state })
      let velocityClips = 0, torqueClips = 0
      for (let t = 0; t < 200; t++) {
        // Torques up to ±3.5 (clipped to ±2), in phase with a swing, so |θ̇| reaches 8.
        const action = 3.5 * Math.sin(0.11 * t + 0.3)
        const result = env.step([action])
        const expected = oracleStep(state, action)
        state = expected.state
        Assert.expectClose(physical(env), state, 1e-12)
        expect(Math.abs(result.reward - expected.reward)).toBeLessThanOrEqual(1e-12)
        expect(result.terminated).toBe(false)
        if (Math.abs(state[1]!) === 8) velocityClips++
        if (Math.abs(action) > 2) torqueClips++
      }
      expect(velocityClips).toBeGreaterThan(0)
      expect(torqueClips).toBeGreaterThan(0)
    })

    it("clips the torque to [−2, 2] and charges the clipped torque", () => {
      // From rest upright: a = 5 acts as u = 2: θ̇' = 3·2·0.05 = 0.3, θ' = 0.3·0.05 = 0.015,
      // cost = 0.001·2² = 0.004 (Gymnasium computes the cost from the clipped u, not 0.001·5² = 0.025).
      const env = Pendulum.make()
      env.reset({ state: [0, 0] })
      const five = env.step([5])
      const afterFive = physical(env)
      Assert.expectClose(afterFive, [0.015, 0.3], 1e-16)
      expect(Math.abs(five.reward - -0.004)).toBeLessThanOrEqual(1e-17)
      env.reset({ state: [0, 0] })
      const two = env.step([2])
      expect(physical(env)).toEqual(afterFive)
      expect(two).toEqual(five)
      // And symmetrically a = −7 acts as u = −2.
      env.reset({ state: [0.4, -1.2] })
      const minusSeven = env.step([-7])
      const afterMinusSeven = physical(env)
      env.reset({ state: [0.4, -1.2] })
      expect(env.step([-2])).toEqual(minusSeven)
      expect(physical(env)).toEqual(afterMinusSeven)
    })

    it("clips the angular velocity to ±8 after the update, from the unclipped old state", () => {
      // θ = π/2, θ̇ = 7.9, a = 2: θ̇ + (15·1 + 3·2)·0.05 = 7.9 + 1.05 = 8.95 → 8;
      //   θ' = π/2 + 8·0.05 = π/2 + 0.4; cost uses the old θ̇: (π/2)² + 0.1·7.9² + 0.001·4.
      const env = Pendulum.make()
      env.reset({ state: [Math.PI / 2, 7.9] })
      const up = env.step([2])
      expect(physical(env)).toEqual([Math.PI / 2 + 8 * 0.05, 8])
      const cost = (Math.PI / 2) ** 2 + 0.1 * 7.9 ** 2 + 0.004
      expect(Math.abs(up.reward - -cost)).toBeLessThanOrEqual(1e-14)
      expect(up.observation[2]).toBe(8)
      // Mirrored: θ = −π/2, θ̇ = −7.9, a = −2 → θ̇' = −8, same cost.
      env.reset({ state: [-Math.PI / 2, -7.9] })
      const down = env.step([-2])
      expect(physical(env)).toEqual([-Math.PI / 2 - 8 * 0.05, -8])
      expect(down.reward).toBe(up.reward)
      // Exactly 8 without acceleration stays 8 (θ = 0: sin 0 = 0, u = 0).
      env.reset({ state: [0, 8] })
      env.step([0])
      expect(physical(env)).toEqual([0.4, 8])
    })

    it("is mirror-symmetric: (−θ, −θ̇, −u) gives the mirrored next state", () => {
      const env = Pendulum.make(), mirror = Pendulum.make()
      const u = Key.uniforms(Key.make(5), 300)
      for (let i = 0; i < 100; i++) {
        const th = 20 * (u[3 * i]! - 0.5), thDot = 16 * (u[3 * i + 1]! - 0.5), a = 6 * (u[3 * i + 2]! - 0.5)
        env.reset({ state: [th, thDot] })
        mirror.reset({ state: [-th, -thDot] })
        const r = env.step([a]), m = mirror.step([-a])
        expect(physical(mirror)).toEqual(physical(env).map((v) => -v))
        expect(Math.abs(r.reward - m.reward)).toBeLessThanOrEqual(1e-14)
      }
    })

    it("returns the float32 rounding of [cos θ, sin θ, θ̇]", () => {
      const env = Pendulum.make()
      const state = [1.234567891234, -0.987654321987]
      const first = env.reset({ state })
      expect(first).toBeInstanceOf(Float32Array)
      expect(Array.from(first)).toEqual([Math.cos(state[0]!), Math.sin(state[0]!), state[1]!].map(Math.fround))
      const result = env.step([0.3])
      const [th, thDot] = oracleStep(state, 0.3).state as [number, number]
      expect(result.observation).toBeInstanceOf(Float32Array)
      expect(Array.from(result.observation)).toEqual([Math.cos(th), Math.sin(th), thDot].map(Math.fround))
    })

    it("keeps rewards within Gymnasium's documented range [−16.2736044, 0]", () => {
      // −(π² + 0.1·8² + 0.001·2²) = −16.2736044…: |θ̇| ≤ 8 after a key reset (|θ̇| ≤ 1) and clipping.
      const worst = -(Math.PI ** 2 + 0.1 * 64 + 0.001 * 4)
      expect(worst).toBeCloseTo(-16.2736044, 7)
      const env = Pendulum.make()
      const root = Key.make(9)
      for (let episode = 0; episode < 10; episode++) {
        const [resetKey, actionKey] = Key.split(Key.foldIn(root, episode), 2)
        env.reset({ key: resetKey! })
        const actions = Key.uniforms(actionKey!, 200)
        for (let t = 0; t < 200; t++) {
          const { reward } = env.step([10 * (actions[t]! - 0.5)])
          expect(reward).toBeLessThanOrEqual(0)
          expect(reward).toBeGreaterThanOrEqual(worst)
        }
      }
    })

    Contract.acceptsScalarActions(spec, [0.5, -0.5], 1.25)
    Contract.rejectsActions(spec, Contract.invalidBoxActions)
    Contract.refusesBeforeReset(spec, [0])
  })

  describe("reset", () => {
    it("draws θ = −π + 2π·u₀, then θ̇ = −1 + 2·u₁, from Key.uniforms(key, 2)", () => {
      const draw = (u: Float64Array) => [-Math.PI + (Math.PI - -Math.PI) * u[0]!, -1 + (1 - -1) * u[1]!]
      Contract.expectKeyedReset(spec, Pendulum.make(), Key.make(42), 2, draw)
    })

    it("is deterministic per key, differs across keys and stays within [−π, π] × [−1, 1]", () => {
      Contract.expectKeyedResets(spec)
      // 500 draws cover the intervals (each end missed by > 0.05 with probability < 1e-3).
      Contract.expectResetsWithin(spec, {
        low: [-Math.PI, -1],
        high: [Math.PI, 1],
        draws: 500,
        spread: [[-3, 3], [-0.95, 0.95]]
      })
    })

    it("uses the x_init/y_init options like Gymnasium's reset options", () => {
      const env = Pendulum.make({ x_init: 0.5, y_init: 0.25 })
      const key = Key.make(3)
      Contract.expectKeyedReset(spec, env, key, 2, (u) => [-0.5 + 1 * u[0]!, -0.25 + 0.5 * u[1]!])
      // Zero half-widths start exactly at rest upright; wide ones may leave the observation box.
      const still = Pendulum.make({ x_init: 0, y_init: 0 })
      still.reset({ key })
      expect(physical(still)).toEqual([0, 0])
      const wide = Pendulum.make({ y_init: 20 })
      let outside = 0
      for (let i = 0; i < 50; i++) {
        wide.reset({ key: Key.foldIn(key, i) })
        if (Math.abs(physical(wide)[1]!) > 8) outside++
      }
      expect(outside).toBeGreaterThan(0)
    })

    // θ is not wrapped and θ̇ may exceed 8 at the start.
    Contract.startsFromStates(spec, [[0.1, -0.2], [-17.5, 9.5]], [[0], [0, 0, 0], [Number.NaN, 0], [0, Infinity]])
  })

  describe("snapshot", () => {
    Contract.snapshots(spec, {
      // An energy-pumping controller that saturates the torque.
      policy: (o) => new Float64Array([3 * Math.sign(o[2]!) - o[1]!]),
      good: { id: "Pendulum-v1", state: [-12.5, 3], elapsedSteps: 3 },
      otherId: "CartPole-v1",
      invalidStates: [[0], [0, 0, 0], [0, Number.NaN]]
    })
  })

  describe("Registry.make", () => {
    Contract.truncates(spec, {
      steps: 200,
      action: (t) => [Math.cos(0.2 * t)],
      last: [{ state: [1, 0], action: [0], expected: { terminated: false, truncated: true } }]
    })

    it("passes g, x_init and y_init through", () => {
      const env = Registry.makeUnsafe(Registry.builtins, "Pendulum-v1", { g: 9.81, x_init: 0.1, y_init: 0 })
      Contract.expectKeyedReset(spec, env, Key.make(1), 2, (u) => [-0.1 + 0.2 * u[0]!, 0])
      env.reset({ state: [Math.PI / 2, 0] })
      env.step([0])
      Assert.expectClose(physical(env), oracleStep([Math.PI / 2, 0], 0, 9.81).state, 1e-15)
      expect(() => Registry.makeUnsafe(Registry.builtins, "Pendulum-v1", { gravity: 9.81 })).toThrow(RangeError)
    })
  })
})
