/**
 * The environment interface: Gymnasium's `reset`/`step` contract with typed spaces, explicit
 * keys for every random draw, and snapshots of the full state for checkpoints.
 *
 * Environments are plain, synchronous, mutable objects: a rollout steps them millions of
 * times, so they stay out of Effect; the training loop wraps whole rollouts in effects.
 *
 * @since 0.1.0
 */
import { Data } from "effect"
import type * as Key from "../algebra/Key.ts"
import * as Space from "./Space.ts"

/**
 * An action: an index for a `Discrete` space, a vector for a `Box` space.
 *
 * @category models
 */
export type Action = number | ArrayLike<number>

/**
 * The result of one `step`, as in Gymnasium: `terminated` is an ending of the task itself
 * (no bootstrapping past it); `truncated` is an ending imposed from outside, e.g. a time
 * limit (the return would have continued: bootstrap from V(observation)). Both may be true.
 * On either, `observation` is the final observation of the episode; the caller resets.
 *
 * @category models
 */
export interface Step {
  readonly observation: Float32Array
  readonly reward: number
  readonly terminated: boolean
  readonly truncated: boolean
}

/**
 * How to start an episode: from a key (the initial state is drawn with the env's own
 * reset distribution) or from an explicit initial state (for tests and for comparing
 * traces with other implementations).
 *
 * @category models
 */
export type Reset = { readonly key: Key.Key } | { readonly state: ReadonlyArray<number> }

/**
 * Everything the env's future depends on, as plain JSON: its physical state and its
 * episode clock. `restore(snapshot())` continues bit for bit.
 *
 * @category models
 */
export interface Snapshot {
  readonly id: string
  readonly state: ReadonlyArray<number>
  readonly elapsedSteps: number
}

/**
 * An environment.
 *
 * @category models
 */
export interface Env {
  readonly id: string
  readonly observationSpace: Space.Box
  readonly actionSpace: Space.Space
  /** Truncation horizon (Gymnasium's `max_episode_steps`), or `undefined` for none. */
  readonly maxEpisodeSteps: number | undefined
  /** Starts an episode and returns its first observation. */
  reset(from: Reset): Float32Array
  /** Advances one step. Throws {@link InvalidActionError} where Gymnasium rejects the action. */
  step(action: Action): Step
  /** The current state, for checkpoints. */
  snapshot(): Snapshot
  /** Continues from a snapshot taken from an env with the same id. */
  restore(snapshot: Snapshot): void
}

/**
 * An action outside the env's action space, where Gymnasium rejects it (discrete envs).
 *
 * @category errors
 */
export class InvalidActionError extends Data.TaggedError("InvalidActionError")<{
  readonly env: string
  readonly space: string
  readonly action: string
  readonly message: string
}> {}

/**
 * An explicit initial state or snapshot that does not fit the env.
 *
 * @category errors
 */
export class InvalidStateError extends Data.TaggedError("InvalidStateError")<{
  readonly env: string
  readonly message: string
}> {}

/**
 * The error for `action` outside `space`, naming the env and the space.
 *
 * @category constructors
 */
export const invalidAction = (env: string, space: Space.Space, action: Action): InvalidActionError => {
  const shown = typeof action === "number" ? String(action) : `[${Array.from(action).join(", ")}]`
  const allowed = Space.describe(space)
  return new InvalidActionError({
    env,
    space: allowed,
    action: shown,
    message: `${env}: action ${shown} is not in the action space ${allowed}`
  })
}

// -- Checks shared by the environments -----------------------------------------------------------

/**
 * The {@link InvalidStateError} of env `env`, its message prefixed with the id.
 *
 * @category constructors
 */
export const stateError = (env: string, message: string): InvalidStateError =>
  new InvalidStateError({ env, message: `${env}: ${message}` })

/**
 * Checks that the first `names.length` entries of `state` (an initial state or a snapshot's
 * state, named `what` in the error) are finite numbers; the error lists the components.
 *
 * @category validation
 */
export const checkFinite = (env: string, state: ReadonlyArray<number>, names: ReadonlyArray<string>, what: string): void => {
  for (let i = 0; i < names.length; i++) {
    const v = state[i]
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw stateError(env, `${what} must be ${names.length} finite numbers [${names.join(", ")}], got [${state.join(", ")}]`)
    }
  }
}

/**
 * Checks that `state` has exactly one finite number per component of `names`.
 *
 * @category validation
 */
export const checkState = (env: string, state: ReadonlyArray<number>, names: ReadonlyArray<string>, what: string): void => {
  if (state.length !== names.length) {
    throw stateError(env, `${what} must have ${names.length} components [${names.join(", ")}], got ${state.length}`)
  }
  checkFinite(env, state, names, what)
}

/**
 * Checks that a snapshot was taken from an env with id `env`.
 *
 * @category validation
 */
export const checkSnapshotId = (env: string, snapshot: Snapshot): void => {
  if (snapshot.id !== env) throw stateError(env, `cannot restore a snapshot of "${snapshot.id}"`)
}

/**
 * A snapshot's `elapsedSteps`, checked to be a non-negative integer.
 *
 * @category validation
 */
