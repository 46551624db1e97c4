/**
 * The training loop, one program for every recipe:
 *
 * collect a batch → estimate advantages → update the policy → fit the critic → report
 *
 * A run is a value: a recipe, an environment, a seed and a step budget. Running it yields a
 * `Stream` of iterations that a caller can `take`, fold, record or embed in its own Effect
 * application; nothing is computed until the stream is pulled. Iteration i draws every
 * random number from `foldIn(iterationsKey, i)`, so results depend on the seed and the recipe
 * alone.
 *
 * @since 0.1.0
 */
import { Clock, Data, Effect, Stream } from "effect"
import * as Adam from "../algebra/Adam.ts"
import * as Distribution from "../algebra/Distribution.ts"
import * as Key from "../algebra/Key.ts"
import * as Mlp from "../algebra/Mlp.ts"
import * as Policy from "../algebra/Policy.ts"
import * as Env from "../envs/Env.ts"
import type * as VectorEnv from "../envs/VectorEnv.ts"
import { TensorBackend } from "../runtime/TensorBackend.ts"
import * as Critic from "./Critic.ts"
import * as FirstOrder from "./FirstOrder.ts"
import * as NaturalGradient from "./NaturalGradient.ts"
import type * as Recipe from "./Recipe.ts"
import * as Rollout from "./Rollout.ts"

/**
 * One line of `metrics.jsonl`: the metric vocabulary of docs/metrics.md. The common keys are
 * present for every algorithm; the natural-gradient and first-order keys for their family.
 * Numbers that do not exist yet (no episode has ended) are `null`.
 *
 * @category models
 */
export interface IterationReport {
  readonly iteration: number
  readonly steps: number
  readonly episodes: number
  readonly episodeReturnMean: number | null
  readonly episodeLengthMean: number | null
  /** Mean return of the episodes that ended in this iteration's batch. */
  readonly batchReturnMean: number | null
  readonly kl: number
  readonly entropy: number
  readonly surrogateGain: number
  readonly valueLoss: number
  readonly explainedVariance: number
  readonly gradientNorm: number
  // natural-gradient methods
  readonly expectedImprovement?: number
  readonly backtracks?: number
  readonly lineSearchAccepted?: boolean
  readonly stepOutcome?: string
  readonly stepSize?: number
  readonly maxStepSize?: number
  readonly cgIterations?: number
  readonly cgResidual?: number
  // first-order methods
  readonly approxKl?: number
  readonly clipFraction?: number | null
  readonly policyLoss?: number
  readonly beta?: number
  readonly learningRate?: number
  readonly epochs?: number
  readonly wallSeconds: number
}

/**
 * Everything the next iteration depends on. The environments inside `rollout` are mutable
 * and advance when the next iteration is pulled.
 *
 * @category models
 */
export interface TrainingState {
  readonly iteration: number
  readonly steps: number
  readonly episodes: number
  readonly policy: Policy.Spec
  readonly policyParams: Float64Array
  readonly value: Mlp.Spec
  readonly valueParams: Float64Array
  /**
   * Adam's state: over the value parameters (natural-gradient recipes fit the critic
   * separately), or over `[policy, value]` parameters (first-order recipes).
   */
  readonly optimizer: Adam.State
  /** The KL penalty coefficient β of first-order recipes (0 when unused). */
  readonly beta: number
  readonly rollout: Rollout.State
  /** Returns and lengths of the last (up to) 100 completed episodes, oldest first. */
  readonly recentReturns: ReadonlyArray<number>
  readonly recentLengths: ReadonlyArray<number>
}

/**
 * An iteration's report and the state after it.
 *
 * @category models
 */
export interface Iteration {
  readonly report: IterationReport
  readonly state: TrainingState
}

/**
 * A run: what to train, where, from which seed, for how long.
 *
 * @category models
 */
export interface Run {
  readonly recipe: Recipe.Recipe
  /** Creates one environment (with its time limit); called once per env copy. */
  readonly makeEnv: () => Env.Env
  readonly seed: number
  /** The run stops after the first iteration that reaches this many env steps. */
  readonly totalSteps: number
}

/**
 * An environment rejected an action, or the run's inputs do not fit together.
 *
 * @category errors
 */
