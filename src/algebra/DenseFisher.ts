/**
 * The dense natural-gradient route: the Fisher matrix `F` formed explicitly from per-sample
 * Jacobians, and a Cholesky solver for `(F + λI) x = g` — the O(N P² + P³) method that
 * conjugate gradient on Fisher-vector products (`Fisher`, `ConjugateGradient`) avoids.
 *
 * It sits beside `Fisher` and `ConjugateGradient`: {@link matrix} builds `F` from a
 * `Fisher.Problem`, {@link denseOperator} gives the damped matrix as the optional `dense()` of
 * a `LinearOperator`, and {@link cholesky} is a block for the `Solver` slot that factorises
 * what `dense()` returns. Exact (to float32 in `F`, float64 in the solve) and useful as a
 * reference or for tiny policies: on a batch of 2048 it beats ten CG iterations only below
 * P ≈ 100 (4→4→4→2: 2 ms against 4 ms), and for 4→64→64→2 (P = 4610) it takes ~11 s
 * (2 s to build F, 9 s to factorise) against ~15 ms (bench/dense-vs-cg.ts).
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs-core"
import { Data } from "effect"
import type * as ConjugateGradient from "./ConjugateGradient.ts"
import * as Distribution from "./Distribution.ts"
import type * as Fisher from "./Fisher.ts"
import * as Mlp from "./Mlp.ts"
import * as Policy from "./Policy.ts"

// -- The matrix -----------------------------------------------------------------------------------

/** Columns of `A` per device block: F is assembled from products `A_Iᵀ A_J`, I ≤ J. */
const BLOCK_COLUMNS = 512
/** Entries of one layout of `A` held on the device at once; more rows are taken in chunks. */
const CHUNK_ENTRIES = 1 << 24

/**
 * How {@link matrix} tiles its work; neither changes the result beyond float32 rounding.
 *
 * - `blockColumns`: columns of `A` per device product (default 512; a block holds whole rows
 *   `a` of a layer's `[fanIn + 1, fanOut]` parameters, so it is at least `fanOut` wide).
 * - `chunkRows`: rows of `A` (samples × reduced outputs) on the device at once (default: as
 *   many as fit 2²⁴ entries per layout).
 *
 * @category models
 */
export interface MatrixOptions {
  readonly blockColumns?: number
  readonly chunkRows?: number
}

/**
 * Lower-triangular `C_i` with `C_i C_iᵀ = N_i` for every sample's reduced metric (`[N, r, r]`),
 * a pivot that is not positive (N_i is only semi-definite when some p ≈ 0) dropping its column.
 */
const metricRoots = (factor: Distribution.ReducedFisher, outputs: ArrayLike<number>, extra: ArrayLike<number>, size: number): Float64Array => {
  const r = factor.rank
  const metric = factor.at(outputs, extra, size)
  // Column k of every N_i, as N_i e_k for the unit tangent e_k.
  const columns = Array.from({ length: r }, (_, k) => {
    const unit = new Float64Array(size * r)
    for (let i = 0; i < size; i++) unit[i * r + k] = 1
    return metric(unit, 1)
  })
  const roots = new Float64Array(size * r * r)
  for (let i = 0; i < size; i++) {
    const c = roots.subarray(i * r * r, (i + 1) * r * r)
    const entry = (q: number, k: number) => columns[k]![i * r + q]!
    let scale = 0
    for (let k = 0; k < r; k++) scale = Math.max(scale, Math.abs(entry(k, k)))
    for (let j = 0; j < r; j++) {
      let d = entry(j, j)
      for (let k = 0; k < j; k++) d -= c[j * r + k]! * c[j * r + k]!
      if (!(d > 1e-14 * scale)) continue
      const root = Math.sqrt(d)
      c[j * r + j] = root
      for (let q = j + 1; q < r; q++) {
        let s = entry(q, j)
        for (let k = 0; k < j; k++) s -= c[q * r + k]! * c[j * r + k]!
        c[q * r + j] = s / root
      }
    }
  }
  return roots
}

const readAndDispose = (t: tf.Tensor): Float32Array => {
  const data = t.dataSync() as Float32Array
  t.dispose()
  return data
}

