import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Normalize from "../../src/algebra/Normalize.ts"
import * as Rollout from "../../src/algorithms/Rollout.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as TimeLimit from "../../src/envs/TimeLimit.ts"
import * as VectorEnv from "../../src/envs/VectorEnv.ts"
import * as Wrappers from "../../src/envs/Wrappers.ts"
import { expectClose } from "../reference/Assert.ts"

const bits32 = (x: ArrayLike<number>): Array<number> => Array.from(new Uint32Array(Float32Array.from(x).buffer))
const bits64 = (x: ArrayLike<number>): Array<string> => Array.from(new BigUint64Array(Float64Array.from(x).buffer), (b) => b.toString(16))

// A scripted env. Its clock `t` counts every step since creation (resets do not rewind it); the
// observation is [index, t, step in episode]; the reward of its t-th step (t = 1, 2, …) is
// `reward(index, t)`; it terminates on episode step `terminateAt` (if given); it records a copy
// of every action it receives.
interface Script {
  readonly index: number
  readonly actionSpace: Space.Space
  readonly terminateAt?: number
  readonly reward?: (index: number, t: number) => number
  readonly actions?: Array<Array<number>>
}

const scripted = (script: Script): Env.Env => {
  const { index, actionSpace } = script
  let t = 0, step = 0
  const observe = () => new Float32Array([index, t, step])
  return {
    id: "Scripted-v0",
    observationSpace: Space.box([0, 0, 0], [Infinity, Infinity, Infinity]),
    actionSpace,
    maxEpisodeSteps: undefined,
    reset: () => {
      step = 0
      return observe()
    },
    step: (action) => {
      if (actionSpace._tag === "Discrete" && !Space.contains(actionSpace, action)) throw Env.invalidAction("Scripted-v0", actionSpace, action)
      script.actions?.push(typeof action === "number" ? [action] : Array.from(action))
      t++
      step++
      return { observation: observe(), reward: script.reward?.(index, t) ?? step, terminated: step === script.terminateAt, truncated: false }
    },
    snapshot: () => ({ id: "Scripted-v0", state: [t, step], elapsedSteps: step }),
    restore: (snapshot) => {
      t = snapshot.state[0]!
      step = snapshot.state[1]!
    }
  }
}

// A transparent wrapper that keeps a copy of every step the inner vector env returns.
interface Tapped {
  readonly venv: VectorEnv.VectorEnv
  readonly initial: Float32Array
  readonly log: Array<{
    readonly observations: Float32Array
    readonly rewards: Float64Array
    readonly dones: Array<boolean>
    readonly finalObservations: Array<Float32Array | undefined>
  }>
}

const tap = (inner: VectorEnv.VectorEnv): Tapped => {
  const log: Tapped["log"] = []
  const venv: VectorEnv.VectorEnv = {
    ...inner,
    get observations() {
      return inner.observations
    },
    step: (actions) => {
      const s = inner.step(actions)
      log.push({
        observations: s.observations.slice(),
        rewards: s.rewards.slice(),
        dones: Array.from({ length: inner.numEnvs }, (_, e) => s.terminations[e] === 1 || s.truncations[e] === 1),
        finalObservations: Array.from({ length: inner.numEnvs }, (_, e) => s.finalObservations[e]?.slice())
      })
      return s
    }
  }
  return { venv, initial: inner.observations.slice(), log }
}

// Random actions: Discrete uniform, or 3 × N(0, 1) per entry for a Box (often beyond [−2, 2]).
const randomActions = (space: Space.Space, key: Key.Key, numEnvs: number): Float64Array =>
  space._tag === "Discrete"
    ? Key.uniforms(key, numEnvs).map((u) => Math.floor(u * space.n))
    : Key.normals(key, numEnvs * space.low.length).map((z) => 3 * z)

const pendulum = (e: number): Env.Env => TimeLimit.wrap(Registry.makeUnsafe(Registry.builtins, "Pendulum-v1"), 5 + 2 * e)
const key = Key.make(77)
const actionKey = Key.make(78)

