/**
 * Multi-layer perceptrons with tanh hidden layers: the parameter layout, seeded
 * initialisation, a plain TypeScript forward pass for rollouts, and the tensor kernels
 * the updates are built from — forward, the Jacobian-vector product (forward mode) and the
 * vector-Jacobian product (reverse mode) — written by hand around tfjs-wasm's fast paths.
 *
 * **Layout.** Sizes `[n₀, n₁, …, n_L]`; hidden layers apply tanh, the output is affine:
 * `h₀ = x`, `z_l = h_{l−1} W_l + b_l`, `h_l = tanh(z_l)` for l < L, output `z_L`. The flat
 * parameter vector holds, for l = 1..L in order, `W_l` row-major with shape `[n_{l−1}, n_l]`
 * then `b_l`. A policy's extra parameters (a Gaussian's log-std) follow the network's.
 *
 * **Kernels.** On the wasm backend a transposed matMul costs ~10× a plain one and tanh ~10×
 * sigmoid (docs/performance.md). The kernels therefore run the network in *sigmoid space*:
 * with `tanh(z) = 2σ(2z) − 1`, hidden layers are evaluated as `s_l = σ(2 z_l)` by one fused
 * matMul + bias + sigmoid with the affine terms folded into transformed weights, tanh′ is read
 * from the cache as `4 s (1 − s)`, activations are cached in both layouts (sample-major for
 * the forward products, feature-major with a ones row for the weight gradients), and `Wᵀ`
 * is kept beside `W`, so every product in `jvp` and `vjp` is a plain matMul.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs-core"
import * as Key from "./Key.ts"

/**
 * Layer sizes `[n₀, …, n_L]`: input, hidden layers, output.
 *
 * @category models
 */
export interface Spec {
  readonly sizes: ReadonlyArray<number>
}

/**
 * Where one layer's parameters sit in the flat vector.
 *
 * @category models
 */
export interface LayerLayout {
  readonly fanIn: number
  readonly fanOut: number
  readonly weightOffset: number
  readonly biasOffset: number
}

/**
 * @category constructors
 */
