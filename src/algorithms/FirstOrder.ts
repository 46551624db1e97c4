/**
 * The first-order policy update shared by PPO-clip and PPO-penalty (Schulman et al. 2017):
 * K epochs of Adam over shuffled minibatches of one batch, on the joint loss
 *
 *   `−L(θ) + β·KL(π_old ‖ π_θ) + c_V · (V_φ(s) − R̂)²`   (minibatch means),
 *
 * with the global gradient norm clipped, optionally stopping early when the approximate KL
 * grows too large. Its blocks:
 *
 * - `objective` — the surrogate L: clipped (PPO-clip), importance-sampled (PPO-penalty), each
 *   optionally with an entropy bonus (`Surrogate.withEntropyBonus`);
 * - `penalty` — β and its rule: `Penalty.fixed({ beta: 0 })` (none), `Penalty.fixed`, or the
 *   paper's adaptive rule `Penalty.adaptive` (β halves or doubles after each update);
 * - `optimizer` — Adam's learning-rate schedule, epochs, minibatch size, gradient-norm clip;
 * - `minibatchAdvantages` — standardised per minibatch (SB3, CleanRL) or used as they are;
 * - `critic` — the value loss inside the same step: its coefficient and optional clipping;
 * - `earlyStop` — never, or when the approximate KL exceeds `tolerance · targetKl`.
 *
 * @since 0.1.0
 */
import * as Adam from "../algebra/Adam.ts"
import * as Distribution from "../algebra/Distribution.ts"
import * as Gradient from "../algebra/Gradient.ts"
import * as Key from "../algebra/Key.ts"
import * as Mlp from "../algebra/Mlp.ts"
import type * as Penalty from "../algebra/Penalty.ts"
import * as Policy from "../algebra/Policy.ts"
import type * as Schedule from "../algebra/Schedule.ts"
import * as Surrogate from "../algebra/Surrogate.ts"
import * as Critic from "./Critic.ts"

/**
 * Adam over the policy and value parameters together, as SB3 and CleanRL.
 *
 * @category models
 */
export interface Optimizer {
  readonly _tag: "AdamEpochs"
  readonly learningRate: Schedule.Schedule
  readonly epochs: number
  readonly minibatchSize: number
  /** Global ℓ2 norm the joint gradient is clipped to (`max_grad_norm`). */
  readonly maxGradNorm: number
  /** Adam's ε (CleanRL and SB3's PPO use 1e-5). */
  readonly epsilon: number
}

/**
 * @category constructors
 */
export const adamEpochs = (options: {
  readonly learningRate: Schedule.Schedule
  readonly epochs?: number
  readonly minibatchSize?: number
  readonly maxGradNorm?: number
  readonly epsilon?: number
}): Optimizer => {
  const optimizer: Optimizer = {
    _tag: "AdamEpochs",
    learningRate: options.learningRate,
    epochs: options.epochs ?? 10,
    minibatchSize: options.minibatchSize ?? 64,
    maxGradNorm: options.maxGradNorm ?? 0.5,
    epsilon: options.epsilon ?? 1e-5
  }
  if (!Number.isInteger(optimizer.epochs) || optimizer.epochs < 1) throw new RangeError(`FirstOrder.adamEpochs: epochs must be a positive integer, got ${optimizer.epochs}`)
  if (!Number.isInteger(optimizer.minibatchSize) || optimizer.minibatchSize < 1) {
    throw new RangeError(`FirstOrder.adamEpochs: minibatchSize must be a positive integer, got ${optimizer.minibatchSize}`)
  }
  if (!(optimizer.learningRate.at(0) > 0) || !(optimizer.learningRate.at(1) >= 0)) {
    throw new RangeError(`FirstOrder.adamEpochs: learningRate must start > 0 and end ≥ 0, got ${optimizer.learningRate.at(0)} → ${optimizer.learningRate.at(1)}`)
  }
  if (!(optimizer.maxGradNorm > 0)) throw new RangeError(`FirstOrder.adamEpochs: maxGradNorm must be > 0, got ${optimizer.maxGradNorm}`)
  if (!(optimizer.epsilon > 0) || !Number.isFinite(optimizer.epsilon)) throw new RangeError(`FirstOrder.adamEpochs: epsilon must be > 0, got ${optimizer.epsilon}`)
  return optimizer
}

/**
 * How advantages enter a minibatch's objective: a block with its data (`_tag` and
 * hyperparameters) and `apply`, from the minibatch's rows of the batch's advantages to the ones
 * the objective sees. Built in: standardised within the minibatch (mean 0, std 1 with the sample
 * std + ε, as SB3 and CleanRL), or raw.
 *
 * @category models
 */
export interface MinibatchAdvantages {
  readonly _tag: string
  readonly apply: (advantages: Float64Array) => Float64Array
}

/** @category models */
export interface Standardized extends MinibatchAdvantages {
  readonly _tag: "Standardized"
  readonly epsilon: number
}

