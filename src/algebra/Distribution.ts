/**
 * Action distributions parameterised by a network's outputs: categorical (logits) and
 * diagonal Gaussian (mean from the network, state-independent log-std as extra parameters).
 *
 * Every function works on a batch in plain float64 TypeScript on host rows. The network
 * runs on tensors; the distribution's per-sample algebra (log-probabilities, KL, entropy,
 * their gradients with respect to the outputs, and the Fisher metric of the distribution's
 * own parameters) has only `n_L` numbers per sample, so computing it on the host in float64
 * is both cheaper than a chain of small tensor ops and exact to double precision.
 *
 * Layout: `outputs` is `[N, outputSize]` row-major; `extra` holds the state-independent
 * parameters (`[]` for categorical, the log-std `s` for the Gaussian); `actions` is
 * `[N, actionSize]` row-major (a categorical action is its index, stored as a number).
 *
 * @since 0.1.0
 */
import * as Key from "./Key.ts"

/**
 * `π(a) = softmax(z)_a` over `n` actions.
 *
 * @category models
 */
export interface Categorical {
  readonly _tag: "Categorical"
  readonly n: number
}

/**
 * `π(a) = N(a; μ, diag(σ²))` with `μ` from the network and `σ = exp(s)`, `s` a learned
 * state-independent vector of `dimension` entries (initially `initialLogStd`).
 *
 * @category models
 */
export interface DiagGaussian {
  readonly _tag: "DiagGaussian"
  readonly dimension: number
  readonly initialLogStd: number
}

/**
 * @category models
 */
export type Distribution = Categorical | DiagGaussian

/** @category constructors */
export const categorical = (n: number): Categorical => {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`Distribution.categorical: n must be an integer ≥ 2, got ${n}`)
  return { _tag: "Categorical", n }
}

/** @category constructors */
export const diagGaussian = (dimension: number, options: { readonly initialLogStd?: number } = {}): DiagGaussian => {
  if (!Number.isInteger(dimension) || dimension < 1) throw new RangeError(`Distribution.diagGaussian: dimension must be a positive integer, got ${dimension}`)
  const initialLogStd = options.initialLogStd ?? 0
  if (!Number.isFinite(initialLogStd)) throw new RangeError(`Distribution.diagGaussian: initialLogStd must be finite, got ${initialLogStd}`)
  return { _tag: "DiagGaussian", dimension, initialLogStd }
}

/** Network outputs per sample: `n` logits or `d` means. @category getters */
export const outputSize = (dist: Distribution): number => (dist._tag === "Categorical" ? dist.n : dist.dimension)

/** State-independent parameters: none, or the `d` log-stds. @category getters */
export const extraSize = (dist: Distribution): number => (dist._tag === "Categorical" ? 0 : dist.dimension)

/** Numbers stored per action: 1 (an index) or `d`. @category getters */
export const actionSize = (dist: Distribution): number => (dist._tag === "Categorical" ? 1 : dist.dimension)

/** Initial values of the extra parameters. @category constructors */
export const initialExtra = (dist: Distribution): Float64Array =>
  dist._tag === "Categorical" ? new Float64Array(0) : new Float64Array(dist.dimension).fill(dist.initialLogStd)

const LOG_2PI = Math.log(2 * Math.PI)

// Log-softmax of row i of z into out (length n); returns nothing.
const logSoftmaxRow = (z: ArrayLike<number>, i: number, n: number, out: Float64Array): void => {
  let max = -Infinity
  for (let k = 0; k < n; k++) max = Math.max(max, z[i * n + k]!)
  let sum = 0
  for (let k = 0; k < n; k++) sum += Math.exp(z[i * n + k]! - max)
  const lse = max + Math.log(sum)
  for (let k = 0; k < n; k++) out[k] = z[i * n + k]! - lse
}

/**
 * `log π(a_i | s_i)` for every sample.
 *
 * Categorical: `z_a − logΣexp z`. Gaussian: `Σ_j [−(a_j − μ_j)²/(2σ_j²) − s_j − ½ log 2π]`.
 *
 * @category functions
 */
