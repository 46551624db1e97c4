/**
 * A float64 oracle for the policy network, its distributions and its Fisher matrix,
 * written with plain loops over `Float64Array`s: the ground truth that the tfjs float32
 * blocks in `src/algebra` (`Mlp`, `FlatParams`, `Distribution`, `Fisher`,
 * `ConjugateGradient`) are tested against.
 *
 * It imports nothing from `src` but `Key`, and no tfjs, so a bug there cannot hide here.
 * Everything is dense and O(P²) or O(P³) in the parameter count P: for tests on small
 * nets only.
 *
 * Parameter layout (the project's, shared with `FlatParams`): for an MLP with layer sizes
 * `[n0, n1, …, nL]`, θ is, for l = 1..L in order, `W_l` row-major with shape
 * `[n_{l−1}, n_l]` (element (i, j) at `offset + i·n_l + j`) then `b_l` (length `n_l`);
 * `z_l = h_{l−1} W_l + b_l` for a row vector h, `h_l = tanh(z_l)` on hidden layers and
 * the identity on the output. A Gaussian policy appends a state-independent `logStd`
 * (length `nL`) after the last bias.
 *
 * Matrices are row-major `Float64Array`s; square ones have their size inferred from
 * their length.
 *
 * @since 0.1.0
 */
import * as Key from "../../src/algebra/Key.ts"

/**
 * The policy head: `"categorical"` reads the network output as logits; `"gaussian"` as
 * the mean of a diagonal Gaussian whose log-std is the last `nL` entries of θ.
 *
 * @category models
 */
export type Kind = "categorical" | "gaussian"

/**
 * A batch of N inputs, one row (length n0) per sample. See {@link rows} for a flat
 * `[N, n0]` array.
 *
 * @category models
 */
export type Batch = ReadonlyArray<ArrayLike<number>>

// ---------------------------------------------------------------------------------------
// Network

const checkSizes = (sizes: ReadonlyArray<number>): void => {
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError(`Dense: layer sizes must be ≥ 2 positive integers, got [${sizes.join(", ")}]`)
  }
}

/**
 * Number of network parameters: `Σ_l n_{l−1}·n_l + n_l` (logStd not included).
 *
 * @category network
 */
export const layoutSize = (sizes: ReadonlyArray<number>): number => {
  checkSizes(sizes)
  let total = 0
  for (let l = 1; l < sizes.length; l++) total += sizes[l - 1] * sizes[l] + sizes[l]
  return total
}

/**
 * Length of θ for a policy: {@link layoutSize}, plus `nL` for the Gaussian logStd.
 *
 * @category network
 */
export const parameterCount = (sizes: ReadonlyArray<number>, kind: Kind): number =>
  layoutSize(sizes) + (kind === "gaussian" ? sizes[sizes.length - 1] : 0)

/**
 * Offsets of `W_l` and `b_l` in θ, for l = 1..L (index l − 1).
 *
 * @category network
 */
export const layerOffsets = (
  sizes: ReadonlyArray<number>
): Array<{ readonly weights: number; readonly bias: number }> => {
  checkSizes(sizes)
  const offsets: Array<{ weights: number; bias: number }> = []
  let offset = 0
  for (let l = 1; l < sizes.length; l++) {
    const weights = offset
    const bias = weights + sizes[l - 1] * sizes[l]
    offsets.push({ weights, bias })
    offset = bias + sizes[l]
  }
  return offsets
}

/**
 * The Gaussian log-std: entries `[layoutSize, layoutSize + nL)` of θ (a copy).
 *
 * @category network
 */
export const logStdOf = (sizes: ReadonlyArray<number>, theta: ArrayLike<number>): Float64Array => {
  const start = layoutSize(sizes)
  const nL = sizes[sizes.length - 1]
  if (theta.length < start + nL) throw new RangeError(`Dense.logStdOf: θ has ${theta.length} < ${start + nL} entries`)
  return Float64Array.from({ length: nL }, (_, i) => theta[start + i])
}

