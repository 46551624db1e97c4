import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as TimeLimit from "../../src/envs/TimeLimit.ts"
import * as VectorEnv from "../../src/envs/VectorEnv.ts"

// Bit patterns, so that "identical" means bitwise (−0 ≠ +0, NaN payloads count).
const bits32 = (x: ArrayLike<number>): Array<number> => Array.from(new Uint32Array(Float32Array.from(x).buffer))
const bits64 = (x: ArrayLike<number>): Array<string> => Array.from(new BigUint64Array(Float64Array.from(x).buffer), (b) => b.toString(16))

// Random actions for `numEnvs` copies from one key: an integer in [0, n) for Discrete, uniform in
// [low, high] for a Box (a standard normal where a bound is infinite).
const randomActions = (space: Space.Space, key: Key.Key, numEnvs: number): Float64Array => {
  if (space._tag === "Discrete") return Key.uniforms(key, numEnvs).map((u) => Math.floor(u * space.n))
  const d = space.low.length
  const [uniformKey, normalKey] = Key.split(key, 2)
  const u = Key.uniforms(uniformKey!, numEnvs * d), z = Key.normals(normalKey!, numEnvs * d)
  return u.map((x, i) => {
    const low = space.low[i % d]!, high = space.high[i % d]!
    return Number.isFinite(low) && Number.isFinite(high) ? low + x * (high - low) : z[i]!
  })
}

const actionSizeOf = (space: Space.Space): number => (space._tag === "Discrete" ? 1 : space.low.length)

// One copy's action out of the vector's `[N, actionSize]` array, as the single env receives it.
const actionOf = (space: Space.Space, actions: Float64Array, e: number): Env.Action => {
  const d = actionSizeOf(space)
  return space._tag === "Discrete" ? actions[e]! : actions.slice(e * d, (e + 1) * d)
}

interface Trace {
  readonly observations: Array<Array<number>>
  readonly rewards: Array<Array<string>>
  readonly terminations: Array<Array<number>>
  readonly truncations: Array<Array<number>>
  readonly finalObservations: Array<Array<Array<number> | undefined>>
}

const emptyTrace = (): Trace => ({ observations: [], rewards: [], terminations: [], truncations: [], finalObservations: [] })

// The reference: `numEnvs` single envs, each reset by hand with foldIn(foldIn(key, e), k) for
// its k-th episode and reset again at once when an episode ends.
const singleTrace = (makeEnv: () => Env.Env, numEnvs: number, key: Key.Key, actionKey: Key.Key, steps: number): Trace => {
  const envs = Array.from({ length: numEnvs }, makeEnv)
  const episodes = new Array<number>(numEnvs).fill(0)
  const reset = (e: number): Float32Array => envs[e]!.reset({ key: Key.foldIn(Key.foldIn(key, e), episodes[e]!++) })
  let current = envs.map((_, e) => reset(e))
  const trace = emptyTrace()
  trace.observations.push(bits32(current.flatMap((o) => Array.from(o))))
  const space = envs[0]!.actionSpace
  for (let t = 0; t < steps; t++) {
    const actions = randomActions(space, Key.foldIn(actionKey, t), numEnvs)
    const results = envs.map((env, e) => env.step(actionOf(space, actions, e)))
    const finals = results.map((r) => (r.terminated || r.truncated ? bits32(r.observation) : undefined))
    current = results.map((r, e) => (r.terminated || r.truncated ? reset(e) : r.observation.slice()))
    trace.observations.push(bits32(current.flatMap((o) => Array.from(o))))
    trace.rewards.push(bits64(results.map((r) => r.reward)))
    trace.terminations.push(results.map((r) => (r.terminated ? 1 : 0)))
    trace.truncations.push(results.map((r) => (r.truncated ? 1 : 0)))
    trace.finalObservations.push(finals)
  }
  return trace
}

// The same, through one vector env (steps `venv` in place).
const vectorTrace = (venv: VectorEnv.VectorEnv, actionKey: Key.Key, steps: number, from = 0): Trace => {
  const trace = emptyTrace()
  trace.observations.push(bits32(venv.observations))
  for (let t = from; t < from + steps; t++) {
    const step = venv.step(randomActions(venv.actionSpace, Key.foldIn(actionKey, t), venv.numEnvs))
    expect(step.observations).toBe(venv.observations)
    trace.observations.push(bits32(step.observations))
    trace.rewards.push(bits64(step.rewards))
    trace.terminations.push(Array.from(step.terminations))
    trace.truncations.push(Array.from(step.truncations))
    trace.finalObservations.push(Array.from({ length: venv.numEnvs }, (_, e) => {
      const o = step.finalObservations[e]
      return o === undefined ? undefined : bits32(o)
    }))
  }
  return trace
}