// Step outputs as comparable values (bitwise for floats).
const record = (step: VectorEnv.Step, numEnvs: number) => ({
  observations: bits32(step.observations),
  rewards: bits64(step.rewards),
  terminations: Array.from(step.terminations),
  truncations: Array.from(step.truncations),
  finalObservations: Array.from({ length: numEnvs }, (_, e) => (step.finalObservations[e] === undefined ? undefined : bits32(step.finalObservations[e]!)))
})

describe("Wrappers", () => {
  describe("recordEpisodeStatistics", () => {
    // Pendulum copies truncated after 5, 7, 9, 11, 13 steps: rewards are real numbers, lengths differ.
    const numEnvs = 5

    // Completed episodes (return, length) in completion order, recomputed from the raw step rewards.
    const fromRaw = (log: Tapped["log"]) => {
      const running = new Array<number>(numEnvs).fill(0), lengths = new Array<number>(numEnvs).fill(0)
      const returns: Array<number> = [], done: Array<number> = []
      for (const s of log) {
        for (let e = 0; e < numEnvs; e++) {
          running[e] = running[e]! + s.rewards[e]!
          lengths[e] = lengths[e]! + 1
          if (s.dones[e]) {
            returns.push(running[e]!)
            done.push(lengths[e]!)
            running[e] = 0
            lengths[e] = 0
          }
        }
      }
      return { returns, lengths: done }
    }

    it("reports the undiscounted returns and lengths of completed episodes, drained once", () => {
      const tapped = tap(VectorEnv.make(pendulum, numEnvs, key))
      const venv = Wrappers.recordEpisodeStatistics(tapped.venv)
      expect(venv.drainEpisodes()).toEqual({ returns: [], lengths: [] })
      const drained = { returns: [] as Array<number>, lengths: [] as Array<number> }
      for (let t = 0; t < 30; t++) {
        const step = venv.step(randomActions(venv.actionSpace, Key.foldIn(actionKey, t), numEnvs))
        // The step itself passes through unchanged.
        expect(bits64(step.rewards)).toEqual(bits64(tapped.log[t]!.rewards))
        if (t === 12 || t === 29) {
          const d = venv.drainEpisodes()
          drained.returns.push(...d.returns)
          drained.lengths.push(...d.lengths)
          expect(venv.drainEpisodes()).toEqual({ returns: [], lengths: [] })
        }
      }
      const expected = fromRaw(tapped.log)
      // Copy e ends every 5 + 2e steps: 6 + 4 + 3 + 2 + 2 episodes in 30 steps.
      expect(expected.lengths.length).toBe(17)
      // Same summation order as the wrapper: exact.
      expect(drained).toEqual(expected)
      expect(new Set(drained.lengths)).toEqual(new Set([5, 7, 9, 11, 13]))
    })

    it("snapshot / restore keeps the running sums of unfinished episodes", () => {
      const original = Wrappers.recordEpisodeStatistics(VectorEnv.make(pendulum, numEnvs, key))
      for (let t = 0; t < 12; t++) original.step(randomActions(original.actionSpace, Key.foldIn(actionKey, t), numEnvs))
      original.drainEpisodes()
      const snapshot = JSON.parse(JSON.stringify(original.snapshot())) as VectorEnv.Snapshot
      expect(snapshot.kind).toBe("EpisodeStatistics")
      const restored = Wrappers.recordEpisodeStatistics(VectorEnv.make(pendulum, numEnvs, key))
      restored.step(randomActions(restored.actionSpace, Key.foldIn(actionKey, 999), numEnvs)) // state to be overwritten
      restored.restore(snapshot)
      expect(restored.drainEpisodes()).toEqual({ returns: [], lengths: [] })
      for (let t = 12; t < 30; t++) {
        const actions = randomActions(original.actionSpace, Key.foldIn(actionKey, t), numEnvs)
        expect(record(restored.step(actions), numEnvs)).toEqual(record(original.step(actions), numEnvs))
      }
      const a = original.drainEpisodes(), b = restored.drainEpisodes()
      expect(b).toEqual(a)
      // Every copy was mid-episode at step 12 (no multiple of 5, 7, 9, 11, 13); the episodes that
      // ended after it equal those of an uninterrupted, tapped run, carried-over sums included.
      const tapped = tap(VectorEnv.make(pendulum, numEnvs, key))
      const uninterrupted = Wrappers.recordEpisodeStatistics(tapped.venv)
      for (let t = 0; t < 30; t++) uninterrupted.step(randomActions(uninterrupted.actionSpace, Key.foldIn(actionKey, t), numEnvs))
      const before = fromRaw(tapped.log.slice(0, 12)).lengths.length
      const all = fromRaw(tapped.log)
      expect(b).toEqual({ returns: all.returns.slice(before), lengths: all.lengths.slice(before) })
      expect(b.lengths.length).toBeGreaterThan(numEnvs)
      expect(() => restored.restore({ ...snapshot, kind: "VectorEnv" })).toThrow(Env.InvalidStateError)
    })
  })

  describe("clipActions", () => {
    it("clips Box actions into [low, high] per dimension before the env sees them, leaving the caller's array alone", () => {
      const logs: Array<Array<Array<number>>> = [[], [], []]
      const space = Space.box([-1, 0], [1, 2])
      const venv = Wrappers.clipActions(VectorEnv.make((e) => scripted({ index: e, actionSpace: space, actions: logs[e]! }), 3, key))
      const actions = Float64Array.from([-5, 3, 0.5, 1, Infinity, -Infinity])
      const copy = actions.slice()
      venv.step(actions)
      expect(bits64(actions)).toEqual(bits64(copy))
      // Copy 0: [−5, 3] → [−1, 2]; copy 1 inside the box, unchanged; copy 2: [∞, −∞] → [1, 0].
      expect(logs).toEqual([[[-1, 2]], [[0.5, 1]], [[1, 0]]])
      // Exactly the bounds and values inside pass bit for bit.
      venv.step(Float64Array.from([1, 0, -1, 2, 0.1, 1.9]))
      expect(logs.map((l) => l[1])).toEqual([[1, 0], [-1, 2], [0.1, 1.9]])
    })

    it("leaves Discrete actions untouched", () => {
      const logs: Array<Array<Array<number>>> = [[], []]
      const space = Space.discrete(3)
      const inner = VectorEnv.make((e) => scripted({ index: e, actionSpace: space, actions: logs[e]! }), 2, key)
      const venv = Wrappers.clipActions(inner)
      expect(venv).toBe(inner)
      venv.step(Float64Array.from([2, 0]))
      expect(logs).toEqual([[[2]], [[0]]])
      // Not clipped to n − 1: the env rejects it.
      expect(() => venv.step(Float64Array.from([5, 0]))).toThrow(Env.InvalidActionError)
    })
  })

  describe("scaleRewards", () => {
    // Five scripted copies over 40 steps: even copies terminate on episode step 3 + e, odd ones
    // are truncated after 4 + e steps. Rewards 1 + 0.5·z from a key, with spikes +100 (copy 2,
    // step 17) and −100 (copy 3, step 29) that the clip must catch.
    const numEnvs = 5, numSteps = 40
    const table = Array.from({ length: numEnvs }, (_, e) => Key.normals(Key.foldIn(Key.make(5), e), numSteps + 1).map((z) => 1 + 0.5 * z))
    table[2]![17] = 100
    table[3]![29] = -100
    const makeEnv = (e: number): Env.Env => {
      const reward = (index: number, t: number) => table[index]![t]!
      return e % 2 === 0 ? scripted({ index: e, actionSpace: Space.discrete(2), terminateAt: 3 + e, reward }) : TimeLimit.wrap(scripted({ index: e, actionSpace: Space.discrete(2), reward }), 4 + e)
    }
    const zeros = new Float64Array(numEnvs)

    // The oracle: SB3's VecNormalize reward rule in plain float64. G ← γG + r per copy; the
    // running mean/var of G over all copies merged per step (parallel variance, from mean 0,
    // var 1, count 1e-4); r̂ = clip(r / √(var + ε), ±clip); G ← 0 where the episode ended.
    const oracle = (raw: ReadonlyArray<ArrayLike<number>>, dones: ReadonlyArray<ReadonlyArray<boolean>>, gamma: number, clip: number, epsilon: number) => {
      let mean = 0, variance = 1, count = 1e-4
      const G = new Array<number>(numEnvs).fill(0)
      const scaled: Array<Array<number>> = []
      let clippedHigh = 0, clippedLow = 0
      raw.forEach((r, t) => {
        for (let e = 0; e < numEnvs; e++) G[e] = gamma * G[e]! + r[e]!
        const batchMean = G.reduce((a, b) => a + b, 0) / numEnvs
        const batchVar = G.reduce((a, g) => a + (g - batchMean) ** 2, 0) / numEnvs
        const delta = batchMean - mean, total = count + numEnvs
        mean = mean + (delta * numEnvs) / total
        variance = (variance * count + batchVar * numEnvs + (delta ** 2 * count * numEnvs) / total) / total
        count = total
        const std = Math.sqrt(variance + epsilon)
        scaled.push(Array.from(r, (x) => {
          const y = x / std
          if (y > clip) clippedHigh++
          if (y < -clip) clippedLow++
          return Math.min(clip, Math.max(-clip, y))
        }))
        dones[t]!.forEach((d, e) => (d ? (G[e] = 0) : undefined))
      })
      return { scaled, mean, variance, count, clippedHigh, clippedLow }
    }

    it("returnStd matches a float64 oracle of SB3's VecNormalize reward rule, clipping included", () => {
      const [gamma, clip, epsilon] = [0.9, 5, 1e-8]
      const tapped = tap(VectorEnv.make(makeEnv, numEnvs, key))
      const venv = Wrappers.scaleRewards(tapped.venv, Wrappers.returnStd({ gamma, clip, epsilon }))
      const scaled = Array.from({ length: numSteps }, () => Array.from(venv.step(zeros).rewards))
      const raw = tapped.log.map((s) => s.rewards)
      // The script ran as intended: raw rewards from the table, episodes ending by both flags.
      expect(raw.map((r) => r[2])).toEqual(Array.from({ length: numSteps }, (_, t) => table[2]![t + 1]))
      const dones = tapped.log.map((s) => s.dones)
      expect(dones.flat().filter(Boolean).length).toBeGreaterThan(20)
      const expected = oracle(raw, dones, gamma, clip, epsilon)
      expect(expected.clippedHigh).toBeGreaterThan(0)
      expect(expected.clippedLow).toBeGreaterThan(0)
      // Unclipped entries differ from the oracle only by r·(1/s) vs r/s: 1e-12 relative.
      scaled.forEach((row, t) => expectClose(row, expected.scaled[t]!, 1e-12 * Math.max(1, ...expected.scaled[t]!.map(Math.abs))))
      expect(scaled.flat().filter((x) => Math.abs(x) === clip).length).toBe(expected.clippedHigh + expected.clippedLow)
      const stats = venv.returnStats()
      expectClose([stats.mean[0]!, stats.variance[0]!, stats.count], [expected.mean, expected.variance, expected.count], 1e-10)
    })

    it("resets G to 0 when an episode ends (γ = 1: otherwise the spike's return would persist)", () => {
      // With γ = 1 and no reset, G would keep the +100 spike forever; compare against the oracle
      // run without resets to show the difference is visible.
      const tapped = tap(VectorEnv.make(makeEnv, numEnvs, key))
      const venv = Wrappers.scaleRewards(tapped.venv, Wrappers.returnStd({ gamma: 1, clip: 1e6 }))
      const scaled = Array.from({ length: numSteps }, () => Array.from(venv.step(zeros).rewards))
      const raw = tapped.log.map((s) => s.rewards)
      const withResets = oracle(raw, tapped.log.map((s) => s.dones), 1, 1e6, 1e-8)
      const withoutResets = oracle(raw, tapped.log.map(() => new Array<boolean>(numEnvs).fill(false)), 1, 1e6, 1e-8)
      scaled.forEach((row, t) => expectClose(row, withResets.scaled[t]!, 1e-12 * Math.max(1, ...withResets.scaled[t]!.map(Math.abs))))
      expect(Math.abs(withResets.variance - withoutResets.variance)).toBeGreaterThan(1)
    })

    it("unscaled leaves rewards bit for bit and keeps the initial statistics", () => {
      const tapped = tap(VectorEnv.make(makeEnv, numEnvs, key))
      const venv = Wrappers.scaleRewards(tapped.venv, Wrappers.unscaled())
      for (let t = 0; t < numSteps; t++) expect(bits64(venv.step(zeros).rewards)).toEqual(bits64(tapped.log[t]!.rewards))
      expect(venv.returnStats()).toEqual(Normalize.init(1))
    })

    it("returnStd: SB3's defaults, and rejects γ outside [0, 1], clip ≤ 0, ε ≤ 0", () => {
      expect(Wrappers.returnStd()).toEqual({ _tag: "ReturnStd", gamma: 0.99, clip: 10, epsilon: 1e-8 })
      for (const gamma of [-0.1, 1.5, Number.NaN]) expect(() => Wrappers.returnStd({ gamma })).toThrow(RangeError)
      for (const clip of [0, -1, Number.NaN]) expect(() => Wrappers.returnStd({ clip })).toThrow(RangeError)
      for (const epsilon of [0, -1e-8, Number.NaN]) expect(() => Wrappers.returnStd({ epsilon })).toThrow(RangeError)
    })
  })

  describe("normalizeObservations", () => {
    // Pendulum copies (3 observation features) truncated after 5, 7, 9, 11, 13 steps.
    const numEnvs = 5, width = 3, numSteps = 20
    const running = Normalize.running()

    it("running: statistics are Normalize.update over the initial then each step's new observations; outputs Normalize.apply", () => {
      const tapped = tap(VectorEnv.make(pendulum, numEnvs, key))
      const venv = Wrappers.normalizeObservations(tapped.venv, running)
      expect(venv.normalizer).toEqual(running)
      let stats = Normalize.update(Normalize.init(width), tapped.initial, numEnvs, width)
      expect(venv.observationStats()).toEqual(stats)
      expect(bits32(venv.observations)).toEqual(bits32(Normalize.apply(running, stats, tapped.initial, numEnvs, width)))
      let finals = 0
      for (let t = 0; t < numSteps; t++) {
        const step = venv.step(randomActions(venv.actionSpace, Key.foldIn(actionKey, t), numEnvs))
        const raw = tapped.log[t]!
        stats = Normalize.update(stats, raw.observations, numEnvs, width)
        expect(venv.observationStats()).toEqual(stats)
        expect(bits32(step.observations)).toEqual(bits32(Normalize.apply(running, stats, raw.observations, numEnvs, width)))
        expect(bits32(venv.observations)).toEqual(bits32(step.observations))
        for (let e = 0; e < numEnvs; e++) {
          const rawFinal = raw.finalObservations[e]
          if (rawFinal === undefined) expect(step.finalObservations[e]).toBeUndefined()
          else {
            finals++
            expect(bits32(step.finalObservations[e]!)).toEqual(bits32(Normalize.apply(running, stats, rawFinal, 1, width)))
          }
        }
        // Rewards and flags pass through.
        expect(bits64(step.rewards)).toEqual(bits64(raw.rewards))
      }
      expect(finals).toBeGreaterThan(5)
      // The statistics moved away from the initial (0, 1) and the outputs are standardised.
      expect(stats.count).toBeCloseTo(1e-4 + numEnvs * (numSteps + 1), 9)
      expect(Math.abs(stats.variance[2]! - 1)).toBeGreaterThan(0.01)
    })

    it("frozen: the given statistics are never changed and normalise every output", () => {
      const given = Normalize.update(Normalize.init(width), Float64Array.from([0.5, -0.5, 2, -0.5, 0.5, -3, 1, 0, 0]), 3, width)
      const copy = { mean: given.mean.slice(), variance: given.variance.slice(), count: given.count }
      const tapped = tap(VectorEnv.make(pendulum, numEnvs, key))
      const venv = Wrappers.normalizeObservations(tapped.venv, running, { stats: given, frozen: true })
      expect(bits32(venv.observations)).toEqual(bits32(Normalize.apply(running, given, tapped.initial, numEnvs, width)))
      for (let t = 0; t < numSteps; t++) {
        const step = venv.step(randomActions(venv.actionSpace, Key.foldIn(actionKey, t), numEnvs))
        expect(bits32(step.observations)).toEqual(bits32(Normalize.apply(running, given, tapped.log[t]!.observations, numEnvs, width)))
        tapped.log[t]!.finalObservations.forEach((o, e) => {
          if (o !== undefined) expect(bits32(step.finalObservations[e]!)).toEqual(bits32(Normalize.apply(running, given, o, 1, width)))
        })
      }
      expect(venv.observationStats()).toBe(given)
      expect(given).toEqual(copy)
      // Frozen without given statistics: the initial (0, 1) ones, also unchanged.
      const fresh = Wrappers.normalizeObservations(VectorEnv.make(pendulum, numEnvs, key), running, { frozen: true })
      fresh.step(randomActions(fresh.actionSpace, actionKey, numEnvs))
      expect(fresh.observationStats()).toEqual(Normalize.init(width))
    })

    it("identity: observations and final observations pass through bit for bit", () => {
      const tapped = tap(VectorEnv.make(pendulum, numEnvs, key))
      const venv = Wrappers.normalizeObservations(tapped.venv, Normalize.identity())
      expect(bits32(venv.observations)).toEqual(bits32(tapped.initial))
      for (let t = 0; t < numSteps; t++) {
        const step = venv.step(randomActions(venv.actionSpace, Key.foldIn(actionKey, t), numEnvs))
        const raw = tapped.log[t]!
        expect(bits32(step.observations)).toEqual(bits32(raw.observations))
        expect(step.finalObservations.map((o) => (o === undefined ? undefined : bits32(o)))).toEqual(raw.finalObservations.map((o) => (o === undefined ? undefined : bits32(o))))
      }
      expect(venv.observationStats()).toEqual(Normalize.init(width))
    })
  })

  describe("the Rollout stack", () => {
    // Scripted Box copies (actions in [−1, 1]), terminating after 4, 5, 6 steps, with rewards
    // from a key: every wrapper has something to do.
    const numEnvs = 3
    const table = Array.from({ length: numEnvs }, (_, e) => Key.normals(Key.foldIn(Key.make(9), e), 200).map((z) => 2 * z - 1))
    const space = Space.box([-1], [1])
    const makeLogged = (logs: Array<Array<Array<number>>>) => (e: number): Env.Env =>
      scripted({ index: e, actionSpace: space, terminateAt: 4 + e, reward: (i, t) => table[i]![t]!, actions: logs[e]! })
    const scaling = Wrappers.returnStd({ gamma: 0.95, clip: 3 })
    const normalizer = Normalize.running({ clip: 4 })
    const byHand = (makeEnv: (e: number) => Env.Env) => {
      const rewards = Wrappers.scaleRewards(Wrappers.clipActions(Wrappers.recordEpisodeStatistics(VectorEnv.make(makeEnv, numEnvs, key))), scaling)
      return { venv: Wrappers.normalizeObservations(rewards, normalizer), rewards }
    }
    const actionsAt = (t: number) => randomActions(space, Key.foldIn(actionKey, t), numEnvs)

    it("Rollout.init composes statistics → clipActions → scaleRewards → normalizeObservations, innermost first", () => {
      const logs: Array<Array<Array<number>>> = [[], [], []]
      const state = Rollout.init(makeLogged(logs), numEnvs, key, normalizer, scaling)
      const reference = byHand(makeLogged([[], [], []]))
      expect(JSON.stringify(state.venv.snapshot())).toBe(JSON.stringify(reference.venv.snapshot()))
      const kinds: Array<string> = []
      for (let s: VectorEnv.Snapshot | undefined = state.venv.snapshot(); s !== undefined; s = s.inner as VectorEnv.Snapshot | undefined) kinds.push(s.kind)
      expect(kinds).toEqual(["ObservationNormalization", "RewardScale", "EpisodeStatistics", "VectorEnv"])
      let sent = 0
      for (let t = 0; t < 30; t++) {
        const actions = actionsAt(t)
        sent += actions.filter((a) => Math.abs(a) > 1).length
        expect(record(state.venv.step(actions), numEnvs)).toEqual(record(reference.venv.step(actions), numEnvs))
      }
      expect(sent).toBeGreaterThan(10)
      // The env saw clipped actions only.
      expect(logs.flat(2).every((a) => a >= -1 && a <= 1)).toBe(true)
      expect(logs.flat(2).filter((a) => Math.abs(a) === 1).length).toBe(sent)
      // The episode statistics saw the raw rewards: copy e's episodes are 4 + e steps of table rewards.
      const episodes = state.statistics.drainEpisodes()
      const expected: Array<{ t: number; e: number; ret: number; len: number }> = []
      for (let e = 0; e < numEnvs; e++) {
        const length = 4 + e
        for (let end = length; end <= 30; end += length) {
          let ret = 0
          for (let t = end - length + 1; t <= end; t++) ret += table[e]![t]!
          expected.push({ t: end, e, ret, len: length })
        }
      }
      expected.sort((a, b) => a.t - b.t || a.e - b.e)
      expect(episodes.lengths).toEqual(expected.map((x) => x.len))
      expect(episodes.returns).toEqual(expected.map((x) => x.ret))
      expect(state.rewards.returnStats()).toEqual(reference.rewards.returnStats())
      expect(state.venv.observationStats()).toEqual(reference.venv.observationStats())
    })

    it("snapshot / restore through JSON round-trips the whole stack, statistics included", () => {
      const original = Rollout.init(makeLogged([[], [], []]), numEnvs, key, normalizer, scaling)
      for (let t = 0; t < 11; t++) original.venv.step(actionsAt(t))
      original.statistics.drainEpisodes()
      const snapshot = JSON.parse(JSON.stringify(original.venv.snapshot())) as VectorEnv.Snapshot
      const restored = Rollout.init(makeLogged([[], [], []]), numEnvs, key, normalizer, scaling)
      restored.venv.restore(snapshot)
      expect(bits32(restored.venv.observations)).toEqual(bits32(original.venv.observations))
      expect(restored.venv.observationStats()).toEqual(original.venv.observationStats())
      expect(restored.rewards.returnStats()).toEqual(original.rewards.returnStats())
      expect(restored.statistics.drainEpisodes()).toEqual({ returns: [], lengths: [] })
      for (let t = 11; t < 40; t++) {
        const actions = actionsAt(t)
        expect(record(restored.venv.step(actions), numEnvs)).toEqual(record(original.venv.step(actions), numEnvs))
      }
      const drained = original.statistics.drainEpisodes()
      expect(drained.lengths.length).toBeGreaterThan(5)
      expect(restored.statistics.drainEpisodes()).toEqual(drained)
      expect(restored.venv.observationStats()).toEqual(original.venv.observationStats())
      expect(restored.rewards.returnStats()).toEqual(original.rewards.returnStats())
      expect(JSON.stringify(restored.venv.snapshot())).toBe(JSON.stringify(original.venv.snapshot()))
      // A stack with other wrappers refuses the snapshot.
      const unscaled = Rollout.init(makeLogged([[], [], []]), numEnvs, key, normalizer)
      expect(() => unscaled.venv.restore(snapshot)).toThrow(Env.InvalidStateError)
    })
  })

  describe("statsJson / statsFromJson", () => {
    it("round-trips statistics through JSON bit for bit", () => {
      const data = Key.normals(Key.make(3), 4 * 7).map((z) => 3 * z + 1 / 3)
      const stats = Normalize.update(Normalize.update(Normalize.init(4), data.subarray(0, 12), 3, 4), data.subarray(12), 4, 4)
      const back = Wrappers.statsFromJson(JSON.parse(JSON.stringify(Wrappers.statsJson(stats))))
      expect(back.mean).toBeInstanceOf(Float64Array)
      expect(back.variance).toBeInstanceOf(Float64Array)
      expect(bits64(back.mean)).toEqual(bits64(stats.mean))
      expect(bits64(back.variance)).toEqual(bits64(stats.variance))
      expect(back.count).toBe(stats.count)
    })
  })
})
