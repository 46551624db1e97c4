/**
 * Surrogate objectives of a policy update, evaluated from the policy's outputs on a fixed
 * batch collected by π_old, and the mean KL(π_old ‖ π_θ) that the trust region bounds.
 *
 * An objective sees the network's outputs at θ (not θ itself), so its value and its gradient
 * with respect to the outputs are cheap host computations; the update turns that output
 * gradient into a parameter gradient with one vector-Jacobian product.
 *
 * Objectives: TRPO's {@link importanceSampled}, PPO's {@link clipped} and {@link klPenalized},
 * and the {@link withEntropyBonus} wrapper. Diagnostics of a step: {@link meanKl},
 * {@link ratios}, {@link clipFraction}, {@link approxKl}.
 *
 * @since 0.1.0
 */
import * as Distribution from "./Distribution.ts"

/**
 * The fixed data of one policy update (layouts as in {@link Distribution}).
 *
 * @category models
 */
export interface Batch {
  readonly distribution: Distribution.Distribution
  readonly size: number
  readonly actions: ArrayLike<number>
  readonly advantages: ArrayLike<number>
  /** Network outputs at θ_old, `[N, outputSize]`. */
  readonly outputsOld: ArrayLike<number>
  /** Extra distribution parameters at θ_old. */
  readonly extraOld: ArrayLike<number>
  /** `log π_old(a_i | s_i)`. */
  readonly logProbsOld: ArrayLike<number>
}

/**
 * Builds a {@link Batch} from π_old's outputs, computing `log π_old`.
 *
 * @category constructors
 */
export const makeBatch = (options: Omit<Batch, "logProbsOld">): Batch => ({
  ...options,
  logProbsOld: Distribution.logProbs(options.distribution, options.outputsOld, options.extraOld, options.actions, options.size)
})

/**
 * An objective's value and its gradient with respect to the distribution parameters.
 *
 * @category models
 */
export interface ValueAndGradient {
  readonly value: number
  readonly gradient: Distribution.ParameterGradient
}

/**
 * A surrogate objective to maximise. A block: data fields describe it (and are written into
 * the run manifest), methods compute it.
 *
 * @category models
 */
export interface Objective {
  readonly _tag: string
  value(batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): number
  valueAndGradient(batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): ValueAndGradient
}

/**
 * The importance-sampled surrogate advantage of TRPO (Schulman et al. 2015, eq. 14):
 *
 * `L(θ) = (1/N) Σ_i (π_θ(a_i|s_i) / π_old(a_i|s_i)) Â_i`, with `∂L/∂ log π_i = r_i Â_i / N`.
 *
 * At θ = θ_old, `L = mean(Â)` and `∇L = (1/N) Σ Â_i ∇ log π_i`, the policy gradient.
 *
 * @category constructors
 */
export const importanceSampled = (): Objective => ({
  _tag: "ImportanceSampled",
  value: (batch, outputs, extra) => {
    const logp = Distribution.logProbs(batch.distribution, outputs, extra, batch.actions, batch.size)
    let sum = 0
    for (let i = 0; i < batch.size; i++) sum += Math.exp(logp[i]! - batch.logProbsOld[i]!) * batch.advantages[i]!
    return sum / batch.size
  },
  valueAndGradient: (batch, outputs, extra) => {
    const logp = Distribution.logProbs(batch.distribution, outputs, extra, batch.actions, batch.size)
    const weights = new Float64Array(batch.size)
    let sum = 0
    for (let i = 0; i < batch.size; i++) {
      const weighted = Math.exp(logp[i]! - batch.logProbsOld[i]!) * batch.advantages[i]!
      sum += weighted
      weights[i] = weighted / batch.size
    }
    return {
      value: sum / batch.size,
      gradient: Distribution.logProbGradient(batch.distribution, outputs, extra, batch.actions, weights, batch.size)
    }
  }
})

