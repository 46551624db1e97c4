/**
 * Linear solvers for the natural-gradient direction: the `Solver` slot, and the conjugate
 * gradient method that fills it by default.
 *
 * NPG and TRPO need `s ≈ F⁻¹ g` for a Fisher matrix `F` that is never formed: only the
 * product `v ↦ F v` is available (see `Fisher`). A solver takes that product and `b` on the
 * host as `Float64Array`s and returns `x ≈ A⁻¹ b` together with `xᵀ A x`, which the TRPO step
 * size `β = √(2δ / sᵀFs)` needs. The product itself may be computed in float32 by tfjs; the
 * solver's own state stays in float64. A dense (Cholesky) solver can fill the same slot.
 *
 * @since 0.1.0
 */

/**
 * A symmetric positive-definite operator given only by its product `v ↦ A v`.
 *
 * **Gotchas**: the solver passes its own search direction; `apply` must neither modify its
 * argument nor keep a reference to it, and must return a vector of the same length.
 *
 * @category models
 */
export type Apply = (v: Float64Array) => Float64Array

/**
 * What a solve returns.
 *
 * - `solution`: `x ≈ A⁻¹ b` (always finite where `b` and the products are).
 * - `iterations`: the number of products `A v` used.
 * - `residualNorm`: `‖b − A x‖₂`, as the solver tracks it (for CG: `√(rᵀr)` from the recurrence).
 * - `xAx`: `xᵀ A x`, obtained without an extra product.
 * - `breakdown`: the operator showed a direction `p` with `pᵀAp ≤ 0` (or a non-finite
 *   product), i.e. it is not positive definite on the Krylov space; `solution` is the last
 *   iterate before that direction.
 *
 * @category models
 */
export interface SolveResult {
  readonly solution: Float64Array
  readonly iterations: number
  readonly residualNorm: number
  readonly xAx: number
  readonly breakdown: boolean
}

/**
 * The solver slot of a natural-gradient recipe: a value whose data fields describe the
 * method (written to the run manifest) and whose `solve` runs it.
 *
 * @category models
 */
export interface Solver {
  readonly _tag: string
  solve(operator: LinearOperator, b: Float64Array): SolveResult
  /**
   * The error `solve` would throw for an operator of this dimension, or `undefined`: lets a
   * run reject a recipe before training (the dense solve's parameter limit). Absent: any size.
   */
  check?(dimension: number): Error | undefined
}

/**
 * A symmetric positive-definite operator as a solver sees it: its products, and optionally the
 * dense matrix (row-major, `dimension × dimension`) for solvers that factorise it.
 *
 * @category models
 */
export interface LinearOperator {
  readonly dimension: number
  apply(v: Float64Array): Float64Array
  dense?(): Float64Array
}

/**
 * Options of the conjugate gradient method.
 *
 * - `maxIterations`: at most this many products (default 10, as Spinning Up, baselines,
 *   rllab and tianshou; SB3-contrib uses 15).
 * - `residualTolerance`: stop once the squared residual `rᵀr` falls below it (default 1e-10,
 *   as Spinning Up and baselines).
 *
 * @category models
 */
export interface Options {
  readonly maxIterations?: number
  readonly residualTolerance?: number
}

/**
 * The conjugate gradient solver block.
 *
 * @category models
 */
export interface ConjugateGradient extends Solver {
  readonly _tag: "ConjugateGradient"
  readonly maxIterations: number
  readonly residualTolerance: number
}

const DEFAULT_MAX_ITERATIONS = 10
const DEFAULT_RESIDUAL_TOLERANCE = 1e-10

const resolve = (options: Options | undefined): { maxIterations: number; residualTolerance: number } => {
  const maxIterations = options?.maxIterations ?? DEFAULT_MAX_ITERATIONS
  const residualTolerance = options?.residualTolerance ?? DEFAULT_RESIDUAL_TOLERANCE
  if (!Number.isSafeInteger(maxIterations) || maxIterations < 0) {
    throw new RangeError(`ConjugateGradient: maxIterations must be a non-negative integer, got ${maxIterations}`)
  }
  if (!(residualTolerance >= 0) || !Number.isFinite(residualTolerance)) {
    throw new RangeError(
      `ConjugateGradient: residualTolerance must be a finite non-negative number, got ${residualTolerance}`
    )
  }
  return { maxIterations, residualTolerance }
}