export class TrainError extends Data.TaggedError("TrainError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

/** The window of episodes `episodeReturnMean` averages over, as SB3's `ep_rew_mean`. */
const EPISODE_WINDOW = 100

/**
 * The policy for an environment's spaces: categorical for `Discrete`, diagonal Gaussian for
 * `Box` actions.
 *
 * @category constructors
 */
export const policyFor = (recipe: Recipe.Recipe, env: Pick<Env.Env, "observationSpace" | "actionSpace">): Policy.Spec =>
  Policy.make({
    observationSize: env.observationSpace.low.length,
    hiddenSizes: recipe.policyHiddenSizes,
    distribution:
      env.actionSpace._tag === "Discrete"
        ? Distribution.categorical(env.actionSpace.n)
        : Distribution.diagGaussian(env.actionSpace.low.length, { initialLogStd: recipe.initialLogStd })
  })

const keys = (seed: number) => {
  const [init, envs, iterations] = Key.split(Key.make(seed), 3)
  const [policy, value] = Key.split(init!, 2)
  return { policy: policy!, value: value!, envs: envs!, iterations: iterations! }
}

/**
 * The state before the first iteration: initial parameters and environments reset.
 *
 * @category constructors
 */
export const initialState = (run: Run): TrainingState => {
  const { recipe } = run
  const k = keys(run.seed)
  const rollout = Rollout.init(() => run.makeEnv(), recipe.numEnvs, k.envs, recipe.observations, recipe.rewards)
  const policy = policyFor(recipe, rollout.venv)
  const value = Mlp.make({ inputSize: rollout.venv.observationSpace.low.length, hiddenSizes: recipe.valueHiddenSizes, outputSize: 1 })
  const valueParams = Mlp.initialize(k.value, value, { hidden: Math.SQRT2, output: 1 })
  return {
    iteration: 0,
    steps: 0,
    episodes: 0,
    policy,
    policyParams: Policy.initialize(k.policy, policy),
    value,
    valueParams,
    optimizer: Adam.init(recipe._tag === "NaturalGradient" ? valueParams.length : Policy.parameterCount(policy) + valueParams.length),
    beta: recipe._tag === "FirstOrder" ? recipe.penalty.initialBeta : 0,
    rollout,
    recentReturns: [],
    recentLengths: []
  }
}

const mean = (xs: ReadonlyArray<number>): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length)

/**
 * `1 − Var(R̂ − V) / Var(R̂)`: the fraction of the return's variance the value function
 * explains (1 perfect, 0 no better than a constant, negative worse). NaN when Var(R̂) = 0.
 *
 * @category functions
 */
export const explainedVariance = (values: ArrayLike<number>, returns: ArrayLike<number>): number => {
  const n = returns.length
  let mr = 0, md = 0
  for (let i = 0; i < n; i++) {
    mr += returns[i]!
    md += returns[i]! - values[i]!
  }
  mr /= n
  md /= n
  let vr = 0, vd = 0
  for (let i = 0; i < n; i++) {
    vr += (returns[i]! - mr) ** 2
    vd += (returns[i]! - values[i]! - md) ** 2
  }
  return vr === 0 ? NaN : 1 - vd / vr
}

// V_φ for the batch's observations and its bootstrap observations.
const evaluateValues = (spec: Mlp.Spec, params: Float64Array, batch: Rollout.Batch) => {
  const network = Mlp.upload(spec, params)
  const width = Mlp.inputSize(spec)
  const forward = (rows: Float32Array, count: number): Float32Array => {
    if (count === 0) return new Float32Array(0)
    const x = Mlp.uploadRows(rows, count, width)
    try {
      return Mlp.forwardToHost(network, x)
    } finally {
      x.dispose()
    }
  }
  try {
    return {
      values: forward(batch.observations, batch.size),
      bootstrap: forward(batch.bootstrapObservations, batch.bootstrapObservations.length / width)
    }
  } finally {
    network.dispose()
  }
}

/**
 * One iteration from `state`, as a synchronous computation (tensor code runs inside).
 *
 * @throws Env.InvalidActionError
 * @category functions
 */
