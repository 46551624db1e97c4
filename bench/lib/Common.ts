/**
 * What the benches share: timing helpers and the TRPO update problem on real CartPole data.
 */
import { Effect, Stream } from "effect"
import * as Key from "../../src/algebra/Key.ts"
import * as Mlp from "../../src/algebra/Mlp.ts"
import * as Surrogate from "../../src/algebra/Surrogate.ts"
import type * as Recipe from "../../src/algorithms/Recipe.ts"
import * as Rollout from "../../src/algorithms/Rollout.ts"
import * as Train from "../../src/algorithms/Train.ts"
import * as Trpo from "../../src/algorithms/Trpo.ts"
import * as Registry from "../../src/envs/Registry.ts"

export const median = (xs: ReadonlyArray<number>): number => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[sorted.length >> 1]!
}

export const cosine = (a: Float64Array, b: Float64Array): number => {
  let ab = 0, aa = 0, bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += a[i]! * b[i]!
    aa += a[i]! * a[i]!
    bb += b[i]! * b[i]!
  }
  return ab / Math.sqrt(aa * bb)
}

/**
 * Median milliseconds of each function, measured round-robin (one call of each per round) after
 * `warmup` rounds, so that drift on a shared machine affects every variant alike. tfjs-wasm's
 * kernels run slowly for their first dozens of calls (V8 tiers wasm code up in the background),
 * hence the generous warm-up.
 */
export const compareMs = (fs: ReadonlyArray<() => void>, n: number, warmup = 20): Array<number> => {
  for (let i = 0; i < warmup; i++) for (const f of fs) f()
  const times = fs.map(() => [] as Array<number>)
  for (let i = 0; i < n; i++) {
    fs.forEach((f, j) => {
      const start = performance.now()
      f()
      times[j]!.push(performance.now() - start)
    })
  }
  return times.map(median)
}

/**
 * A TRPO update problem from real data: a 4→h→h→2 tanh categorical policy after 5 iterations of
 * TRPO on CartPole-v1 (1 env × N steps, seed 0), and the next N-step batch with its normalised
 * GAE advantages.
 */
export const updateProblem = (options: { readonly hidden?: number; readonly size?: number } = {}) =>
  Effect.gen(function*() {
    const N = options.size ?? 2048, h = options.hidden ?? 64
    const recipe: Recipe.NaturalGradient = { ...Trpo.recipe, policyHiddenSizes: [h, h] }
    const run: Train.Run = { recipe, makeEnv: () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"), seed: 0, totalSteps: 5 * N }
    const last = yield* Train.iterations(run).pipe(Stream.runLast)
    if (last._tag === "None") return yield* Effect.die("no iteration")
    const state = last.value.state
    const batch = Rollout.collect(state.rollout, state.policy, state.policyParams, Key.make(99), N)
    const value = Mlp.hostNetwork(state.value, state.valueParams)
    const values = value.forward(batch.observations, batch.size, new Float64Array(batch.size))
    const width = Mlp.inputSize(state.value)
    const bootstrapCount = batch.bootstrapObservations.length / width
    const bootstrap = value.forward(batch.bootstrapObservations, bootstrapCount, new Float64Array(bootstrapCount))
    const { advantages } = recipe.advantage.estimate({
      numSteps: batch.numSteps,
      numEnvs: batch.numEnvs,
      rewards: batch.rewards,
      values,
      nextValues: Rollout.nextValues(batch, values, bootstrap),
      terminations: batch.terminations,
      truncations: batch.truncations
    })
    return { policy: state.policy, params: state.policyParams, observations: batch.observations, actions: batch.actions, advantages, size: N }
  })

export type UpdateProblem = Effect.Success<ReturnType<typeof updateProblem>>

/**
 * The policy gradient g = ∇L(θ_old) of the importance-sampled surrogate on the problem's batch,
 * and the linearisation at θ_old it was taken from (the caller disposes it). Categorical
 * policies only (no extra parameters).
 */
export const policyGradient = (p: UpdateProblem): { readonly g: Float64Array; readonly linearization: Mlp.Linearization } => {
  const linearization = Mlp.linearize(p.policy.network, p.params, p.observations, p.size)
  const batch = Surrogate.makeBatch({ distribution: p.policy.distribution, size: p.size, actions: p.actions, advantages: p.advantages, outputsOld: linearization.outputs, extraOld: [] })
  const { gradient } = Surrogate.importanceSampled().valueAndGradient(batch, linearization.outputs, [])
  return { g: linearization.vjp(gradient.outputs), linearization }
}

/** One row of bench/results/dense-vs-cg.json (written by bench/dense-vs-cg.ts, read by bench/theory.ts). */
export interface DenseVsCgRow {
  readonly hidden: number
  readonly parameters: number
  readonly buildMs: number
  readonly choleskyMs: number
  readonly denseMs: number
  readonly cg10Ms: number
  readonly cgConvergedMs: number
  readonly cgConvergedIterations: number
  readonly cosineCg10: number
  readonly cosineCgConverged: number
  readonly denseRelativeResidual: number
  /** At λ = 1e-3 (not timed). */
  readonly smallDamping: {
    readonly cosineCg10: number
    readonly cosineCgConverged: number
    readonly cgConvergedIterations: number
  }
}
