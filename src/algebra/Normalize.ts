/**
 * Running normalisation of observations: `x̂ = clip((x − μ) / √(σ² + ε), −c, c)` with μ and σ²
 * the running mean and variance of every observation seen so far, as Stable-Baselines3's
 * `VecNormalize` (its `RunningMeanStd`: initial mean 0, variance 1, count 1e-4, clip 10,
 * ε 1e-8). The statistics are part of the training state and are saved with the policy,
 * which only works on normalised inputs.
 *
 * Batches are merged with the parallel-variance formula (Chan, Golub & LeVeque 1979):
 * `δ = μ_B − μ`, `n' = n + n_B`, `μ' = μ + δ n_B/n'`,
 * `σ'² = (σ² n + σ_B² n_B + δ² n n_B / n') / n'`.
 *
 * @since 0.1.0
 */

/**
 * Per-feature running statistics.
 *
 * @category models
 */
export interface Stats {
  readonly mean: Float64Array
  readonly variance: Float64Array
  readonly count: number
}

/**
 * An observation normaliser: a block of recipes. `identity` leaves observations unchanged;
 * `running` normalises them with running statistics.
 *
 * @category models
 */
export type Observation =
  | { readonly _tag: "Identity" }
  | { readonly _tag: "Running"; readonly clip: number; readonly epsilon: number }

/**
 * @category constructors
 */
export const identity = (): Observation => ({ _tag: "Identity" })

/**
 * @category constructors
 */
export const running = (options: { readonly clip?: number; readonly epsilon?: number } = {}): Observation => {
  const clip = options.clip ?? 10
  const epsilon = options.epsilon ?? 1e-8
  if (!(clip > 0)) throw new RangeError(`Normalize.running: clip must be > 0, got ${clip}`)
  if (!(epsilon > 0) || !Number.isFinite(epsilon)) throw new RangeError(`Normalize.running: epsilon must be > 0, got ${epsilon}`)
  return { _tag: "Running", clip, epsilon }
}

/**
 * Mean 0, variance 1, count 1e-4 (so the first batch dominates at once).
 *
 * @category constructors
 */
export const init = (size: number): Stats => ({ mean: new Float64Array(size), variance: new Float64Array(size).fill(1), count: 1e-4 })

/**
 * The statistics after also seeing `rows` observations of `width` features (row-major).
 *
 * @category functions
 */
export const update = (stats: Stats, batch: ArrayLike<number>, rows: number, width: number): Stats => {
  const batchMean = new Float64Array(width), batchVariance = new Float64Array(width)
  for (let n = 0; n < rows; n++) for (let j = 0; j < width; j++) batchMean[j] += batch[n * width + j]!
  for (let j = 0; j < width; j++) batchMean[j] = batchMean[j]! / rows
  for (let n = 0; n < rows; n++) {
    for (let j = 0; j < width; j++) {
      const d = batch[n * width + j]! - batchMean[j]!
      batchVariance[j] += d * d
    }
  }
  for (let j = 0; j < width; j++) batchVariance[j] = batchVariance[j]! / rows
  const total = stats.count + rows
  const mean = new Float64Array(width), variance = new Float64Array(width)
  for (let j = 0; j < width; j++) {
    const delta = batchMean[j]! - stats.mean[j]!
    mean[j] = stats.mean[j]! + (delta * rows) / total
    variance[j] = (stats.variance[j]! * stats.count + batchVariance[j]! * rows + (delta * delta * stats.count * rows) / total) / total
  }
  return { mean, variance, count: total }
}

/**
 * Normalises `rows` observations into `out` (float32, as the networks consume them).
 *
 * @category functions
 */
export const apply = (
  normalizer: Observation,
  stats: Stats,
  x: ArrayLike<number>,
  rows: number,
  width: number,
  out: Float32Array = new Float32Array(rows * width)
): Float32Array => {
  if (normalizer._tag === "Identity") {
    for (let i = 0; i < rows * width; i++) out[i] = x[i]!
    return out
  }
  const { clip, epsilon } = normalizer
  for (let j = 0; j < width; j++) {
    const scale = 1 / Math.sqrt(stats.variance[j]! + epsilon)
    for (let n = 0; n < rows; n++) {
      const v = (x[n * width + j]! - stats.mean[j]!) * scale
      out[n * width + j] = v > clip ? clip : v < -clip ? -clip : v
    }
  }
  return out
}