/**
 * The MLP on one sample: `h_0 = x`, `h_l = tanh(h_{l−1} W_l + b_l)` for hidden layers,
 * `output = h_{L−1} W_L + b_L`.
 *
 * @param sizes `[n0, …, nL]`
 * @param theta at least {@link layoutSize} entries; anything after (logStd) is ignored
 * @param x length n0
 * @returns `activations[l] = h_l` for l = 0..L (so `activations[0]` is a copy of x and
 *   `activations[L] === output`)
 * @category network
 */
export const forward = (
  sizes: ReadonlyArray<number>,
  theta: ArrayLike<number>,
  x: ArrayLike<number>
): { readonly activations: ReadonlyArray<Float64Array>; readonly output: Float64Array } => {
  const size = layoutSize(sizes)
  if (theta.length < size) throw new RangeError(`Dense.forward: θ has ${theta.length} < ${size} entries`)
  if (x.length !== sizes[0]) throw new RangeError(`Dense.forward: x has ${x.length} ≠ ${sizes[0]} entries`)
  const offsets = layerOffsets(sizes)
  const L = sizes.length - 1
  const activations: Array<Float64Array> = [Float64Array.from(x)]
  for (let l = 1; l <= L; l++) {
    const nIn = sizes[l - 1]
    const nOut = sizes[l]
    const { weights, bias } = offsets[l - 1]
    const hPrev = activations[l - 1]
    const h = new Float64Array(nOut)
    for (let j = 0; j < nOut; j++) {
      let z = theta[bias + j]
      for (let i = 0; i < nIn; i++) z += hPrev[i] * theta[weights + i * nOut + j]
      h[j] = l < L ? Math.tanh(z) : z
    }
    activations.push(h)
  }
  return { activations, output: activations[L] }
}

/**
 * `J[k, p] = ∂output_k/∂θ_p` on one sample, by backpropagation once per output row:
 * `δ_L = e_k`, `∂/∂W_l[i, j] = h_{l−1,i} δ_{l,j}`, `∂/∂b_{l,j} = δ_{l,j}`,
 * `δ_{l−1,i} = (1 − h_{l−1,i}²) Σ_j W_l[i, j] δ_{l,j}`.
 *
 * @returns `[nL, P]` row-major with P = {@link layoutSize} (network parameters only; the
 *   Gaussian mean does not depend on logStd)
 * @category network
 */
export const jacobian = (sizes: ReadonlyArray<number>, theta: ArrayLike<number>, x: ArrayLike<number>): Float64Array => {
  const { activations } = forward(sizes, theta, x)
  const offsets = layerOffsets(sizes)
  const L = sizes.length - 1
  const nL = sizes[L]
  const P = layoutSize(sizes)
  const J = new Float64Array(nL * P)
  for (let k = 0; k < nL; k++) {
    const row = k * P
    let delta = new Float64Array(nL)
    delta[k] = 1
    for (let l = L; l >= 1; l--) {
      const nIn = sizes[l - 1]
      const nOut = sizes[l]
      const { weights, bias } = offsets[l - 1]
      const hPrev = activations[l - 1]
      for (let i = 0; i < nIn; i++) {
        for (let j = 0; j < nOut; j++) J[row + weights + i * nOut + j] = hPrev[i] * delta[j]
      }
      for (let j = 0; j < nOut; j++) J[row + bias + j] = delta[j]
      if (l > 1) {
        const deltaPrev = new Float64Array(nIn)
        for (let i = 0; i < nIn; i++) {
          let s = 0
          for (let j = 0; j < nOut; j++) s += theta[weights + i * nOut + j] * delta[j]
          deltaPrev[i] = (1 - hPrev[i] * hPrev[i]) * s
        }
        delta = deltaPrev
      }
    }
  }
  return J
}

/**
 * Random parameters `θ_p ~ scale · N(0, 1)` (logStd included for a Gaussian policy).
 *
 * @category constructors
 */
export const randomParameters = (key: Key.Key, sizes: ReadonlyArray<number>, kind: Kind, scale = 0.5): Float64Array =>
  Key.normals(key, parameterCount(sizes, kind)).map((z) => scale * z)

