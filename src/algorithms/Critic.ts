/**
 * Fitting the value network V_φ to the value targets by Adam on minibatches: the "critic fit"
 * block of every recipe. The network is separate from the policy (no shared layers), so the
 * fit cannot move π.
 *
 * @since 0.1.0
 */
import * as Adam from "../algebra/Adam.ts"
import * as Key from "../algebra/Key.ts"
import * as Mlp from "../algebra/Mlp.ts"

/**
 * `epochs` passes over the batch in shuffled minibatches of `minibatchSize`, each an Adam step
 * on the mean squared error `(1/B) Σ (V_φ(s_i) − R̂_i)²`.
 *
 * @category models
 */
export interface AdamFit {
  readonly _tag: "AdamFit"
  readonly learningRate: number
  readonly epochs: number
  readonly minibatchSize: number
}

/**
 * Defaults as sb3-contrib's TRPO critic: Adam 1e-3, 10 epochs (`n_critic_updates`), minibatches
 * of 128.
 *
 * @category constructors
 */
export const adam = (options: { readonly learningRate?: number; readonly epochs?: number; readonly minibatchSize?: number } = {}): AdamFit => {
  const fit: AdamFit = {
    _tag: "AdamFit",
    learningRate: options.learningRate ?? 1e-3,
    epochs: options.epochs ?? 10,
    minibatchSize: options.minibatchSize ?? 128
  }
  if (!(fit.learningRate > 0) || !Number.isFinite(fit.learningRate)) throw new RangeError(`Critic.adam: learningRate must be > 0, got ${fit.learningRate}`)
  if (!Number.isInteger(fit.epochs) || fit.epochs < 1) throw new RangeError(`Critic.adam: epochs must be a positive integer, got ${fit.epochs}`)
  if (!Number.isInteger(fit.minibatchSize) || fit.minibatchSize < 1) throw new RangeError(`Critic.adam: minibatchSize must be a positive integer, got ${fit.minibatchSize}`)
  return fit
}

/**
 * A uniformly random permutation of `0..n−1` (Fisher–Yates, one uniform per position).
 *
 * @category functions
 */
export const permutation = (key: Key.Key, n: number): Int32Array => {
  const order = Int32Array.from({ length: n }, (_, i) => i)
  const u = Key.uniforms(key, n)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i]! * (i + 1))
    const tmp = order[i]!
    order[i] = order[j]!
    order[j] = tmp
  }
  return order
}

/**
 * Rows `rows[0], rows[1], …` of a row-major `[N, width]` array, in that order: a minibatch.
 *
 * @category functions
 */
export const gatherRows = <A extends Float32Array | Float64Array>(
  source: ArrayLike<number>,
  rows: ArrayLike<number>,
  width: number,
  make: new(length: number) => A
): A => {
  const out = new make(rows.length * width)
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < width; j++) out[i * width + j] = source[rows[i]! * width + j]!
  return out
}

/**
 * The value network's parameters and Adam state after a fit, and the mean minibatch loss.
 *
 * @category models
 */
export interface FitResult {
  readonly params: Float64Array
  readonly optimizer: Adam.State
  /** Mean over all minibatch steps of the minibatch MSE before the step. */
  readonly valueLoss: number
}

/**
 * Runs the fit. Epoch `k` shuffles with `foldIn(key, k)`; the last minibatch of an epoch may
 * be smaller (as SB3).
 *
 * @param observations `[N, n₀]` row-major
 * @category functions
 */