export const make = (options: {
  readonly inputSize: number
  readonly hiddenSizes: ReadonlyArray<number>
  readonly outputSize: number
}): Spec => {
  const sizes = [options.inputSize, ...options.hiddenSizes, options.outputSize]
  for (const n of sizes) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Mlp.make: layer sizes must be positive integers, got [${sizes.join(", ")}]`)
  }
  return { sizes }
}

/**
 * The offsets of every layer's `W_l` and `b_l` in the flat vector.
 *
 * @category getters
 */
export const layout = (spec: Spec): ReadonlyArray<LayerLayout> => {
  const layers: Array<LayerLayout> = []
  let offset = 0
  for (let l = 1; l < spec.sizes.length; l++) {
    const fanIn = spec.sizes[l - 1]!, fanOut = spec.sizes[l]!
    layers.push({ fanIn, fanOut, weightOffset: offset, biasOffset: offset + fanIn * fanOut })
    offset += fanIn * fanOut + fanOut
  }
  return layers
}

/**
 * `Σ_l (n_{l−1} + 1)·n_l`.
 *
 * @category getters
 */
export const parameterCount = (spec: Spec): number => {
  let count = 0
  for (let l = 1; l < spec.sizes.length; l++) count += (spec.sizes[l - 1]! + 1) * spec.sizes[l]!
  return count
}

/** @category getters */
export const inputSize = (spec: Spec): number => spec.sizes[0]!

/** @category getters */
export const outputSize = (spec: Spec): number => spec.sizes[spec.sizes.length - 1]!

// ---------------------------------------------------------------------------------------------
// Initialisation

/**
 * An orthonormal `rows × cols` matrix (row-major) from normal draws, as
 * `torch.nn.init.orthogonal_`: QR of a Gaussian matrix (of its transpose when rows < cols)
 * with the signs of R's diagonal folded into Q, so the result is Haar-distributed.
 *
 * @category constructors
 */
export const orthogonal = (key: Key.Key, rows: number, cols: number): Float64Array => {
  const tall = rows >= cols
  const m = tall ? rows : cols, n = tall ? cols : rows
  const a = Key.normals(key, m * n) // m × n, row-major
  // Modified Gram–Schmidt on the columns of a: Q (m × n) with R's diagonal positive.
  const q = new Float64Array(m * n)
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < m; i++) q[i * n + j] = a[i * n + j]!
    for (let k = 0; k < j; k++) {
      let dot = 0
      for (let i = 0; i < m; i++) dot += q[i * n + k]! * q[i * n + j]!
      for (let i = 0; i < m; i++) q[i * n + j] = q[i * n + j]! - dot * q[i * n + k]!
    }
    let norm = 0
    for (let i = 0; i < m; i++) norm += q[i * n + j]! * q[i * n + j]!
    norm = Math.sqrt(norm)
    for (let i = 0; i < m; i++) q[i * n + j] = q[i * n + j]! / norm
  }
  if (tall) return q
  const t = new Float64Array(rows * cols)
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * cols + i] = q[i * n + j]!
  return t
}

/**
 * Initial parameters: orthogonal weights scaled by a gain per layer and zero biases, as
 * Stable-Baselines3 (`ortho_init`; gains √2 for hidden layers, 0.01 for a policy's output, 1
 * for a value output). Layer `l` draws from `split(key, L)[l − 1]`.
 *
 * @category constructors
 */
export const initialize = (
  key: Key.Key,
  spec: Spec,
  gains: { readonly hidden: number; readonly output: number }
): Float64Array => {
  const layers = layout(spec)
  const keys = Key.split(key, layers.length)
  const theta = new Float64Array(parameterCount(spec))
  layers.forEach((layer, l) => {
    const gain = l === layers.length - 1 ? gains.output : gains.hidden
    // orthogonal() is [fanOut, fanIn] like a torch weight; W is stored as its transpose.
    const q = orthogonal(keys[l]!, layer.fanOut, layer.fanIn)
    for (let i = 0; i < layer.fanIn; i++) {
      for (let j = 0; j < layer.fanOut; j++) theta[layer.weightOffset + i * layer.fanOut + j] = gain * q[j * layer.fanIn + i]!
    }
  })
  return theta
}

// ---------------------------------------------------------------------------------------------
// Host forward pass

/**
 * A network prepared for the host forward pass: each layer's weights transposed, so that every
 * output unit is one contiguous dot product accumulated in a register.
 *
 * @category models
 */
export interface HostNetwork {
  readonly spec: Spec
  /** Writes the outputs `[batch, n_L]` for `[batch, n₀]` row-major inputs. */
  forward(inputs: ArrayLike<number>, batch: number, outputs: Float64Array): Float64Array
}

/**
 * Prepares the network part of `theta` (from `offset`) for {@link HostNetwork}`.forward`: the
 * rollout path, where a tensor call's fixed cost (~20 µs) exceeds the arithmetic for a few
 * samples. Prepare once per parameter vector, evaluate many times.
 *
 * @category kernels
 */
export const hostNetwork = (spec: Spec, theta: ArrayLike<number>, offset = 0): HostNetwork => {
  const layers = layout(spec)
  const weights = layers.map(({ fanIn, fanOut, weightOffset }) => {
    const wT = new Float64Array(fanIn * fanOut)
    for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) wT[j * fanIn + i] = theta[offset + weightOffset + i * fanOut + j]!
    return wT
  })
  const biases = layers.map(({ fanOut, biasOffset }) => Float64Array.from({ length: fanOut }, (_, j) => theta[offset + biasOffset + j]!))
  const width = Math.max(...spec.sizes)
  const n0 = spec.sizes[0]!, nL = spec.sizes[spec.sizes.length - 1]!
  // Two samples at a time share every weight load; each keeps two partial sums, which breaks
  // the dependency chain of one accumulator (~1.5× the throughput of a plain dot product).
  let a = new Float64Array(width), b = new Float64Array(width), nextA = new Float64Array(width), nextB = new Float64Array(width)
  const pair = (inputs: ArrayLike<number>, n: number, outputs: Float64Array) => {
    for (let i = 0; i < n0; i++) {
      a[i] = inputs[n * n0 + i]!
      b[i] = inputs[(n + 1) * n0 + i]!
    }
    for (let l = 0; l < layers.length; l++) {
      const { fanIn, fanOut } = layers[l]!
      const wT = weights[l]!, bias = biases[l]!
      const hidden = l < layers.length - 1
      const even = fanIn & ~1
      for (let j = 0; j < fanOut; j++) {
        let a0 = bias[j]!, a1 = 0, b0 = bias[j]!, b1 = 0
        const row = j * fanIn
        for (let i = 0; i < even; i += 2) {
          const w0 = wT[row + i]!, w1 = wT[row + i + 1]!
          a0 += w0 * a[i]!
          a1 += w1 * a[i + 1]!
          b0 += w0 * b[i]!
          b1 += w1 * b[i + 1]!
        }
        if (even < fanIn) {
          a0 += wT[row + even]! * a[even]!
          b0 += wT[row + even]! * b[even]!
        }
        nextA[j] = hidden ? Math.tanh(a0 + a1) : a0 + a1
        nextB[j] = hidden ? Math.tanh(b0 + b1) : b0 + b1
      }
      let swap = a
      a = nextA
      nextA = swap
      swap = b
      b = nextB
      nextB = swap
    }
    for (let j = 0; j < nL; j++) {
      outputs[n * nL + j] = a[j]!
      outputs[(n + 1) * nL + j] = b[j]!
    }
  }
  const single = (inputs: ArrayLike<number>, n: number, outputs: Float64Array) => {
    for (let i = 0; i < n0; i++) a[i] = inputs[n * n0 + i]!
    for (let l = 0; l < layers.length; l++) {
      const { fanIn, fanOut } = layers[l]!
      const wT = weights[l]!, bias = biases[l]!
      const hidden = l < layers.length - 1
      const even = fanIn & ~1
      for (let j = 0; j < fanOut; j++) {
        let a0 = bias[j]!, a1 = 0
        const row = j * fanIn
        for (let i = 0; i < even; i += 2) {
          a0 += wT[row + i]! * a[i]!
          a1 += wT[row + i + 1]! * a[i + 1]!
        }
        if (even < fanIn) a0 += wT[row + even]! * a[even]!
        nextA[j] = hidden ? Math.tanh(a0 + a1) : a0 + a1
      }
      const swap = a
      a = nextA
      nextA = swap
    }
    for (let j = 0; j < nL; j++) outputs[n * nL + j] = a[j]!
  }
  return {
    spec,
    forward: (inputs, batch, outputs) => {
      let n = 0
      for (; n + 1 < batch; n += 2) pair(inputs, n, outputs)
      if (n < batch) single(inputs, n, outputs)
      return outputs
    }
  }
}

/**
 * The network's outputs for `batch` inputs in plain float64 TypeScript (one-off evaluations;
 * prepare a {@link hostNetwork} to evaluate the same parameters repeatedly).
 *
 * @param theta flat parameters (the network's part starts at `offset`)
 * @param inputs `[batch, n₀]` row-major
 * @param outputs `[batch, n_L]` row-major, written
 * @category kernels
 */
export const forwardHost = (
  spec: Spec,
  theta: ArrayLike<number>,
  inputs: ArrayLike<number>,
  batch: number,
  outputs: Float64Array,
  offset = 0
): Float64Array => hostNetwork(spec, theta, offset).forward(inputs, batch, outputs)

// ---------------------------------------------------------------------------------------------
// Device weights

interface DeviceLayer {
  readonly layout: LayerLayout
  /** Weights and bias of the fused sigmoid-space forward (see the module doc). */
  readonly fusedW: tf.Tensor2D
  readonly fusedB: tf.Tensor1D
}

/**
 * A network's parameters uploaded for the forward pass. Dispose when done.
 *
 * @category models
 */
export interface DeviceNetwork {
  readonly spec: Spec
  readonly layers: ReadonlyArray<DeviceLayer>
  dispose(): void
}

/**
 * The sigmoid-space form of layer `l` (module doc). For the first layer the input is `x`; for
 * later layers it is `s_{l−1}` with `h_{l−1} = 2 s_{l−1} − 1`:
 * `z_l = s_{l−1} (2W_l) + (b_l − 1ᵀW_l)`. A hidden layer's pre-sigmoid is `2 z_l`.
 */
const fusedLayer = (theta: ArrayLike<number>, offset: number, layer: LayerLayout, first: boolean, hidden: boolean) => {
  const { fanIn, fanOut, weightOffset, biasOffset } = layer
  const weightScale = (first ? 1 : 2) * (hidden ? 2 : 1)
  const biasScale = hidden ? 2 : 1
  const w = new Float32Array(fanIn * fanOut)
  const b = new Float64Array(fanOut)
  for (let j = 0; j < fanOut; j++) b[j] = theta[offset + biasOffset + j]!
  for (let i = 0; i < fanIn; i++) {
    for (let j = 0; j < fanOut; j++) {
      const wij = theta[offset + weightOffset + i * fanOut + j]!
      w[i * fanOut + j] = weightScale * wij
      if (!first) b[j] = b[j]! - wij
    }
  }
  const fb = new Float32Array(fanOut)
  for (let j = 0; j < fanOut; j++) fb[j] = biasScale * b[j]!
  return { w, b: fb }
}

// `a b + bias`, optionally through a sigmoid, as one fused wasm call.
const affine = (a: tf.Tensor2D, b: tf.Tensor2D, bias: tf.Tensor1D, sigmoid: boolean): tf.Tensor2D =>
  tf.fused.matMul({ a, b, bias, ...(sigmoid ? { activation: "sigmoid" as const } : {}) }) as tf.Tensor2D

// A layer's weights times a scale, as [fanIn, fanOut] or transposed [fanOut, fanIn].
const scaledWeights = (theta: ArrayLike<number>, offset: number, layer: LayerLayout, scale: number, transposed: boolean): tf.Tensor2D => {
  const { fanIn, fanOut, weightOffset } = layer
  const out = new Float32Array(fanIn * fanOut)
  for (let i = 0; i < fanIn; i++) {
    for (let j = 0; j < fanOut; j++) {
      const wij = scale * theta[offset + weightOffset + i * fanOut + j]!
      if (transposed) out[j * fanIn + i] = wij
      else out[i * fanOut + j] = wij
    }
  }
  return tf.tensor2d(out, transposed ? [fanOut, fanIn] : [fanIn, fanOut])
}

/**
 * Uploads the network part of `theta` (starting at `offset`).
 *
 * @category kernels
 */
export const upload = (spec: Spec, theta: ArrayLike<number>, offset = 0): DeviceNetwork =>
  uploadFused(spec, fusedLayers(spec, theta, offset))

const fusedLayers = (spec: Spec, theta: ArrayLike<number>, offset: number) => {
  const layers = layout(spec)
  return layers.map((layer, l) => ({ layer, ...fusedLayer(theta, offset, layer, l === 0, l < layers.length - 1) }))
}

const uploadFused = (spec: Spec, fused: ReturnType<typeof fusedLayers>): DeviceNetwork => {
  const device = fused.map(({ layer, w, b }): DeviceLayer => ({
    layout: layer,
    fusedW: tf.tensor2d(w, [layer.fanIn, layer.fanOut]),
    fusedB: tf.tensor1d(b)
  }))
  return {
    spec,
    layers: device,
    dispose: () => {
      for (const layer of device) {
        layer.fusedW.dispose()
        layer.fusedB.dispose()
      }
    }
  }
}

/**
 * The network's outputs `[N, n_L]` for a batch of inputs `[N, n₀]` (a new tensor).
 *
 * @category kernels
 */
export const forward = (network: DeviceNetwork, inputs: tf.Tensor2D): tf.Tensor2D =>
  tf.tidy(() => {
    let a: tf.Tensor2D = inputs
    network.layers.forEach((layer, l) => {
      const hidden = l < network.layers.length - 1
      a = affine(a, layer.fusedW, layer.fusedB, hidden)
    })
    return a
  })

/**
 * {@link forward} read back to the host: `[N, n_L]` row-major.
 *
 * @category kernels
 */
export const forwardToHost = (network: DeviceNetwork, inputs: tf.Tensor2D): Float32Array => {
  const out = forward(network, inputs)
  const data = out.dataSync() as Float32Array
  out.dispose()
  return data
}

/**
 * Uploads `[N, n]` row-major host rows as a tensor.
 *
 * @category kernels
 */
export const uploadRows = (rows: ArrayLike<number>, batch: number, width: number): tf.Tensor2D =>
  tf.tensor2d(rows instanceof Float32Array ? rows : Float32Array.from(rows), [batch, width])

const appendOnes = (rows: ArrayLike<number>, batch: number, width: number): Float32Array => {
  const out = new Float32Array(batch * (width + 1))
  for (let n = 0; n < batch; n++) {
    for (let i = 0; i < width; i++) out[n * (width + 1) + i] = rows[n * width + i]!
    out[n * (width + 1) + width] = 1
  }
  return out
}

const transposeHost = (rows: ArrayLike<number>, batch: number, width: number, onesRow: boolean): Float32Array => {
  const out = new Float32Array((width + (onesRow ? 1 : 0)) * batch)
  for (let n = 0; n < batch; n++) for (let i = 0; i < width; i++) out[i * batch + n] = rows[n * width + i]!
  if (onesRow) out.fill(1, width * batch)
  return out
}

// ---------------------------------------------------------------------------------------------
// Linearisation: the network at θ on a fixed batch, ready for many jvp/vjp products

/**
 * The network linearised at fixed parameters on a fixed batch: the outputs, and the
 * products with its Jacobian J (shape `[N·n_L, P_net]`), all sharing one cache of activations.
 * Within a TRPO update θ_old and the batch are fixed across every CG iteration, so this is
 * built once per update. Dispose when done.
 *
 * @category models
 */
export interface Linearization {
  readonly spec: Spec
  readonly batchSize: number
  /** `z_L` at θ, `[N, n_L]` row-major. */
  readonly outputs: Float32Array
  /** `J v`: the output tangent `[N, n_L]` for a parameter tangent `v` (length P_net). */
  jvp(tangent: ArrayLike<number>): Float32Array
  /** `Jᵀ c = Σ_n (∂z_L,n/∂θ)ᵀ c_n` for an output cotangent `c` `[N, n_L]` (a sum, not a mean). */
  vjp(cotangent: ArrayLike<number>): Float64Array
  /**
   * The Jacobian of the reduced outputs `y = R z` (R an `[r, n_L]` row-major map), with the
   * sensitivities `Ψ_l = ∂y/∂z_l` of every hidden layer cached: each product then costs one
   * matMul per layer instead of two (see {@link Reduced}). Owned by the caller.
   */
  reduce(map: ArrayLike<number>, rank: number): Reduced
  dispose(): void
}

/**
 * Products with the Jacobian of reduced outputs `y = R z` (`[N, r]`), for small r.
 *
 * With the per-sample sensitivities `Ψ_l,k = ∂y_k/∂z_l` of every hidden pre-activation cached
 * once, `J_y v = t_L Rᵀ + Σ_l rowsum(t_l ⊙ Ψ_l,k)` where `t_l` is the tangent of layer l's own
 * parameters, and the weight gradient of hidden layer l is `h_{l−1}ᵀ (Σ_k u_k ⊙ Ψ_l,k)`. No
 * tangent or cotangent travels through the weight matrices, which halves the large products of
 * a Fisher-vector product when r is 1 or 2 (a categorical over 2 or 3 actions: r = K − 1).
 *
 * @category models
 */
export interface Reduced {
  readonly rank: number
  /** `J_y v`, `[N, r]`. */
  jvp(tangent: ArrayLike<number>): Float32Array
  /** `J_yᵀ u = Jᵀ (u R)` for `u` `[N, r]`. */
  vjp(cotangent: ArrayLike<number>): Float64Array
  dispose(): void
}

/**
 * Linearises the network part of `theta` on `inputs` (`[N, n₀]` row-major host rows).
 *
 * **Layouts.** A weight gradient `h_{l−1}ᵀ δ_l` contracts over the batch, so one operand must
 * be feature-major; transposing on the device costs more than a matMul, so none is done:
 * `[xᵀ; 1]` is built on the host, hidden layers other than the last are also evaluated
 * feature-major, and the output layer's gradient is taken as `(δ_Lᵀ s_{L−1})ᵀ` with `δ_Lᵀ`
 * transposed on the host. A constant unit — an extra row (or column) with zero weights and
 * pre-activation 40, whose sigmoid is exactly 1 in float32 — appends the ones that carry bias
 * gradients, so no bias needs a broadcast (a broadcast along the last axis costs ~25× a
 * same-shape op on wasm). tanh′ is cached as `s (1 − s)`, its factor 4 folded into weights.
 *
 * @category kernels
 */
export const linearize = (spec: Spec, theta: ArrayLike<number>, inputs: ArrayLike<number>, batch: number, offset = 0): Linearization => {
  const layers = layout(spec)
  const L = layers.length
  const n0 = spec.sizes[0]!, nL = spec.sizes[L]!
  const fused = fusedLayers(spec, theta, offset)
  const network = uploadFused(spec, fused)
  const owned: Array<tf.Tensor> = []
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t)
    return t
  }
  const x = keep(uploadRows(inputs, batch, n0))
  // [xᵀ; 1]: feature-major input with a ones row, so one product gives ∂W₁ and ∂b₁.
  const xTa = keep(tf.tensor2d(transposeHost(inputs, batch, n0, true), [n0 + 1, batch]))
  // 4 W_lᵀ, for cotangents leaving layer l through its input activations (l ≥ 2).
  const wT4 = layers.map((layer, l) => (l === 0 ? undefined : keep(scaledWeights(theta, offset, layer, 4, true))))

  // Hidden layer h evaluated feature-major from `inputT` ([fanIn + 1, N], ones last): `[sᵀ; 1]`
  // with the constant unit when `unit`, else `sᵀ`.
  const featureMajor = (h: number, inputT: tf.Tensor2D, unit: boolean): tf.Tensor2D => {
    const { fanIn, fanOut } = layers[h]!
    const rows = fanOut + (unit ? 1 : 0)
    const w = new Float32Array(rows * (fanIn + 1))
    for (let j = 0; j < fanOut; j++) {
      for (let i = 0; i < fanIn; i++) w[j * (fanIn + 1) + i] = fused[h]!.w[i * fanOut + j]!
      w[j * (fanIn + 1) + fanIn] = fused[h]!.b[j]!
    }
    if (unit) w[fanOut * (fanIn + 1) + fanIn] = 40
    return tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d(w, [rows, fanIn + 1]), b: inputT, activation: "sigmoid" }) as tf.Tensor2D)
  }

  const one = keep(tf.scalar(1))
  // Per hidden layer h: s_h (sample-major), q_h = s_h (1 − s_h) = tanh′/4, and for h ≤ L − 3
  // sTa_h = [s_hᵀ; 1] (feature-major, the input of the next layer's weight gradient).
  const s: Array<tf.Tensor2D> = [], q: Array<tf.Tensor2D> = [], sTa: Array<tf.Tensor2D> = []
  let a: tf.Tensor2D = x
  for (let h = 0; h < L - 1; h++) {
    const sh = keep(affine(a, network.layers[h]!.fusedW, network.layers[h]!.fusedB, true))
    s.push(sh)
    const rest = tf.sub(one, sh)
    q.push(keep(tf.mul(sh, rest) as tf.Tensor2D))
    rest.dispose()
    if (h < L - 2) sTa.push(keep(featureMajor(h, h === 0 ? xTa : sTa[h - 1]!, true)))
    a = sh
  }
  const last = network.layers[L - 1]!
  const outputs = readAndDispose(affine(a, last.fusedW, last.fusedB, false))

  // 4 W_l for tangents entering layer l through its input activations (l ≥ 2), built on first use.
  let w4: Array<tf.Tensor2D | undefined> | undefined
  const tangentWeights = () => (w4 ??= layers.map((layer, l) => (l === 0 ? undefined : keep(scaledWeights(theta, offset, layer, 4, false)))))

  // The tangent of layer l's own parameters in sigmoid space (module doc): for l ≥ 2,
  // h_{l−1} Ẇ_l + ḃ_l = s_{l−1} (2Ẇ_l) + (ḃ_l − 1ᵀẆ_l).
  const tangentLayerHost = (v: ArrayLike<number>, l: number) => {
    const { fanIn, fanOut, weightOffset, biasOffset } = layers[l]!
    const scale = l === 0 ? 1 : 2
    const w = new Float64Array(fanIn * fanOut)
    const b = new Float64Array(fanOut)
    for (let j = 0; j < fanOut; j++) b[j] = v[biasOffset + j]!
    for (let i = 0; i < fanIn; i++) {
      for (let j = 0; j < fanOut; j++) {
        const vij = v[weightOffset + i * fanOut + j]!
        w[i * fanOut + j] = scale * vij
        if (l > 0) b[j] = b[j]! - vij
      }
    }
    return { w, b }
  }
  const tangentLayer = (v: ArrayLike<number>, l: number) => {
    const { fanIn, fanOut } = layers[l]!
    const t = tangentLayerHost(v, l)
    return { w: tf.tensor2d(Float32Array.from(t.w), [fanIn, fanOut]), b: tf.tensor1d(Float32Array.from(t.b)) }
  }

  const jvp = (tangent: ArrayLike<number>): Float32Array => {
    const weights = tangentWeights()
    const result = tf.tidy(() => {
      let zDot: tf.Tensor2D | undefined
      for (let l = 0; l < L; l++) {
        const t = tangentLayer(tangent, l)
        const own = affine(l === 0 ? x : s[l - 1]!, t.w, t.b, false)
        // ḣ_{l−1} W_l = (q_{l−1} ⊙ ż_{l−1}) (4 W_l): the tangent arriving through the activations.
        zDot = zDot === undefined ? own : (tf.add(own, tf.matMul(tf.mul(q[l - 1]!, zDot), weights[l]!)) as tf.Tensor2D)
      }
      return zDot!
    })
    return readAndDispose(result)
  }

  // Writes layer l's gradient into `grad` from its weight product g: for hidden layers (and a
  // network without hidden layers) g = [aᵀδ; 1ᵀδ], [fanIn + 1, fanOut] (`transposed`: its
  // transpose); for the output layer of a deeper network g = (δ_Lᵀ s_{L−1}), [fanOut, fanIn],
  // and the bias gradient is summed on the host from the output cotangent c.
  // In sigmoid space (h = 2s − 1, layers l ≥ 2) ∂W = 2 sᵀδ − 1 (1ᵀδ)ᵀ.
  const writeLayer = (grad: Float64Array, l: number, g: Float32Array, transposed: boolean, c: Float32Array): void => {
    const { fanIn, fanOut, weightOffset, biasOffset } = layers[l]!
    const output = l === L - 1 && L > 1
    // g[i·rowStride + j·columnStride] is the (i, j) entry of aᵀδ (i = fanIn: the bias row).
    const rowStride = output ? 1 : transposed ? 1 : fanOut
    const columnStride = output ? fanIn : transposed ? fanIn + 1 : 1
    const bias = new Float64Array(fanOut)
    if (output) for (let n = 0; n < batch; n++) for (let j = 0; j < fanOut; j++) bias[j] = bias[j]! + c[n * fanOut + j]!
    else for (let j = 0; j < fanOut; j++) bias[j] = g[fanIn * rowStride + j * columnStride]!
    grad.set(bias, biasOffset)
    const scale = l === 0 ? 1 : 2
    for (let i = 0; i < fanIn; i++) {
      const base = weightOffset + i * fanOut, from = i * rowStride
      if (l === 0) for (let j = 0; j < fanOut; j++) grad[base + j] = g[from + j * columnStride]!
      else for (let j = 0; j < fanOut; j++) grad[base + j] = scale * g[from + j * columnStride]! - bias[j]!
    }
  }

  // The output layer's weight product for cotangent c: [xᵀ; 1] c without hidden layers, else
  // δ_Lᵀ s_{L−1} with δ_Lᵀ transposed on the host.
  const outputProduct = (c: Float32Array, uploaded?: tf.Tensor2D): tf.Tensor2D => {
    if (L === 1) return tf.matMul(xTa, uploaded ?? tf.tensor2d(c, [batch, nL]))
    // With one output the transpose is a reshape of the same data.
    const cT = nL === 1 && uploaded !== undefined ? tf.reshape(uploaded, [1, batch]) as tf.Tensor2D : tf.tensor2d(transposeHost(c, batch, nL, false), [nL, batch])
    return tf.matMul(cT, s[L - 2]!)
  }

  const vjp = (cotangent: ArrayLike<number>): Float64Array => {
    const c = cotangent instanceof Float32Array ? cotangent : Float32Array.from(cotangent)
    const products = tf.tidy(() => {
      const weights: Array<tf.Tensor2D> = new Array(L)
      let delta = tf.tensor2d(c, [batch, nL])
      weights[L - 1] = outputProduct(c, delta)
      for (let l = L - 1; l > 0; l--) {
        delta = tf.mul(tf.matMul(delta, wT4[l]!), q[l - 1]!) as tf.Tensor2D
        weights[l - 1] = tf.matMul(l === 1 ? xTa : sTa[l - 2]!, delta)
      }
      return weights
    })
    const grad = new Float64Array(parameterCount(spec))
    for (let l = 0; l < L; l++) writeLayer(grad, l, readAndDispose(products[l]!), false, c)
    return grad
  }

  const reduce = (map: ArrayLike<number>, rank: number): Reduced => {
    if (L < 2) throw new RangeError("Mlp.linearize(…).reduce: the network needs a hidden layer")
    const out = layers[L - 1]!
    const top = L - 2
    // m[i, k] = Σ_j w(i, j) R[k, j]: products with Rᵀ.
    const timesRT = (w: (i: number, j: number) => number, rows: number) => {
      const m = new Float64Array(rows * rank)
      for (let i = 0; i < rows; i++) {
        for (let k = 0; k < rank; k++) {
          let sum = 0
          for (let j = 0; j < nL; j++) sum += w(i, j) * map[k * nL + j]!
          m[i * rank + k] = sum
        }
      }
      return m
    }
    const cached: Array<tf.Tensor> = []
    const hold = <T extends tf.Tensor>(t: T): T => {
      cached.push(t)
      return t
    }
    // The sensitivities Ψ_h,k = ∂y_k/∂z_h of the hidden pre-activations. Feature-major Ψ_hᵀ
    // ([n_h, N], plus a zero row for the constant unit when h < top) serve the vjp, where the
    // fresh operand (δ_hᵀ) is then on the left of the large product: a fresh right operand with
    // K = N rows is repacked on every call. Sample-major Ψ_h serve the jvp for h ≥ 1; layer 0
    // is handled on the host through [x, 1], which has only n₀ + 1 columns.
    const onesN = hold(tf.ones([1, batch]) as tf.Tensor2D)
    const sTtop = hold(featureMajor(top, top === 0 ? xTa : sTa[top - 1]!, false))
    const qTop = hold(tf.tidy(() => tf.mul(sTtop, tf.sub(1, sTtop)) as tf.Tensor2D))
    const cWR = timesRT((i, j) => theta[offset + out.weightOffset + i * nL + j]!, out.fanIn)
    const psiT: Array<Array<tf.Tensor2D>> = [], psi: Array<Array<tf.Tensor2D>> = []
    psiT[top] = [], psi[top] = []
    for (let k = 0; k < rank; k++) {
      const c4 = Float32Array.from({ length: out.fanIn }, (_, i) => 4 * cWR[i * rank + k]!)
      psiT[top]!.push(hold(tf.tidy(() => tf.mul(tf.matMul(tf.tensor2d(c4, [out.fanIn, 1]), onesN), qTop) as tf.Tensor2D)))
      if (top >= 1) psi[top]!.push(hold(tf.tidy(() => tf.mul(q[top]!, tf.tensor2d(c4, [1, out.fanIn])) as tf.Tensor2D)))
    }
    for (let h = top - 1; h >= 0; h--) {
      // Ψ_hᵀ = (4 W_{h+1} Ψ_{h+1}ᵀ) ⊙ q_hᵀ, with W padded by a zero row for the unit of layer h
      // and a zero column for the unit row of Ψ_{h+1}ᵀ (if it has one).
      const { fanIn, fanOut, weightOffset } = layers[h + 1]!
      const cols = fanOut + (h + 1 < top ? 1 : 0)
      const w4 = new Float32Array((fanIn + 1) * cols)
      for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) w4[i * cols + j] = 4 * theta[offset + weightOffset + i * fanOut + j]!
      const qTa = hold(tf.tidy(() => tf.mul(sTa[h]!, tf.sub(1, sTa[h]!)) as tf.Tensor2D))
      psiT[h] = psiT[h + 1]!.map((p) => hold(tf.tidy(() => tf.mul(tf.matMul(tf.tensor2d(w4, [fanIn + 1, cols]), p), qTa) as tf.Tensor2D)))
      if (h >= 1) psi[h] = psi[h + 1]!.map((p) => hold(tf.tidy(() => tf.mul(tf.matMul(p, wT4[h + 1]!), q[h]!) as tf.Tensor2D)))
    }
    // [s_h, 1] sample-major for h < top: the right operand of hidden layer h + 1's gradient.
    const sa: Array<tf.Tensor2D> = []
    for (let h = 0; h < top; h++) {
      const { fanIn, fanOut } = layers[h]!
      const w = new Float32Array(fanIn * (fanOut + 1)), b = new Float32Array(fanOut + 1)
      for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) w[i * (fanOut + 1) + j] = fused[h]!.w[i * fanOut + j]!
      b.set(fused[h]!.b)
      b[fanOut] = 40
      const input = h === 0 ? x : s[h - 1]!
      sa.push(hold(tf.tidy(() => affine(input, tf.tensor2d(w, [fanIn, fanOut + 1]), tf.tensor1d(b), true))))
    }
    // Columns of ones to spread a row uᵀ over a layer's width by an outer product (created
    // here, outside any tidy, since they live as long as the reduction).
    const onesColumns = psiT.map((ps) => hold(tf.ones([ps[0]!.shape[0], 1]) as tf.Tensor2D))
    const xa = appendOnes(inputs, batch, n0)
    const width0 = layers[0]!.fanOut + (top > 0 ? 1 : 0) // rows of Ψ_0ᵀ

    const jvp = (tangent: ArrayLike<number>): Float32Array => {
      // Layer 0's own tangent on the host: ẏ_k += Σ_m [x, 1]_m (V₀ₐ Ψ_0,kᵀ)_m, V₀ₐ = [V₀; ḃ₀] padded.
      const t0 = tangentLayerHost(tangent, 0)
      const v0 = new Float32Array((n0 + 1) * width0)
      for (let m = 0; m <= n0; m++) for (let j = 0; j < layers[0]!.fanOut; j++) v0[m * width0 + j] = m < n0 ? t0.w[m * layers[0]!.fanOut + j]! : t0.b[j]!
      const [device, ...layer0] = tf.tidy(() => {
        const t = tangentLayerHost(tangent, L - 1)
        const wR = Float32Array.from(timesRT((i, j) => t.w[i * nL + j]!, out.fanIn))
        const bR = Float32Array.from(timesRT((_, j) => t.b[j]!, 1))
        let yDot = affine(s[L - 2]!, tf.tensor2d(wR, [out.fanIn, rank]), tf.tensor1d(bR), false)
        for (let h = 1; h <= top; h++) {
          const th = tangentLayer(tangent, h)
          const own = affine(s[h - 1]!, th.w, th.b, false)
          const columns = psi[h]!.map((p) => tf.sum(tf.mul(own, p), 1, true) as tf.Tensor2D)
          yDot = tf.add(yDot, rank === 1 ? columns[0]! : tf.concat(columns, 1)) as tf.Tensor2D
        }
        const v0t = tf.tensor2d(v0, [n0 + 1, width0])
        return [yDot, ...psiT[0]!.map((p) => tf.matMul(v0t, p))]
      })
      const yDot = readAndDispose(device!)
      layer0.forEach((product, k) => {
        const p = readAndDispose(product)
        for (let n = 0; n < batch; n++) {
          let sum = 0
          for (let m = 0; m <= n0; m++) sum += xa[n * (n0 + 1) + m]! * p[m * batch + n]!
          yDot[n * rank + k] = yDot[n * rank + k]! + sum
        }
      })
      return yDot
    }

    const vjp = (cotangent: ArrayLike<number>): Float64Array => {
      // c = u R, the cotangent of the full outputs.
      const c = new Float32Array(batch * nL)
      for (let n = 0; n < batch; n++) {
        for (let j = 0; j < nL; j++) {
          let sum = 0
          for (let k = 0; k < rank; k++) sum += cotangent[n * rank + k]! * map[k * nL + j]!
          c[n * nL + j] = sum
        }
      }
      const products = tf.tidy(() => {
        const weights: Array<tf.Tensor2D> = new Array(L)
        weights[L - 1] = outputProduct(c)
        const rows = Array.from({ length: rank }, (_, k) => tf.tensor2d(Float32Array.from({ length: batch }, (_, n) => cotangent[n * rank + k]!), [1, batch]))
        for (let h = top; h >= 1; h--) {
          // δ_hᵀ = Σ_k Ψ_h,kᵀ ⊙ (1 u_kᵀ); the product δ_hᵀ [s_{h−1}, 1] holds ∂W_hᵀ and ∂b_h.
          const ones = onesColumns[h]!
          const terms = psiT[h]!.map((p, k) => tf.mul(tf.matMul(ones, rows[k]!), p) as tf.Tensor2D)
          weights[h] = tf.matMul(terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Tensor2D), sa[h - 1]!)
        }
        // Layer 0: Σ_k Ψ_0,kᵀ (u_k ⊙ [x, 1]), with u_k ⊙ [x, 1] formed on the host.
        const terms = psiT[0]!.map((p, k) => {
          const ux = new Float32Array(batch * (n0 + 1))
          for (let n = 0; n < batch; n++) for (let m = 0; m <= n0; m++) ux[n * (n0 + 1) + m] = cotangent[n * rank + k]! * xa[n * (n0 + 1) + m]!
          return tf.matMul(p, tf.tensor2d(ux, [batch, n0 + 1])) as tf.Tensor2D
        })
        weights[0] = terms.length === 1 ? terms[0]! : (tf.addN(terms) as tf.Tensor2D)
        return weights
      })
      const grad = new Float64Array(parameterCount(spec))
      for (let l = 0; l < L; l++) writeLayer(grad, l, readAndDispose(products[l]!), l < L - 1, c)
      return grad
    }

    return {
      rank,
      jvp,
      vjp,
      dispose: () => {
        for (const t of cached) t.dispose()
      }
    }
  }

  return {
    spec,
    batchSize: batch,
    outputs,
    jvp,
    vjp,
    reduce,
    dispose: () => {
      network.dispose()
      for (const t of owned) t.dispose()
    }
  }
}

const readAndDispose = (t: tf.Tensor): Float32Array => {
  const data = t.dataSync() as Float32Array
  t.dispose()
  return data
}