/** Layer t's `W_t` as float32, `[fanIn, fanOut]` row-major or transposed. */
const layerWeights = (theta: ArrayLike<number>, layer: Mlp.LayerLayout, transposed: boolean): Float32Array => {
  const { fanIn, fanOut, weightOffset } = layer
  const w = new Float32Array(fanIn * fanOut)
  for (let a = 0; a < fanIn; a++) {
    for (let b = 0; b < fanOut; b++) w[transposed ? b * fanIn + a : a * fanOut + b] = theta[weightOffset + a * fanOut + b]!
  }
  return w
}

const transposeHost = (rows: ArrayLike<number>, count: number, width: number): Float32Array => {
  const out = new Float32Array(count * width)
  for (let m = 0; m < count; m++) for (let j = 0; j < width; j++) out[j * count + m] = rows[m * width + j]!
  return out
}

/**
 * The inputs of every layer (`x`, then each hidden `h_t = tanh(z_t)`), `[N, fanIn_t]`, and
 * the outputs `z_L`, `[N, n_L]`, computed on the device.
 */
const forwardLayers = (spec: Mlp.Spec, theta: ArrayLike<number>, observations: ArrayLike<number>, size: number) => {
  const layers = Mlp.layout(spec)
  const tensors = tf.tidy(() => {
    const out: Array<tf.Tensor2D> = []
    let a = Mlp.uploadRows(observations, size, Mlp.inputSize(spec))
    layers.forEach((layer, t) => {
      const w = tf.tensor2d(layerWeights(theta, layer, false), [layer.fanIn, layer.fanOut])
      const b = tf.tensor1d(Float32Array.from({ length: layer.fanOut }, (_, j) => theta[layer.biasOffset + j]!))
      const z = tf.fused.matMul({ a, b: w, bias: b }) as tf.Tensor2D
      a = t < layers.length - 1 ? tf.tanh(z) : z
      out.push(a)
    })
    return out
  })
  const read = tensors.map(readAndDispose)
  const inputs = [observations instanceof Float32Array ? observations : Float32Array.from(observations), ...read.slice(0, -1)]
  return { inputs, outputs: read[read.length - 1]! }
}

/**
 * The sensitivities `δ_t = ∂(Σ_j s_m,j z_L,j)/∂z_t` of every layer's pre-activation for the
 * seed rows `s` (`[M, n_L]`, row `m = k·N + i` seeding sample i), by back-propagation on the
 * device: `δ_{L} = s`, `δ_{t−1} = (δ_t W_tᵀ) ⊙ (1 − h_{t−1}²)`. Each is `[M, fanOut_t]`.
 */
const backwardLayers = (spec: Mlp.Spec, theta: ArrayLike<number>, inputs: ReadonlyArray<Float32Array>, seeds: Float32Array, size: number, copies: number) => {
  const layers = Mlp.layout(spec)
  const L = layers.length
  const rows = size * copies
  const tensors = tf.tidy(() => {
    const deltas: Array<tf.Tensor2D> = new Array(L)
    let delta = tf.tensor2d(seeds, [rows, Mlp.outputSize(spec)])
    deltas[L - 1] = delta
    for (let t = L - 1; t > 0; t--) {
      const { fanIn, fanOut } = layers[t]!
      const h = tf.tensor2d(inputs[t]!, [size, fanIn])
      const slope = tf.sub(1, tf.mul(h, h)) as tf.Tensor2D
      // Rows k·N + i of every seed share sample i's tanh′: the slope is stacked, not broadcast.
      const slopes = copies === 1 ? slope : (tf.concat(Array.from({ length: copies }, () => slope), 0) as tf.Tensor2D)
      delta = tf.mul(tf.matMul(delta, tf.tensor2d(layerWeights(theta, layers[t]!, true), [fanOut, fanIn])), slopes) as tf.Tensor2D
      deltas[t - 1] = delta
    }
    return deltas
  })
  return tensors.map(readAndDispose)
}

/** Rows `firstRow … firstRow + rows − 1` of layer t's outer products, from column `column` of a block. */
interface Segment {
  readonly layer: number
  readonly firstRow: number
  readonly rows: number
  readonly column: number
}

