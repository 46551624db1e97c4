/**
 * Fisher-vector products: `v ↦ (F + λI) v`, with `F = ∇²_θ mean KL(π_old ‖ π_θ)` at θ_old,
 * the Fisher information matrix of the policy averaged over the batch's states (Schulman et
 * al. 2015, Appendix C). Conjugate gradient needs only these products, never F itself.
 *
 * Three strategies fill the same slot, so an ablation swaps one for another:
 *
 * - {@link analytic}: `F v = (1/N) Σ_i J_iᵀ M_i J_i v` — a forward-mode product `J v` through
 *   the network, the distribution's own Fisher metric `M_i` on the host, and a reverse-mode
 *   product back (Martens 2014, "New insights and perspectives on the natural gradient").
 *   Exact, and the fastest: the activations at θ_old are cached once per update.
 * - {@link finiteDifference}: `F v ≈ (∇KL(θ + h v) − ∇KL(θ − h v)) / 2h` (rllab's
 *   `FiniteDifferenceHvp`). Two gradients per product; accurate to ~1e-5 in float32.
 * - {@link pearlmutter}: `F v = ∇_θ ⟨∇_θ KL, v⟩`, double backprop through tfjs's autodiff
 *   (Pearlmutter 1994), as most PyTorch/TF libraries compute it. tfjs's registered gradients
 *   of tanh, exp and log-softmax reuse the op's output and are not themselves differentiable
 *   (nested `tf.grad` through them is wrong or throws in tfjs 4.22), so this strategy builds
 *   the KL from ops re-defined with `tf.customGrad` whose gradients are written in terms of
 *   differentiable ops. The slowest; here as the textbook reference.
 *
 * Every strategy is tested against a dense Fisher built in float64 from explicit per-sample
 * Jacobians (test/reference/Dense.ts).
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs-core"
import type * as ConjugateGradient from "./ConjugateGradient.ts"
import * as DenseFisher from "./DenseFisher.ts"
import * as Distribution from "./Distribution.ts"
import * as Gradient from "./Gradient.ts"
import * as Mlp from "./Mlp.ts"
import * as Policy from "./Policy.ts"

/**
 * What a strategy needs: the policy at θ_old on the batch's observations, and the
 * linearisation at θ_old that the policy gradient already built (shared, not owned).
 *
 * @category models
 */
export interface Problem {
  readonly policy: Policy.Spec
  readonly params: Float64Array
  /** `[N, n₀]` row-major. */
  readonly observations: ArrayLike<number>
  readonly size: number
  readonly linearization: Mlp.Linearization
}

/**
 * The damped Fisher `(F + λI)` as a linear operator on flat parameter vectors.
 *
 * @category models
 */
export interface Operator extends ConjugateGradient.LinearOperator {
  dispose(): void
}

/**
 * A Fisher-vector product strategy (a block of natural-gradient recipes).
 *
 * @category models
 */
export interface Strategy {
  readonly _tag: string
  /** λ, added as `λ v` to every product (Tikhonov damping; conditions CG when F is singular). */
  readonly damping: number
  prepare(problem: Problem): Operator
}

const checkDamping = (name: string, damping: number): void => {
  if (!(damping >= 0) || !Number.isFinite(damping)) throw new RangeError(`Fisher.${name}: damping must be a finite number ≥ 0, got ${damping}`)
}

const addDamping = (out: Float64Array, v: Float64Array, damping: number): Float64Array => {
  if (damping !== 0) for (let p = 0; p < out.length; p++) out[p] = out[p]! + damping * v[p]!
  return out
}

/**
 * Rows `0, k, 2k, …` of a row-major `[N, width]` array.
 *
 * @category functions
 */
export const subsampleRows = (rows: ArrayLike<number>, size: number, width: number, every: number): { rows: Float32Array; size: number } => {
  const count = Math.ceil(size / every)
  const out = new Float32Array(count * width)
  for (let i = 0; i < count; i++) for (let j = 0; j < width; j++) out[i * width + j] = rows[i * every * width + j]!
  return { rows: out, size: count }
}