// A scripted env: the observation is [index, episodes started, step in episode] (the step is 0
// right after a reset); it terminates on step `terminateAt` (if given) and records its reset keys.
const scripted = (index: number, terminateAt: number | undefined, resetKeys: Array<string>): Env.Env => {
  const actionSpace = Space.discrete(2)
  let episodes = 0, step = 0
  return {
    id: "Scripted-v0",
    observationSpace: Space.box([0, 0, 0], [Infinity, Infinity, Infinity]),
    actionSpace,
    maxEpisodeSteps: undefined,
    reset: (from) => {
      if (!("key" in from)) throw new Error("Scripted-v0: expected a keyed reset")
      resetKeys.push(Key.toHex(from.key))
      episodes++
      step = 0
      return new Float32Array([index, episodes, 0])
    },
    step: (action) => {
      if (typeof action !== "number" || !Space.contains(actionSpace, action)) throw Env.invalidAction("Scripted-v0", actionSpace, action)
      step++
      return { observation: new Float32Array([index, episodes, step]), reward: step, terminated: step === terminateAt, truncated: false }
    },
    snapshot: () => ({ id: "Scripted-v0", state: [episodes, step], elapsedSteps: step }),
    restore: (snapshot) => {
      episodes = snapshot.state[0]!
      step = snapshot.state[1]!
    }
  }
}

const rows = (flat: ArrayLike<number>, width: number): Array<Array<number>> =>
  Array.from({ length: flat.length / width }, (_, r) => Array.from(flat).slice(r * width, (r + 1) * width))

const numEnvs = 7
const numSteps = 123
const key = Key.make(2024)
const actionKey = Key.make(31)