interface Block {
  readonly start: number
  readonly width: number
  readonly segments: ReadonlyArray<Segment>
}

/**
 * Splits the network's parameters into column blocks of at most `maxWidth` (contiguous in θ),
 * each made of whole rows `a` of some layers' `[fanIn + 1, fanOut]` outer products (`a = fanIn`
 * is the bias); a single row wider than `maxWidth` makes a block of its own.
 */
const blocksOf = (layers: ReadonlyArray<Mlp.LayerLayout>, maxWidth: number): Array<Block> => {
  const blocks: Array<Block> = []
  let segments: Array<Segment> = [], start = 0, width = 0
  layers.forEach((layer, t) => {
    let a = 0
    while (a <= layer.fanIn) {
      const rows = Math.min(layer.fanIn + 1 - a, Math.floor((maxWidth - width) / layer.fanOut))
      if (rows === 0 && width === 0) {
        // One row wider than a block: on its own.
        blocks.push({ start, width: layer.fanOut, segments: [{ layer: t, firstRow: a, rows: 1, column: 0 }] })
        start += layer.fanOut
        a++
      } else if (rows === 0) {
        blocks.push({ start, width, segments })
        start += width
        segments = []
        width = 0
      } else {
        segments.push({ layer: t, firstRow: a, rows, column: width })
        width += rows * layer.fanOut
        a += rows
      }
    }
  })
  if (width > 0) blocks.push({ start, width, segments })
  return blocks
}

/**
 * The Fisher information matrix of the policy at `problem.params` on the batch, built from
 * explicit per-sample Jacobians:
 *
 * `F = (1/N) Σ_i J_iᵀ M_i J_i` for the network (⊕ `2 I` for a Gaussian's log-std), no damping,
 *
 * with `J_i = ∂z_L/∂θ` at sample i and `M_i = Rᵀ N_i R` the distribution's metric through its
 * reduced outputs ({@link Distribution.reducedFisher}: r = K − 1 rows for a categorical over K
 * actions, r = d for a Gaussian). With `N_i = C_i C_iᵀ` (a Cholesky factor per sample, r × r,
 * on the host) the rows `a_{i,k} = (Rᵀ C_i e_k)ᵀ J_i / √N` form `A` (`[r·N, P]`) with
 * `F = AᵀA`. Each row is a vector-Jacobian product: the sensitivities `δ_t` of every layer's
 * pre-activation for the seed `Rᵀ C_i e_k / √N` are back-propagated on the device, and the
 * row's entries for layer t are the outer product `[h_{t−1}, 1] ⊗ δ_t` — in the parameter
 * layout, `W_t` row-major then `b_t`, as it stands. The outer products are written on the
 * host in both layouts (`A` and `Aᵀ`), and `F` is assembled from plain device products
 * `A_Iᵀ A_J` over column blocks I ≤ J, mirrored and summed in float64.
 *
 * The metric is evaluated at the outputs this function computes itself (float32, as the
 * analytic Fvp's), so `problem.linearization` is not used.
 *
 * **Gotchas**: O(r·N·P²) work and a P × P result (170 MB of float64 at P = 4610: ~2 s at
 * N = 2048, a third of it first-touching that memory); every entry is a float32 sum over the
 * batch (relative error ~1.5e-7 against the float64 reference). The categorical Fisher is
 * singular (the logits' common shift), so solve with damping.
 *
 * @returns P × P row-major, exactly symmetric, with P = {@link Policy.parameterCount}
 * @category functions
 */