export const iterate = (run: Run, state: TrainingState, wallSeconds: () => number): Iteration => {
  const { recipe } = run
  const k = keys(run.seed)
  // Split in three even for recipes that use two: keys must not depend on the recipe's kind
  // beyond what it draws.
  const [rolloutKey, criticKey, updateKey] = Key.split(Key.foldIn(k.iterations, state.iteration), 3)

  const batch = Rollout.collect(state.rollout, state.policy, state.policyParams, rolloutKey!, recipe.stepsPerEnv)
  const { values, bootstrap } = evaluateValues(state.value, state.valueParams, batch)
  const { advantages, returns } = recipe.advantage.estimate({
    numSteps: batch.numSteps,
    numEnvs: batch.numEnvs,
    rewards: batch.rewards,
    values: Float64Array.from(values),
    nextValues: Rollout.nextValues(batch, values, bootstrap),
    terminations: batch.terminations,
    truncations: batch.truncations
  })

  const recentReturns = [...state.recentReturns, ...batch.episodeReturns].slice(-EPISODE_WINDOW)
  const recentLengths = [...state.recentLengths, ...batch.episodeLengths].slice(-EPISODE_WINDOW)
  const common = {
    iteration: state.iteration + 1,
    steps: state.steps + batch.size,
    episodes: state.episodes + batch.episodeReturns.length,
    episodeReturnMean: mean(recentReturns),
    episodeLengthMean: mean(recentLengths),
    batchReturnMean: mean(batch.episodeReturns),
    explainedVariance: explainedVariance(values, returns)
  }
  const advance = (update: Pick<TrainingState, "policyParams" | "valueParams" | "optimizer" | "beta">): TrainingState => ({
    ...state,
    ...update,
    iteration: common.iteration,
    steps: common.steps,
    episodes: common.episodes,
    recentReturns,
    recentLengths
  })

  if (recipe._tag === "FirstOrder") {
    const update = FirstOrder.update(recipe, {
      policy: state.policy,
      params: state.policyParams,
      value: state.value,
      valueParams: state.valueParams,
      optimizer: state.optimizer,
      beta: state.beta,
      observations: batch.observations,
      actions: batch.actions,
      advantages,
      returns,
      values,
      size: batch.size,
      progress: Math.min(1, state.steps / run.totalSteps),
      key: updateKey!
    })
    const d = update.diagnostics
    return {
      state: advance({ policyParams: update.params, valueParams: update.valueParams, optimizer: update.optimizer, beta: update.beta }),
      report: {
        ...common,
        kl: d.kl,
        entropy: d.entropy,
        surrogateGain: d.surrogateGain,
        valueLoss: d.valueLoss,
        gradientNorm: d.gradientNorm,
        approxKl: d.approxKl,
        clipFraction: d.clipFraction,
        policyLoss: d.policyLoss,
        beta: d.beta,
        learningRate: d.learningRate,
        epochs: d.epochs,
        wallSeconds: wallSeconds()
      }
    }
  }

  const policyUpdate = NaturalGradient.update(recipe, {
    policy: state.policy,
    params: state.policyParams,
    observations: batch.observations,
    actions: batch.actions,
    advantages,
    size: batch.size
  })
  const criticFit = Critic.fit(recipe.critic, state.value, state.valueParams, state.optimizer, batch.observations, returns, criticKey!)
  const d = policyUpdate.diagnostics
  return {
    state: advance({ policyParams: policyUpdate.params, valueParams: criticFit.params, optimizer: criticFit.optimizer, beta: 0 }),
    report: {
      ...common,
      kl: d.kl,
      entropy: d.entropy,
      surrogateGain: d.surrogateGain,
      valueLoss: criticFit.valueLoss,
      gradientNorm: d.gradientNorm,
      expectedImprovement: d.expectedImprovement,
      backtracks: d.backtracks,
      lineSearchAccepted: d.lineSearchAccepted,
      stepOutcome: d.stepOutcome,
      stepSize: d.stepSize,
      maxStepSize: d.maxStepSize,
      cgIterations: d.cgIterations,
      cgResidual: d.cgResidual,
      wallSeconds: wallSeconds()
    }
  }
}

/**
 * Checks that a run can start — a positive integer step budget, an environment that can be
 * created, a recipe that fits it (its solver's `check`, e.g. the dense Fisher solve's parameter
 * limit) — without training.
 *
 * @category functions
 */
export const check = (run: Run): Effect.Effect<void, TrainError> =>
  Effect.gen(function*() {
    if (!Number.isInteger(run.totalSteps) || run.totalSteps < 1) {
      return yield* new TrainError({ message: `totalSteps must be a positive integer, got ${run.totalSteps}` })
    }
    const env = yield* Effect.try({
      try: () => run.makeEnv(),
      catch: (cause) => new TrainError({ message: `could not create the environment: ${describeCause(cause)}`, cause })
    })
    const policy = policyFor(run.recipe, env)
    const refused = run.recipe._tag === "NaturalGradient" ? run.recipe.solver.check?.(Policy.parameterCount(policy)) : undefined
    if (refused !== undefined) return yield* new TrainError({ message: refused.message, cause: refused })
  })

