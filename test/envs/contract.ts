/**
 * The contract every environment keeps, shared by the env tests: `it` blocks to register
 * inside an env's `describe`s (the raw env has no time limit, errors before reset and on
 * invalid actions, explicit states, snapshot round trips and their validation, the
 * registered time limit) and helpers for keyed resets and comparisons with a float64 oracle.
 */
import { expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import type * as Space from "../../src/envs/Space.ts"
import * as Assert from "../reference/Assert.ts"

/** What the shared blocks need to know about an env. */
export interface Spec {
  /** Gymnasium's id, as errors and snapshots name the env. */
  readonly id: string
  /** The raw env, without a time limit. */
  readonly make: () => Env.Env
  readonly actionSpace: Space.Space
  readonly observationSpace: Space.Box
  /** The action space as errors name it, e.g. "Discrete(3)". */
  readonly space: string
  /** The float32 observation of a physical state. */
  readonly observe: (state: ReadonlyArray<number>) => Array<number>
  /** The physical state of an env; by default the whole snapshot state. */
  readonly physical?: (env: Env.Env) => Array<number>
  /** The env's action for an oracle's scalar action; by default the scalar itself. */
  readonly act?: (action: number) => Env.Action
}

/** One step of an independent float64 oracle: Gymnasium's `step` written out directly. */
export type Oracle = (state: ReadonlyArray<number>, action: number) => {
  readonly state: ReadonlyArray<number>
  readonly reward: number
  readonly terminated: boolean
}

/** The error `f` throws; fails if it returns. */
export const thrown = (f: () => unknown): unknown => {
  try {
    f()
  } catch (error) {
    return error
  }
  throw new Error("expected a throw")
}

/** The whole snapshot state. */
export const physical = (env: Env.Env): Array<number> => [...env.snapshot().state]

const physicalOf = (spec: Spec): (env: Env.Env) => Array<number> => spec.physical ?? physical
const actOf = (spec: Spec): (action: number) => Env.Action => spec.act ?? ((action) => action)

// make

/** `make()` has the module's id and spaces and no time limit: `steps` steps from `start` never truncate. */
export const unlimited = (spec: Spec, run: {
  readonly start: Env.Reset
  readonly steps: number
  readonly action: (t: number) => Env.Action
  /** Also checks that no step terminates. */
  readonly neverTerminates?: boolean
}): void => {
  it(`builds the raw dynamics without a time limit${run.neverTerminates ? ", never terminating" : ""}`, () => {
    const env = spec.make()
    expect(env.id).toBe(spec.id)
    expect(env.maxEpisodeSteps).toBeUndefined()
    expect(env.actionSpace).toBe(spec.actionSpace)
    expect(env.observationSpace).toBe(spec.observationSpace)
    env.reset(run.start)
    for (let t = 0; t < run.steps; t++) {
      const result = env.step(run.action(t))
      expect(result.truncated).toBe(false)
      if (run.neverTerminates) expect(result.terminated).toBe(false)
    }
  })
}

/** `make` throws a RangeError on each of `invalid`, and on `unknown` (one option it does not know) names it. */
export const rejectsOptions = <O>(
  make: (options: O) => Env.Env,
  invalid: ReadonlyArray<O>,
  unknown: Readonly<Record<string, unknown>>
): void => {
  it("rejects malformed reset bounds", () => {
    for (const options of invalid) expect(() => make(options)).toThrow(RangeError)
    expect(() => make(unknown as O)).toThrow(new RegExp(`unknown option "${Object.keys(unknown)[0]}"`))
  })
}

// step

/** Actions a one-dimensional Box rejects: the wrong length or not finite. */
export const invalidBoxActions: ReadonlyArray<Env.Action> = [
  [],
  [1, 2],
  new Float64Array(3),
  [Number.NaN],
  Number.NaN,
  new Float64Array([Infinity]),
  -Infinity
]

/** Each of `actions` throws an InvalidActionError naming the env and its space, and leaves the state untouched. */
export const rejectsActions = (spec: Spec, actions: ReadonlyArray<Env.Action>): void => {
  it(`rejects actions outside ${spec.space} with InvalidActionError naming the env and space`, () => {
    const env = spec.make()
    env.reset({ key: Key.make(0) })
    const before = env.snapshot()
    for (const action of actions) {
      const error = thrown(() => env.step(action))
      expect(error).toBeInstanceOf(Env.InvalidActionError)
      const invalid = error as Env.InvalidActionError
      expect(invalid._tag).toBe("InvalidActionError")
      expect(invalid.env).toBe(spec.id)
      expect(invalid.space).toBe(spec.space)
      expect(invalid.message).toContain(spec.id)
      expect(invalid.message).toContain(spec.space)
    }
    // A rejected action leaves the state untouched.
    expect(env.snapshot()).toEqual(before)
  })
}

/** `step(action)` and `snapshot()` before the first reset throw InvalidStateError. */
export const refusesBeforeReset = (spec: Spec, action: Env.Action): void => {
  it("refuses to step or snapshot before the first reset", () => {
    expect(thrown(() => spec.make().step(action))).toBeInstanceOf(Env.InvalidStateError)
    expect(thrown(() => spec.make().snapshot())).toBeInstanceOf(Env.InvalidStateError)
  })
}

/** A Box env steps alike from `state` on `value` as a number, an array and typed arrays. */
export const acceptsScalarActions = (spec: Spec, state: ReadonlyArray<number>, value: number): void => {
  it("accepts a numeric scalar and any length-1 array-like as the action", () => {
    const env = spec.make()
    const results = [value, [value], new Float64Array([value]), new Float32Array([value])].map((action) => {
      env.reset({ state })
      return [env.step(action), physicalOf(spec)(env)] as const
    })
    for (const result of results.slice(1)) expect(result).toEqual(results[0])
  })
}

// reset

/** Each of `states` starts an episode exactly, observed, at step 0; each of `invalid` throws InvalidStateError. */
export const startsFromStates = (
  spec: Spec,
  states: ReadonlyArray<ReadonlyArray<number>>,
  invalid: ReadonlyArray<ReadonlyArray<number>>
): void => {
  it("starts from an explicit state exactly and validates it", () => {
    const env = spec.make()
    for (const state of states) {
      const observation = env.reset({ state })
      expect(physicalOf(spec)(env)).toEqual(state)
      expect(Array.from(observation)).toEqual(spec.observe(state))
      expect(env.snapshot().elapsedSteps).toBe(0)
    }
    for (const bad of invalid) {
      expect(thrown(() => env.reset({ state: bad }))).toBeInstanceOf(Env.InvalidStateError)
    }
  })
}

/**
 * A reset of `env` from `key` starts from `draw(Key.uniforms(key, uniforms))`, observed, at
 * step 0. Returns that state.
 */
export const expectKeyedReset = (
  spec: Spec,
  env: Env.Env,
  key: Key.Key,
  uniforms: number,
  draw: (u: Float64Array) => Array<number>
): Array<number> => {
  const observation = env.reset({ key })
  const expected = draw(Key.uniforms(key, uniforms))
  expect(physicalOf(spec)(env)).toEqual(expected)
  expect(Array.from(observation)).toEqual(spec.observe(expected))
  expect(env.snapshot().elapsedSteps).toBe(0)
  return expected
}

/** Two envs reset from one key agree; the two halves of its split give different states. */
export const expectKeyedResets = (spec: Spec): void => {
  const a = spec.make(), b = spec.make()
  const key = Key.make(7)
  expect(Array.from(a.reset({ key }))).toEqual(Array.from(b.reset({ key })))
  expect(a.snapshot()).toEqual(b.snapshot())
  const [k1, k2] = Key.split(key, 2)
  a.reset({ key: k1! })
  b.reset({ key: k2! })
  expect(physicalOf(spec)(a)).not.toEqual(physicalOf(spec)(b))
}

/**
 * Over `draws` resets from `Key.foldIn(Key.make(7), i)`, component i lies in
 * [low[i], high[i]) (is low[i] where high[i] = low[i]); where `spread[i] = [below, above]`,
 * some draw of component i is below `below` and some above `above`.
 */
export const expectResetsWithin = (spec: Spec, box: {
  readonly low: ReadonlyArray<number>
  readonly high: ReadonlyArray<number>
  readonly draws?: number
  readonly spread?: ReadonlyArray<readonly [number, number] | undefined>
}): void => {
  const env = spec.make()
  const key = Key.make(7)
  const min = box.low.map(() => Infinity), max = box.low.map(() => -Infinity)
  for (let i = 0; i < (box.draws ?? 200); i++) {
    env.reset({ key: Key.foldIn(key, i) })
    const state = physicalOf(spec)(env)
    expect(state).toHaveLength(box.low.length)
    state.forEach((v, j) => {
      if (box.low[j] === box.high[j]) {
        expect(v).toBe(box.low[j])
      } else {
        expect(v).toBeGreaterThanOrEqual(box.low[j]!)
        expect(v).toBeLessThan(box.high[j]!)
      }
      min[j] = Math.min(min[j]!, v)
      max[j] = Math.max(max[j]!, v)
    })
  }
  box.spread?.forEach((bounds, j) => {
    if (bounds === undefined) return
    expect(min[j]).toBeLessThan(bounds[0])
    expect(max[j]).toBeGreaterThan(bounds[1])
  })
}

// snapshot

/**
 * From a reset with `key`, runs `policy` for `warmup` steps, snapshots through JSON and runs
 * `steps` more; a fresh env restored from the snapshot repeats those steps bit for bit (the
 * sign of a zero reward included) and ends in the same snapshot. Returns the snapshot, the
 * original steps and the restored env.
 */
export const expectReplay = (
  make: () => Env.Env,
  policy: (observation: Float32Array) => Env.Action,
  run: { readonly key: Key.Key; readonly warmup: number; readonly steps: number }
): { readonly snapshot: Env.Snapshot; readonly trace: ReadonlyArray<Env.Step>; readonly copy: Env.Env } => {
  const env = make()
  let observation = env.reset({ key: run.key })
  for (let t = 0; t < run.warmup; t++) observation = env.step(policy(observation)).observation
  const snapshot = JSON.parse(JSON.stringify(env.snapshot())) as Env.Snapshot
  const atSnapshot = observation
  const trace: Array<Env.Step> = []
  for (let t = 0; t < run.steps; t++) {
    const result = env.step(policy(observation))
    trace.push(result)
    observation = result.observation
  }
  const end = env.snapshot()

  const copy = make()
  copy.restore(snapshot)
  observation = atSnapshot
  for (let t = 0; t < run.steps; t++) {
    const result = copy.step(policy(observation))
    expect(result).toEqual(trace[t])
    expect(Object.is(result.reward, trace[t]!.reward)).toBe(true)
    observation = result.observation
  }
  expect(copy.snapshot()).toEqual(end)
  for (let i = 0; i < end.state.length; i++) expect(Object.is(copy.snapshot().state[i], end.state[i])).toBe(true)
  return { snapshot, trace, copy }
}

/**
 * Snapshots restore a bit-identical continuation (driven by `policy`), and `restore` takes
 * `good` but rejects it with the id `otherId`, each of `invalidStates` or a negative or
 * fractional step count, leaving the state untouched.
 */
export const snapshots = (spec: Spec, cases: {
  readonly policy: (observation: Float32Array) => Env.Action
  readonly good: Env.Snapshot
  readonly otherId: string
  readonly invalidStates: ReadonlyArray<ReadonlyArray<number>>
}): void => {
  it("restores a bit-identical continuation, through JSON", () => {
    const { snapshot } = expectReplay(spec.make, cases.policy, { key: Key.make(11), warmup: 37, steps: 150 })
    expect(snapshot).toMatchObject({ id: spec.id, elapsedSteps: 37 })
    expect(snapshot.state).toHaveLength(cases.good.state.length)
  })

  it("rejects snapshots of other envs or malformed ones", () => {
    const env = spec.make()
    env.restore(cases.good)
    expect(env.snapshot()).toEqual(cases.good)
    const invalid: Array<Partial<Env.Snapshot>> = [
      { id: cases.otherId },
      ...cases.invalidStates.map((state) => ({ state })),
      { elapsedSteps: -1 },
      { elapsedSteps: 1.5 }
    ]
    for (const bad of invalid) {
      expect(thrown(() => env.restore({ ...cases.good, ...bad }))).toBeInstanceOf(Env.InvalidStateError)
    }
    // A rejected snapshot leaves the state untouched.
    expect(env.snapshot()).toEqual(cases.good)
  })
}

// Registry.make

/**
 * The registered env truncates on step `steps` (two episodes of `action(t)`, none
 * terminating), and its clock travels in snapshots: restored at `steps − 1` in each of
 * `last`'s states, the next step matches `expected`.
 */
export const truncates = (spec: Spec, run: {
  readonly steps: number
  readonly action: (t: number) => Env.Action
  readonly last: ReadonlyArray<{
    readonly state: ReadonlyArray<number>
    readonly action: Env.Action
    readonly expected: Partial<Env.Step>
  }>
}): void => {
  it(`truncates ${spec.id} on step ${run.steps}`, () => {
    const env = Registry.makeUnsafe(Registry.builtins, spec.id)
    expect(env.id).toBe(spec.id)
    expect(env.maxEpisodeSteps).toBe(run.steps)
    for (let episode = 0; episode < 2; episode++) {
      env.reset({ key: Key.make(episode) })
      for (let t = 1; t <= run.steps; t++) {
        const result = env.step(run.action(t))
        expect(result.terminated).toBe(false)
        expect(result.truncated).toBe(t === run.steps)
      }
    }
    for (const { action, expected, state } of run.last) {
      env.restore({ id: spec.id, state, elapsedSteps: run.steps - 1 })
      expect(env.step(action)).toMatchObject(expected)
    }
  })
}

// The float64 oracle

/**
 * From each `[state, action]`, one step of the raw env lands on the oracle's state and
 * observation (to `tolerance`; bit for bit when it is 0) with its reward and termination.
 */
export const expectOracleSteps = (
  spec: Spec,
  oracle: Oracle,
  cases: ReadonlyArray<readonly [ReadonlyArray<number>, number]>,
  tolerance: number
): void => {
  const env = spec.make()
  for (const [state, action] of cases) {
    env.reset({ state })
    const result = env.step(actOf(spec)(action))
    const expected = oracle(state, action)
    if (tolerance === 0) {
      expect(physicalOf(spec)(env)).toEqual(expected.state)
      expect(Array.from(result.observation)).toEqual(spec.observe(expected.state))
    } else {
      Assert.expectClose(physicalOf(spec)(env), expected.state, tolerance)
      Assert.expectClose(result.observation, spec.observe(expected.state), tolerance)
    }
    expect(result.reward).toBe(expected.reward)
    expect(result.terminated).toBe(expected.terminated)
  }
}

/**
 * A whole open-loop episode of the registered env, reset from the first half of
 * `Key.make(2024)` with actions `action(u)` from the second, follows the oracle: each step
 * from the env's own state to 1e-12, the oracle's own trajectory to 1e-8, and truncates on
 * the last of `steps`.
 */
export const expectOracleEpisode = (
  spec: Spec,
  oracle: Oracle,
  steps: number,
  action: (u: number) => number
): void => {
  const env = Registry.makeUnsafe(Registry.builtins, spec.id)
  const [resetKey, actionKey] = Key.split(Key.make(2024), 2)
  env.reset({ key: resetKey! })
  const actions = Array.from(Key.uniforms(actionKey!, steps), action)
  let state: ReadonlyArray<number> = physicalOf(spec)(env)
  for (let t = 0; t < steps; t++) {
    const before = physicalOf(spec)(env)
    const result = env.step(actOf(spec)(actions[t]!))
    // One step from the env's own state, and the oracle's own trajectory.
    const oneStep = oracle(before, actions[t]!)
    const expected = oracle(state, actions[t]!)
    state = expected.state
    Assert.expectClose(physicalOf(spec)(env), oneStep.state, 1e-12)
    Assert.expectClose(physicalOf(spec)(env), state, 1e-8)
    Assert.expectClose(result.observation, spec.observe(oneStep.state), 1e-12)
    expect(result.reward).toBe(expected.reward)
    expect(result.terminated).toBe(expected.terminated)
    expect(result.truncated).toBe(t === steps - 1)
  }
}

/**
 * From a reset with `Key.make(34)`, `steps` actions `action(u)` for u in
 * `Key.uniforms(Key.make(35), steps)` follow the oracle's own trajectory bit for bit.
 */
export const expectBitIdenticalEpisode = (
  spec: Spec,
  oracle: Oracle,
  steps: number,
  action: (u: number) => number
): void => {
  const env = spec.make()
  env.reset({ key: Key.make(34) })
  let state: ReadonlyArray<number> = physicalOf(spec)(env)
  for (const u of Key.uniforms(Key.make(35), steps)) {
    const a = action(u)
    env.step(actOf(spec)(a))
    state = oracle(state, a).state
    expect(physicalOf(spec)(env)).toEqual(state)
  }
}