export const matrix = (problem: Fisher.Problem, options: MatrixOptions = {}): Float64Array => {
  const { policy, params, size } = problem
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`DenseFisher.matrix: the batch needs at least one sample, got ${size}`)
  const spec = policy.network
  const dist = policy.distribution
  const layers = Mlp.layout(spec)
  const netSize = Policy.networkSize(policy)
  const P = Policy.parameterCount(policy)
  if (params.length !== P) throw new RangeError(`DenseFisher.matrix: θ has ${params.length} entries, the policy ${P}`)
  const blockColumns = options.blockColumns ?? BLOCK_COLUMNS
  if (!Number.isInteger(blockColumns) || blockColumns < 1) throw new RangeError(`DenseFisher.matrix: blockColumns must be a positive integer, got ${blockColumns}`)
  const chunk = options.chunkRows ?? Math.max(1, Math.floor(CHUNK_ENTRIES / netSize))
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`DenseFisher.matrix: chunkRows must be a positive integer, got ${chunk}`)
  const extra = Policy.extra(policy, params)
  const nL = Mlp.outputSize(spec)
  const factor = Distribution.reducedFisher(dist)
  const r = factor.rank
  const rows = r * size

  const { inputs, outputs } = forwardLayers(spec, params, problem.observations, size)
  // Seed rows m = k·N + i: Rᵀ C_i e_k / √N.
  const roots = metricRoots(factor, outputs, extra, size)
  const seeds = new Float32Array(rows * nL)
  const norm = 1 / Math.sqrt(size)
  for (let k = 0; k < r; k++) {
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < nL; j++) {
        let s = 0
        for (let q = 0; q < r; q++) s += factor.map[q * nL + j]! * roots[i * r * r + q * r + k]!
        seeds[(k * size + i) * nL + j] = norm * s
      }
    }
  }
  const deltas = backwardLayers(spec, params, inputs, seeds, size, r)
  // Feature-major copies for Aᵀ, so that its rows are written contiguously.
  const inputsT = inputs.map((h, t) => transposeHost(h, size, layers[t]!.fanIn))
  const deltasT = deltas.map((d, t) => transposeHost(d, rows, layers[t]!.fanOut))

  const F = new Float64Array(P * P)
  const blocks = blocksOf(layers, blockColumns)
  for (let m0 = 0; m0 < rows; m0 += chunk) {
    const m1 = Math.min(rows, m0 + chunk), count = m1 - m0
    const device: Array<{ a: tf.Tensor2D; aT: tf.Tensor2D }> = []
    try {
      for (const block of blocks) {
        const a = new Float32Array(count * block.width), aT = new Float32Array(block.width * count)
        // A = rows of [h_{t−1}, 1] ⊗ δ_t, written row by row.
        let i = m0 % size
        for (let m = m0; m < m1; m++) {
          const rowStart = (m - m0) * block.width
          for (const { layer: t, firstRow, rows: segmentRows, column } of block.segments) {
            const { fanIn, fanOut } = layers[t]!
            const h = inputs[t]!, d = deltas[t]!, from = m * fanOut
            let to = rowStart + column
            for (let row = firstRow; row < firstRow + segmentRows; row++) {
              const hv = row === fanIn ? 1 : h[i * fanIn + row]!
              for (let b = 0; b < fanOut; b++) a[to + b] = hv * d[from + b]!
              to += fanOut
            }
          }
          if (++i === size) i = 0
        }
        // Aᵀ = the same entries feature-major, each column of A written as a contiguous row.
        for (const { layer: t, firstRow, rows: segmentRows, column } of block.segments) {
          const { fanIn, fanOut } = layers[t]!
          const hT = inputsT[t]!, dT = deltasT[t]!
          for (let row = firstRow; row < firstRow + segmentRows; row++) {
            for (let b = 0; b < fanOut; b++) {
              const to = (column + (row - firstRow) * fanOut + b) * count - m0, from = b * rows
              if (row === fanIn) {
                for (let m = m0; m < m1; m++) aT[to + m] = dT[from + m]!
                continue
              }
              const hRow = row * size
              i = m0 % size
              for (let m = m0; m < m1; m++) {
                aT[to + m] = hT[hRow + i]! * dT[from + m]!
                if (++i === size) i = 0
              }
            }
          }
        }
        device.push({ a: tf.tensor2d(a, [count, block.width]), aT: tf.tensor2d(aT, [block.width, count]) })
      }
      for (let I = 0; I < blocks.length; I++) {
        const bi = blocks[I]!
        for (let J = I; J < blocks.length; J++) {
          const bj = blocks[J]!
          const product = readAndDispose(tf.matMul(device[I]!.aT, device[J]!.a))
          // Into the upper triangle only (rows written contiguously); mirrored at the end.
          const w = bj.width
          for (let u = 0; u < bi.width; u++) {
            const to = (bi.start + u) * P + bj.start, from = u * w
            if (I !== J) {
              for (let v = 0; v < w; v++) F[to + v] += product[from + v]!
              continue
            }
            // Diagonal blocks are symmetric up to float32 rounding: keep their mean.
            F[to + u] += product[from + u]!
            for (let v = u + 1; v < w; v++) F[to + v] += 0.5 * (product[from + v]! + product[v * w + u]!)
          }
        }
      }
    } finally {
      for (const { a, aT } of device) {
        a.dispose()
        aT.dispose()
      }
    }
  }
  // The lower triangle from the upper, tile by tile so that both sides stay in cache.
  const tile = 64
  for (let p0 = 0; p0 < netSize; p0 += tile) {
    for (let q0 = p0; q0 < netSize; q0 += tile) {
      const p1 = Math.min(netSize, p0 + tile), q1 = Math.min(netSize, q0 + tile)
      for (let p = p0; p < p1; p++) for (let q = Math.max(q0, p + 1); q < q1; q++) F[q * P + p] = F[p * P + q]!
    }
  }
  // The extra parameters' block (2I for a Gaussian's log-std), column by column; no cross terms.
  const extraCount = P - netSize
  for (let j = 0; j < extraCount; j++) {
    const unit = new Float64Array(extraCount)
    unit[j] = 1
    const column = Distribution.fisherExtra(dist, unit)
    for (let q = 0; q < extraCount; q++) F[(netSize + q) * P + netSize + j] = column[q]!
  }
  return F
}