/**
 * Mean `KL(π_old ‖ π_θ)` over the batch: the quantity the trust region bounds by δ.
 *
 * @category functions
 */
export const meanKl = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): number =>
  Distribution.meanKl(batch.distribution, batch.outputsOld, batch.extraOld, outputs, extra, batch.size)

// a + b, field by field (both gradients of the same distribution and batch).
const addGradients = (a: Distribution.ParameterGradient, b: Distribution.ParameterGradient): Distribution.ParameterGradient => ({
  outputs: a.outputs.map((v, k) => v + b.outputs[k]!),
  extra: a.extra.map((v, j) => v + b.extra[j]!)
})

// log r_i = log π_θ(a_i|s_i) − log π_old(a_i|s_i).
const logRatios = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): Float64Array => {
  const logp = Distribution.logProbs(batch.distribution, outputs, extra, batch.actions, batch.size)
  for (let i = 0; i < batch.size; i++) logp[i] = logp[i]! - batch.logProbsOld[i]!
  return logp
}

/**
 * PPO's clipped surrogate: the `epsilon` ε of the clip range is its only hyperparameter.
 *
 * @category models
 */
export interface Clipped extends Objective {
  readonly _tag: "Clipped"
  readonly epsilon: number
}

/**
 * PPO-clip's objective (Schulman et al. 2017, "Proximal Policy Optimization Algorithms",
 * eq. 7):
 *
 * `L^CLIP(θ) = (1/N) Σ_i min(r_i Â_i, clip(r_i, 1 − ε, 1 + ε) Â_i)`, `r_i = π_θ(a_i|s_i) / π_old(a_i|s_i)`.
 *
 * It equals {@link importanceSampled} while every `r_i ∈ [1 − ε, 1 + ε]`. Outside, a sample
 * is flat (contributes `(1 ± ε) Â_i` and no gradient) where clipping is pessimistic:
 * `Â_i > 0 ∧ r_i > 1 + ε` or `Â_i < 0 ∧ r_i < 1 − ε`; elsewhere it keeps the unclipped term
 * and its gradient `∂L/∂ log π_i = r_i Â_i / N`.
 *
 * **Gotchas** (ties): at `r_i = 1 ± ε` exactly the gradient is the unclipped one, as PyTorch
 * autograd gives for `torch.min(r·Â, clamp(r, 1−ε, 1+ε)·Â)` (and for cleanrl's
 * `torch.max(−Â·r, −Â·clamp(r, …))`): `clamp` passes the gradient at its bounds (subgradient
 * 1, `tools/autograd/derivatives.yaml`), `minimum`/`maximum` send half of it to each of two
 * equal arguments, and both halves carry the same derivative `Â ∇r`. So the flat set uses
 * strict inequalities, the same as {@link clipFraction}'s. `Â_i = 0` gives zero either way.
 * The bounds are `1 − ε` and `1 + ε` rounded to float64, as `clamp` receives them.
 *
 * @param epsilon clip range ε > 0 (default 0.2, the paper's best in Table 1)
 * @category constructors
 */
export const clipped = (options: { readonly epsilon?: number } = {}): Clipped => {
  const epsilon = options.epsilon ?? 0.2
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError(`Surrogate.clipped: epsilon must be a finite number > 0, got ${epsilon}`)
  const lower = 1 - epsilon, upper = 1 + epsilon
  // Per-sample min(r·Â, clip(r)·Â) and ∂/∂ log π of it (0 where the clipped term is the minimum).
  const terms = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>) => {
    const logr = logRatios(batch, outputs, extra)
    const weights = new Float64Array(batch.size)
    let sum = 0
    for (let i = 0; i < batch.size; i++) {
      const r = Math.exp(logr[i]!), advantage = batch.advantages[i]!
      const flat = (advantage > 0 && r > upper) || (advantage < 0 && r < lower)
      sum += flat ? (advantage > 0 ? upper : lower) * advantage : r * advantage
      weights[i] = flat ? 0 : (r * advantage) / batch.size
    }
    return { value: sum / batch.size, weights }
  }
  return {
    _tag: "Clipped",
    epsilon,
    value: (batch, outputs, extra) => terms(batch, outputs, extra).value,
    valueAndGradient: (batch, outputs, extra) => {
      const { value, weights } = terms(batch, outputs, extra)
      return { value, gradient: Distribution.logProbGradient(batch.distribution, outputs, extra, batch.actions, weights, batch.size) }
    }
  }
}