export const fit = (
  block: AdamFit,
  network: Mlp.Spec,
  params: Float64Array,
  optimizer: Adam.State,
  observations: Float32Array,
  targets: Float64Array,
  key: Key.Key
): FitResult => {
  const n = targets.length
  const width = Mlp.inputSize(network)
  const opts = Adam.options(block.learningRate)
  let current = params, state = optimizer
  let lossSum = 0, steps = 0
  for (let epoch = 0; epoch < block.epochs; epoch++) {
    const order = permutation(Key.foldIn(key, epoch), n)
    for (let start = 0; start < n; start += block.minibatchSize) {
      const size = Math.min(block.minibatchSize, n - start)
      const rows = order.subarray(start, start + size)
      const linearization = Mlp.linearize(network, current, gatherRows(observations, rows, width, Float32Array), size)
      let loss = 0, gradient: Float64Array
      try {
        const cotangent = new Float64Array(size)
        for (let i = 0; i < size; i++) {
          const error = linearization.outputs[i]! - targets[rows[i]!]!
          loss += error * error
          cotangent[i] = (2 * error) / size
        }
        gradient = linearization.vjp(cotangent)
      } finally {
        linearization.dispose()
      }
      lossSum += loss / size
      steps++
      const next = Adam.step(current, gradient, state, opts)
      current = next.params
      state = next.state
    }
  }
  return { params: current, optimizer: state, valueLoss: lossSum / steps }
}

/**
 * The value loss trained jointly with the policy in one optimiser step (PPO): its weight
 * `coefficient` in the joint loss and, optionally, the clipping of the value prediction to
 * `V_old ± clipRange` with the larger of the clipped and unclipped errors (openai/baselines
 * `ppo2`, CleanRL's `clip_vloss`).
 *
 * @category models
 */
export interface Joint {
  readonly _tag: "JointValueLoss"
  readonly coefficient: number
  /** Absent: no clipping. */
  readonly clipRange?: number
}

/**
 * Defaults as CleanRL and SB3: coefficient 0.5, no value clipping.
 *
 * @category constructors
 */
export const joint = (options: { readonly coefficient?: number; readonly clipRange?: number } = {}): Joint => {
  const coefficient = options.coefficient ?? 0.5
  if (!(coefficient >= 0) || !Number.isFinite(coefficient)) throw new RangeError(`Critic.joint: coefficient must be ≥ 0, got ${coefficient}`)
  if (options.clipRange !== undefined && !(options.clipRange > 0)) throw new RangeError(`Critic.joint: clipRange must be > 0, got ${options.clipRange}`)
  return options.clipRange === undefined ? { _tag: "JointValueLoss", coefficient } : { _tag: "JointValueLoss", coefficient, clipRange: options.clipRange }
}

/**
 * The minibatch value loss `L_V = mean (V_φ(s) − R̂)²` — with clipping
 * `mean max((V − R̂)², (V_old + clip(V − V_old, −c, c) − R̂)²)` — and the gradient of
 * `coefficient · L_V` with respect to φ.
 *
 * @category functions
 */
export const jointLoss = (
  block: Joint,
  network: Mlp.Spec,
  params: Float64Array,
  observations: Float32Array,
  targets: Float64Array,
  valuesOld: Float64Array
): { readonly loss: number; readonly gradient: Float64Array } => {
  const n = targets.length
  const linearization = Mlp.linearize(network, params, observations, n)
  try {
    const cotangent = new Float64Array(n)
    let loss = 0
    for (let i = 0; i < n; i++) {
      const v = linearization.outputs[i]!
      const error = v - targets[i]!
      let squared = error * error
      let slope = 2 * error
      if (block.clipRange !== undefined) {
        const c = block.clipRange
        const delta = Math.min(Math.max(v - valuesOld[i]!, -c), c)
        const clippedError = valuesOld[i]! + delta - targets[i]!
        // The clipped branch depends on V only inside the clip range.
        if (clippedError * clippedError > squared) {
          squared = clippedError * clippedError
          slope = Math.abs(v - valuesOld[i]!) < c ? 2 * clippedError : 0
        }
      }
      loss += squared
      cotangent[i] = (block.coefficient * slope) / n
    }
    return { loss: loss / n, gradient: linearization.vjp(cotangent) }
  } finally {
    linearization.dispose()
  }
}