const dot = (u: Float64Array, v: Float64Array): number => {
  let sum = 0
  for (let i = 0; i < u.length; i++) sum += u[i] * v[i]
  return sum
}

/**
 * Solves `A x = b` by the conjugate gradient method from `x₀ = 0`
 * (Nocedal & Wright, *Numerical Optimization*, 2nd ed., Alg. 5.2; Shewchuk, "An Introduction
 * to the Conjugate Gradient Method Without the Agonizing Pain", 1994, §B2):
 *
 * ```
 * x₀ = 0,  r₀ = b,  p₀ = r₀
 * αₖ = rₖᵀrₖ / pₖᵀApₖ
 * xₖ₊₁ = xₖ + αₖ pₖ,   rₖ₊₁ = rₖ − αₖ Apₖ
 * βₖ = rₖ₊₁ᵀrₖ₊₁ / rₖᵀrₖ,   pₖ₊₁ = rₖ₊₁ + βₖ pₖ
 * ```
 *
 * It stops after `maxIterations` products, once `rᵀr < residualTolerance`, or at a
 * breakdown (`pᵀAp ≤ 0` or non-finite). Since `r = b − A x` by the recurrence,
 * `xᵀ A x = xᵀ (b − r)` comes without another product (TRPO's `sᵀFs`; Schulman et al. 2015,
 * App. C).
 *
 * **Gotchas**: the initial guess is zero, never random (SB3-contrib starts from
 * `1e-4·randn`, drawn from the global RNG). `residualNorm` and `xAx` come from the recurrence
 * and drift from `‖b − A x‖` and `xᵀAx` recomputed directly by rounding error; with products
 * in float32 the drift is of the order of the float32 error of `A v`. A zero `b` returns zeros
 * after 0 products.
 *
 * @param apply the product `v ↦ A v`, `A` symmetric positive definite (n × n)
 * @param b the right-hand side, length n
 * @category solvers
 */
export const solve = (apply: Apply, b: Float64Array, options?: Options): SolveResult => {
  const { maxIterations, residualTolerance } = resolve(options)
  const n = b.length
  const x = new Float64Array(n)
  const r = Float64Array.from(b)
  let p = Float64Array.from(b)
  let rr = dot(r, r)
  let iterations = 0
  let breakdown = false
  // rr === 0 also covers b = 0 with a zero tolerance: there is no direction to search.
  while (iterations < maxIterations && rr >= residualTolerance && rr !== 0) {
    const ap = apply(p)
    iterations++
    if (ap.length !== n) {
      throw new RangeError(`ConjugateGradient.solve: apply returned length ${ap.length}, expected ${n}`)
    }
    const pAp = dot(p, ap)
    const alpha = rr / pAp
    if (!(pAp > 0) || !Number.isFinite(pAp) || !Number.isFinite(alpha)) {
      breakdown = true
      break
    }
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i]
      r[i] -= alpha * ap[i]
    }
    const rrNext = dot(r, r)
    const beta = rrNext / rr
    rr = rrNext
    // A fresh array, so that an `apply` which holds on to its argument sees no mutation.
    const pNext = new Float64Array(n)
    for (let i = 0; i < n; i++) pNext[i] = r[i] + beta * p[i]
    p = pNext
  }
  let xAx = 0
  for (let i = 0; i < n; i++) xAx += x[i] * (b[i] - r[i])
  return { solution: x, iterations, residualNorm: Math.sqrt(rr), xAx, breakdown }
}

/**
 * The conjugate gradient solver as a block for the `Solver` slot: its data fields are the
 * resolved options (JSON-serialisable), `solve(apply, b)` runs {@link solve} with them.
 *
 * @category constructors
 */
export const make = (options?: Options): ConjugateGradient => {
  const resolved = resolve(options)
  return {
    _tag: "ConjugateGradient",
    maxIterations: resolved.maxIterations,
    residualTolerance: resolved.residualTolerance,
    solve: (operator, b) => solve(operator.apply, b, resolved)
  }
}