/**
 * `() => F + λI` for the damped Fisher of `problem` (built on each call, at the call): the
 * `dense()` of a Fisher operator whose products are `(F + λI) v`.
 *
 * @category constructors
 */
export const denseOperator = (problem: Fisher.Problem, damping: number): () => Float64Array => {
  if (!(damping >= 0) || !Number.isFinite(damping)) throw new RangeError(`DenseFisher.denseOperator: damping must be a finite number ≥ 0, got ${damping}`)
  return () => {
    const F = matrix(problem)
    const P = problem.params.length
    if (damping !== 0) for (let p = 0; p < P; p++) F[p * P + p] += damping
    return F
  }
}

// -- The solver -----------------------------------------------------------------------------------

/**
 * The policy has more parameters than the dense solve is allowed: forming and factorising
 * the P × P Fisher costs O(N P² + P³) time and 8 P² bytes.
 *
 * @category errors
 */
export class DenseSolveTooLargeError extends Data.TaggedError("DenseSolveTooLargeError")<{
  readonly parameters: number
  readonly maxParameters: number
  readonly message: string
}> {}

/**
 * A dense solver was given an operator without a `dense()` matrix (only products).
 *
 * @category errors
 */
export class DenseMatrixUnavailableError extends Data.TaggedError("DenseMatrixUnavailableError")<{
  readonly dimension: number
  readonly message: string
}> {}

/** The default `maxParameters` of {@link cholesky}. @category constants */
export const defaultMaxParameters = 2000

/**
 * The size check of {@link cholesky}, without solving: the error when `parameters` exceeds
 * `maxParameters`, else `undefined` — for rejecting a recipe before training starts.
 *
 * @category functions
 */
export const checkSize = (parameters: number, maxParameters: number): DenseSolveTooLargeError | undefined =>
  parameters > maxParameters
    ? new DenseSolveTooLargeError({
      parameters,
      maxParameters,
      message: `the dense Fisher solve supports at most ${maxParameters} parameters; this policy has ${parameters} — use conjugate gradient`
    })
    : undefined

/**
 * The Cholesky factor `L` with `A = L Lᵀ`, in float64, reading only the lower triangle of `A`
 * (row-major n × n); `undefined` when a pivot is not positive or not finite, i.e. A is not
 * (numerically) positive definite. `L` is returned *packed*: row i's entries `L_i0 … L_ii`
 * start at `i (i + 1) / 2`, half the memory of a square array (which matters more than its
 * size suggests: first-touching fresh memory costs ~3 ms per MB on this project's machines).
 *
 * Row-oriented (Cholesky–Crout): `L_ij = (A_ij − Σ_{k<j} L_ik L_jk) / L_jj`, four rows against
 * two columns at a time so that every loaded entry serves several products (~1.7 G
 * multiply-adds/s in V8: 0.8 s at n = 2000, 8 s at n = 4610).
 *
 * @category functions
 */