/**
 * PPO-penalty's objective with a fixed coefficient `beta` β, around {@link importanceSampled}
 * or around the objective `inner`.
 *
 * @category models
 */
export interface KlPenalized extends Objective {
  readonly _tag: "KlPenalized"
  readonly beta: number
  /** Absent: {@link importanceSampled}. */
  readonly inner?: Objective
}

/**
 * PPO-penalty's objective (Schulman et al. 2017, eq. 8):
 *
 * `L^KLPEN(θ) = (1/N) Σ_i r_i Â_i − β · (1/N) Σ_i KL(π_old(·|s_i) ‖ π_θ(·|s_i))`,
 *
 * with gradient `(1/N) Σ r_i Â_i ∇ log π_i − (β/N) Σ ∇KL_i` (see
 * {@link Distribution.klGradient}). At θ = θ_old the KL term's gradient vanishes, so the
 * gradient is the policy gradient. With `inner`, the penalty is subtracted from that objective
 * instead: `L_inner(θ) − β · mean KL` (how a first-order update applies its `penalty` slot's β
 * to its `objective` slot).
 *
 * **Gotchas**: the KL is the analytic one between the two distributions at each state, in
 * the direction KL(old ‖ new) of the paper and of {@link meanKl}, not a sampled estimate.
 * β is a value of this block; PPO-penalty's adaptive β (`Penalty.adaptive`) builds a new
 * objective each iteration. β = 0 is the paper's "no clipping or penalty" row.
 *
 * @param beta penalty coefficient β ≥ 0
 * @param inner the objective the penalty is subtracted from (default {@link importanceSampled})
 * @category constructors
 */
export const klPenalized = (options: { readonly beta: number; readonly inner?: Objective }): KlPenalized => {
  const { beta, inner } = options
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new RangeError(`Surrogate.klPenalized: beta must be a finite number ≥ 0, got ${beta}`)
  const surrogate = inner ?? importanceSampled()
  return {
    _tag: "KlPenalized",
    beta,
    ...(inner === undefined ? {} : { inner }),
    value: (batch, outputs, extra) => surrogate.value(batch, outputs, extra) - beta * meanKl(batch, outputs, extra),
    valueAndGradient: (batch, outputs, extra) => {
      const { value, gradient } = surrogate.valueAndGradient(batch, outputs, extra)
      const klGradient = Distribution.klGradient(batch.distribution, batch.outputsOld, batch.extraOld, outputs, extra, batch.size, -beta / batch.size)
      return { value: value - beta * meanKl(batch, outputs, extra), gradient: addGradients(gradient, klGradient) }
    }
  }
}

/**
 * An objective plus an entropy bonus with coefficient `coefficient` c.
 *
 * @category models
 */
export interface EntropyBonus extends Objective {
  readonly _tag: "EntropyBonus"
  readonly inner: Objective
  readonly coefficient: number
}

/**
 * `L(θ) + c · (1/N) Σ_i H(π_θ(·|s_i))`: the entropy term of PPO's combined objective
 * (Schulman et al. 2017, eq. 9, `c₂ S[π_θ]`; cleanrl's `ent_coef`, 0.01 on Atari and 0 on
 * MuJoCo). The gradient adds {@link Distribution.entropyGradient} with scale `c / N`.
 *
 * **Gotchas**: for the Gaussian the bonus is `c · Σ_j (s_j + ½ log 2πe)`, which only pushes
 * the log-std up by `c` per dimension and update; it does not depend on the states.
 *
 * @param inner the objective the bonus is added to
 * @param coefficient c ≥ 0
 * @category combinators
 */
