/**
 * Environment specs by id, as Gymnasium's `gym.make` registry, but as an immutable value:
 * {@link builtins} holds the library's envs, and a user's own env joins with
 * {@link register}, which returns a new registry and leaves the old one unchanged.
 *
 * @since 0.1.0
 */
import { Data, Effect } from "effect"
import * as Acrobot from "./Acrobot.ts"
import * as CartPole from "./CartPole.ts"
import type * as Env from "./Env.ts"
import * as MountainCar from "./MountainCar.ts"
import * as MountainCarContinuous from "./MountainCarContinuous.ts"
import * as Pendulum from "./Pendulum.ts"
import * as TimeLimit from "./TimeLimit.ts"

/**
 * Constructor options of an env, passed through {@link make} (Gymnasium's `gym.make` kwargs);
 * each env validates its own.
 *
 * @category models
 */
export type EnvOptions = Readonly<Record<string, unknown>>

/**
 * How to build one env: `make` builds the dynamics (Gymnasium's entry point) and
 * {@link make} wraps them in a {@link TimeLimit.wrap} of `maxEpisodeSteps` unless it is
 * `undefined`, so the limit a spec reports is the limit its envs have.
 *
 * @category models
 */
export interface EnvSpec {
  readonly id: string
  readonly description: string
  readonly maxEpisodeSteps: number | undefined
  readonly make: (options?: EnvOptions) => Env.Env
}

/**
 * An immutable collection of specs, in registration order.
 *
 * @category models
 */
export interface Registry {
  readonly specs: ReadonlyMap<string, EnvSpec>
}

/**
 * An id that is not registered, with the ids that are.
 *
 * @category errors
 */
export class UnknownEnvError extends Data.TaggedError("UnknownEnvError")<{
  readonly id: string
  readonly known: ReadonlyArray<string>
  readonly message: string
}> {}

/**
 * A spec whose id is already registered.
 *
 * @category errors
 */
export class DuplicateEnvError extends Data.TaggedError("DuplicateEnvError")<{
  readonly id: string
  readonly message: string
}> {}

/**
 * CartPole-v1 with Gymnasium's limit of 500 steps; options `low`, `high` (see `CartPole.Options`).
 *
 * @category constructors
 */
export const cartPoleV1: EnvSpec = {
  id: CartPole.id,
  description: "Balance a pole on a cart by pushing it left or right (Barto, Sutton & Anderson 1983)",
  maxEpisodeSteps: 500,
  make: (options) => CartPole.make(options as CartPole.Options | undefined)
}

/**
 * Pendulum-v1 with Gymnasium's limit of 200 steps; options `g`, `x_init`, `y_init` (see
 * `Pendulum.Options`).
 *
 * @category constructors
 */
export const pendulumV1: EnvSpec = {
  id: Pendulum.id,
  description: "Swing a pendulum up and hold it upright with a bounded continuous torque (Gymnasium classic control)",
  maxEpisodeSteps: 200,
  make: (options) => Pendulum.make(options as Pendulum.Options | undefined)
}

/**
 * Acrobot-v1 with Gymnasium's limit of 500 steps; options `low`, `high` (see `Acrobot.Options`).
 *
 * @category constructors
 */
export const acrobotV1: EnvSpec = {
  id: Acrobot.id,
  description: "Swing the tip of a two-link pendulum above a bar by torquing only the middle joint (Sutton 1996)",
  maxEpisodeSteps: 500,
  make: (options) => Acrobot.make(options as Acrobot.Options | undefined)
}

/**
 * MountainCar-v0 with Gymnasium's limit of 200 steps; options `low`, `high` (see
 * `MountainCar.Options`).
 *
 * @category constructors
 */
export const mountainCarV0: EnvSpec = {
  id: MountainCar.id,
  description: "Drive an underpowered car up a hill by rocking it with left/none/right pushes (Moore 1990)",
  maxEpisodeSteps: 200,
  make: (options) => MountainCar.make(options as MountainCar.Options | undefined)
}

/**
 * MountainCarContinuous-v0 with Gymnasium's limit of 999 steps; options `low`, `high` (see
 * `MountainCarContinuous.Options`).
 *
 * @category constructors
 */
export const mountainCarContinuousV0: EnvSpec = {
  id: MountainCarContinuous.id,
  description: "Drive an underpowered car up a hill with a continuous force: 100 at the flag, less fuel (Moore 1990)",
  maxEpisodeSteps: 999,
  make: (options) => MountainCarContinuous.make(options as MountainCarContinuous.Options | undefined)
}

/**
 * The registry with no envs.
 *
 * @category constructors
 */
export const empty: Registry = { specs: new Map() }

/**
 * The registry of the library's envs: `CartPole-v1`, `Pendulum-v1`, `Acrobot-v1`,
 * `MountainCar-v0`, `MountainCarContinuous-v0`.
 *
 * @category constructors
 */