export const factor = (A: ArrayLike<number>, n: number): Float64Array | undefined => {
  if (A.length !== n * n) throw new RangeError(`DenseFisher.factor: a ${n} × ${n} matrix needs ${n * n} entries, got ${A.length}`)
  const l = new Float64Array((n * (n + 1)) / 2)
  const rowStart = (i: number) => (i * (i + 1)) / 2
  for (let i = 0; i < n; i++) {
    const ri = rowStart(i)
    for (let j = 0; j <= i; j++) l[ri + j] = A[i * n + j]!
  }
  // L_ij for one entry, from the row prefixes already final.
  const entry = (i: number, j: number): boolean => {
    const ri = rowStart(i), rj = rowStart(j)
    let s0 = l[ri + j]!, s1 = 0
    let k = 0
    for (; k + 1 < j; k += 2) {
      s0 -= l[ri + k]! * l[rj + k]!
      s1 -= l[ri + k + 1]! * l[rj + k + 1]!
    }
    if (k < j) s0 -= l[ri + k]! * l[rj + k]!
    const s = s0 + s1
    if (i === j) {
      if (!(s > 0) || !Number.isFinite(s)) return false
      l[ri + i] = Math.sqrt(s)
    } else {
      l[ri + j] = s / l[rj + j]!
    }
    return true
  }
  let i0 = 0
  for (; i0 + 3 < n; i0 += 4) {
    const r0 = rowStart(i0), r1 = rowStart(i0 + 1), r2 = rowStart(i0 + 2), r3 = rowStart(i0 + 3)
    let j = 0
    for (; j + 1 < i0; j += 2) {
      const p = rowStart(j), q = rowStart(j + 1)
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0
      for (let k = 0; k < j; k++) {
        const x = l[p + k]!, y = l[q + k]!
        const u0 = l[r0 + k]!, u1 = l[r1 + k]!, u2 = l[r2 + k]!, u3 = l[r3 + k]!
        a0 += u0 * x
        a1 += u1 * x
        a2 += u2 * x
        a3 += u3 * x
        b0 += u0 * y
        b1 += u1 * y
        b2 += u2 * y
        b3 += u3 * y
      }
      const ljj = l[p + j]!, lqj = l[q + j]!, lqq = l[q + j + 1]!
      const c0 = (l[r0 + j]! - a0) / ljj, c1 = (l[r1 + j]! - a1) / ljj, c2 = (l[r2 + j]! - a2) / ljj, c3 = (l[r3 + j]! - a3) / ljj
      l[r0 + j] = c0
      l[r1 + j] = c1
      l[r2 + j] = c2
      l[r3 + j] = c3
      l[r0 + j + 1] = (l[r0 + j + 1]! - b0 - c0 * lqj) / lqq
      l[r1 + j + 1] = (l[r1 + j + 1]! - b1 - c1 * lqj) / lqq
      l[r2 + j + 1] = (l[r2 + j + 1]! - b2 - c2 * lqj) / lqq
      l[r3 + j + 1] = (l[r3 + j + 1]! - b3 - c3 * lqj) / lqq
    }
    for (; j < i0; j++) for (let i = i0; i < i0 + 4; i++) entry(i, j)
    for (let i = i0; i < i0 + 4; i++) for (let jj = i0; jj <= i; jj++) if (!entry(i, jj)) return undefined
  }
  for (; i0 < n; i0++) for (let j = 0; j <= i0; j++) if (!entry(i0, j)) return undefined
  return l
}

const zeroResult = (b: Float64Array): ConjugateGradient.SolveResult => {
  let bb = 0
  for (let p = 0; p < b.length; p++) bb += b[p]! * b[p]!
  return { solution: new Float64Array(b.length), iterations: 0, residualNorm: Math.sqrt(bb), xAx: 0, breakdown: true }
}