/**
 * Rows of a flat row-major `[N, width]` array, as a {@link Batch}.
 *
 * @category constructors
 */
export const rows = (flat: ArrayLike<number>, width: number): Array<Float64Array> => {
  if (flat.length % width !== 0) throw new RangeError(`Dense.rows: ${flat.length} is not a multiple of ${width}`)
  return Array.from({ length: flat.length / width }, (_, i) => Float64Array.from({ length: width }, (_, j) => flat[i * width + j]))
}

// ---------------------------------------------------------------------------------------
// Distributions (one sample)

const HALF_LOG_TWO_PI = 0.5 * Math.log(2 * Math.PI)

/**
 * `log softmax(z)_i = z_i − m − log Σ_j exp(z_j − m)` with `m = max z`.
 *
 * @category distributions
 */
export const logSoftmax = (logits: ArrayLike<number>): Float64Array => {
  let m = -Infinity
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i])
  let total = 0
  for (let i = 0; i < logits.length; i++) total += Math.exp(logits[i] - m)
  const logTotal = Math.log(total)
  return Float64Array.from({ length: logits.length }, (_, i) => logits[i] - m - logTotal)
}

/**
 * `softmax(z)`.
 *
 * @category distributions
 */
export const probs = (logits: ArrayLike<number>): Float64Array => logSoftmax(logits).map(Math.exp)

/**
 * Categorical entropy `H = −Σ p_i log p_i` (terms with `p_i = 0` count as 0).
 *
 * @category distributions
 */
export const categoricalEntropy = (logits: ArrayLike<number>): number => {
  const logP = logSoftmax(logits)
  let h = 0
  for (let i = 0; i < logP.length; i++) {
    const p = Math.exp(logP[i])
    if (p > 0) h -= p * logP[i]
  }
  return h
}

/**
 * Categorical `KL(p_old ‖ p_new) = Σ p_old,i (log p_old,i − log p_new,i)`.
 *
 * @category distributions
 */
export const categoricalKl = (logitsOld: ArrayLike<number>, logitsNew: ArrayLike<number>): number => {
  const logOld = logSoftmax(logitsOld)
  const logNew = logSoftmax(logitsNew)
  let kl = 0
  for (let i = 0; i < logOld.length; i++) {
    const p = Math.exp(logOld[i])
    if (p > 0) kl += p * (logOld[i] - logNew[i])
  }
  return kl
}

/**
 * Diagonal Gaussian log-density `Σ_i [−(a_i − μ_i)²/(2σ_i²) − s_i − ½ log 2π]`, σ = exp(s).
 *
 * @category distributions
 */
export const gaussianLogProb = (mean: ArrayLike<number>, logStd: ArrayLike<number>, action: ArrayLike<number>): number => {
  let total = 0
  for (let i = 0; i < mean.length; i++) {
    const variance = Math.exp(2 * logStd[i])
    const d = action[i] - mean[i]
    total += -(d * d) / (2 * variance) - logStd[i] - HALF_LOG_TWO_PI
  }
  return total
}

/**
 * Diagonal Gaussian entropy `Σ_i (s_i + ½ log(2πe))`.
 *
 * @category distributions
 */
export const gaussianEntropy = (logStd: ArrayLike<number>): number => {
  let total = 0
  for (let i = 0; i < logStd.length; i++) total += logStd[i] + HALF_LOG_TWO_PI + 0.5
  return total
}

/**
 * Diagonal Gaussian `KL(old ‖ new) = Σ_i [s_new − s_old + (σ_old² + (μ_old − μ_new)²)/(2σ_new²) − ½]`.
 *
 * @category distributions
 */
export const gaussianKl = (
  meanOld: ArrayLike<number>,
  logStdOld: ArrayLike<number>,
  meanNew: ArrayLike<number>,
  logStdNew: ArrayLike<number>
): number => {
  let total = 0
  for (let i = 0; i < meanOld.length; i++) {
    const varianceOld = Math.exp(2 * logStdOld[i])
    const varianceNew = Math.exp(2 * logStdNew[i])
    const d = meanOld[i] - meanNew[i]
    total += logStdNew[i] - logStdOld[i] + (varianceOld + d * d) / (2 * varianceNew) - 0.5
  }
  return total
}

