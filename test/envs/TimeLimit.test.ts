import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as CartPole from "../../src/envs/CartPole.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Space from "../../src/envs/Space.ts"
import * as TimeLimit from "../../src/envs/TimeLimit.ts"
import * as Contract from "./contract.ts"

// A counter env: the observation is the number of steps since reset; it terminates on
// step `terminateAt` (if given) and never truncates by itself.
const counter = (terminateAt?: number): Env.Env => {
  let steps = 0
  const space = Space.discrete(1)
  return {
    id: "Counter-v0",
    observationSpace: Space.box([0], [Infinity]),
    actionSpace: space,
    maxEpisodeSteps: undefined,
    reset: () => {
      steps = 0
      return new Float32Array([0])
    },
    step: (action) => {
      if (action !== 0) throw Env.invalidAction("Counter-v0", space, action)
      steps++
      return { observation: new Float32Array([steps]), reward: 1, terminated: steps === terminateAt, truncated: false }
    },
    snapshot: () => ({ id: "Counter-v0", state: [steps], elapsedSteps: steps }),
    restore: (snapshot) => {
      steps = snapshot.state[0]!
    }
  }
}

const balance = (o: Float32Array): number => (0.1 * o[0]! + 0.2 * o[1]! + o[2]! + 0.3 * o[3]! > 0 ? 1 : 0)

describe("TimeLimit", () => {
  describe("wrap", () => {
    it("rejects a limit that is not a positive integer", () => {
      for (const bad of [0, -1, 1.5, Number.NaN, Infinity]) {
        expect(() => TimeLimit.wrap(counter(), bad)).toThrow(RangeError)
      }
    })

    it("reports the limit and keeps the inner id and spaces", () => {
      const inner = CartPole.make()
      const env = TimeLimit.wrap(inner, 500)
      expect(env.maxEpisodeSteps).toBe(500)
      expect(env.id).toBe("CartPole-v1")
      expect(env.observationSpace).toBe(inner.observationSpace)
      expect(env.actionSpace).toBe(inner.actionSpace)
    })

    it("truncates exactly on step max, counted from reset", () => {
      const env = TimeLimit.wrap(counter(), 5)
      env.reset({ state: [] })
      for (let t = 1; t <= 3; t++) env.step(0)
      // Reset restarts the clock: steps 1..4 run on, step 5 truncates.
      env.reset({ state: [] })
      const flags = Array.from({ length: 7 }, () => env.step(0).truncated)
      expect(flags).toEqual([false, false, false, false, true, true, true])
    })

    it("truncates a balanced CartPole on exactly step 500", () => {
      const env = TimeLimit.wrap(CartPole.make(), 500)
      let observation = env.reset({ key: Key.make(5) })
      for (let t = 1; t <= 500; t++) {
        const result = env.step(balance(observation))
        observation = result.observation
        expect(result.terminated).toBe(false)
        expect(result.truncated).toBe(t === 500)
        expect(result.reward).toBe(1)
      }
      expect(env.snapshot().elapsedSteps).toBe(500)
    })

    it("reports both flags when the task terminates on the last step", () => {
      const both = TimeLimit.wrap(counter(500), 500)
      both.reset({ state: [] })
      for (let t = 1; t < 500; t++) expect(both.step(0)).toMatchObject({ terminated: false, truncated: false })
      expect(both.step(0)).toMatchObject({ terminated: true, truncated: true, reward: 1 })

      // CartPole at step 499 of 500, about to cross x = 2.4: x' = 2.39 + 0.02·1 > 2.4.
      const env = TimeLimit.wrap(CartPole.make(), 500)
      env.restore({ id: "CartPole-v1", state: [2.39, 1, 0, 0, 0], elapsedSteps: 499 })
      const last = env.step(1)
      expect(last).toMatchObject({ terminated: true, truncated: true, reward: 1 })
      expect(Array.from(last.observation)).toEqual(
        env.snapshot().state.slice(0, 4).map(Math.fround)
      )
    })

    it("passes terminations through before the limit", () => {
      const env = TimeLimit.wrap(counter(3), 10)
      env.reset({ state: [] })
      expect([env.step(0), env.step(0), env.step(0)].map((r) => [r.terminated, r.truncated])).toEqual([
        [false, false],
        [false, false],
        [true, false]
      ])
    })

    it("does not count a step the inner env rejects", () => {
      const env = TimeLimit.wrap(counter(), 2)
      env.reset({ state: [] })
      expect(() => env.step(1)).toThrow(Env.InvalidActionError)
      expect(env.step(0).truncated).toBe(false)
      expect(env.step(0).truncated).toBe(true)
    })

    it("snapshots and restores the step counter with the state", () => {
      const make = () => TimeLimit.wrap(CartPole.make(), 50)
      const { copy, snapshot, trace } = Contract.expectReplay(make, balance, { key: Key.make(9), warmup: 20, steps: 30 })
      expect(snapshot.elapsedSteps).toBe(20)
      expect(snapshot.id).toBe("CartPole-v1")
      expect(trace.map((r) => r.truncated).indexOf(true)).toBe(29)
      expect(() => copy.restore({ ...snapshot, elapsedSteps: -2 })).toThrow(Env.InvalidStateError)
    })
  })
})
