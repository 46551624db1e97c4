/**
 * Surrogate objectives of a policy update, evaluated from the policy's outputs on a fixed
 * batch collected by π_old, and the mean KL(π_old ‖ π_θ) that the trust region bounds.
 *
 * An objective sees the network's outputs at θ (not θ itself), so its value and its gradient
 * with respect to the outputs are cheap host computations; the update turns that output
 * gradient into a parameter gradient with one vector-Jacobian product.
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