// ---------------------------------------------------------------------------------------
// Fisher information and its independent check

/**
 * Mean KL over a batch, `(1/N) Σ_i KL(π_θold(·|x_i) ‖ π_θ(·|x_i))`, with only
 * {@link forward} and the closed-form KLs above (no Jacobian).
 *
 * @category fisher
 */
export const meanKl = (
  sizes: ReadonlyArray<number>,
  thetaOld: ArrayLike<number>,
  theta: ArrayLike<number>,
  X: Batch,
  kind: Kind
): number => {
  const logStdOld = kind === "gaussian" ? logStdOf(sizes, thetaOld) : undefined
  const logStdNew = kind === "gaussian" ? logStdOf(sizes, theta) : undefined
  let total = 0
  for (const x of X) {
    const old = forward(sizes, thetaOld, x).output
    const now = forward(sizes, theta, x).output
    total += logStdOld === undefined || logStdNew === undefined
      ? categoricalKl(old, now)
      : gaussianKl(old, logStdOld, now, logStdNew)
  }
  return total / X.length
}

/**
 * The dense Fisher information matrix of the policy, averaged over the batch.
 *
 * - categorical: `F = (1/N) Σ_i J_iᵀ (diag(p_i) − p_i p_iᵀ) J_i`, J_i the logits' Jacobian,
 *   p_i = softmax(logits_i); P×P with P = {@link layoutSize}.
 * - gaussian (state-independent logStd): `F = (1/N) Σ_i J_iᵀ diag(1/σ²) J_i ⊕ 2·I_{nL}`,
 *   block-diagonal in (network, logStd); P×P with P = {@link parameterCount}.
 *
 * **Gotchas**: the categorical Fisher is singular (adding a constant to every output bias
 * leaves the policy unchanged), so solve with `F + damping·I`.
 *
 * @returns P×P row-major
 * @category fisher
 */
export const fisher = (sizes: ReadonlyArray<number>, theta: ArrayLike<number>, X: Batch, kind: Kind): Float64Array => {
  const nL = sizes[sizes.length - 1]
  const Pnet = layoutSize(sizes)
  const P = parameterCount(sizes, kind)
  const F = new Float64Array(P * P)
  const inverseVariance = kind === "gaussian" ? logStdOf(sizes, theta).map((s) => Math.exp(-2 * s)) : undefined
  for (const x of X) {
    const J = jacobian(sizes, theta, x)
    // M = ∂²KL/∂z² at z = z_old: diag(p) − p pᵀ for logits, diag(1/σ²) for the mean.
    const M = new Float64Array(nL * nL)
    if (inverseVariance === undefined) {
      const p = probs(forward(sizes, theta, x).output)
      for (let a = 0; a < nL; a++) {
        for (let b = 0; b < nL; b++) M[a * nL + b] = (a === b ? p[a] : 0) - p[a] * p[b]
      }
    } else {
      for (let a = 0; a < nL; a++) M[a * nL + a] = inverseVariance[a]
    }
    // G = M J, then F += Jᵀ G.
    const G = new Float64Array(nL * Pnet)
    for (let a = 0; a < nL; a++) {
      for (let b = 0; b < nL; b++) {
        const m = M[a * nL + b]
        if (m === 0) continue
        for (let q = 0; q < Pnet; q++) G[a * Pnet + q] += m * J[b * Pnet + q]
      }
    }
    for (let p = 0; p < Pnet; p++) {
      for (let q = 0; q < Pnet; q++) {
        let s = 0
        for (let a = 0; a < nL; a++) s += J[a * Pnet + p] * G[a * Pnet + q]
        F[p * P + q] += s
      }
    }
  }
  for (let p = 0; p < Pnet; p++) {
    for (let q = 0; q < Pnet; q++) F[p * P + q] /= X.length
  }
  // ∂²KL/∂s_i² = 2 at s = s_old; no (μ, s) cross terms.
  for (let i = Pnet; i < P; i++) F[i * P + i] = 2
  return F
}

