import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import * as Key from "../../src/algebra/Key.ts"
import type * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"

// A user's own env, defined outside the library: a coin that pays its side's reward
// (options.bias is added to the reward) and ends after one step.
const coinSpec: Registry.EnvSpec = {
  id: "Coin-v0",
  description: "One step; reward 1 + bias",
  maxEpisodeSteps: 3,
  make: (options) => {
    const bias = typeof options?.["bias"] === "number" ? options["bias"] : 0
    let side = 0
    let steps = 0
    return {
      id: "Coin-v0",
      observationSpace: Space.box([0], [1]),
      actionSpace: Space.discrete(1),
      maxEpisodeSteps: undefined,
      reset: (from: Env.Reset) => {
        side = "key" in from ? (Key.uniform(from.key) < 0.5 ? 0 : 1) : from.state[0]!
        steps = 0
        return new Float32Array([side])
      },
      step: () => {
        steps++
        return { observation: new Float32Array([side]), reward: 1 + bias, terminated: false, truncated: false }
      },
      snapshot: () => ({ id: "Coin-v0", state: [side], elapsedSteps: steps }),
      restore: (snapshot) => {
        side = snapshot.state[0]!
        steps = snapshot.elapsedSteps
      }
    }
  }
}

// The builtin ids in registration order, and as listed in UnknownEnvError messages.
const builtinIds = ["CartPole-v1", "Pendulum-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0"]
const available = builtinIds.join(", ")

describe("Registry", () => {
  describe("ids", () => {
    it("lists the builtins", () => {
      expect(Registry.ids(Registry.builtins)).toEqual(builtinIds)
      expect(Registry.ids(Registry.empty)).toEqual([])
      expect(Registry.get(Registry.builtins, "CartPole-v1")?.maxEpisodeSteps).toBe(500)
      expect(Registry.get(Registry.builtins, "Pendulum-v1")?.maxEpisodeSteps).toBe(200)
      expect(Registry.get(Registry.builtins, "Acrobot-v1")?.maxEpisodeSteps).toBe(500)
      expect(Registry.get(Registry.builtins, "MountainCar-v0")?.maxEpisodeSteps).toBe(200)
      expect(Registry.get(Registry.builtins, "MountainCarContinuous-v0")?.maxEpisodeSteps).toBe(999)
      for (const id of Registry.ids(Registry.builtins)) {
        const spec = Registry.get(Registry.builtins, id)!
        expect(spec.id).toBe(id)
        expect(spec.description.length).toBeGreaterThan(0)
        expect(spec.make().id).toBe(id)
      }
    })
  })

  describe("make", () => {
    it.effect("makes CartPole-v1 with Gymnasium's 500-step limit", () =>
      Effect.gen(function*() {
        const env = yield* Registry.make(Registry.builtins, "CartPole-v1")
        expect(env.id).toBe("CartPole-v1")
        expect(env.maxEpisodeSteps).toBe(500)
        env.restore({ id: "CartPole-v1", state: [0, 0, 0, 0, 0], elapsedSteps: 499 })
        expect(env.step(1)).toMatchObject({ terminated: false, truncated: true, reward: 1 })
      }))

    it.effect("passes options to the env", () =>
      Effect.gen(function*() {
        const env = yield* Registry.make(Registry.builtins, "CartPole-v1", { low: 0.1, high: 0.2 })
        const key = Key.make(1)
        env.reset({ key })
        expect(env.snapshot().state.slice(0, 4)).toEqual(Array.from(Key.uniforms(key, 4), (u) => 0.1 + 0.1 * u))
        // Options the env rejects are a defect.
        const exit = yield* Effect.exit(Registry.make(Registry.builtins, "CartPole-v1", { hight: 1 }))
        expect(Exit.hasDies(exit)).toBe(true)
      }))

    it.effect("fails with UnknownEnvError naming the available ids", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Registry.make(Registry.builtins, "Foo-v0"))
        expect(error).toBeInstanceOf(Registry.UnknownEnvError)
        expect(error._tag).toBe("UnknownEnvError")
        expect(error.id).toBe("Foo-v0")
        expect(error.known).toEqual(builtinIds)
        expect(error.message).toBe(`unknown environment "Foo-v0"; available: ${available}`)
      }))

    it("throws UnknownEnvError from makeUnsafe", () => {
      expect(() => Registry.makeUnsafe(Registry.builtins, "Foo-v0")).toThrow(Registry.UnknownEnvError)
      expect(() => Registry.makeUnsafe(Registry.builtins, "Foo-v0")).toThrow(
        `unknown environment "Foo-v0"; available: ${available}`
      )
      expect(Registry.makeUnsafe(Registry.builtins, "CartPole-v1").maxEpisodeSteps).toBe(500)
    })
  })

  describe("register", () => {
    it.effect("adds a user env without changing the original registry", () =>
      Effect.gen(function*() {
        const mine = yield* Registry.register(Registry.builtins, coinSpec)
        expect(Registry.ids(mine)).toEqual([...builtinIds, "Coin-v0"])
        expect(Registry.ids(Registry.builtins)).toEqual(builtinIds)
        const env = yield* Registry.make(mine, "Coin-v0", { bias: 0.5 })
        expect(env.maxEpisodeSteps).toBe(3)
        env.reset({ state: [1] })
        expect(env.step(0)).toMatchObject({ reward: 1.5, truncated: false })
        expect(env.step(0)).toMatchObject({ reward: 1.5, truncated: false })
        expect(env.step(0)).toMatchObject({ reward: 1.5, truncated: true })
        const error = yield* Effect.flip(Registry.make(mine, "Foo-v0"))
        expect(error.message).toBe(`unknown environment "Foo-v0"; available: ${available}, Coin-v0`)
      }))

    it.effect("fails with DuplicateEnvError on a taken id", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Registry.register(Registry.builtins, { ...coinSpec, id: "CartPole-v1" }))
        expect(error).toBeInstanceOf(Registry.DuplicateEnvError)
        expect(error.id).toBe("CartPole-v1")
        expect(error.message).toContain("CartPole-v1")
      }))

    it("registerUnsafe returns the new registry or throws", () => {
      const mine = Registry.registerUnsafe(Registry.empty, { ...coinSpec, maxEpisodeSteps: undefined })
      expect(Registry.ids(mine)).toEqual(["Coin-v0"])
      // No limit: the made env is the spec's env itself.
      expect(Registry.makeUnsafe(mine, "Coin-v0").maxEpisodeSteps).toBeUndefined()
      expect(() => Registry.registerUnsafe(mine, coinSpec)).toThrow(Registry.DuplicateEnvError)
      expect(() => Registry.registerUnsafe(mine, { ...coinSpec, id: "Coin-v1", maxEpisodeSteps: 0 })).toThrow(RangeError)
    })
  })
})