/**
 * Solves `A x = b` for a symmetric positive-definite `A` (row-major n × n) by Cholesky in
 * float64: `A = L Lᵀ`, `L y = b` forward, `Lᵀ x = y` backward. Then `residualNorm = ‖b − A x‖`
 * and `xAx = xᵀ A x` are computed directly from `A` (one more O(n²) product), not estimated.
 * `iterations` is 0: no operator products are used.
 *
 * **Gotchas**: only A's lower triangle is factorised (the residual uses all of A). When A is
 * not positive definite the result is `breakdown: true` with a zero solution (never NaN),
 * `residualNorm = ‖b‖` and `xAx = 0`.
 *
 * @category solvers
 */
export const solve = (A: ArrayLike<number>, b: Float64Array): ConjugateGradient.SolveResult => {
  const n = b.length
  const l = factor(A, n)
  if (l === undefined) return zeroResult(b)
  const y = new Float64Array(n)
  for (let i = 0, ri = 0; i < n; ri += ++i) {
    let s = b[i]!
    for (let k = 0; k < i; k++) s -= l[ri + k]! * y[k]!
    y[i] = s / l[ri + i]!
  }
  // Lᵀ x = y by columns of Lᵀ (rows of L): subtract x_i L_{i,·} once x_i is known.
  const x = y
  for (let i = n - 1; i >= 0; i--) {
    const ri = (i * (i + 1)) / 2
    const xi = x[i]! / l[ri + i]!
    x[i] = xi
    for (let k = 0; k < i; k++) x[k] = x[k]! - l[ri + k]! * xi
  }
  let rr = 0, xAx = 0
  for (let i = 0; i < n; i++) {
    const ri = i * n
    if (!Number.isFinite(x[i]!)) return zeroResult(b)
    let ax = 0
    for (let j = 0; j < n; j++) ax += A[ri + j]! * x[j]!
    const r = b[i]! - ax
    rr += r * r
    xAx += x[i]! * ax
  }
  return { solution: x, iterations: 0, residualNorm: Math.sqrt(rr), xAx, breakdown: false }
}

/**
 * The dense Cholesky solver block.
 *
 * @category models
 */
export interface DenseCholesky extends ConjugateGradient.Solver {
  readonly _tag: "DenseCholesky"
  readonly maxParameters: number
}

/**
 * A block for the `Solver` slot that solves `A x = b` exactly with the operator's dense
 * matrix: `A = operator.dense()` (which must already hold the damping, `F + λI`; the solver
 * adds nothing), factorised by {@link solve}.
 *
 * **Gotchas**: throws {@link DenseSolveTooLargeError} when `operator.dimension` exceeds
 * `maxParameters` (default 2000: ~1 s of factorisation and 32 MB per matrix) before building
 * anything — check a recipe up front with the block's `check` ({@link checkSize}) — and
 * {@link DenseMatrixUnavailableError} when the operator has no `dense()`.
 *
 * @category constructors
 */
export const cholesky = (options: { readonly maxParameters?: number } = {}): DenseCholesky => {
  const maxParameters = options.maxParameters ?? defaultMaxParameters
  if (!Number.isSafeInteger(maxParameters) || maxParameters < 1) {
    throw new RangeError(`DenseFisher.cholesky: maxParameters must be a positive integer, got ${maxParameters}`)
  }
  const check = (dimension: number) => checkSize(dimension, maxParameters)
  return {
    _tag: "DenseCholesky",
    maxParameters,
    check,
    solve: (operator, b) => {
      const n = operator.dimension
      const tooLarge = check(n)
      if (tooLarge !== undefined) throw tooLarge
      if (operator.dense === undefined) {
        throw new DenseMatrixUnavailableError({
          dimension: n,
          message: "the dense Cholesky solver needs an operator with dense() (e.g. Fisher.analytic's); this one only has products"
        })
      }
      if (b.length !== n) throw new RangeError(`DenseFisher.cholesky: b has ${b.length} entries, the operator's dimension is ${n}`)
      const A = operator.dense()
      if (A.length !== n * n) throw new RangeError(`DenseFisher.cholesky: dense() returned ${A.length} entries, expected ${n} × ${n}`)
      return solve(A, b)
    }
  }
}