/**
 * `F v`, for a dense Fisher from {@link fisher}.
 *
 * @category fisher
 */
export const fisherVector = (F: Float64Array, v: ArrayLike<number>): Float64Array => matVec(F, v)

// Mixed central difference of f along directions u and w:
// [f(θ+hu+tw) − f(θ+hu−tw) − f(θ−hu+tw) + f(θ−hu−tw)] / (4ht) = uᵀ∇²f w + O(h² + t²).
const mixedSecondDifference = (
  f: (theta: Float64Array) => number,
  theta: ArrayLike<number>,
  u: ArrayLike<number>,
  h: number,
  w: ArrayLike<number>,
  t: number
): number => {
  const at = (a: number, b: number): number =>
    f(Float64Array.from({ length: theta.length }, (_, p) => theta[p] + a * u[p] + b * w[p]))
  return (at(h, t) - at(h, -t) - at(-h, t) + at(-h, -t)) / (4 * h * t)
}

/**
 * `∇²_θ meanKl(θ_old, θ) v` at θ = θ_old by float64 central differences of
 * {@link meanKl} alone (4 evaluations per coordinate), independent of {@link jacobian}
 * and {@link fisher}: at θ_old it equals `F v`.
 *
 * **Gotchas**: error ≈ O(h²) truncation + O(ε/h²) rounding; h = 1e-4 balances them (the
 * step along v is h/‖v‖).
 *
 * @param v length {@link parameterCount}
 * @category fisher
 */
export const klHessianVectorFd = (
  sizes: ReadonlyArray<number>,
  thetaOld: ArrayLike<number>,
  X: Batch,
  kind: Kind,
  v: ArrayLike<number>,
  h = 1e-4
): Float64Array => {
  const P = parameterCount(sizes, kind)
  if (thetaOld.length !== P || v.length !== P) throw new RangeError(`Dense.klHessianVectorFd: expected θ and v of length ${P}`)
  const f = (theta: Float64Array) => meanKl(sizes, thetaOld, theta, X, kind)
  const vNorm = norm(v)
  const out = new Float64Array(P)
  if (vNorm === 0) return out
  const t = h / vNorm
  const e = new Float64Array(P)
  for (let p = 0; p < P; p++) {
    e[p] = 1
    out[p] = mixedSecondDifference(f, thetaOld, e, h, v, t)
    e[p] = 0
  }
  return out
}

/**
 * The whole `∇²_θ meanKl(θ_old, θ)` at θ_old by the same central differences as
 * {@link klHessianVectorFd} (P(P+1)/2 entries, 4 evaluations each; symmetric by
 * construction).
 *
 * @returns P×P row-major
 * @category fisher
 */
export const klHessianFd = (
  sizes: ReadonlyArray<number>,
  thetaOld: ArrayLike<number>,
  X: Batch,
  kind: Kind,
  h = 1e-4
): Float64Array => {
  const P = parameterCount(sizes, kind)
  if (thetaOld.length !== P) throw new RangeError(`Dense.klHessianFd: expected θ of length ${P}`)
  const f = (theta: Float64Array) => meanKl(sizes, thetaOld, theta, X, kind)
  const H = new Float64Array(P * P)
  const u = new Float64Array(P)
  const w = new Float64Array(P)
  for (let p = 0; p < P; p++) {
    u[p] = 1
    for (let q = p; q < P; q++) {
      w[q] = 1
      H[p * P + q] = H[q * P + p] = mixedSecondDifference(f, thetaOld, u, h, w, h)
      w[q] = 0
    }
    u[p] = 0
  }
  return H
}

/**
 * `∇f(x)` by central differences, one coordinate at a time: `(f(x + h·e_p) − f(x − h·e_p)) / 2h`.
 *
 * @category finite differences
 */
export const centralGradient = (f: (x: Float64Array) => number, x: ArrayLike<number>, h = 1e-5): Float64Array =>
  Float64Array.from({ length: x.length }, (_, p) => {
    const plus = Float64Array.from(x), minus = Float64Array.from(x)
    plus[p] += h
    minus[p] -= h
    return (f(plus) - f(minus)) / (2 * h)
  })