const standardize = (advantages: Float64Array, epsilon: number): Float64Array => {
  const n = advantages.length
  let mean = 0
  for (let i = 0; i < n; i++) mean += advantages[i]!
  mean /= n
  let ss = 0
  for (let i = 0; i < n; i++) ss += (advantages[i]! - mean) ** 2
  // The sample standard deviation, as torch's `std()` in SB3 and CleanRL (a single sample: 0).
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0
  return advantages.map((a) => (a - mean) / (std + epsilon))
}

/** @category constructors */
export const standardized = (options: { readonly epsilon?: number } = {}): Standardized => {
  const epsilon = options.epsilon ?? 1e-8
  return { _tag: "Standardized", epsilon, apply: (advantages) => standardize(advantages, epsilon) }
}

/** @category constructors */
export const raw = (): MinibatchAdvantages => ({ _tag: "Raw", apply: (advantages) => advantages })

/**
 * When to stop the epochs early: a block with its data and `stop`, asked before each
 * minibatch's step with the minibatch and the policy's current outputs on it. Built in: never,
 * or when the minibatch's approximate KL (the k3 estimator) exceeds `tolerance · targetKl`
 * (SB3's `target_kl`).
 *
 * @category models
 */
export interface EarlyStop {
  readonly _tag: string
  readonly stop: (batch: Surrogate.Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>) => boolean
}

/** @category models */
export interface ApproxKlStop extends EarlyStop {
  readonly _tag: "ApproxKl"
  readonly targetKl: number
  readonly tolerance: number
}

/** @category constructors */
export const never = (): EarlyStop => ({ _tag: "Never", stop: () => false })

/** @category constructors */
export const approxKlStop = (options: { readonly targetKl?: number; readonly tolerance?: number } = {}): ApproxKlStop => {
  const targetKl = options.targetKl ?? 0.01, tolerance = options.tolerance ?? 1.5
  if (!(targetKl > 0)) throw new RangeError(`FirstOrder.approxKlStop: targetKl must be > 0, got ${targetKl}`)
  if (!(tolerance >= 1)) throw new RangeError(`FirstOrder.approxKlStop: tolerance must be ≥ 1, got ${tolerance}`)
  return {
    _tag: "ApproxKl",
    targetKl,
    tolerance,
    stop: (batch, outputs, extra) => Surrogate.approxKl(batch, outputs, extra) > tolerance * targetKl
  }
}

/**
 * @category models
 */
export interface Blocks {
  readonly objective: Surrogate.Objective
  readonly penalty: Penalty.Rule
  readonly optimizer: Optimizer
  readonly minibatchAdvantages: MinibatchAdvantages
  readonly critic: Critic.Joint
  readonly earlyStop: EarlyStop
}

/**
 * @category models
 */
export interface Input {
  readonly policy: Policy.Spec
  readonly params: Float64Array
  readonly value: Mlp.Spec
  readonly valueParams: Float64Array
  /** Adam's state over `[policy parameters, value parameters]`. */
  readonly optimizer: Adam.State
  readonly beta: number
  readonly observations: Float32Array
  readonly actions: Float64Array
  readonly advantages: Float64Array
  readonly returns: Float64Array
  /** V_φ_old of the batch, for value clipping. */
  readonly values: ArrayLike<number>
  readonly size: number
  /** Fraction of the run done before this update, in [0, 1], for schedules. */
  readonly progress: number
  readonly key: Key.Key
}

/**
 * What the update did (docs/metrics.md).
 *
 * @category models
 */
export interface Diagnostics {
  readonly kl: number
  readonly entropy: number
  readonly surrogateGain: number
  readonly approxKl: number
  /** Fraction of the batch whose final ratio left [1 − ε, 1 + ε]; null without a clipped objective. */
  readonly clipFraction: number | null
  readonly policyLoss: number
  readonly valueLoss: number
  readonly beta: number
  readonly learningRate: number
  readonly epochs: number
  readonly gradientNorm: number
}

/**
 * @category models
 */
export interface Output {
  readonly params: Float64Array
  readonly valueParams: Float64Array
  readonly optimizer: Adam.State
  /** β for the next update. */
  readonly beta: number
  readonly diagnostics: Diagnostics
}

const outputsAt = (policy: Policy.Spec, params: Float64Array, observations: Float32Array, size: number): Float32Array => {
  const network = Mlp.upload(policy.network, params)
  try {
    const x = Mlp.uploadRows(observations, size, Mlp.inputSize(policy.network))
    try {
      return Mlp.forwardToHost(network, x)
    } finally {
      x.dispose()
    }
  } finally {
    network.dispose()
  }
}

// The clip range ε of a clipped objective, looking through wrappers (`inner`).
const clipRange = (objective: Surrogate.Objective): number | undefined => {
  let block: { readonly _tag?: string; readonly epsilon?: number; readonly inner?: unknown } | undefined = objective
  while (block !== undefined) {
    if (block._tag === "Clipped" && typeof block.epsilon === "number") return block.epsilon
    block = block.inner as typeof block
  }
  return undefined
}

/**
 * One first-order update of the policy and the value network on a batch.
 *
 * @category functions
 */