export const logProbs = (
  dist: Distribution,
  outputs: ArrayLike<number>,
  extra: ArrayLike<number>,
  actions: ArrayLike<number>,
  size: number
): Float64Array => {
  const out = new Float64Array(size)
  if (dist._tag === "Categorical") {
    const n = dist.n, row = new Float64Array(n)
    for (let i = 0; i < size; i++) {
      logSoftmaxRow(outputs, i, n, row)
      out[i] = row[actions[i]!]!
    }
    return out
  }
  const d = dist.dimension
  let constant = 0
  for (let j = 0; j < d; j++) constant -= extra[j]! + 0.5 * LOG_2PI
  for (let i = 0; i < size; i++) {
    let sum = constant
    for (let j = 0; j < d; j++) {
      const z = (actions[i * d + j]! - outputs[i * d + j]!) * Math.exp(-extra[j]!)
      sum -= 0.5 * z * z
    }
    out[i] = sum
  }
  return out
}

/**
 * Mean entropy over the batch. Categorical: `−Σ p log p`; Gaussian: `Σ_j (s_j + ½ log 2πe)`.
 *
 * @category functions
 */
export const meanEntropy = (dist: Distribution, outputs: ArrayLike<number>, extra: ArrayLike<number>, size: number): number => {
  if (dist._tag === "DiagGaussian") {
    let h = 0
    for (let j = 0; j < dist.dimension; j++) h += extra[j]! + 0.5 * (LOG_2PI + 1)
    return h
  }
  const n = dist.n, row = new Float64Array(n)
  let total = 0
  for (let i = 0; i < size; i++) {
    logSoftmaxRow(outputs, i, n, row)
    for (let k = 0; k < n; k++) total -= Math.exp(row[k]!) * row[k]!
  }
  return total / size
}

/**
 * `scale · Σ_i ∇H(π_i)` with respect to the outputs and the extra parameters: the gradient
 * of `scale · N · meanEntropy`, so `scale = c/N` gives the gradient of an entropy bonus
 * `c · mean H`.
 *
 * Categorical: `H = −Σ_k p_k log p_k` and `∂H/∂z_j = −p_j (log p_j + H)`.
 * Gaussian: `H = Σ_j (s_j + ½ log 2πe)` does not depend on the means, so the outputs'
 * gradient is 0 and `∂/∂s_j = scale · N` (1 per sample, the log-std being shared).
 *
 * **Gotchas**: the result is a sum over samples, like {@link logProbGradient} and
 * {@link klGradient}; pass `scale = c / N` for a mean. The Gaussian's gradient does not
 * depend on the values of `extra` (the argument keeps the signature uniform).
 *
 * @param outputs `[N, outputSize]` network outputs
 * @param size N
 * @param scale the factor applied to the summed gradient
 * @category functions
 */
export const entropyGradient = (
  dist: Distribution,
  outputs: ArrayLike<number>,
  _extra: ArrayLike<number>,
  size: number,
  scale: number
): ParameterGradient => {
  if (dist._tag === "DiagGaussian") {
    return { outputs: new Float64Array(size * dist.dimension), extra: new Float64Array(dist.dimension).fill(scale * size) }
  }
  const n = dist.n, row = new Float64Array(n), g = new Float64Array(size * n)
  for (let i = 0; i < size; i++) {
    logSoftmaxRow(outputs, i, n, row)
    let h = 0
    for (let k = 0; k < n; k++) h -= Math.exp(row[k]!) * row[k]!
    for (let k = 0; k < n; k++) g[i * n + k] = -scale * Math.exp(row[k]!) * (row[k]! + h)
  }
  return { outputs: g, extra: new Float64Array(0) }
}

/**
 * Per-sample `KL(π_old ‖ π_new)`.
 *
 * Categorical: `Σ_k p_old,k (log p_old,k − log p_new,k)`.
 * Gaussian: `Σ_j [s_new − s_old + (σ_old² + (μ_old − μ_new)²)/(2σ_new²) − ½]`.
 *
 * **Gotchas**: the direction is KL(old ‖ new), the one TRPO constrains (Schulman et al. 2015,
 * eq. 12); its Hessian at θ = θ_old is the Fisher matrix, as is that of KL(new ‖ old).
 *
 * @category functions
 */