export const builtins: Registry = {
  specs: new Map([
    [cartPoleV1.id, cartPoleV1],
    [pendulumV1.id, pendulumV1],
    [acrobotV1.id, acrobotV1],
    [mountainCarV0.id, mountainCarV0],
    [mountainCarContinuousV0.id, mountainCarContinuousV0]
  ])
}

/**
 * The registered ids, in registration order.
 *
 * @category getters
 */
export const ids = (registry: Registry): ReadonlyArray<string> => Array.from(registry.specs.keys())

/**
 * The spec of `id`, or `undefined`.
 *
 * @category getters
 */
export const get = (registry: Registry, id: string): EnvSpec | undefined => registry.specs.get(id)

const unknownEnv = (registry: Registry, id: string): UnknownEnvError => {
  const known = ids(registry)
  return new UnknownEnvError({
    id,
    known,
    message: `unknown environment "${id}"; available: ${known.length === 0 ? "none" : known.join(", ")}`
  })
}

const checkSpec = (spec: EnvSpec): void => {
  if (typeof spec.id !== "string" || spec.id.length === 0) throw new RangeError("Registry.register: id must be a non-empty string")
  const max = spec.maxEpisodeSteps
  if (max !== undefined && (!Number.isSafeInteger(max) || max < 1)) {
    throw new RangeError(`Registry.register: ${spec.id}: maxEpisodeSteps must be a positive integer or undefined, got ${max}`)
  }
}

/**
 * `registry` plus `spec`, or {@link DuplicateEnvError} if its id is taken. To replace a
 * builtin, register under a new id (Gymnasium's convention: bump the version suffix).
 *
 * **Gotchas**: a malformed spec (empty id, non-positive-integer `maxEpisodeSteps`) is a defect.
 *
 * @category combinators
 */
export const register = (registry: Registry, spec: EnvSpec): Effect.Effect<Registry, DuplicateEnvError> =>
  Effect.suspend(() => {
    checkSpec(spec)
    if (registry.specs.has(spec.id)) {
      return Effect.fail(new DuplicateEnvError({ id: spec.id, message: `environment "${spec.id}" is already registered` }))
    }
    return Effect.succeed<Registry>({ specs: new Map([...registry.specs, [spec.id, spec]]) })
  })

/**
 * {@link register}, throwing {@link DuplicateEnvError} (or a `RangeError` for a malformed spec).
 *
 * @category combinators
 */
export const registerUnsafe = (registry: Registry, spec: EnvSpec): Registry => {
  checkSpec(spec)
  if (registry.specs.has(spec.id)) {
    throw new DuplicateEnvError({ id: spec.id, message: `environment "${spec.id}" is already registered` })
  }
  return { specs: new Map([...registry.specs, [spec.id, spec]]) }
}

const build = (spec: EnvSpec, options: EnvOptions | undefined): Env.Env => {
  const env = spec.make(options)
  return spec.maxEpisodeSteps === undefined ? env : TimeLimit.wrap(env, spec.maxEpisodeSteps)
}

/**
 * A new env of `id`, with the spec's time limit, or {@link UnknownEnvError}.
 *
 * **Gotchas**: options the env rejects (it throws) are a defect, not a typed failure.
 *
 * @category constructors
 */
export const make = (registry: Registry, id: string, options?: EnvOptions): Effect.Effect<Env.Env, UnknownEnvError> =>
  Effect.suspend(() => {
    const spec = registry.specs.get(id)
    return spec === undefined ? Effect.fail(unknownEnv(registry, id)) : Effect.sync(() => build(spec, options))
  })

/**
 * {@link make}, throwing {@link UnknownEnvError}.
 *
 * @category constructors
 */
export const makeUnsafe = (registry: Registry, id: string, options?: EnvOptions): Env.Env => {
  const spec = registry.specs.get(id)
  if (spec === undefined) throw unknownEnv(registry, id)
  return build(spec, options)
}

/**
 * The options each builtin env accepts, by id.
 *
 * @category models
 */
export interface BuiltinOptions {
  readonly "CartPole-v1": CartPole.Options
  readonly "Pendulum-v1": Pendulum.Options
  readonly "Acrobot-v1": Acrobot.Options
  readonly "MountainCar-v0": MountainCar.Options
  readonly "MountainCarContinuous-v0": MountainCarContinuous.Options
}

/**
 * A builtin env with its options typed by id, e.g.
 * `Registry.builtin("Acrobot-v1", { low: -0.05, high: 0.05 })`.
 *
 * @category constructors
 */
export const builtin = <Id extends keyof BuiltinOptions>(id: Id, options?: BuiltinOptions[Id]): Env.Env =>
  makeUnsafe(builtins, id, options as EnvOptions | undefined)
