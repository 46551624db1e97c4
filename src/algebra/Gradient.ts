/**
 * Small vector utilities on flat float64 gradients: the global norm, clipping by it (PyTorch's
 * `clip_grad_norm_`, for first-order updates), and concatenating / splitting the gradients of
 * several parameter vectors (a network's and a distribution's extra parameters; policy and
 * critic of a joint PPO step).
 *
 * @since 0.1.0
 */

/**
 * The Euclidean norm `‖g‖₂ = √(Σ_k g_k²)`.
 *
 * @category functions
 */
export const norm = (g: ArrayLike<number>): number => {
  let sum = 0
  for (let k = 0; k < g.length; k++) sum += g[k]! * g[k]!
  return Math.sqrt(sum)
}

/**
 * The result of {@link clipByGlobalNorm}: the (possibly rescaled) gradient, the norm of the
 * input, and whether it was rescaled.
 *
 * @category models
 */
export interface Clipped {
  readonly gradient: Float64Array
  readonly norm: number
  readonly clipped: boolean
}

/**
 * Rescales `g` so that its norm is at most `maxNorm`, as `torch.nn.utils.clip_grad_norm_`
 * (cleanrl's and SB3's `max_grad_norm`, 0.5):
 *
 * `c = maxNorm / (‖g‖ + 1e-6)`; `g ← c·g` if `c < 1`, else `g` unchanged.
 *
 * Returns a new array and the norm before clipping (what PyTorch returns and logs).
 *
 * **Gotchas**: the `1e-6` is PyTorch's, added to the norm to avoid dividing by 0; it makes the
 * clipped norm `maxNorm·‖g‖/(‖g‖ + 1e-6)`, slightly below `maxNorm`, and rescales (by a factor
 * within `1e-6/maxNorm` of 1) also when `maxNorm − 1e-6 < ‖g‖ ≤ maxNorm`. A non-finite norm
 * propagates as in PyTorch without `error_if_nonfinite` (NaN stays NaN, and an infinite
 * entry becomes NaN); check `norm` before using the gradient.
 *
 * @param maxNorm the largest norm allowed, > 0 (`Infinity` never clips)
 * @category functions
 */
export const clipByGlobalNorm = (g: ArrayLike<number>, maxNorm: number): Clipped => {
  if (!(maxNorm > 0)) throw new RangeError(`Gradient.clipByGlobalNorm: maxNorm must be > 0, got ${maxNorm}`)
  const total = norm(g)
  const coefficient = maxNorm / (total + 1e-6)
  const gradient = Float64Array.from(g)
  // NaN < 1 is false, so a NaN norm is multiplied in explicitly, as PyTorch's clamp(c, max=1) keeps NaN.
  if (coefficient < 1 || Number.isNaN(coefficient)) for (let k = 0; k < gradient.length; k++) gradient[k] = gradient[k]! * coefficient
  return { gradient, norm: total, clipped: coefficient < 1 }
}

/**
 * The vectors one after another in a new array.
 *
 * @category functions
 */
export const concat = (...vectors: ReadonlyArray<ArrayLike<number>>): Float64Array => {
  let length = 0
  for (const v of vectors) length += v.length
  const out = new Float64Array(length)
  let offset = 0
  for (const v of vectors) {
    out.set(v, offset)
    offset += v.length
  }
  return out
}

/**
 * Cuts `vector` into consecutive pieces of the given `sizes` (copies), the inverse of
 * {@link concat}.
 *
 * @param sizes non-negative integers summing to `vector.length`
 * @category functions
 */
export const split = (vector: ArrayLike<number>, sizes: ReadonlyArray<number>): Array<Float64Array> => {
  let total = 0
  for (const size of sizes) {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`Gradient.split: sizes must be non-negative integers, got ${size}`)
    total += size
  }
  if (total !== vector.length) throw new RangeError(`Gradient.split: sizes sum to ${total}, but the vector has length ${vector.length}`)
  const source = vector instanceof Float64Array ? vector : Float64Array.from(vector)
  const pieces: Array<Float64Array> = []
  let offset = 0
  for (const size of sizes) {
    pieces.push(source.slice(offset, offset + size))
    offset += size
  }
  return pieces
}
