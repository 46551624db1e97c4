/**
 * Step rules of natural-gradient methods: given the natural direction `s ≈ F⁻¹g`, choose
 * the new parameters. TRPO's rule is a backtracking line search from the maximal step of the
 * quadratic trust region, accepting only a step that keeps the mean KL within δ and improves
 * the surrogate (Schulman et al. 2015, Appendix C).
 *
 * Every rule returns θ_old unchanged, with the reason, when it cannot accept a step, and never
 * returns non-finite parameters.
 *
 * @since 0.1.0
 */

/**
 * What a step rule sees of the update.
 *
 * @category models
 */
export interface Problem {
  /** θ_old. */
  readonly params: Float64Array
  /** The search direction `s` (the natural gradient `F⁻¹g` approximated by CG). */
  readonly direction: Float64Array
  /** `sᵀ F s` with the damped F the direction was solved with. */
  readonly sFs: number
  /** `gᵀ s`: the surrogate's first-order gain per unit step along s. */
  readonly gradientDotDirection: number
  /** `L(θ_old)`. */
  readonly surrogateOld: number
  /** The surrogate and the mean KL(π_old ‖ π_θ) at candidate parameters. */
  evaluate(params: Float64Array): { readonly surrogate: number; readonly kl: number }
}

/**
 * Why a step was or was not taken.
 *
 * @category models
 */
export type Outcome = "accepted" | "klExceeded" | "noImprovement" | "nonFinite"

/**
 * @category models
 */
export interface Result {
  /** The new parameters (θ_old itself when rejected). */
  readonly params: Float64Array
  readonly accepted: boolean
  readonly outcome: Outcome
  /** Shrinks before acceptance: j for the accepted step `ratio^j·β`, or the number of tries. */
  readonly backtracks: number
  /** `β = √(2δ / sᵀFs)` (NaN when sᵀFs is not positive and finite). */
  readonly maxStepSize: number
  /** The step length actually applied along s (0 when rejected). */
  readonly stepSize: number
  /** Mean KL(π_old ‖ π_new) of the returned parameters. */
  readonly kl: number
  /** `L(θ_new) − L(θ_old)` of the returned parameters. */
  readonly surrogateGain: number
  /** `stepSize · gᵀs`, the first-order prediction of the gain. */
  readonly expectedImprovement: number
}

/**
 * A step rule (a block of natural-gradient recipes).
 *
 * @category models
 */
export interface StepRule {
  readonly _tag: string
  apply(problem: Problem): Result
}

/**
 * The largest step along s that stays inside the quadratic model of the trust region,
 * `½ (βs)ᵀ F (βs) = δ`, i.e. `β = √(2δ / sᵀFs)`.
 *
 * @category functions
 */
export const maxStepSize = (maxKl: number, sFs: number): number => Math.sqrt((2 * maxKl) / sFs)

const allFinite = (v: Float64Array): boolean => {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i]!)) return false
  return true
}

const reject = (problem: Problem, outcome: Outcome, backtracks: number, maxStep: number): Result => ({
  params: problem.params,
  accepted: false,
  outcome,
  backtracks,
  maxStepSize: maxStep,
  stepSize: 0,
  kl: 0,
  surrogateGain: 0,
  expectedImprovement: 0
})

/**
 * Tries `θ_j = θ_old + ratio^j · β · s` for j = 0, 1, …, maxBacktracks − 1 and returns the first
 * candidate that `judge` accepts (from its KL, its surrogate gain and the first-order expected
 * gain), or θ_old with the last verdict. Non-finite candidates or evaluations are `nonFinite`.
 */
const backtrack = (
  problem: Problem,
  beta: number,
  ratio: number,
  maxBacktracks: number,
  judge: (kl: number, gain: number, expected: number) => Outcome
): Result => {
  const { params, direction } = problem
  let outcome: Outcome = "nonFinite"
  for (let j = 0; j < maxBacktracks; j++) {
    const stepSize = beta * Math.pow(ratio, j)
    const candidate = new Float64Array(params.length)
    for (let p = 0; p < params.length; p++) candidate[p] = params[p]! + stepSize * direction[p]!
    if (!allFinite(candidate)) {
      outcome = "nonFinite"
      continue
    }
    const { kl, surrogate } = problem.evaluate(candidate)
    if (!Number.isFinite(kl) || !Number.isFinite(surrogate)) {
      outcome = "nonFinite"
      continue
    }
    const gain = surrogate - problem.surrogateOld
    const expected = stepSize * problem.gradientDotDirection
    outcome = judge(kl, gain, expected)
    if (outcome === "accepted") {
      return { params: candidate, accepted: true, outcome, backtracks: j, maxStepSize: beta, stepSize, kl, surrogateGain: gain, expectedImprovement: expected }
    }
  }
  return reject(problem, outcome, maxBacktracks, beta)
}

