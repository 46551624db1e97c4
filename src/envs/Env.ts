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