export const kls = (
  dist: Distribution,
  outputsOld: ArrayLike<number>,
  extraOld: ArrayLike<number>,
  outputsNew: ArrayLike<number>,
  extraNew: ArrayLike<number>,
  size: number
): Float64Array => {
  const out = new Float64Array(size)
  if (dist._tag === "Categorical") {
    const n = dist.n, lo = new Float64Array(n), ln = new Float64Array(n)
    for (let i = 0; i < size; i++) {
      logSoftmaxRow(outputsOld, i, n, lo)
      logSoftmaxRow(outputsNew, i, n, ln)
      let kl = 0
      for (let k = 0; k < n; k++) kl += Math.exp(lo[k]!) * (lo[k]! - ln[k]!)
      out[i] = kl
    }
    return out
  }
  const d = dist.dimension
  for (let i = 0; i < size; i++) {
    let kl = 0
    for (let j = 0; j < d; j++) {
      const sOld = extraOld[j]!, sNew = extraNew[j]!
      const diff = outputsOld[i * d + j]! - outputsNew[i * d + j]!
      kl += sNew - sOld + (Math.exp(2 * sOld) + diff * diff) / (2 * Math.exp(2 * sNew)) - 0.5
    }
    out[i] = kl
  }
  return out
}

/**
 * Mean `KL(π_old ‖ π_new)` over the batch.
 *
 * @category functions
 */
export const meanKl = (
  dist: Distribution,
  outputsOld: ArrayLike<number>,
  extraOld: ArrayLike<number>,
  outputsNew: ArrayLike<number>,
  extraNew: ArrayLike<number>,
  size: number
): number => {
  const values = kls(dist, outputsOld, extraOld, outputsNew, extraNew, size)
  let sum = 0
  for (let i = 0; i < size; i++) sum += values[i]!
  return sum / size
}

/**
 * A gradient with respect to the distribution parameters: `outputs` `[N, outputSize]` and
 * `extra` (summed over samples, since the extra parameters are shared).
 *
 * @category models
 */
export interface ParameterGradient {
  readonly outputs: Float64Array
  readonly extra: Float64Array
}

/**
 * `Σ_i w_i ∇ log π(a_i | s_i)` with respect to the outputs and the extra parameters.
 *
 * Categorical: `∂ log p_a/∂z = e_a − p`. Gaussian: `∂/∂μ_j = (a_j − μ_j)/σ_j²`,
 * `∂/∂s_j = (a_j − μ_j)²/σ_j² − 1`.
 *
 * @param weights `w_i`, e.g. `∂L/∂ log π_i` of an objective
 * @category functions
 */
export const logProbGradient = (
  dist: Distribution,
  outputs: ArrayLike<number>,
  extra: ArrayLike<number>,
  actions: ArrayLike<number>,
  weights: ArrayLike<number>,
  size: number
): ParameterGradient => {
  if (dist._tag === "Categorical") {
    const n = dist.n, row = new Float64Array(n), g = new Float64Array(size * n)
    for (let i = 0; i < size; i++) {
      logSoftmaxRow(outputs, i, n, row)
      const w = weights[i]!
      for (let k = 0; k < n; k++) g[i * n + k] = -w * Math.exp(row[k]!)
      g[i * n + actions[i]!] += w
    }
    return { outputs: g, extra: new Float64Array(0) }
  }
  const d = dist.dimension, g = new Float64Array(size * d), ge = new Float64Array(d)
  const invVar = new Float64Array(d)
  for (let j = 0; j < d; j++) invVar[j] = Math.exp(-2 * extra[j]!)
  for (let i = 0; i < size; i++) {
    const w = weights[i]!
    for (let j = 0; j < d; j++) {
      const diff = actions[i * d + j]! - outputs[i * d + j]!
      g[i * d + j] = w * diff * invVar[j]!
      ge[j] += w * (diff * diff * invVar[j]! - 1)
    }
  }
  return { outputs: g, extra: ge }
}