/**
 * The analytic product `(1/N) Σ_i J_iᵀ M_i J_i v + λ v`, with `M_i` the Fisher metric of the
 * distribution's parameters at sample i ({@link Distribution.fisherOutputs}) and a Gaussian's
 * log-std block `2I` ({@link Distribution.fisherExtra}).
 *
 * `subsampleEvery = k` estimates F on every k-th sample only (openai/baselines' `fvpargs =
 * arr[::5]`, sb3-contrib's `sub_sampling_factor`): about k× cheaper per product, at the cost
 * of a noisier F.
 *
 * @category constructors
 */
export const analytic = (options: { readonly damping?: number; readonly subsampleEvery?: number } = {}): Strategy => {
  const damping = options.damping ?? 0.1
  const subsampleEvery = options.subsampleEvery ?? 1
  checkDamping("analytic", damping)
  if (!Number.isInteger(subsampleEvery) || subsampleEvery < 1) {
    throw new RangeError(`Fisher.analytic: subsampleEvery must be a positive integer, got ${subsampleEvery}`)
  }
  return {
    _tag: "Analytic",
    damping,
    subsampleEvery,
    prepare: (problem) => {
      const { policy, params } = problem
      const dist = policy.distribution
      const netSize = Policy.networkSize(policy)
      const extra = Policy.extra(policy, params)
      const own = subsampleEvery > 1
      const sub = own ? subsampleRows(problem.observations, problem.size, Mlp.inputSize(policy.network), subsampleEvery) : undefined
      const linearization = sub === undefined ? problem.linearization : Mlp.linearize(policy.network, params, sub.rows, sub.size)
      const size = linearization.batchSize
      // Through the reduced outputs when they are few (a categorical over 2 or 3 actions, a 1-2
      // dimensional Gaussian): half the large products per Fvp. Otherwise the plain J and Jᵀ.
      const factor = Distribution.reducedFisher(dist)
      const reduced = factor.rank <= REDUCED_RANK_LIMIT && policy.network.sizes.length > 2 ? linearization.reduce(factor.map, factor.rank) : undefined
      let networkProduct: (v: Float64Array) => Float64Array
      if (reduced !== undefined) {
        // The metric's probabilities are those of θ_old: computed once, not per product.
        const metric = factor.at(linearization.outputs, extra, size)
        networkProduct = (v) => reduced.vjp(metric(reduced.jvp(v), 1 / size))
      } else {
        networkProduct = (v) => linearization.vjp(Distribution.fisherOutputs(dist, linearization.outputs, extra, linearization.jvp(v), size, 1 / size))
      }
      return {
        dimension: params.length,
        // The dense matrix for solvers that factorise it, from the same (sub)sampled rows.
        dense: DenseFisher.denseOperator(sub === undefined ? problem : { ...problem, observations: sub.rows, size: sub.size, linearization }, damping),
        apply: (v) => addDamping(Gradient.concat(networkProduct(v.subarray(0, netSize)), Distribution.fisherExtra(dist, v.subarray(netSize))), v, damping),
        dispose: () => {
          reduced?.dispose()
          if (own) linearization.dispose()
        }
      } satisfies Operator
    }
  } as Strategy & { readonly subsampleEvery: number }
}

/** The largest reduced-output rank for which the analytic Fvp goes through `Mlp.Reduced`. */
const REDUCED_RANK_LIMIT = 2

/**
 * `∇_θ mean KL(π_old ‖ π_θ)` at θ, by one linearisation and one vector-Jacobian product.
 *
 * @category functions
 */
export const klGradient = (problem: Problem, theta: Float64Array): Float64Array => {
  const { policy, params } = problem
  const dist = policy.distribution
  const netSize = Policy.networkSize(policy)
  const linearization = Mlp.linearize(policy.network, theta, problem.observations, problem.size)
  try {
    const g = Distribution.klGradient(
      dist,
      problem.linearization.outputs,
      Policy.extra(policy, params),
      linearization.outputs,
      theta.subarray(netSize),
      problem.size,
      1 / problem.size
    )
    return Gradient.concat(linearization.vjp(g.outputs), g.extra)
  } finally {
    linearization.dispose()
  }
}

/**
 * Central finite differences of the KL gradient along v:
 * `F v ≈ (∇KL(θ + h v̂) − ∇KL(θ − h v̂)) ‖v‖ / 2h` with `v̂ = v/‖v‖` and `h = stepSize`.
 *
 * **Gotchas**: in float32 the error is ~1e-5 relative at its best step, `‖h v̂‖ ≈ 1e-2`
 * (docs/performance.md); much smaller steps drown in rounding, much larger ones in curvature.
 *
 * @category constructors
 */