// ---------------------------------------------------------------------------------------
// Dense linear algebra

const squareSize = (A: ArrayLike<number>): number => {
  const n = Math.round(Math.sqrt(A.length))
  if (n * n !== A.length) throw new RangeError(`Dense: a square matrix needs a square length, got ${A.length}`)
  return n
}

/**
 * `Σ_i a_i b_i`.
 *
 * @category linear algebra
 */
export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/**
 * Euclidean norm `‖a‖₂`.
 *
 * @category linear algebra
 */
export const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a))

/**
 * `‖actual − expected‖₂ / ‖expected‖₂` (the absolute error when `expected` is zero).
 *
 * @category linear algebra
 */
export const relativeError = (actual: ArrayLike<number>, expected: ArrayLike<number>): number => {
  if (actual.length !== expected.length) throw new RangeError(`Dense.relativeError: lengths ${actual.length} ≠ ${expected.length}`)
  let diff = 0
  for (let i = 0; i < actual.length; i++) diff += (actual[i] - expected[i]) ** 2
  const scale = norm(expected)
  return scale === 0 ? Math.sqrt(diff) : Math.sqrt(diff) / scale
}

/**
 * `A x` for row-major A with `A.length / x.length` rows.
 *
 * @category linear algebra
 */
export const matVec = (A: ArrayLike<number>, x: ArrayLike<number>): Float64Array => {
  const cols = x.length
  const m = A.length / cols
  if (!Number.isInteger(m)) throw new RangeError(`Dense.matVec: ${A.length} entries do not fit ${cols} columns`)
  const y = new Float64Array(m)
  for (let i = 0; i < m; i++) {
    let s = 0
    for (let j = 0; j < cols; j++) s += A[i * cols + j] * x[j]
    y[i] = s
  }
  return y
}

/**
 * `|A_ij − A_ji| ≤ relativeTolerance · max|A|` for all i, j.
 *
 * @category linear algebra
 */
export const isSymmetric = (A: ArrayLike<number>, relativeTolerance = 1e-12): boolean => {
  const n = squareSize(A)
  let scale = 0
  for (let i = 0; i < A.length; i++) scale = Math.max(scale, Math.abs(A[i]))
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (Math.abs(A[i * n + j] - A[j * n + i]) > relativeTolerance * scale) return false
    }
  }
  return true
}

/**
 * The Cholesky factor L (lower triangular, row-major) with `A = L Lᵀ`, reading only the
 * lower triangle of A.
 *
 * **Gotchas**: throws a RangeError on a non-positive pivot, i.e. when A is not
 * (numerically) positive definite.
 *
 * @category linear algebra
 */
export const cholesky = (A: ArrayLike<number>): Float64Array => {
  const n = squareSize(A)
  const L = new Float64Array(n * n)
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j]
    for (let k = 0; k < j; k++) d -= L[j * n + k] ** 2
    if (!(d > 0)) throw new RangeError(`Dense.cholesky: matrix is not positive definite (pivot ${j} = ${d})`)
    const ljj = Math.sqrt(d)
    L[j * n + j] = ljj
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j]
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k]
      L[i * n + j] = s / ljj
    }
  }
  return L
}

/**
 * `x = A⁻¹ b` for symmetric positive definite A, by Cholesky (`A = L Lᵀ`, then
 * `L y = b` forward and `Lᵀ x = y` backward).
 *
 * **Gotchas**: SPD only: throws on a non-symmetric or non-positive-definite A (a raw
 * categorical Fisher is singular: add damping first).
 *
 * @category linear algebra
 */
export const solve = (A: ArrayLike<number>, b: ArrayLike<number>): Float64Array => {
  const n = squareSize(A)
  if (b.length !== n) throw new RangeError(`Dense.solve: b has ${b.length} ≠ ${n} entries`)
  if (!isSymmetric(A, 1e-10)) throw new RangeError("Dense.solve: matrix is not symmetric")
  const L = cholesky(A)
  const y = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    let s = b[i]
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k]
    y[i] = s / L[i * n + i]
  }
  const x = new Float64Array(n)
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k]
    x[i] = s / L[i * n + i]
  }
  return x
}

