/**
 * The KL-penalty coefficient β of PPO-penalty and the rule that updates it between policy
 * updates: the `penalty` slot of a first-order recipe. A rule is a block: `_tag` and its
 * hyperparameters as data (written into the run manifest), `initialBeta` for the first
 * update, and a pure `next(beta, measuredKl)` applied after each update to the measured
 * mean KL(π_old ‖ π_new).
 *
 * @since 0.1.0
 */

/**
 * A β schedule driven by the measured KL.
 *
 * @category models
 */
export interface Rule {
  readonly _tag: string
  /** β of the first policy update. */
  readonly initialBeta: number
  /** β for the next policy update, given this update's β and its measured mean KL. */
  next(beta: number, measuredKl: number): number
}

/**
 * The PPO paper's adaptive coefficient (Schulman et al. 2017, §4).
 *
 * @category models
 */
export interface AdaptivePenalty extends Rule {
  readonly _tag: "AdaptivePenalty"
  readonly targetKl: number
  readonly tolerance: number
  readonly factor: number
  readonly minBeta?: number
  readonly maxBeta?: number
}

/**
 * A constant coefficient (the PPO paper's fixed-β ablation; β = 0 is no penalty).
 *
 * @category models
 */
export interface FixedPenalty extends Rule {
  readonly _tag: "FixedPenalty"
  readonly beta: number
}


/**
 * The adaptive KL coefficient of PPO-penalty (Schulman et al. 2017, "Proximal Policy
 * Optimization Algorithms", §4): after each policy update, with `d` the measured mean
 * KL(π_old ‖ π_new) and `d_targ = targetKl`,
 *
 * ```
 * β ← β / factor   if d < d_targ / tolerance
 * β ← β · factor   if d > d_targ · tolerance
 * β ← β            otherwise
 * ```
 *
 * then clamped to `[minBeta, maxBeta]` when given. The paper uses tolerance 1.5 and factor 2
 * ("chosen heuristically", the algorithm being "not very sensitive to them"), d_targ ∈
 * {0.003, 0.01, 0.03} with 0.01 best (Table 1), and says the initial β hardly matters.
 *
 * **Gotchas**: both inequalities are strict, so `d = d_targ / tolerance` and
 * `d = d_targ · tolerance` (with those float64 products) leave β unchanged. RLlib's default
 * rule differs (×1.5 / ×0.5 at 2× / 0.5× the target, initial 0.2; ray #15698); rllab's
 * `PenaltyLbfgsOptimizer` doubles/halves and clamps to [1e-2, 1e6] — pass `minBeta`/`maxBeta`
 * for that. Without bounds, β can underflow towards 0 or overflow after many one-sided
 * updates.
 *
 * @param initialBeta β of the first update, > 0 (default 1, as rllab)
 * @param targetKl d_targ > 0 (default 0.01)
 * @param tolerance ≥ 1 (default 1.5)
 * @param factor > 1 (default 2)
 * @param minBeta optional lower bound, > 0
 * @param maxBeta optional upper bound, ≥ minBeta
 * @category constructors
 */
export const adaptive = (
  options: {
    readonly initialBeta?: number
    readonly targetKl?: number
    readonly tolerance?: number
    readonly factor?: number
    readonly minBeta?: number
    readonly maxBeta?: number
  } = {}
): AdaptivePenalty => {
  const initialBeta = options.initialBeta ?? 1
  const targetKl = options.targetKl ?? 0.01
  const tolerance = options.tolerance ?? 1.5
  const factor = options.factor ?? 2
  const { minBeta, maxBeta } = options
  const fail = (message: string): never => {
    throw new RangeError(`Penalty.adaptive: ${message}`)
  }
  if (!(initialBeta > 0) || !Number.isFinite(initialBeta)) fail(`initialBeta must be a finite number > 0, got ${initialBeta}`)
  if (!(targetKl > 0) || !Number.isFinite(targetKl)) fail(`targetKl must be a finite number > 0, got ${targetKl}`)
  if (!(tolerance >= 1) || !Number.isFinite(tolerance)) fail(`tolerance must be a finite number ≥ 1, got ${tolerance}`)
  if (!(factor > 1) || !Number.isFinite(factor)) fail(`factor must be a finite number > 1 (Penalty.fixed keeps β constant), got ${factor}`)
  if (minBeta !== undefined && (!(minBeta > 0) || !Number.isFinite(minBeta))) fail(`minBeta must be a finite number > 0, got ${minBeta}`)
  if (maxBeta !== undefined && (!(maxBeta > 0) || Number.isNaN(maxBeta))) fail(`maxBeta must be a number > 0, got ${maxBeta}`)
  if (minBeta !== undefined && maxBeta !== undefined && !(minBeta <= maxBeta)) fail(`minBeta (${minBeta}) must not exceed maxBeta (${maxBeta})`)
  if ((minBeta !== undefined && initialBeta < minBeta) || (maxBeta !== undefined && initialBeta > maxBeta)) {
    fail(`initialBeta ${initialBeta} must lie in [minBeta, maxBeta] = [${minBeta ?? 0}, ${maxBeta ?? Infinity}]`)
  }
  const lower = targetKl / tolerance, upper = targetKl * tolerance
  return {
    _tag: "AdaptivePenalty",
    initialBeta,
    targetKl,
    tolerance,
    factor,
    ...(minBeta !== undefined ? { minBeta } : {}),
    ...(maxBeta !== undefined ? { maxBeta } : {}),
    next: (beta, measuredKl) => {
      if (!(beta >= 0) || !Number.isFinite(beta)) throw new RangeError(`Penalty.adaptive: next needs a finite beta ≥ 0, got ${beta}`)
      // A NaN KL has no direction; β unchanged would hide a diverged update.
      if (Number.isNaN(measuredKl)) throw new RangeError("Penalty.adaptive: next got a measured KL of NaN")
      let nextBeta = measuredKl < lower ? beta / factor : measuredKl > upper ? beta * factor : beta
      if (minBeta !== undefined) nextBeta = Math.max(nextBeta, minBeta)
      if (maxBeta !== undefined) nextBeta = Math.min(nextBeta, maxBeta)
      return nextBeta
    }
  }
}

/**
 * A fixed coefficient: `next` returns this block's `beta` whatever its arguments (the PPO
 * paper's ablation with β ∈ {0.3, 1, 3, 10}, Table 1; β = 0 turns the penalty off).
 *
 * @param beta β ≥ 0
 * @category constructors
 */
export const fixed = (options: { readonly beta: number }): FixedPenalty => {
  const { beta } = options
  if (!(beta >= 0) || !Number.isFinite(beta)) throw new RangeError(`Penalty.fixed: beta must be a finite number ≥ 0, got ${beta}`)
  return {
    _tag: "FixedPenalty",
    beta,
    initialBeta: beta,
    // Ignores both arguments, so even a non-finite KL leaves β as it is.
    next: () => beta
  }
}