/**
 * TRPO's backtracking line search: try `θ_j = θ_old + ratio^j · β · s` for
 * j = 0, 1, …, maxBacktracks − 1 and accept the first with mean KL ≤ δ·klTolerance and
 * L(θ_j) > L(θ_old) (the improvement check); otherwise keep θ_old.
 *
 * Defaults as Spinning Up and sb3-contrib: δ = 0.01, ratio 0.8, 10 tries, tolerance 1
 * (openai/baselines accepts up to 1.5·δ: `klTolerance: 1.5`).
 *
 * **Gotchas**: a non-finite or non-positive sᵀFs, a non-finite direction or a non-finite
 * surrogate/KL at a candidate is a reported rejection (`nonFinite`), never NaN parameters.
 *
 * @category constructors
 */
export const backtracking = (
  options: {
    readonly maxKl?: number
    readonly backtrackRatio?: number
    readonly maxBacktracks?: number
    readonly klTolerance?: number
  } = {}
): StepRule & {
  readonly maxKl: number
  readonly backtrackRatio: number
  readonly maxBacktracks: number
  readonly klTolerance: number
} => {
  const maxKl = options.maxKl ?? 0.01
  const backtrackRatio = options.backtrackRatio ?? 0.8
  const maxBacktracks = options.maxBacktracks ?? 10
  const klTolerance = options.klTolerance ?? 1
  if (!(maxKl > 0) || !Number.isFinite(maxKl)) throw new RangeError(`LineSearch.backtracking: maxKl must be > 0, got ${maxKl}`)
  if (!(backtrackRatio > 0 && backtrackRatio < 1)) throw new RangeError(`LineSearch.backtracking: backtrackRatio must be in (0, 1), got ${backtrackRatio}`)
  if (!Number.isInteger(maxBacktracks) || maxBacktracks < 1) throw new RangeError(`LineSearch.backtracking: maxBacktracks must be a positive integer, got ${maxBacktracks}`)
  if (!(klTolerance >= 1) || !Number.isFinite(klTolerance)) throw new RangeError(`LineSearch.backtracking: klTolerance must be ≥ 1, got ${klTolerance}`)
  return {
    _tag: "BacktrackingLineSearch",
    maxKl,
    backtrackRatio,
    maxBacktracks,
    klTolerance,
    apply: (problem) => {
      const beta = maxStepSize(maxKl, problem.sFs)
      if (!(problem.sFs > 0) || !Number.isFinite(problem.sFs) || !Number.isFinite(beta) || !allFinite(problem.direction) || !Number.isFinite(problem.gradientDotDirection)) {
        return reject(problem, "nonFinite", 0, problem.sFs > 0 && Number.isFinite(problem.sFs) ? beta : NaN)
      }
      return backtrack(problem, beta, backtrackRatio, maxBacktracks, (kl, gain) =>
        kl > maxKl * klTolerance ? "klExceeded" : gain > 0 ? "accepted" : "noImprovement")
    }
  }
}

const step = (problem: Problem, stepSize: number, maxStep: number): Result => {
  const { params, direction } = problem
  const candidate = new Float64Array(params.length)
  for (let p = 0; p < params.length; p++) candidate[p] = params[p]! + stepSize * direction[p]!
  if (!allFinite(candidate)) return reject(problem, "nonFinite", 0, maxStep)
  const { kl, surrogate } = problem.evaluate(candidate)
  if (!Number.isFinite(kl) || !Number.isFinite(surrogate)) return reject(problem, "nonFinite", 0, maxStep)
  return {
    params: candidate,
    accepted: true,
    outcome: "accepted",
    backtracks: 0,
    maxStepSize: maxStep,
    stepSize,
    kl,
    surrogateGain: surrogate - problem.surrogateOld,
    expectedImprovement: stepSize * problem.gradientDotDirection
  }
}

/**
 * Natural policy gradient with the trust region's step and nothing else:
 * `θ_new = θ_old + √(2δ / sᵀFs) · s`, with no line search and no improvement check (Kakade 2001;
 * Spinning Up's `algo='npg'`, rllab's TNPG). The step is taken whatever the actual KL and
 * surrogate turn out to be — the flaw TRPO's line search exists to fix; both are still
 * measured and reported. Only a non-finite step is refused.
 *
 * @category constructors
 */