/**
 * All eigenvalues of a symmetric matrix, ascending, by cyclic Jacobi rotations
 * (Golub & Van Loan §8.5; rotation as in Numerical Recipes `jacobi`) until the
 * off-diagonal mass is below 1e-30 of the total.
 *
 * @category linear algebra
 */
export const symmetricEigenvalues = (A: ArrayLike<number>): Float64Array => {
  const n = squareSize(A)
  const a = Float64Array.from(A)
  let total = 0
  for (let i = 0; i < a.length; i++) total += a[i] * a[i]
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2
    if (off <= 1e-30 * total) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]
        if (apq === 0) continue
        // Rotation J with J_pp = J_qq = c, J_pq = s, J_qp = −s zeroing a_pq in Jᵀ A J.
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq)
        const t = Math.abs(theta) > 1e150
          ? 1 / (2 * theta)
          : Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]
          const akq = a[k * n + q]
          a[k * n + p] = c * akp - s * akq
          a[k * n + q] = s * akp + c * akq
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]
          const aqk = a[q * n + k]
          a[p * n + k] = c * apk - s * aqk
          a[q * n + k] = s * apk + c * aqk
        }
      }
    }
  }
  return Float64Array.from({ length: n }, (_, i) => a[i * n + i]).sort()
}

/**
 * The smallest eigenvalue of a symmetric matrix ({@link symmetricEigenvalues}).
 *
 * @category linear algebra
 */
export const minEigenvalue = (A: ArrayLike<number>): number => symmetricEigenvalues(A)[0]

/**
 * The smallest Rayleigh quotient `vᵀAv / vᵀv` over `trials` standard normal v: a
 * cheap positive semi-definiteness probe (an upper bound on the minimum eigenvalue).
 *
 * @category linear algebra
 */
export const minRayleighQuotient = (key: Key.Key, A: ArrayLike<number>, trials = 32): number => {
  const n = squareSize(A)
  let least = Infinity
  for (let t = 0; t < trials; t++) {
    const v = Key.normals(Key.foldIn(key, t), n)
    least = Math.min(least, dot(v, matVec(A, v)) / dot(v, v))
  }
  return least
}

/**
 * A random symmetric positive definite n×n matrix `Q diag(λ) Qᵀ` with Q orthogonal
 * (modified Gram–Schmidt on a standard normal matrix) and eigenvalues
 * `λ_j = κ^{j/(n−1)}`, j = 0..n−1, geometrically spaced in [1, κ]: condition number κ.
 *
 * @returns n×n row-major, exactly symmetric
 * @category constructors
 */
export const randomSpd = (key: Key.Key, n: number, conditionNumber = 10): Float64Array => {
  if (!(conditionNumber >= 1)) throw new RangeError(`Dense.randomSpd: condition number must be ≥ 1, got ${conditionNumber}`)
  const G = Key.normals(key, n * n)
  // Columns of Q, orthonormalised in place.
  const Q = new Float64Array(n * n)
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) Q[i * n + j] = G[i * n + j]
    for (let k = 0; k < j; k++) {
      let r = 0
      for (let i = 0; i < n; i++) r += Q[i * n + k] * Q[i * n + j]
      for (let i = 0; i < n; i++) Q[i * n + j] -= r * Q[i * n + k]
    }
    let s = 0
    for (let i = 0; i < n; i++) s += Q[i * n + j] ** 2
    const inv = 1 / Math.sqrt(s)
    for (let i = 0; i < n; i++) Q[i * n + j] *= inv
  }
  const lambda = Float64Array.from({ length: n }, (_, j) => (n === 1 ? 1 : conditionNumber ** (j / (n - 1))))
  const A = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0
      for (let k = 0; k < n; k++) s += Q[i * n + k] * lambda[k] * Q[j * n + k]
      A[i * n + j] = A[j * n + i] = s
    }
  }
  return A
}