/**
 * The run as a stream of iterations. It ends after the first iteration whose cumulative step
 * count reaches `totalSteps` (so the last batch may overshoot, as in SB3).
 *
 * @category constructors
 */
export const iterations = (
  run: Run,
  options: {
    /** Continue from this state (a restored checkpoint) instead of the initial one. */
    readonly from?: TrainingState
    /** Seconds already spent, added to `wallSeconds` (a resumed run continues its clock). */
    readonly wallOffset?: number
  } = {}
): Stream.Stream<Iteration, TrainError, TensorBackend> =>
  Stream.unwrap(
    Effect.gen(function*() {
      yield* TensorBackend
      yield* check(run)
      const start = (yield* Clock.currentTimeMillis) - 1000 * (options.wallOffset ?? 0)
      const initial = options.from ?? (yield* Effect.try({
        try: () => initialState(run),
        catch: (cause) => new TrainError({ message: `could not start the run: ${describeCause(cause)}`, cause })
      }))
      return Stream.unfold(initial, (state) =>
        state.steps >= run.totalSteps
          ? Effect.succeed(undefined)
          : Effect.gen(function*() {
            const clock = yield* Clock.Clock
            const iteration = yield* Effect.try({
              try: () => iterate(run, state, () => (clock.currentTimeMillisUnsafe() - start) / 1000),
              catch: (cause) => new TrainError({ message: `iteration ${state.iteration + 1} failed: ${describeCause(cause)}`, cause })
            })
            return [iteration, iteration.state] as const
          }))
    })
  )

/**
 * A training state as JSON: everything the next iteration depends on (parameters, Adam's
 * moments, β, the environments and their wrappers' statistics, the episode window). The key is
 * not stored: iteration i's key is `foldIn(iterationsKey, i)` of the run's seed.
 * `environments` defaults to the environments' snapshot now; pass one taken earlier when they
 * have moved on since the state's iteration finished.
 *
 * @category conversions
 */
export const stateToJson = (state: TrainingState, environments: VectorEnv.Snapshot = state.rollout.venv.snapshot()) => ({
  iteration: state.iteration,
  steps: state.steps,
  episodes: state.episodes,
  policyParams: Array.from(state.policyParams),
  valueParams: Array.from(state.valueParams),
  optimizer: { m: Array.from(state.optimizer.m), v: Array.from(state.optimizer.v), t: state.optimizer.t },
  beta: state.beta,
  environments,
  recentReturns: [...state.recentReturns],
  recentLengths: [...state.recentLengths]
})

/**
 * The JSON form of a training state.
 *
 * @category models
 */
export type StateJson = ReturnType<typeof stateToJson>

/**
 * A training state from {@link stateToJson}: the run's initial state (fresh environments and
 * networks) with every stored field put back and the environments restored from their snapshot.
 *
 * @throws when the JSON does not fit the run (sizes, environment snapshot)
 * @category conversions
 */
export const stateFromJson = (run: Run, json: StateJson): TrainingState => {
  const initial = initialState(run)
  const sized = (name: string, values: ReadonlyArray<number>, size: number) => {
    if (values.length !== size) throw new TrainError({ message: `checkpoint ${name} has ${values.length} numbers, the run needs ${size}` })
    return Float64Array.from(values)
  }
  initial.rollout.venv.restore(json.environments)
  return {
    ...initial,
    iteration: json.iteration,
    steps: json.steps,
    episodes: json.episodes,
    policyParams: sized("policyParams", json.policyParams, initial.policyParams.length),
    valueParams: sized("valueParams", json.valueParams, initial.valueParams.length),
    optimizer: { m: sized("optimizer.m", json.optimizer.m, initial.optimizer.m.length), v: sized("optimizer.v", json.optimizer.v, initial.optimizer.v.length), t: json.optimizer.t },
    beta: json.beta,
    recentReturns: json.recentReturns,
    recentLengths: json.recentLengths
  }
}

/**
 * The run's reports only.
 *
 * @category constructors
 */
export const reports = (run: Run): Stream.Stream<IterationReport, TrainError, TensorBackend> =>
  Stream.map(iterations(run), (iteration) => iteration.report)

const describeCause = (cause: unknown): string =>
  cause instanceof Env.InvalidActionError || cause instanceof Error ? cause.message : String(cause)
