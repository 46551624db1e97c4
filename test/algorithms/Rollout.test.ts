import { describe, expect, it } from "@effect/vitest"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Normalize from "../../src/algebra/Normalize.ts"
import * as Policy from "../../src/algebra/Policy.ts"
import * as Rollout from "../../src/algorithms/Rollout.ts"
import * as CartPole from "../../src/envs/CartPole.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as Space from "../../src/envs/Space.ts"
import * as TimeLimit from "../../src/envs/TimeLimit.ts"
import type * as VectorEnv from "../../src/envs/VectorEnv.ts"
import * as Wrappers from "../../src/envs/Wrappers.ts"
import { expectClose } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

// A scripted env: the observation is [envIndex, stepInEpisode] (0 right after reset), the
// reward of the k-th step of an episode is k, and it terminates on step `terminateAt` (if
// given). It records every action it receives and the key of every reset.
interface Log {
  readonly actions: Array<number>
  readonly resetKeys: Array<string>
}

const scripted = (index: number, terminateAt: number | undefined, log: Log): Env.Env => {
  const actionSpace = Space.discrete(3)
  let step = 0
  return {
    id: "Scripted-v0",
    observationSpace: Space.box([0, 0], [Infinity, Infinity]),
    actionSpace,
    maxEpisodeSteps: undefined,
    reset: (from) => {
      if (!("key" in from)) throw new Error("Scripted-v0: expected a keyed reset")
      log.resetKeys.push(Key.toHex(from.key))
      step = 0
      return new Float32Array([index, 0])
    },
    step: (action) => {
      if (typeof action !== "number" || !Space.contains(actionSpace, action)) throw Env.invalidAction("Scripted-v0", actionSpace, action)
      log.actions.push(action)
      step++
      return { observation: new Float32Array([index, step]), reward: step, terminated: step === terminateAt, truncated: false }
    },
    snapshot: () => ({ id: "Scripted-v0", state: [step], elapsedSteps: step }),
    restore: (snapshot) => {
      step = snapshot.state[0]!
    }
  }
}

// Three copies: env 0 terminates on its 3rd step; env 1 never terminates but is truncated by a
// 4-step time limit; env 2 terminates on its 2nd step, which is also its time limit (both flags).
const makeScripted = (logs: ReadonlyArray<Log>) => (e: number): Env.Env => {
  const log = logs[e]!
  if (e === 0) return scripted(0, 3, log)
  if (e === 1) return TimeLimit.wrap(scripted(1, undefined, log), 4)
  return TimeLimit.wrap(scripted(2, 2, log), 2)
}
const newLogs = (n: number): Array<Log> => Array.from({ length: n }, () => ({ actions: [], resetKeys: [] }))

// A fixed categorical policy over Discrete(3) with random (non-trivial) logits.
const sizes = [2, 4, 3]
const policy = Policy.make({ observationSize: 2, hiddenSizes: [4], distribution: Distribution.categorical(3) })
const params = Dense.randomParameters(Key.make(7), sizes, "categorical", 1.0)
const envKey = Key.make(100)
const rolloutKey = Key.make(200)

// The action of row r, recomputed independently of Rollout, Mlp and Distribution: float64
// logits from the oracle and the inverse-CDF draw at uniform(foldIn(rolloutKey, r)).
const expectedAction = (key: Key.Key, row: number, observation: ArrayLike<number>): number =>
  Key.categorical(Key.foldIn(key, row), Dense.forward(sizes, params, observation).output)

const observationRows = (batch: Rollout.Batch, width: number): Array<Array<number>> =>
  Array.from({ length: batch.size }, (_, r) => Array.from(batch.observations.subarray(r * width, (r + 1) * width)))

// The running sums of the unfinished episodes and each env's count of started episodes, read
// from the snapshots of the episode-statistics wrapper and of the vector env beneath it.
const unfinished = (state: Rollout.State) => {
  const snapshot = state.statistics.snapshot()
  const inner = snapshot.inner as VectorEnv.Snapshot
  return {
    returns: snapshot.returns as ReadonlyArray<number>,
    lengths: snapshot.lengths as ReadonlyArray<number>,
    episodes: inner.episodes as ReadonlyArray<number>
  }
}