export const update = (blocks: Blocks, input: Input): Output => {
  const { policy, value, size } = input
  const dist = policy.distribution
  const netSize = Policy.networkSize(policy)
  const policySize = input.params.length
  const width = Mlp.inputSize(policy.network)
  const outputWidth = Distribution.outputSize(dist)
  const actionWidth = Distribution.actionSize(dist)
  const learningRate = blocks.optimizer.learningRate.at(input.progress)
  const adam = Adam.options(learningRate, { epsilon: blocks.optimizer.epsilon })

  const outputsOld = outputsAt(policy, input.params, input.observations, size)
  const extraOld = Float64Array.from(Policy.extra(policy, input.params))
  const full = Surrogate.makeBatch({ distribution: dist, size, actions: input.actions, advantages: input.advantages, outputsOld, extraOld })
  // L − β·KL: the penalty slot's β applied to the objective slot.
  const objective = input.beta > 0 ? Surrogate.klPenalized({ beta: input.beta, inner: blocks.objective }) : blocks.objective

  let params = input.params, valueParams = input.valueParams, optimizer = input.optimizer
  let policyLossSum = 0, valueLossSum = 0, normSum = 0, steps = 0, epochs = 0
  let stopped = false
  for (let epoch = 0; epoch < blocks.optimizer.epochs && !stopped; epoch++) {
    const order = Critic.permutation(Key.foldIn(input.key, epoch), size)
    for (let start = 0; start < size && !stopped; start += blocks.optimizer.minibatchSize) {
      const rows = order.subarray(start, Math.min(start + blocks.optimizer.minibatchSize, size))
      const n = rows.length
      const observations = Critic.gatherRows(input.observations, rows, width, Float32Array)
      const rawAdvantages = Critic.gatherRows(input.advantages, rows, 1, Float64Array)
      const batch: Surrogate.Batch = {
        distribution: dist,
        size: n,
        actions: Critic.gatherRows(input.actions, rows, actionWidth, Float64Array),
        advantages: blocks.minibatchAdvantages.apply(rawAdvantages),
        outputsOld: Critic.gatherRows(outputsOld, rows, outputWidth, Float32Array),
        extraOld,
        logProbsOld: Critic.gatherRows(full.logProbsOld, rows, 1, Float64Array)
      }

      // Policy: g = ∇[L − β·KL] at the current θ.
      const linearization = Mlp.linearize(policy.network, params, observations, n)
      let policyValue: number, policyGradient: Float64Array
      try {
        const extra = params.subarray(netSize)
        if (blocks.earlyStop.stop(batch, linearization.outputs, extra)) {
          stopped = true
          break
        }
        const { value, gradient } = objective.valueAndGradient(batch, linearization.outputs, extra)
        policyValue = value
        policyGradient = Gradient.concat(linearization.vjp(gradient.outputs), gradient.extra)
      } finally {
        linearization.dispose()
      }

      // Value: ∇ c_V · mean (V − R̂)², or with clipping the larger of the two errors (baselines).
      const valueFit = Critic.jointLoss(
        blocks.critic,
        value,
        valueParams,
        observations,
        Critic.gatherRows(input.returns, rows, 1, Float64Array),
        Critic.gatherRows(input.values, rows, 1, Float64Array)
      )

      // Descend the joint loss −(L − β KL) + c_V L_V.
      const joint = Gradient.concat(policyGradient, valueFit.gradient)
      for (let p = 0; p < policySize; p++) joint[p] = -joint[p]!
      const clipped = Gradient.clipByGlobalNorm(joint, blocks.optimizer.maxGradNorm)
      const next = Adam.step(Gradient.concat(params, valueParams), clipped.gradient, optimizer, adam)
      const [nextParams, nextValueParams] = Gradient.split(next.params, [policySize, valueParams.length])
      params = nextParams!
      valueParams = nextValueParams!
      optimizer = next.state

      policyLossSum += -policyValue
      valueLossSum += valueFit.loss
      normSum += clipped.norm
      steps++
    }
    if (!stopped) epochs++
  }

  // Measured on the whole batch at θ_new: the actual KL, the surrogate's gain, and the PPO
  // diagnostics; β adapts to the measured KL (the paper's d).
  const outputsNew = outputsAt(policy, params, input.observations, size)
  const extraNew = params.subarray(netSize)
  const kl = Surrogate.meanKl(full, outputsNew, extraNew)
  const epsilon = clipRange(blocks.objective)
  const importance = Surrogate.importanceSampled()
  return {
    params,
    valueParams,
    optimizer,
    beta: blocks.penalty.next(input.beta, kl),
    diagnostics: {
      kl,
      entropy: Distribution.meanEntropy(dist, outputsNew, extraNew, size),
      surrogateGain: importance.value(full, outputsNew, extraNew) - importance.value(full, outputsOld, extraOld),
      approxKl: Surrogate.approxKl(full, outputsNew, extraNew),
      clipFraction: epsilon === undefined ? null : Surrogate.clipFraction(full, outputsNew, extraNew, epsilon),
      policyLoss: steps > 0 ? policyLossSum / steps : NaN,
      valueLoss: steps > 0 ? valueLossSum / steps : NaN,
      beta: input.beta,
      learningRate,
      epochs,
      gradientNorm: steps > 0 ? normSum / steps : NaN
    }
  }
}
