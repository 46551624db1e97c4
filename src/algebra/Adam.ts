/**
 * Adam (Kingma & Ba 2015) on flat float64 parameter vectors, as a pure function of the
 * parameters, the gradient and the optimiser state. The state (moments and step count) is
 * part of the training state and of checkpoints.
 *
 * @since 0.1.0
 */

/**
 * @category models
 */
export interface Options {
  readonly learningRate: number
  readonly beta1: number
  readonly beta2: number
  readonly epsilon: number
}

/**
 * First and second moment estimates and the number of steps taken.
 *
 * @category models
 */
export interface State {
  readonly m: Float64Array
  readonly v: Float64Array
  readonly t: number
}

/**
 * PyTorch's defaults: β₁ 0.9, β₂ 0.999, ε 1e-8.
 *
 * @category constructors
 */
export const options = (learningRate: number, rest: Partial<Omit<Options, "learningRate">> = {}): Options => ({
  learningRate,
  beta1: rest.beta1 ?? 0.9,
  beta2: rest.beta2 ?? 0.999,
  epsilon: rest.epsilon ?? 1e-8
})

/**
 * @category constructors
 */
export const init = (size: number): State => ({ m: new Float64Array(size), v: new Float64Array(size), t: 0 })

/**
 * One descent step on a loss with gradient `g`:
 * `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `θ ← θ − α·m̂/(√v̂ + ε)` with
 * `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)` (PyTorch's placement of ε).
 *
 * @category functions
 */
export const step = (
  params: Float64Array,
  gradient: ArrayLike<number>,
  state: State,
  opts: Options,
  learningRate = opts.learningRate
): { readonly params: Float64Array; readonly state: State } => {
  const t = state.t + 1
  const m = new Float64Array(params.length), v = new Float64Array(params.length), next = new Float64Array(params.length)
  const c1 = 1 - Math.pow(opts.beta1, t), c2 = 1 - Math.pow(opts.beta2, t)
  for (let p = 0; p < params.length; p++) {
    const g = gradient[p]!
    m[p] = opts.beta1 * state.m[p]! + (1 - opts.beta1) * g
    v[p] = opts.beta2 * state.v[p]! + (1 - opts.beta2) * g * g
    next[p] = params[p]! - (learningRate * (m[p]! / c1)) / (Math.sqrt(v[p]! / c2) + opts.epsilon)
  }
  return { params: next, state: { m, v, t } }
}