export const elapsedStepsOf = (env: string, snapshot: Snapshot): number => {
  const steps = snapshot.elapsedSteps
  if (!Number.isSafeInteger(steps) || steps < 0) throw stateError(env, `snapshot elapsedSteps must be a non-negative integer, got ${steps}`)
  return steps
}

/**
 * Gymnasium's `reset(options={"low", "high"})` of the classic-control envs: the bounds of a
 * uniform initial state. (A type alias rather than an interface, so that it is assignable to
 * `Registry.EnvOptions`.)
 *
 * @category models
 */
export type UniformResetOptions = {
  readonly low?: number | undefined
  readonly high?: number | undefined
}

/**
 * The bounds of `options` (only `low` and `high`, finite, `low ≤ high`), the defaults where
 * absent; a `RangeError` naming the env and the option otherwise.
 *
 * @category validation
 */
export const uniformResetBounds = (
  env: string,
  options: UniformResetOptions | undefined,
  defaults: { readonly low: number; readonly high: number }
): { readonly low: number; readonly high: number } => {
  const given = options ?? {}
  for (const name of Object.keys(given)) {
    if (name !== "low" && name !== "high") throw new RangeError(`${env}: unknown option "${name}" (expected low, high)`)
  }
  const low = given.low ?? defaults.low
  const high = given.high ?? defaults.high
  if (typeof low !== "number" || typeof high !== "number" || !Number.isFinite(low) || !Number.isFinite(high)) {
    throw new RangeError(`${env}: reset bounds must be finite numbers, got low ${String(low)}, high ${String(high)}`)
  }
  if (low > high) throw new RangeError(`${env}: lower bound (${low}) must not exceed higher bound (${high})`)
  return { low, high }
}

// -- Environments over a small float64 state ----------------------------------------------------------

/**
 * An environment's physics over a small float64 state — what differs between the
 * classic-control envs. {@link episodic} adds what they share: resets from a key or an explicit
 * state, the checks of explicit states and snapshots, the episode clock, and the errors on
 * stepping or snapshotting before the first reset.
 *
 * @category models
 */
export interface Dynamics {
  readonly id: string
  readonly observationSpace: Space.Box
  readonly actionSpace: Space.Space
  /** The components of the state, as errors name them. */
  readonly components: ReadonlyArray<string>
  /** The initial state drawn from `key` (the env's reset distribution). */
  readonly initial: (key: Key.Key) => ReadonlyArray<number>
  /** Sets the state (an initial state, or a snapshot's state; checked by `check`). */
  readonly set: (state: ReadonlyArray<number>) => void
  /** The state as a snapshot holds it. */
  readonly get: () => Array<number>
  /** The observation of the current state. */
  readonly observe: () => Float32Array
  /** One step of the physics; throws {@link InvalidActionError} for an action it rejects. */
  readonly step: (action: Action) => Step
  /**
   * Checks an explicit initial state or a snapshot's state before `set`; by default
   * {@link checkState} with `components`.
   */
  readonly check?: (state: ReadonlyArray<number>, what: "initial state" | "snapshot state") => void
}

/**
 * The environment of `dynamics`, without a time limit. `reset({ key })` starts from
 * `initial(key)`, `reset({ state })` from that state; a snapshot is `get()` with the steps since
 * the reset; stepping or taking a snapshot before the first reset throws
 * {@link InvalidStateError}, as does restoring a snapshot of another env or with a bad state.
 *
 * @category constructors
 */
export const episodic = (dynamics: Dynamics): Env => {
  const { id, components } = dynamics
  const check = dynamics.check ?? ((state, what) => checkState(id, state, components, what))
  let elapsedSteps = 0
  let ready = false
  const start = (state: ReadonlyArray<number>, steps: number): void => {
    dynamics.set(state)
    elapsedSteps = steps
    ready = true
  }
  return {
    id,
    observationSpace: dynamics.observationSpace,
    actionSpace: dynamics.actionSpace,
    maxEpisodeSteps: undefined,
    reset(from: Reset): Float32Array {
      if ("key" in from) {
        start(dynamics.initial(from.key), 0)
      } else {
        check(from.state, "initial state")
        start(from.state, 0)
      }
      return dynamics.observe()
    },
    step(action: Action): Step {
      if (!ready) throw stateError(id, "step called before reset")
      const result = dynamics.step(action)
      elapsedSteps++
      return result
    },
    snapshot(): Snapshot {
      if (!ready) throw stateError(id, "snapshot taken before reset")
      return { id, state: dynamics.get(), elapsedSteps }
    },
    restore(snapshot: Snapshot): void {
      checkSnapshotId(id, snapshot)
      check(snapshot.state, "snapshot state")
      start(snapshot.state, elapsedStepsOf(id, snapshot))
    }
  }
}

/**
 * The scalar of a one-dimensional Box action (a number or a one-element array), finite;
 * {@link InvalidActionError} otherwise.
 *
 * @category validation
 */
export const scalarAction = (env: string, space: Space.Space, action: Action): number => {
  const a = typeof action === "number" ? action : action.length === 1 ? action[0] : undefined
  if (typeof a !== "number" || !Number.isFinite(a)) throw invalidAction(env, space, action)
  return a
}