export const trustRegionStep = (options: { readonly maxKl?: number } = {}): StepRule & { readonly maxKl: number } => {
  const maxKl = options.maxKl ?? 0.01
  if (!(maxKl > 0) || !Number.isFinite(maxKl)) throw new RangeError(`LineSearch.trustRegionStep: maxKl must be > 0, got ${maxKl}`)
  return {
    _tag: "TrustRegionStep",
    maxKl,
    apply: (problem) => {
      const beta = maxStepSize(maxKl, problem.sFs)
      if (!(problem.sFs > 0) || !Number.isFinite(problem.sFs) || !Number.isFinite(beta) || !allFinite(problem.direction)) {
        return reject(problem, "nonFinite", 0, NaN)
      }
      return step(problem, beta, beta)
    }
  }
}

/**
 * Natural policy gradient with a fixed learning rate: `θ_new = θ_old + α · s`, independent of
 * sᵀFs (the original natural gradient ascent; Tianshou's NPG scales by a fixed
 * `trust_region_size` instead). No line search, no checks beyond finiteness.
 *
 * @category constructors
 */
export const fixedStep = (options: { readonly stepSize: number }): StepRule & { readonly stepSize: number } => {
  const { stepSize } = options
  if (!(stepSize > 0) || !Number.isFinite(stepSize)) throw new RangeError(`LineSearch.fixedStep: stepSize must be > 0, got ${stepSize}`)
  return {
    _tag: "FixedStep",
    stepSize,
    apply: (problem) => {
      if (!allFinite(problem.direction)) return reject(problem, "nonFinite", 0, NaN)
      const beta = problem.sFs > 0 && Number.isFinite(problem.sFs) ? Math.sqrt(1 / problem.sFs) : NaN
      return step(problem, stepSize, beta)
    }
  }
}

/**
 * The acceptance rule of Schulman's original TRPO code (joschu/modular_rl `linesearch`):
 * backtrack from the maximal step `β = √(2δ / sᵀFs)` by `backtrackRatio` and accept the first
 * step whose actual improvement is positive and at least `acceptRatio` times the first-order
 * expectation `stepSize · gᵀs`. The KL is *not* checked (modular_rl #29): it is measured and
 * reported, and can exceed δ.
 *
 * Defaults as modular_rl: ratio 0.5, 10 tries, accept ratio 0.1.
 *
 * @category constructors
 */
export const improvementRatio = (
  options: { readonly maxKl?: number; readonly backtrackRatio?: number; readonly maxBacktracks?: number; readonly acceptRatio?: number } = {}
): StepRule & { readonly maxKl: number; readonly backtrackRatio: number; readonly maxBacktracks: number; readonly acceptRatio: number } => {
  const maxKl = options.maxKl ?? 0.01
  const backtrackRatio = options.backtrackRatio ?? 0.5
  const maxBacktracks = options.maxBacktracks ?? 10
  const acceptRatio = options.acceptRatio ?? 0.1
  if (!(maxKl > 0) || !Number.isFinite(maxKl)) throw new RangeError(`LineSearch.improvementRatio: maxKl must be > 0, got ${maxKl}`)
  if (!(backtrackRatio > 0 && backtrackRatio < 1)) throw new RangeError(`LineSearch.improvementRatio: backtrackRatio must be in (0, 1), got ${backtrackRatio}`)
  if (!Number.isInteger(maxBacktracks) || maxBacktracks < 1) throw new RangeError(`LineSearch.improvementRatio: maxBacktracks must be a positive integer, got ${maxBacktracks}`)
  if (!(acceptRatio >= 0) || !Number.isFinite(acceptRatio)) throw new RangeError(`LineSearch.improvementRatio: acceptRatio must be ≥ 0, got ${acceptRatio}`)
  return {
    _tag: "ImprovementRatio",
    maxKl,
    backtrackRatio,
    maxBacktracks,
    acceptRatio,
    apply: (problem) => {
      const beta = maxStepSize(maxKl, problem.sFs)
      if (!(problem.sFs > 0) || !Number.isFinite(problem.sFs) || !Number.isFinite(beta) || !allFinite(problem.direction) || !Number.isFinite(problem.gradientDotDirection)) {
        return reject(problem, "nonFinite", 0, NaN)
      }
      return backtrack(problem, beta, backtrackRatio, maxBacktracks, (_, gain, expected) =>
        gain > 0 && gain / expected > acceptRatio ? "accepted" : "noImprovement")
    }
  }
}
