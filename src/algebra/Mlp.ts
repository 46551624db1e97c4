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

const layouts = new WeakMap<Spec, { readonly layers: ReadonlyArray<LayerLayout>; readonly width: number }>()
const plan = (spec: Spec) => {
  let cached = layouts.get(spec)
  if (cached === undefined) {
    cached = { layers: layout(spec), width: Math.max(...spec.sizes) }
    layouts.set(spec, cached)
  }
  return cached
}
// Scratch rows for forwardHost, grown on demand (the function is synchronous and not re-entrant).
let scratchA = new Float64Array(0), scratchB = new Float64Array(0)

/**
 * The network's outputs for `batch` inputs in plain float64 TypeScript: the rollout path,
 * where a tensor call's fixed cost (~20 µs) exceeds the arithmetic for a few samples. Each
 * weight row is loaded once for the whole batch.
 *
 * @param theta flat parameters (the network's part starts at `offset`)
 * @param inputs `[batch, n₀]` row-major
 * @param outputs `[batch, n_L]` row-major, written
 * @category kernels
 */
export const forwardHost = (
  spec: Spec,
  theta: Float64Array,
  inputs: ArrayLike<number>,
  batch: number,
  outputs: Float64Array,
  offset = 0
): Float64Array => {
  const { layers, width } = plan(spec)
  if (scratchA.length < batch * width) {
    scratchA = new Float64Array(batch * width)
    scratchB = new Float64Array(batch * width)
  }
  let current = scratchA, next = scratchB
  const n0 = spec.sizes[0]!
  for (let n = 0; n < batch; n++) for (let i = 0; i < n0; i++) current[n * width + i] = inputs[n * n0 + i]!
  for (let l = 0; l < layers.length; l++) {
    const { fanIn, fanOut, weightOffset, biasOffset } = layers[l]!
    const bias = offset + biasOffset
    for (let n = 0; n < batch; n++) for (let j = 0; j < fanOut; j++) next[n * width + j] = theta[bias + j]!
    for (let i = 0; i < fanIn; i++) {
      const row = offset + weightOffset + i * fanOut
      for (let n = 0; n < batch; n++) {
        const x = current[n * width + i]!
        const base = n * width
        for (let j = 0; j < fanOut; j++) next[base + j] += x * theta[row + j]!
      }
    }
    if (l < layers.length - 1) for (let n = 0; n < batch; n++) for (let j = 0; j < fanOut; j++) next[n * width + j] = Math.tanh(next[n * width + j]!)
    const swap = current
    current = next
    next = swap
  }
  const nL = spec.sizes[spec.sizes.length - 1]!
  for (let n = 0; n < batch; n++) for (let j = 0; j < nL; j++) outputs[n * nL + j] = current[n * width + j]!
  return outputs
}

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
export const upload = (spec: Spec, theta: ArrayLike<number>, offset = 0): DeviceNetwork => {
  const layers = layout(spec)
  const device = layers.map((layer, l): DeviceLayer => {
    const fused = fusedLayer(theta, offset, layer, l === 0, l < layers.length - 1)
    return { layout: layer, fusedW: tf.tensor2d(fused.w, [layer.fanIn, layer.fanOut]), fusedB: tf.tensor1d(fused.b) }
  })
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
  dispose(): void
}

/**
 * Linearises the network part of `theta` on `inputs` (`[N, n₀]` row-major host rows).
 *
 * **Layouts.** A weight gradient `h_{l−1}ᵀ δ_l` contracts over the batch, so one operand must
 * be feature-major; transposing on the device costs more than a matMul, so none is done:
 * `[xᵀ; 1]` is built on the host, the first hidden layer is also evaluated feature-major
 * (one fused call on `[xᵀ; 1]`), deeper hidden layers feature-major by their own product,
 * and the output layer's gradient is taken as `(δ_Lᵀ s_{L−1})ᵀ` with `δ_Lᵀ` uploaded from the
 * host. tanh′ is cached as `s (1 − s)`, its factor 4 folded into the uploaded weights.
 *
 * @category kernels
 */