export const withEntropyBonus = (inner: Objective, options: { readonly coefficient: number }): EntropyBonus => {
  const { coefficient } = options
  if (!(coefficient >= 0) || !Number.isFinite(coefficient)) {
    throw new RangeError(`Surrogate.withEntropyBonus: coefficient must be a finite number ≥ 0, got ${coefficient}`)
  }
  const bonus = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): number =>
    coefficient * Distribution.meanEntropy(batch.distribution, outputs, extra, batch.size)
  return {
    _tag: "EntropyBonus",
    inner,
    coefficient,
    value: (batch, outputs, extra) => inner.value(batch, outputs, extra) + bonus(batch, outputs, extra),
    valueAndGradient: (batch, outputs, extra) => {
      const { value, gradient } = inner.valueAndGradient(batch, outputs, extra)
      const entropyGradient = Distribution.entropyGradient(batch.distribution, outputs, extra, batch.size, coefficient / batch.size)
      return { value: value + bonus(batch, outputs, extra), gradient: addGradients(gradient, entropyGradient) }
    }
  }
}

/**
 * The probability ratios `r_i = π_θ(a_i|s_i) / π_old(a_i|s_i) = exp(log π_θ − log π_old)`.
 *
 * @category functions
 */
export const ratios = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): Float64Array =>
  logRatios(batch, outputs, extra).map(Math.exp)

/**
 * The fraction of samples whose ratio left the clip range, `(1/N) #{i : |r_i − 1| > ε}`
 * (cleanrl's `clipfrac`).
 *
 * **Gotchas**: counts samples outside the range whatever the sign of `Â_i`, so it bounds
 * from above the fraction that {@link clipped} actually flattens (those with
 * `Â_i > 0 ∧ r_i > 1 + ε` or `Â_i < 0 ∧ r_i < 1 − ε`). It compares `r − 1` with ε, as
 * cleanrl does, while the objective compares `r` with `1 ± ε` rounded; the two can differ
 * only at a ratio within one rounding of a bound.
 *
 * @param epsilon the clip range ε of the objective
 * @category functions
 */
export const clipFraction = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>, epsilon: number): number => {
  if (batch.size === 0) return 0
  const r = ratios(batch, outputs, extra)
  let count = 0
  for (let i = 0; i < batch.size; i++) if (Math.abs(r[i]! - 1) > epsilon) count++
  return count / batch.size
}

/**
 * The k3 estimator of `KL(π_old ‖ π_θ)` from the batch's own actions (drawn from π_old):
 * `(1/N) Σ_i [(r_i − 1) − log r_i]` (J. Schulman, "Approximating KL Divergence", 2020;
 * cleanrl's `approx_kl`).
 *
 * Unbiased (`E_old[r] = 1`, `E_old[−log r] = KL`), every term is ≥ 0 (`x − 1 ≥ log x`), it is 0
 * at θ = θ_old, and to second order it is `½ mean (log r_i)²`, whose expectation is the
 * second-order KL `½ δᵀFδ`.
 *
 * **Gotchas**: each term is computed as `expm1(log r) − log r`, not cleanrl's
 * `(exp(log r) − 1) − log r`: the same number mathematically, but accurate where
 * `log r ≈ 0`, which is where PPO's early stops compare it with `targetKl`. The k1
 * estimator `−mean log r` can be negative (spinningup #137); this one cannot.
 *
 * @category functions
 */
export const approxKl = (batch: Batch, outputs: ArrayLike<number>, extra: ArrayLike<number>): number => {
  if (batch.size === 0) return 0
  const logr = logRatios(batch, outputs, extra)
  let sum = 0
  for (let i = 0; i < batch.size; i++) sum += Math.expm1(logr[i]!) - logr[i]!
  return sum / batch.size
}