/**
 * `scale · Σ_i ∇_new KL(π_old,i ‖ π_new,i)` with respect to the new outputs and extra parameters.
 *
 * Categorical: `p_new − p_old`. Gaussian: `∂/∂μ_new = (μ_new − μ_old)/σ_new²`,
 * `∂/∂s_new = 1 − (σ_old² + (μ_old − μ_new)²)/σ_new²`.
 *
 * @category functions
 */
export const klGradient = (
  dist: Distribution,
  outputsOld: ArrayLike<number>,
  extraOld: ArrayLike<number>,
  outputsNew: ArrayLike<number>,
  extraNew: ArrayLike<number>,
  size: number,
  scale: number
): ParameterGradient => {
  if (dist._tag === "Categorical") {
    const n = dist.n, lo = new Float64Array(n), ln = new Float64Array(n), g = new Float64Array(size * n)
    for (let i = 0; i < size; i++) {
      logSoftmaxRow(outputsOld, i, n, lo)
      logSoftmaxRow(outputsNew, i, n, ln)
      for (let k = 0; k < n; k++) g[i * n + k] = scale * (Math.exp(ln[k]!) - Math.exp(lo[k]!))
    }
    return { outputs: g, extra: new Float64Array(0) }
  }
  const d = dist.dimension, g = new Float64Array(size * d), ge = new Float64Array(d)
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < d; j++) {
      const varNew = Math.exp(2 * extraNew[j]!)
      const diff = outputsNew[i * d + j]! - outputsOld[i * d + j]!
      g[i * d + j] = (scale * diff) / varNew
      ge[j] += scale * (1 - (Math.exp(2 * extraOld[j]!) + diff * diff) / varNew)
    }
  }
  return { outputs: g, extra: ge }
}

/**
 * The Fisher metric of the distribution's own parameters applied per sample to an output
 * tangent: `u_i = M_i ż_i`.
 *
 * Categorical: `M = diag(p) − p pᵀ`, so `u = p ⊙ ż − p (pᵀ ż)`.
 * Gaussian (mean block): `M = diag(1/σ²)`.
 *
 * @category functions
 */
export const fisherOutputs = (
  dist: Distribution,
  outputs: ArrayLike<number>,
  extra: ArrayLike<number>,
  tangent: ArrayLike<number>,
  size: number,
  scale = 1
): Float64Array => {
  if (dist._tag === "Categorical") {
    const n = dist.n, row = new Float64Array(n), u = new Float64Array(size * n)
    for (let i = 0; i < size; i++) {
      logSoftmaxRow(outputs, i, n, row)
      let dot = 0
      for (let k = 0; k < n; k++) {
        row[k] = Math.exp(row[k]!)
        dot += row[k]! * tangent[i * n + k]!
      }
      for (let k = 0; k < n; k++) u[i * n + k] = scale * row[k]! * (tangent[i * n + k]! - dot)
    }
    return u
  }
  const d = dist.dimension, u = new Float64Array(size * d)
  const invVar = new Float64Array(d)
  for (let j = 0; j < d; j++) invVar[j] = scale * Math.exp(-2 * extra[j]!)
  for (let i = 0; i < size; i++) for (let j = 0; j < d; j++) u[i * d + j] = tangent[i * d + j]! * invVar[j]!
  return u
}

/**
 * The Fisher metric of the outputs factored through a fixed linear map: `M_i = Rᵀ N_i R` with
 * `R` an `[r, outputSize]` row-major map and `N_i` the metric of the reduced outputs `y = R z`.
 *
 * Categorical over K actions: the probabilities depend on the logits only through their
 * differences, so `R = [I_{K−1} | −1]` (`y_k = z_k − z_K`, r = K − 1) and
 * `N = diag(p̃) − p̃ p̃ᵀ` with `p̃ = (p_1, …, p_{K−1})`. Gaussian: `R = I`, `N = diag(1/σ²)`.
 *
 * A Fisher-vector product through the reduced outputs touches r numbers per sample instead of
 * `outputSize`, which is what makes {@link Mlp}'s `Reduced` products pay off for small r.
 *
 * @category models
 */