describe("VectorEnv", () => {
  describe("make", () => {
    // Each builtin as registered, and under an extra 37-step limit so that every copy's episodes
    // also end by truncation within the 123 steps (37 ∤ 123, and envs whose random-action
    // episodes outlast 123 steps, like Pendulum's 200, still exercise the autoreset).
    for (const id of Registry.ids(Registry.builtins)) {
      for (const limit of [undefined, 37]) {
        const label = limit === undefined ? "as registered" : `under a ${limit}-step limit`
        it(`${id} ${label}: ${numEnvs} single envs ≡ one vector env over ${numSteps} steps (bitwise)`, () => {
          const makeEnv = () => {
            const env = Registry.makeUnsafe(Registry.builtins, id)
            return limit === undefined ? env : TimeLimit.wrap(env, limit)
          }
          const expected = singleTrace(makeEnv, numEnvs, key, actionKey, numSteps)
          const venv = VectorEnv.make(makeEnv, numEnvs, key)
          expect(venv.numEnvs).toBe(numEnvs)
          expect(venv.id).toBe(id)
          const actual = vectorTrace(venv, actionKey, numSteps)
          expect(actual.observations).toEqual(expected.observations)
          expect(actual.rewards).toEqual(expected.rewards)
          expect(actual.terminations).toEqual(expected.terminations)
          expect(actual.truncations).toEqual(expected.truncations)
          expect(actual.finalObservations).toEqual(expected.finalObservations)
          // A final observation exactly where an episode ended.
          const ends = expected.terminations.flatMap((row, t) => row.map((x, e) => x === 1 || expected.truncations[t]![e] === 1))
          expect(actual.finalObservations.flatMap((row) => row.map((o) => o !== undefined))).toEqual(ends)
          if (limit !== undefined) {
            // Every copy was truncated at least 3 times (steps 37, 74, 111 at the latest).
            for (let e = 0; e < numEnvs; e++) expect(ends.filter((_, i) => i % numEnvs === e).filter(Boolean).length).toBeGreaterThanOrEqual(3)
          }
        })
      }
    }

    it("autoresets within the same step: observations hold the new episode, finalObservations the ended one", () => {
      // Copy 0 terminates on step 2 of each episode, copy 1 is truncated by a 3-step limit, copy 2
      // never ends. Observations [index, episodes started, step in episode], by hand:
      //   t = 0: [0,1,1] [1,1,1] [2,1,1]   no ends
      //   t = 1: [0,2,0] [1,1,2] [2,1,2]   copy 0 terminated, final [0,1,2]
      //   t = 2: [0,2,1] [1,2,0] [2,1,3]   copy 1 truncated, final [1,1,3]
      //   t = 3: [0,3,0] [1,2,1] [2,1,4]   copy 0 terminated, final [0,2,2]
      const resetKeys: Array<Array<string>> = [[], [], []]
      const venv = VectorEnv.make(
        (e) => (e === 0 ? scripted(0, 2, resetKeys[0]!) : e === 1 ? TimeLimit.wrap(scripted(1, undefined, resetKeys[1]!), 3) : scripted(2, undefined, resetKeys[2]!)),
        3,
        key
      )
      expect(rows(venv.observations, 3)).toEqual([[0, 1, 0], [1, 1, 0], [2, 1, 0]])
      const zeros = new Float64Array(3)
      const steps = [0, 1, 2, 3].map(() => {
        const s = venv.step(zeros)
        return {
          observations: rows(s.observations, 3),
          rewards: Array.from(s.rewards),
          terminations: Array.from(s.terminations),
          truncations: Array.from(s.truncations),
          finals: s.finalObservations,
          finalValues: Array.from({ length: 3 }, (_, e) => (s.finalObservations[e] === undefined ? undefined : Array.from(s.finalObservations[e]!)))
        }
      })
      expect(steps.map((s) => s.observations)).toEqual([
        [[0, 1, 1], [1, 1, 1], [2, 1, 1]],
        [[0, 2, 0], [1, 1, 2], [2, 1, 2]],
        [[0, 2, 1], [1, 2, 0], [2, 1, 3]],
        [[0, 3, 0], [1, 2, 1], [2, 1, 4]]
      ])
      expect(steps.map((s) => s.rewards)).toEqual([[1, 1, 1], [2, 2, 2], [1, 3, 3], [2, 1, 4]])
      expect(steps.map((s) => s.terminations)).toEqual([[0, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 0]])
      expect(steps.map((s) => s.truncations)).toEqual([[0, 0, 0], [0, 0, 0], [0, 1, 0], [0, 0, 0]])
      expect(steps.map((s) => s.finalValues)).toEqual([
        [undefined, undefined, undefined],
        [[0, 1, 2], undefined, undefined],
        [undefined, [1, 1, 3], undefined],
        [[0, 2, 2], undefined, undefined]
      ])
      for (const s of steps) expect(s.finals.length).toBe(3)
      // Final observations are copies: later steps do not overwrite them.
      expect(Array.from(steps[1]!.finals[0]!)).toEqual([0, 1, 2])
      expect(rows(venv.observations, 3)).toEqual([[0, 3, 0], [1, 2, 1], [2, 1, 4]])
      // Copy e's k-th episode started from foldIn(foldIn(key, e), k).
      const resetKey = (e: number, k: number) => Key.toHex(Key.foldIn(Key.foldIn(key, e), k))
      expect(resetKeys).toEqual([[resetKey(0, 0), resetKey(0, 1), resetKey(0, 2)], [resetKey(1, 0), resetKey(1, 1)], [resetKey(2, 0)]])
    })

    it("rejects numEnvs that is not a positive integer", () => {
      const makeEnv = () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1")
      for (const bad of [0, 1.5, -1, Number.NaN, Infinity]) expect(() => VectorEnv.make(makeEnv, bad, key)).toThrow(RangeError)
      expect(VectorEnv.make(makeEnv, 1, key).numEnvs).toBe(1)
    })

    it("propagates an env's InvalidActionError", () => {
      const cartPole = VectorEnv.make(() => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"), 3, key)
      expect(() => cartPole.step(Float64Array.from([0, 2, 1]))).toThrow(Env.InvalidActionError)
      expect(() => cartPole.step(Float64Array.from([0.5, 0, 1]))).toThrow(Env.InvalidActionError)
      const pendulum = VectorEnv.make(() => Registry.makeUnsafe(Registry.builtins, "Pendulum-v1"), 2, key)
      expect(() => pendulum.step(Float64Array.from([0, Number.NaN]))).toThrow(Env.InvalidActionError)
    })
  })

  describe("snapshot / restore", () => {
    for (const id of Registry.ids(Registry.builtins)) {
      it(`${id}: restoring a JSON snapshot into a fresh vector env continues bit-identically`, () => {
        // A 29-step limit so that the continuation crosses resets (episode counters matter).
        const makeEnv = () => TimeLimit.wrap(Registry.makeUnsafe(Registry.builtins, id), 29)
        const original = VectorEnv.make(makeEnv, numEnvs, key)
        vectorTrace(original, actionKey, 40)
        const json = JSON.parse(JSON.stringify(original.snapshot())) as VectorEnv.Snapshot
        expect(json.kind).toBe("VectorEnv")
        const restored = VectorEnv.make(makeEnv, numEnvs, key)
        restored.restore(json)
        expect(bits32(restored.observations)).toEqual(bits32(original.observations))
        const a = vectorTrace(original, actionKey, 60, 40)
        const b = vectorTrace(restored, actionKey, 60, 40)
        expect(b).toEqual(a)
        expect(a.terminations.flat().concat(a.truncations.flat())).toContain(1)
      })
    }

    it("rejects a snapshot of another kind or another number of copies", () => {
      const makeEnv = () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1")
      const three = VectorEnv.make(makeEnv, 3, key)
      expect(() => VectorEnv.make(makeEnv, 2, key).restore(three.snapshot())).toThrow(Env.InvalidStateError)
      expect(() => three.restore({ ...three.snapshot(), kind: "EpisodeStatistics" })).toThrow(Env.InvalidStateError)
    })
  })
})