export const finiteDifference = (options: { readonly damping?: number; readonly stepSize?: number } = {}): Strategy => {
  const damping = options.damping ?? 0.1
  const stepSize = options.stepSize ?? 1e-2
  checkDamping("finiteDifference", damping)
  if (!(stepSize > 0) || !Number.isFinite(stepSize)) throw new RangeError(`Fisher.finiteDifference: stepSize must be > 0, got ${stepSize}`)
  return {
    _tag: "FiniteDifference",
    damping,
    stepSize,
    prepare: (problem) => ({
      dimension: problem.params.length,
      apply: (v) => {
        const norm = Gradient.norm(v)
        const out = new Float64Array(v.length)
        if (norm === 0) return out
        const h = stepSize / norm
        const plus = problem.params.map((t, p) => t + h * v[p]!)
        const minus = problem.params.map((t, p) => t - h * v[p]!)
        const gPlus = klGradient(problem, plus), gMinus = klGradient(problem, minus)
        for (let p = 0; p < v.length; p++) out[p] = (gPlus[p]! - gMinus[p]!) / (2 * h)
        return addDamping(out, v, damping)
      },
      dispose: () => {}
    })
  } as Strategy & { readonly stepSize: number }
}

// -- Twice-differentiable ops for double backprop ------------------------------------------------

/**
 * `tanh` whose gradient `dy ⊙ (1 − tanh(x)²)` recomputes tanh through itself, so the gradient
 * is differentiable again (tfjs's own reuses the saved output as a constant).
 *
 * @category twice-differentiable ops
 */
export const tanh2: (x: tf.Tensor) => tf.Tensor = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const input = x as tf.Tensor
  ;(save as tf.GradSaveFunc)([input])
  return {
    value: tf.tanh(input),
    gradFunc: (dy: tf.Tensor, [saved]: Array<tf.Tensor>) => {
      const t = tanh2(saved!)
      return tf.mul(dy, tf.sub(1, tf.mul(t, t)))
    }
  }
})

/**
 * `exp` whose gradient `dy ⊙ exp(x)` recomputes exp through itself.
 *
 * @category twice-differentiable ops
 */
export const exp2: (x: tf.Tensor) => tf.Tensor = tf.customGrad((x: tf.Tensor | tf.GradSaveFunc, save: tf.Tensor | tf.GradSaveFunc) => {
  const input = x as tf.Tensor
  ;(save as tf.GradSaveFunc)([input])
  return { value: tf.exp(input), gradFunc: (dy: tf.Tensor, [saved]: Array<tf.Tensor>) => tf.mul(dy, exp2(saved!)) }
})

/**
 * The mean KL(π_old ‖ π_θ) as a differentiable tensor function of the parameter tensors
 * `[W₁, b₁, …, W_L, b_L, (logStd)]`, built only from twice-differentiable ops.
 *
 * **Gotchas**: log-softmax is `z − c − log Σ exp(z − c)` with `c` the row maximum of the *old*
 * logits, a constant, so no `max` (whose gradient is not differentiable) enters the graph.
 *
 * @category functions
 */