export const linearize = (spec: Spec, theta: ArrayLike<number>, inputs: ArrayLike<number>, batch: number, offset = 0): Linearization => {
  const layers = layout(spec)
  const L = layers.length
  const n0 = spec.sizes[0]!, nL = spec.sizes[L]!
  const network = upload(spec, theta, offset)
  const owned: Array<tf.Tensor> = []
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t)
    return t
  }
  const x = keep(uploadRows(inputs, batch, n0))
  // [xᵀ; 1]: feature-major input with a ones row, so one product gives ∂W₁ and ∂b₁.
  const xTa = keep(tf.tensor2d(transposeHost(inputs, batch, n0, true), [n0 + 1, batch]))
  const onesRow = keep(tf.ones([1, batch]) as tf.Tensor2D)
  // 4 W_lᵀ, for cotangents leaving layer l through its input activations (l ≥ 2).
  const wT4 = layers.map((layer, l) => (l === 0 ? undefined : keep(scaledWeights(theta, offset, layer, 4, true))))

  // Per hidden layer: s (sample-major), sT (feature-major, for the next layer's weight
  // gradient when that layer is not the output), q = s (1 − s) = tanh′/4.
  const s: Array<tf.Tensor2D> = [], sT: Array<tf.Tensor2D | undefined> = [], q: Array<tf.Tensor2D> = []
  let a: tf.Tensor2D = x
  for (let l = 0; l < L - 1; l++) {
    const layer = network.layers[l]!
    const sl = keep(affine(a, layer.fusedW, layer.fusedB, true))
    s.push(sl)
    q.push(keep(tf.tidy(() => tf.mul(sl, tf.sub(1, sl)) as tf.Tensor2D)))
    if (l + 1 < L - 1) {
      // The feature-major copy of s_l, from the feature-major input of layer l.
      const fused = fusedLayer(theta, offset, layers[l]!, l === 0, true)
      const { fanIn, fanOut } = layers[l]!
      if (l === 0) {
        // [W'ᵀ | b'] [xᵀ; 1] through a sigmoid, in one call.
        const wb = new Float32Array(fanOut * (fanIn + 1))
        for (let j = 0; j < fanOut; j++) {
          for (let i = 0; i < fanIn; i++) wb[j * (fanIn + 1) + i] = fused.w[i * fanOut + j]!
          wb[j * (fanIn + 1) + fanIn] = fused.b[j]!
        }
        sT.push(keep(tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d(wb, [fanOut, fanIn + 1]), b: xTa, activation: "sigmoid" }) as tf.Tensor2D)))
      } else {
        const wT = new Float32Array(fanIn * fanOut)
        for (let i = 0; i < fanIn; i++) for (let j = 0; j < fanOut; j++) wT[j * fanIn + i] = fused.w[i * fanOut + j]!
        const previous = sT[l - 1]!
        sT.push(keep(tf.tidy(() =>
          tf.sigmoid(tf.add(tf.matMul(tf.tensor2d(wT, [fanOut, fanIn]), previous), tf.tensor2d(fused.b, [fanOut, 1]))) as tf.Tensor2D
        )))
      }
    } else {
      sT.push(undefined)
    }
    a = sl
  }
  const last = network.layers[L - 1]!
  const outputs = readAndDispose(affine(a, last.fusedW, last.fusedB, false))

  // 4 W_l for tangents entering layer l through its input activations (l ≥ 2), built on first use.
  let w4: Array<tf.Tensor2D | undefined> | undefined
  const tangentWeights = () => (w4 ??= layers.map((layer, l) => (l === 0 ? undefined : keep(scaledWeights(theta, offset, layer, 4, false)))))

  // The tangent of layer l's own parameters in sigmoid space (module doc): for l ≥ 2,
  // h_{l−1} Ẇ_l + ḃ_l = s_{l−1} (2Ẇ_l) + (ḃ_l − 1ᵀẆ_l).
  const tangentLayer = (v: ArrayLike<number>, l: number) => {
    const { fanIn, fanOut, weightOffset, biasOffset } = layers[l]!
    const scale = l === 0 ? 1 : 2
    const w = new Float32Array(fanIn * fanOut)
    const b = new Float64Array(fanOut)
    for (let j = 0; j < fanOut; j++) b[j] = v[biasOffset + j]!
    for (let i = 0; i < fanIn; i++) {
      for (let j = 0; j < fanOut; j++) {
        const vij = v[weightOffset + i * fanOut + j]!
        w[i * fanOut + j] = scale * vij
        if (l > 0) b[j] = b[j]! - vij
      }
    }
    return { w: tf.tensor2d(w, [fanIn, fanOut]), b: tf.tensor1d(Float32Array.from(b)) }
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

  const vjp = (cotangent: ArrayLike<number>): Float64Array => {
    const grad = new Float64Array(parameterCount(spec))
    const c = cotangent instanceof Float32Array ? cotangent : Float32Array.from(cotangent)
    // Per layer: the weight-gradient product, and the bias gradient 1ᵀδ where it is separate.
    const pieces = tf.tidy(() => {
      const weights: Array<tf.Tensor2D> = new Array(L), biases: Array<tf.Tensor2D | undefined> = new Array(L)
      let delta = tf.tensor2d(c, [batch, nL])
      for (let l = L - 1; l >= 0; l--) {
        if (l === 0) weights[l] = tf.matMul(xTa, delta)
        else if (l === L - 1) weights[l] = tf.matMul(tf.tensor2d(transposeHost(c, batch, nL, false), [nL, batch]), s[l - 1]!)
        else {
          weights[l] = tf.matMul(sT[l - 1]!, delta)
          biases[l] = tf.matMul(onesRow, delta)
        }
        if (l > 0) delta = tf.mul(tf.matMul(delta, wT4[l]!), q[l - 1]!) as tf.Tensor2D
      }
      return { weights, biases }
    })
    for (let l = 0; l < L; l++) {
      const { fanIn, fanOut, weightOffset, biasOffset } = layers[l]!
      const g = readAndDispose(pieces.weights[l]!)
      const bias = new Float64Array(fanOut)
      if (l === 0) for (let j = 0; j < fanOut; j++) bias[j] = g[fanIn * fanOut + j]!
      else if (l === L - 1) for (let n = 0; n < batch; n++) for (let j = 0; j < fanOut; j++) bias[j] = bias[j]! + c[n * fanOut + j]!
      else bias.set(readAndDispose(pieces.biases[l]!))
      grad.set(bias, biasOffset)
      // ∂W = aᵀδ for the first layer; in sigmoid space (h = 2s − 1) ∂W = 2 sᵀδ − 1 (1ᵀδ)ᵀ.
      // The output layer's product is transposed: g = δ_Lᵀ s_{L−1}, [fanOut, fanIn].
      const transposed = l > 0 && l === L - 1
      for (let i = 0; i < fanIn; i++) {
        for (let j = 0; j < fanOut; j++) {
          const p = transposed ? g[j * fanIn + i]! : g[i * fanOut + j]!
          grad[weightOffset + i * fanOut + j] = l === 0 ? p : 2 * p - bias[j]!
        }
      }
    }
    return grad
  }

  return {
    spec,
    batchSize: batch,
    outputs,
    jvp,
    vjp,
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