const bits32 = (x: ArrayLike<number>): Array<number> => Array.from(new Uint32Array(Float32Array.from(x).buffer))

describe("Rollout", () => {
  describe("init", () => {
    it("starts env e's first episode from foldIn(foldIn(envKey, e), 0)", () => {
      const logs = newLogs(3)
      const state = Rollout.init(makeScripted(logs), 3, envKey)
      expect(state.venv.numEnvs).toBe(3)
      expect(Array.from(state.venv.observations)).toEqual([0, 0, 1, 0, 2, 0])
      logs.forEach((log, e) => expect(log.resetKeys).toEqual([Key.toHex(Key.foldIn(Key.foldIn(envKey, e), 0))]))
      expect(unfinished(state)).toEqual({ returns: [0, 0, 0], lengths: [0, 0, 0], episodes: [1, 1, 1] })
      // Defaults: no normalisation, no reward scaling.
      expect(state.venv.normalizer).toEqual(Normalize.identity())
      expect(state.venv.observationStats()).toEqual(Normalize.init(2))
      expect(state.rewards.returnStats()).toEqual(Normalize.init(1))
    })
  })

  describe("collect", () => {
    // 3 envs × 5 steps, row = t·3 + e. By hand (stepInEpisode of the observation acted on):
    //   t:      0  1  2  3  4   next
    //   env 0:  0  1  2| 0  1    2     terminates on step 3 (t = 2): return 1+2+3 = 6, length 3
    //   env 1:  0  1  2  3| 0    1     truncated on step 4 (t = 3), final obs [1, 4]: return 10, length 4
    //   env 2:  0  1| 0  1| 0    1     terminated and truncated on step 2 (t = 1, 3): return 3, length 2
    // Episodes end in row order: row 5 (env 2), row 6 (env 0), row 10 (env 1), row 11 (env 2).
    const run = () => {
      const logs = newLogs(3)
      const state = Rollout.init(makeScripted(logs), 3, envKey)
      const batch = Rollout.collect(state, policy, params, rolloutKey, 5)
      return { logs, state, batch }
    }

    it("lays out observations, rewards and flags time-major", () => {
      const { batch } = run()
      expect([batch.numSteps, batch.numEnvs, batch.size]).toEqual([5, 3, 15])
      expect(observationRows(batch, 2)).toEqual([
        [0, 0], [1, 0], [2, 0],
        [0, 1], [1, 1], [2, 1],
        [0, 2], [1, 2], [2, 0],
        [0, 0], [1, 3], [2, 1],
        [0, 1], [1, 0], [2, 0]
      ])
      expect(Array.from(batch.rewards)).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 1, 1, 4, 2, 2, 1, 1])
      const terminated = Array.from({ length: 15 }, (_, r) => r).filter((r) => batch.terminations[r] === 1)
      const truncated = Array.from({ length: 15 }, (_, r) => r).filter((r) => batch.truncations[r] === 1)
      expect(terminated).toEqual([5, 6, 11])
      expect(truncated).toEqual([5, 10, 11])
    })

    it("draws row r's action with foldIn(rolloutKey, r) and passes it to the env", () => {
      const { logs, batch } = run()
      expect(batch.actions.length).toBe(15)
      const rows = observationRows(batch, 2)
      const expected = rows.map((obs, r) => expectedAction(rolloutKey, r, obs))
      expect(Array.from(batch.actions)).toEqual(expected)
      // The draws are not degenerate: several actions occur.
      expect(new Set(expected).size).toBeGreaterThan(1)
      // Env e received the actions of rows e, e + 3, …, in order.
      logs.forEach((log, e) => expect(log.actions).toEqual(expected.filter((_, r) => r % 3 === e)))
    })

    it("keeps a truncated step's final observation and each env's next observation for bootstrapping", () => {
      const { batch, state } = run()
      // Row 10 (env 1 truncated, not terminated) → bootstrap 0 = [1, 4]; rows 5 and 11 are
      // terminated (and truncated): no bootstrap. Batch end: rows 12, 13, 14 → 1, 2, 3.
      const expectedIndex = new Array(15).fill(-1)
      expectedIndex[10] = 0
      expectedIndex[12] = 1
      expectedIndex[13] = 2
      expectedIndex[14] = 3
      expect(Array.from(batch.bootstrapIndex)).toEqual(expectedIndex)
      expect(Array.from(batch.bootstrapObservations)).toEqual([1, 4, 0, 2, 1, 1, 2, 1])
      expect(Array.from(state.venv.observations)).toEqual([0, 2, 1, 1, 2, 1])
    })

    it("reports the returns and lengths of completed episodes and resets with the next episode's key", () => {
      const { batch, logs, state } = run()
      expect(batch.episodeReturns).toEqual([3, 6, 10, 3])
      expect(batch.episodeLengths).toEqual([2, 3, 4, 2])
      // Running statistics of the unfinished episodes: env 0 has taken steps 1, 2; env 1 and
      // env 2 step 1.
      expect(unfinished(state)).toEqual({ returns: [3, 1, 1], lengths: [2, 1, 1], episodes: [2, 2, 3] })
      // Drained: the statistics wrapper holds no completed episode any more.
      expect(state.statistics.drainEpisodes()).toEqual({ returns: [], lengths: [] })
      const resetKey = (e: number, k: number) => Key.toHex(Key.foldIn(Key.foldIn(envKey, e), k))
      expect(logs[0]!.resetKeys).toEqual([resetKey(0, 0), resetKey(0, 1)])
      expect(logs[1]!.resetKeys).toEqual([resetKey(1, 0), resetKey(1, 1)])
      expect(logs[2]!.resetKeys).toEqual([resetKey(2, 0), resetKey(2, 1), resetKey(2, 2)])
    })

    it("continues episodes across successive batches", () => {
      const { state, logs } = run()
      const key2 = Key.make(201)
      const batch = Rollout.collect(state, policy, params, key2, 3)
      // Continuing from the state above:
      //   t:      0   1  2
      //   env 0:  2|  0  1     terminates on step 3 (t = 0): return 1+2+3 = 6, length 3
      //   env 1:  1   2  3|    truncated on step 4 (t = 2): return 10, length 4, final obs [1, 4]
      //   env 2:  1|  0  1|    terminated and truncated on step 2 (t = 0, 2)
      expect(observationRows(batch, 2)).toEqual([[0, 2], [1, 1], [2, 1], [0, 0], [1, 2], [2, 0], [0, 1], [1, 3], [2, 1]])
      expect(Array.from(batch.rewards)).toEqual([3, 2, 2, 1, 3, 1, 2, 4, 2])
      expect(Array.from(batch.terminations)).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1])
      expect(Array.from(batch.truncations)).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 1])
      expect(batch.episodeReturns).toEqual([6, 3, 10, 3])
      expect(batch.episodeLengths).toEqual([3, 2, 4, 2])
      // Row 7 is both truncated-only and at the batch end: one bootstrap row (its final
      // observation), not the reset observation; row 6 (env 0) bootstraps from [0, 2].
      expect(Array.from(batch.bootstrapIndex)).toEqual([-1, -1, -1, -1, -1, -1, 1, 0, -1])
      expect(Array.from(batch.bootstrapObservations)).toEqual([1, 4, 0, 2])
      const rows = observationRows(batch, 2)
      expect(Array.from(batch.actions)).toEqual(rows.map((obs, r) => expectedAction(key2, r, obs)))
      expect(logs[0]!.resetKeys.at(-1)).toBe(Key.toHex(Key.foldIn(Key.foldIn(envKey, 0), 2)))
    })

    it("is deterministic: the same keys give identical batches, another rollout key other actions", () => {
      const a = run().batch, b = run().batch
      expect(b).toEqual(a)
      const other = Rollout.collect(Rollout.init(makeScripted(newLogs(3)), 3, envKey), policy, params, Key.make(999), 5)
      expect(Array.from(other.actions)).not.toEqual(Array.from(a.actions))
    })

    it("draws env 0's first action from foldIn(rolloutKey, 0) whatever numEnvs is", () => {
      const single = Rollout.collect(Rollout.init(makeScripted(newLogs(1)), 1, envKey), policy, params, rolloutKey, 1)
      const triple = run().batch
      expect(single.actions[0]).toBe(triple.actions[0])
      expect(single.actions[0]).toBe(expectedAction(rolloutKey, 0, [0, 0]))
    })

    it("surfaces an env's InvalidActionError", () => {
      // A Discrete(2) env stepped by a 3-action policy rejects action 2 sooner or later.
      const narrow = (): Env.Env => {
        const inner = scripted(0, undefined, { actions: [], resetKeys: [] })
        const space = Space.discrete(2)
        return {
          ...inner,
          actionSpace: space,
          step: (a) => {
            if (a === 2) throw Env.invalidAction("Scripted-v0", space, a)
            return inner.step(a)
          }
        }
      }
      expect(() => Rollout.collect(Rollout.init(narrow, 1, envKey), policy, params, rolloutKey, 200)).toThrow(Env.InvalidActionError)
    })
  })

  describe("collect with wrappers", () => {
    // The scripted copies ignore their actions, so the raw trajectory is the one tabulated in
    // `collect` whatever the observations the policy sees: the identity run supplies the raw rows.
    const raw = () => {
      const state = Rollout.init(makeScripted(newLogs(3)), 3, envKey)
      const batch = Rollout.collect(state, policy, params, rolloutKey, 5)
      return { batch, next: state.venv.observations.slice() }
    }

    it("Normalize.running: stores observations normalised with the statistics of their step, bootstrap rows too", () => {
      const running = Normalize.running()
      const { batch: rawBatch, next } = raw()
      const state = Rollout.init(makeScripted(newLogs(3)), 3, envKey, running)
      const batch = Rollout.collect(state, policy, params, rolloutKey, 5)
      // s_0 = update(init, the first observations); s_t = update(s_{t−1}, the observations of
      // step t) — the new observations after step t − 1, resets included; s_5 adds those after
      // the batch. Step t's observations are stored as apply(s_t, ·).
      const stats: Array<Normalize.Stats> = []
      const rawAt = (t: number) => (t < 5 ? rawBatch.observations.subarray(t * 6, (t + 1) * 6) : next)
      for (let t = 0; t <= 5; t++) stats.push(Normalize.update(t === 0 ? Normalize.init(2) : stats[t - 1]!, rawAt(t), 3, 2))
      for (let t = 0; t < 5; t++) {
        expect(bits32(batch.observations.subarray(t * 6, (t + 1) * 6))).toEqual(bits32(Normalize.apply(running, stats[t]!, rawAt(t), 3, 2)))
      }
      // Not the raw rows: the normalisation did something.
      expect(Array.from(batch.observations)).not.toEqual(Array.from(rawBatch.observations))
      // Same layout of flags and bootstrap rows as the raw run. Bootstrap 0 is row 10's final
      // observation [1, 4] (step 3), normalised with s_4 (the statistics after step 3); bootstraps
      // 1..3 are the next observations, normalised with s_5.
      expect(Array.from(batch.bootstrapIndex)).toEqual(Array.from(rawBatch.bootstrapIndex))
      expect(Array.from(batch.terminations)).toEqual(Array.from(rawBatch.terminations))
      expect(Array.from(batch.truncations)).toEqual(Array.from(rawBatch.truncations))
      expect(bits32(batch.bootstrapObservations)).toEqual(bits32([
        ...Normalize.apply(running, stats[4]!, [1, 4], 1, 2),
        ...Normalize.apply(running, stats[5]!, next, 3, 2)
      ]))
      expect(state.venv.observationStats()).toEqual(stats[5])
      expect(bits32(state.venv.observations)).toEqual(bits32(Normalize.apply(running, stats[5]!, next, 3, 2)))
      // The episode statistics are about the raw episodes.
      expect(batch.episodeReturns).toEqual(rawBatch.episodeReturns)
      expect(batch.episodeLengths).toEqual(rawBatch.episodeLengths)
    })

    it("returnStd: batch rewards are scaled, episode returns stay raw", () => {
      const [gamma, epsilon] = [0.9, 1e-8]
      const { batch: rawBatch } = raw()
      const state = Rollout.init(makeScripted(newLogs(3)), 3, envKey, Normalize.identity(), Wrappers.returnStd({ gamma, epsilon }))
      const batch = Rollout.collect(state, policy, params, rolloutKey, 5)
      // Oracle (float64, SB3's VecNormalize): G ← γG + r per env; mean/var of G merged per step
      // from (0, 1, 1e-4); r̂ = clip(r / √(var + ε), ±10); G ← 0 where the episode ended.
      let mean = 0, variance = 1, count = 1e-4
      const G = [0, 0, 0], expected: Array<number> = []
      for (let t = 0; t < 5; t++) {
        const rows = [0, 1, 2].map((e) => t * 3 + e)
        rows.forEach((r, e) => (G[e] = gamma * G[e]! + rawBatch.rewards[r]!))
        const m = (G[0]! + G[1]! + G[2]!) / 3, v = G.reduce((a, g) => a + (g - m) ** 2, 0) / 3
        const delta = m - mean, total = count + 3
        mean += (delta * 3) / total
        variance = (variance * count + v * 3 + (delta ** 2 * count * 3) / total) / total
        count = total
        rows.forEach((r, e) => {
          expected.push(Math.min(10, Math.max(-10, rawBatch.rewards[r]! / Math.sqrt(variance + epsilon))))
          if (rawBatch.terminations[r] === 1 || rawBatch.truncations[r] === 1) G[e] = 0
        })
      }
      expectClose(batch.rewards, expected, 1e-12)
      expect(Array.from(batch.rewards)).not.toEqual(Array.from(rawBatch.rewards))
      expect(batch.episodeReturns).toEqual([3, 6, 10, 3])
      expect(batch.episodeLengths).toEqual([2, 3, 4, 2])
      expect(unfinished(state).returns).toEqual([3, 1, 1])
      expect(state.rewards.returnStats().count).toBeCloseTo(15 + 1e-4, 12)
    })

    it("a Box policy's actions are stored unclipped; the env receives them clipped to its bounds", () => {
      // Scripted Box([−1], [1]) copies that never end and record what they receive; a Gaussian
      // policy with σ = 2 sends many actions beyond the bounds.
      const received: Array<Array<number>> = [[], []]
      const boxEnv = (e: number): Env.Env => {
        const inner = scripted(e, undefined, { actions: [], resetKeys: [] })
        return {
          ...inner,
          actionSpace: Space.box([-1], [1]),
          step: (a) => {
            if (typeof a === "number" || a.length !== 1) throw new Error("expected a Box action")
            received[e]!.push(a[0]!)
            return inner.step(0)
          }
        }
      }
      const boxSizes = [2, 4, 1]
      const boxPolicy = Policy.make({ observationSize: 2, hiddenSizes: [4], distribution: Distribution.diagGaussian(1) })
      const boxParams = Dense.randomParameters(Key.make(8), boxSizes, "gaussian", 1.0)
      boxParams[boxParams.length - 1] = Math.log(2)
      const state = Rollout.init(boxEnv, 2, envKey)
      const batch = Rollout.collect(state, boxPolicy, boxParams, rolloutKey, 9)
      // Row r's action: μ(obs) + σ·z with z = normals(foldIn(rolloutKey, r), 1), from the oracle.
      const expected = observationRows(batch, 2).map((obs, r) =>
        Dense.forward(boxSizes, boxParams, obs).output[0]! + 2 * Key.normals(Key.foldIn(rolloutKey, r), 1)[0]!
      )
      expectClose(batch.actions, expected, 1e-12)
      const outside = Array.from(batch.actions).filter((a) => Math.abs(a) > 1).length
      expect(outside).toBeGreaterThan(3)
      expect(outside).toBeLessThan(18)
      // Env e received clip(action of row e + 2t) at step t, exactly.
      const clipped = Array.from(batch.actions, (a) => Math.min(1, Math.max(-1, a)))
      received.forEach((got, e) => expect(got).toEqual(clipped.filter((_, r) => r % 2 === e)))
    })

    it("is deterministic with normalisation and reward scaling: the same keys give identical batches and state", () => {
      const run = () => {
        const state = Rollout.init(makeScripted(newLogs(3)), 3, envKey, Normalize.running(), Wrappers.returnStd())
        const first = Rollout.collect(state, policy, params, rolloutKey, 5)
        const second = Rollout.collect(state, policy, params, Key.make(201), 4)
        return { first, second, snapshot: JSON.stringify(state.venv.snapshot()) }
      }
      expect(run()).toEqual(run())
    })
  })

  describe("nextValues", () => {
    it("picks row t + numEnvs inside an episode, the bootstrap value at truncation and batch end, 0 after termination", () => {
      const logs = newLogs(3)
      const batch = Rollout.collect(Rollout.init(makeScripted(logs), 3, envKey), policy, params, rolloutKey, 5)
      const values = Float64Array.from({ length: 15 }, (_, r) => 100 + r)
      const bootstrapValues = [-1, -2, -3, -4]
      // From the table in `collect`: rows 5, 6, 11 terminated → 0; row 10 truncated → bootstrap 0;
      // rows 12..14 → bootstraps 1..3; every other row r → values[r + 3] = 103 + r.
      expect(Array.from(Rollout.nextValues(batch, values, bootstrapValues))).toEqual([
        103, 104, 105,
        106, 107, 0,
        0, 110, 111,
        112, -1, 0,
        -2, -3, -4
      ])
    })
  })

  describe("CartPole-v1", () => {
    it("2 envs × 300 steps: completed and unfinished episode lengths sum to 600", () => {
      const cartPolicy = Policy.make({ observationSize: 4, hiddenSizes: [8], distribution: Distribution.categorical(2) })
      const cartParams = Policy.initialize(Key.make(3), cartPolicy)
      const key = Key.make(4)
      const state = Rollout.init(() => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"), 2, key)
      const batch = Rollout.collect(state, cartPolicy, cartParams, Key.make(5), 300)
      expect(batch.size).toBe(600)
      // A near-uniform policy drops the pole in ~10–60 steps: many episodes, none truncated.
      expect(batch.episodeLengths.length).toBeGreaterThan(5)
      const completed = batch.episodeLengths.reduce((a, b) => a + b, 0)
      const open = unfinished(state)
      expect(completed + open.lengths[0]! + open.lengths[1]!).toBe(600)
      // Reward 1 per step.
      const returns = batch.episodeReturns.reduce((a, b) => a + b, 0)
      expect(returns + open.returns[0]! + open.returns[1]!).toBe(600)
      expect(batch.episodeReturns).toEqual(batch.episodeLengths)

      // The lengths, recomputed from the flags in row order.
      const running = [0, 0], lengths: Array<number> = []
      for (let r = 0; r < 600; r++) {
        const e = r % 2
        running[e]!++
        if (batch.terminations[r] === 1 || batch.truncations[r] === 1) {
          lengths.push(running[e]!)
          running[e] = 0
        }
      }
      expect(lengths).toEqual(batch.episodeLengths)
      expect(running).toEqual(open.lengths)
      expect(Array.from(batch.truncations).every((x) => x === 0)).toBe(true)

      // The first observations come from each env's first reset key.
      for (let e = 0; e < 2; e++) {
        const fresh = CartPole.make().reset({ key: Key.foldIn(Key.foldIn(key, e), 0) })
        expect(Array.from(batch.observations.subarray(e * 4, e * 4 + 4))).toEqual(Array.from(fresh))
      }
      // Batch end: both envs bootstrap from their next observation (unless that row ended).
      for (let e = 0; e < 2; e++) {
        const row = 598 + e, b = batch.bootstrapIndex[row]!
        if (batch.terminations[row] === 1) expect(b).toBe(-1)
        else expect(Array.from(batch.bootstrapObservations.subarray(b * 4, b * 4 + 4))).toEqual(Array.from(state.venv.observations.subarray(e * 4, e * 4 + 4)))
      }
    })
  })
})