export interface ReducedFisher {
  readonly rank: number
  /** `R`, `[rank, outputSize]` row-major. */
  readonly map: Float64Array
  /**
   * The metric at fixed outputs: `(ẏ, scale) ↦ scale · N_i ẏ_i` for every sample (`ẏ` and the
   * result `[N, rank]`). What `N_i` depends on (a categorical's probabilities) is computed here,
   * once, not in every product.
   */
  at(outputs: ArrayLike<number>, extra: ArrayLike<number>, size: number): (tangent: ArrayLike<number>, scale: number) => Float64Array
}

/**
 * @category functions
 */
export const reducedFisher = (dist: Distribution): ReducedFisher => {
  if (dist._tag === "DiagGaussian") {
    const d = dist.dimension
    const map = new Float64Array(d * d)
    for (let j = 0; j < d; j++) map[j * d + j] = 1
    return { rank: d, map, at: (outputs, extra, size) => (tangent, scale) => fisherOutputs(dist, outputs, extra, tangent, size, scale) }
  }
  const K = dist.n, r = K - 1
  const map = new Float64Array(r * K)
  for (let k = 0; k < r; k++) {
    map[k * K + k] = 1
    map[k * K + r] = -1
  }
  return {
    rank: r,
    map,
    at: (outputs, _extra, size) => {
      // p̃ of every sample, [N, r].
      const row = new Float64Array(K), p = new Float64Array(size * r)
      for (let i = 0; i < size; i++) {
        logSoftmaxRow(outputs, i, K, row)
        for (let k = 0; k < r; k++) p[i * r + k] = Math.exp(row[k]!)
      }
      return (tangent, scale) => {
        const u = new Float64Array(size * r)
        for (let i = 0; i < size; i++) {
          let dot = 0
          for (let k = 0; k < r; k++) dot += p[i * r + k]! * tangent[i * r + k]!
          for (let k = 0; k < r; k++) u[i * r + k] = scale * p[i * r + k]! * (tangent[i * r + k]! - dot)
        }
        return u
      }
    }
  }
}

/**
 * The Fisher metric's block for the extra parameters applied to a tangent of them. For the
 * Gaussian's log-std, `E[(∂ log π/∂s_j)²] = 2` and the cross terms with the mean vanish, so
 * the block is `2 I` whatever the state.
 *
 * @category functions
 */
export const fisherExtra = (dist: Distribution, tangent: ArrayLike<number>): Float64Array => {
  const out = new Float64Array(extraSize(dist))
  for (let j = 0; j < out.length; j++) out[j] = 2 * tangent[j]!
  return out
}

/**
 * Draws an action for row `i` of `outputs` and writes it into `actions` at row `i`.
 * Categorical: inverse CDF at `uniform(key)`; Gaussian: `μ + σ ⊙ normals(key, d)`.
 *
 * @category draws
 */
export const sampleInto = (
  dist: Distribution,
  key: Key.Key,
  outputs: ArrayLike<number>,
  extra: ArrayLike<number>,
  i: number,
  actions: Float64Array
): void => {
  if (dist._tag === "Categorical") {
    actions[i] = Key.categoricalAt(outputs, i * dist.n, dist.n, Key.uniform(key))
    return
  }
  const d = dist.dimension, noise = Key.normals(key, d)
  for (let j = 0; j < d; j++) actions[i * d + j] = outputs[i * d + j]! + Math.exp(extra[j]!) * noise[j]!
}

/**
 * The most likely action for row `i` (argmax, or the mean), for deterministic evaluation.
 *
 * @category functions
 */
export const modeInto = (dist: Distribution, outputs: ArrayLike<number>, i: number, actions: Float64Array): void => {
  if (dist._tag === "Categorical") {
    let best = 0
    for (let k = 1; k < dist.n; k++) if (outputs[i * dist.n + k]! > outputs[i * dist.n + best]!) best = k
    actions[i] = best
    return
  }
  for (let j = 0; j < dist.dimension; j++) actions[i * dist.dimension + j] = outputs[i * dist.dimension + j]!
}