export const klTensor = (problem: Problem, x: tf.Tensor2D, params: ReadonlyArray<tf.Tensor>): tf.Scalar => {
  const { policy } = problem
  const dist = policy.distribution
  const L = policy.network.sizes.length - 1
  let a: tf.Tensor = x
  for (let l = 0; l < L; l++) {
    const z = tf.add(tf.matMul(a, params[2 * l] as tf.Tensor2D), params[2 * l + 1]!)
    a = l < L - 1 ? tanh2(z) : z
  }
  const outputsOld = problem.linearization.outputs
  const n = problem.size
  if (dist._tag === "Categorical") {
    const k = dist.n
    const shift = new Float32Array(n), pOld = new Float32Array(n * k)
    let constant = 0
    for (let i = 0; i < n; i++) {
      let max = -Infinity, sum = 0
      for (let j = 0; j < k; j++) max = Math.max(max, outputsOld[i * k + j]!)
      for (let j = 0; j < k; j++) sum += Math.exp(outputsOld[i * k + j]! - max)
      shift[i] = max
      for (let j = 0; j < k; j++) {
        const logp = outputsOld[i * k + j]! - max - Math.log(sum)
        pOld[i * k + j] = Math.exp(logp)
        constant += Math.exp(logp) * logp
      }
    }
    const shifted = tf.sub(a, tf.tensor2d(shift, [n, 1]))
    const logSoftmax = tf.sub(shifted, tf.log(tf.sum(exp2(shifted), 1, true)))
    // KL = (1/N) Σ_i Σ_k p_old (log p_old − log p_new)
    return tf.div(tf.sub(constant, tf.sum(tf.mul(tf.tensor2d(pOld, [n, k]), logSoftmax))), n) as tf.Scalar
  }
  const d = dist.dimension
  const extraOld = Policy.extra(policy, problem.params)
  const logStd = params[2 * L]!
  const varOld = tf.tensor1d(Float32Array.from(extraOld, (s) => Math.exp(2 * s)))
  const diff = tf.sub(tf.tensor2d(Float32Array.from(outputsOld), [n, d]), a)
  // Σ_j [s_new − s_old + (σ_old² + (μ_old − μ_new)²) / (2σ_new²) − ½], averaged over samples
  const quadratic = tf.mul(tf.add(varOld, tf.mul(diff, diff)), exp2(tf.mul(logStd, -2)))
  let sOld = 0
  for (let j = 0; j < d; j++) sOld += extraOld[j]!
  return tf.add(tf.sub(tf.sum(logStd), sOld + 0.5 * d), tf.div(tf.sum(quadratic), 2 * n)) as tf.Scalar
}

/**
 * Splits a flat parameter vector into the tensors `[W₁, b₁, …, W_L, b_L, (logStd)]`.
 *
 * @category functions
 */
export const parameterTensors = (policy: Policy.Spec, theta: ArrayLike<number>): Array<tf.Tensor> => {
  const tensors: Array<tf.Tensor> = []
  for (const layer of Mlp.layout(policy.network)) {
    const w = new Float32Array(layer.fanIn * layer.fanOut)
    for (let p = 0; p < w.length; p++) w[p] = theta[layer.weightOffset + p]!
    const b = new Float32Array(layer.fanOut)
    for (let p = 0; p < b.length; p++) b[p] = theta[layer.biasOffset + p]!
    tensors.push(tf.tensor2d(w, [layer.fanIn, layer.fanOut]), tf.tensor1d(b))
  }
  const extra = Distribution.extraSize(policy.distribution)
  if (extra > 0) {
    const offset = Policy.networkSize(policy)
    tensors.push(tf.tensor1d(Float32Array.from({ length: extra }, (_, j) => theta[offset + j]!)))
  }
  return tensors
}

/**
 * Pearlmutter's double backprop: `F v = ∇_θ ⟨∇_θ KL(π_old ‖ π_θ), v⟩` at θ_old, through the
 * twice-differentiable ops above.
 *
 * @category constructors
 */
export const pearlmutter = (options: { readonly damping?: number } = {}): Strategy => {
  const damping = options.damping ?? 0.1
  checkDamping("pearlmutter", damping)
  return {
    _tag: "Pearlmutter",
    damping,
    prepare: (problem) => {
      const x = Mlp.uploadRows(problem.observations, problem.size, Mlp.inputSize(problem.policy.network))
      const params = parameterTensors(problem.policy, problem.params)
      const klOf = (...ps: Array<tf.Tensor>) => klTensor(problem, x, ps)
      return {
        dimension: problem.params.length,
        apply: (v) => {
          const result = tf.tidy(() => {
            const vs = parameterTensors(problem.policy, v)
            const directional = (...ps: Array<tf.Tensor>) => {
              const gradients = tf.grads(klOf)(ps)
              return tf.addN(gradients.map((g, p) => tf.sum(tf.mul(g, vs[p]!)))) as tf.Scalar
            }
            const hv = tf.grads(directional)(params)
            return tf.concat(hv.map((t) => tf.reshape(t, [-1])))
          })
          const out = Float64Array.from(result.dataSync())
          result.dispose()
          return addDamping(out, v, damping)
        },
        dispose: () => {
          x.dispose()
          for (const p of params) p.dispose()
        }
      }
    }
  }
}
