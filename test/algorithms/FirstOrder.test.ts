import { describe, expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Adam from "../../src/algebra/Adam.ts"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Gradient from "../../src/algebra/Gradient.ts"
import * as Key from "../../src/algebra/Key.ts"
import * as Mlp from "../../src/algebra/Mlp.ts"
import * as Penalty from "../../src/algebra/Penalty.ts"
import * as Policy from "../../src/algebra/Policy.ts"
import * as Schedule from "../../src/algebra/Schedule.ts"
import * as Surrogate from "../../src/algebra/Surrogate.ts"
import * as Critic from "../../src/algorithms/Critic.ts"
import * as FirstOrder from "../../src/algorithms/FirstOrder.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"
import { expectClose, maxAbsDiff } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

// Tolerances. The device computes network outputs and vector-Jacobian products in float32
// (relative rounding ~6e-8 per op, a few ops deep), the host oracles in float64:
// - a float64 oracle against a float32 device quantity of size O(1): 2e-5;
// - the same float32 computation assembled twice, where only the order of the minibatch's rows
//   differs (the update visits them in a shuffled order): the device's float32 sums then differ
//   by ~1e-8 relative, and a first Adam step −lr·g/(|g| + ε) moves by at most lr/ε = 0.2 times
//   that: parameters 1e-8; losses (float64 sums on the host) 1e-12;
// - central differences with h = 1e-5 on float64 host losses: truncation ~1e-10, so the bound is
//   the device gradient's float32 error: 2e-5.
const F32 = 2e-5
const SAME = 1e-8

const OBS = 3
const N = 12



/** Network outputs `[batch, n_L]` in float64 on the host. */
const hostOutputs = (spec: Mlp.Spec, theta: ArrayLike<number>, observations: ArrayLike<number>, batch: number): Float64Array =>
  Mlp.forwardHost(spec, theta, observations, batch, new Float64Array(batch * Mlp.outputSize(spec)))

// -- Critic.jointLoss --------------------------------------------------------------------------

const valueSpec = Mlp.make({ inputSize: OBS, hiddenSizes: [4], outputSize: 1 })

const valueSetup = (seed: number, size: number) => {
  const [pKey, oKey, tKey] = Key.split(Key.make(seed), 3)
  const params = Key.normals(pKey!, Mlp.parameterCount(valueSpec)).map((z) => 0.6 * z)
  const observations = Float32Array.from(Key.normals(oKey!, size * OBS))
  return { params, observations, targets: Key.normals(tKey!, size), values: hostOutputs(valueSpec, params, observations, size) }
}

/** The value loss of Critic.jointLoss's doc, in float64 on the host, as a function of φ. */
const hostValueLoss = (
  params: ArrayLike<number>,
  observations: Float32Array,
  targets: ArrayLike<number>,
  valuesOld: ArrayLike<number>,
  clipRange: number | undefined,
  only?: ReadonlyArray<number>
): number => {
  const n = targets.length
  const v = hostOutputs(valueSpec, params, observations, n)
  let sum = 0
  for (let i = 0; i < n; i++) {
    if (only !== undefined && !only.includes(i)) continue
    const unclipped = (v[i]! - targets[i]!) ** 2
    if (clipRange === undefined) {
      sum += unclipped
    } else {
      const predicted = valuesOld[i]! + Math.min(Math.max(v[i]! - valuesOld[i]!, -clipRange), clipRange)
      sum += Math.max(unclipped, (predicted - targets[i]!) ** 2)
    }
  }
  return sum / n
}

// -- FirstOrder.update ------------------------------------------------------------------------

type Kind = "categorical" | "gaussian"

const policyOf = (kind: Kind): Policy.Spec =>
  Policy.make({ observationSize: OBS, hiddenSizes: [5], distribution: kind === "categorical" ? Distribution.categorical(3) : Distribution.diagGaussian(2) })

/** A tiny policy and value net and a fixed batch of N rows (not from an environment). */
const updateSetup = (kind: Kind, seed = 3) => {
  const [pKey, vKey, oKey, aKey, advKey, rKey, valKey, xKey, keyKey] = Key.split(Key.make(seed), 9)
  const policy = policyOf(kind)
  const netSize = Policy.networkSize(policy)
  const params = new Float64Array(Policy.parameterCount(policy))
  params.set(Key.normals(pKey!, netSize).map((z) => 0.5 * z))
  // A Gaussian's log-stds: −0.3 and 0.2, so that their gradient is not symmetric.
  if (kind === "gaussian") params.set([-0.3, 0.2], netSize)
  const valueParams = Key.normals(vKey!, Mlp.parameterCount(valueSpec)).map((z) => 0.5 * z)
  const observations = Float32Array.from(Key.normals(oKey!, N * OBS))
  const actions = kind === "categorical" ? Key.uniforms(aKey!, N).map((u) => Math.floor(3 * u)) : Key.normals(aKey!, 2 * N)
  const input: FirstOrder.Input = {
    policy,
    params,
    value: valueSpec,
    valueParams,
    optimizer: Adam.init(params.length + valueParams.length),
    beta: 0,
    observations,
    actions,
    advantages: Key.normals(advKey!, N),
    returns: Key.normals(rKey!, N).map((z) => 1 + z),
    // V_old, for value clipping: near the value net's outputs (±0.3), so that a clip range of
    // 0.2 clips some rows and not others.
    values: hostOutputs(valueSpec, valueParams, observations, N).map((v, i) => v + 0.3 * Key.normals(valKey!, N)[i]!),
    size: N,
    progress: 0.5,
    key: keyKey!
  }
  return { input, extraKey: xKey! }
}

const blocksOf = (overrides: Partial<FirstOrder.Blocks> = {}): FirstOrder.Blocks => ({
  objective: Surrogate.withEntropyBonus(Surrogate.clipped({ epsilon: 0.2 }), { coefficient: 0.01 }),
  penalty: Penalty.fixed({ beta: 0 }),
  // lr 0.02·(1 − 0.5) = 0.01 at progress 0.5. Adam's ε = 0.05 is of the order of the gradient's
  // entries, so the first step −lr·g/(|g| + ε) depends on their size, not only on their sign;
  // maxGradNorm 0.3 is below the joint gradient's norm, so clipping acts.
  optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.linear({ start: 0.02, end: 0 }), epochs: 1, minibatchSize: 64, maxGradNorm: 0.3, epsilon: 0.05 }),
  minibatchAdvantages: FirstOrder.raw(),
  critic: Critic.joint({ coefficient: 0.5 }),
  earlyStop: FirstOrder.never(),
  ...overrides
})

const pick = (source: ArrayLike<number>, rows: ArrayLike<number>, width: number): Float64Array => {
  const out = new Float64Array(rows.length * width)
  for (let i = 0; i < rows.length; i++) for (let j = 0; j < width; j++) out[i * width + j] = source[rows[i]! * width + j]!
  return out
}

/**
 * One Adam step on the joint loss of `rows`, assembled from the blocks: the objective's gradient
 * through `Mlp.linearize(…).vjp`, the value gradient of `Critic.jointLoss`, the global-norm clip,
 * and `Adam.step` with the recipe's learning rate and ε.
 */
const oneStep = (blocks: FirstOrder.Blocks, input: FirstOrder.Input, rows: ArrayLike<number>, options: { readonly advantages?: Float64Array } = {}) => {
  const { policy } = input
  const netSize = Policy.networkSize(policy)
  const dist = policy.distribution
  const n = rows.length
  const observations = Float32Array.from(pick(input.observations, rows, OBS))
  const linearization = Mlp.linearize(policy.network, input.params, observations, n)
  const extra = input.params.subarray(netSize)
  const batch = Surrogate.makeBatch({
    distribution: dist,
    size: n,
    actions: pick(input.actions, rows, Distribution.actionSize(dist)),
    advantages: options.advantages ?? pick(input.advantages, rows, 1),
    outputsOld: linearization.outputs,
    extraOld: Float64Array.from(extra)
  })
  const objective = blocks.objective.valueAndGradient(batch, linearization.outputs, extra)
  const policyGradient = Gradient.concat(linearization.vjp(objective.gradient.outputs), objective.gradient.extra)
  linearization.dispose()
  const valueFit = Critic.jointLoss(blocks.critic, input.value, input.valueParams, observations, pick(input.returns, rows, 1), pick(input.values, rows, 1))
  const joint = Gradient.concat(policyGradient.map((g) => -g), valueFit.gradient)
  const clipped = Gradient.clipByGlobalNorm(joint, blocks.optimizer.maxGradNorm)
  const learningRate = blocks.optimizer.learningRate.at(input.progress)
  const next = Adam.step(Gradient.concat(input.params, input.valueParams), clipped.gradient, input.optimizer, Adam.options(learningRate, { epsilon: blocks.optimizer.epsilon }))
  const [params, valueParams] = Gradient.split(next.params, [input.params.length, input.valueParams.length])
  return { params: params!, valueParams: valueParams!, state: next.state, objective: objective.value, valueLoss: valueFit.loss, norm: clipped.norm, joint, learningRate }
}

const allRows = Int32Array.from({ length: N }, (_, i) => i)

/** Diagnostics recomputed in float64 on the host from θ_old and θ_new. */
const hostDiagnostics = (input: FirstOrder.Input, paramsNew: Float64Array, epsilon: number) => {
  const { policy } = input
  const netSize = Policy.networkSize(policy)
  const dist = policy.distribution
  const extraOld = input.params.subarray(netSize), extraNew = paramsNew.subarray(netSize)
  const outputsOld = hostOutputs(policy.network, input.params, input.observations, N)
  const outputsNew = hostOutputs(policy.network, paramsNew, input.observations, N)
  const logOld = Distribution.logProbs(dist, outputsOld, extraOld, input.actions, N)
  const logNew = Distribution.logProbs(dist, outputsNew, extraNew, input.actions, N)
  const logRatios = logNew.map((l, i) => l - logOld[i]!)
  let approxKl = 0, gainNew = 0, gainOld = 0, outside = 0, nearestBound = Infinity
  for (let i = 0; i < N; i++) {
    const r = Math.exp(logRatios[i]!)
    approxKl += (r - 1 - logRatios[i]!) / N
    gainNew += (r * input.advantages[i]!) / N
    gainOld += input.advantages[i]! / N
    if (Math.abs(r - 1) > epsilon) outside += 1
    nearestBound = Math.min(nearestBound, Math.abs(Math.abs(r - 1) - epsilon))
  }
  return {
    kl: Distribution.meanKl(dist, outputsOld, extraOld, outputsNew, extraNew, N),
    entropy: Distribution.meanEntropy(dist, outputsNew, extraNew, N),
    surrogateGain: gainNew - gainOld,
    approxKl,
    clipFraction: outside / N,
    nearestBound
  }
}

layer(TensorBackend.layerWasm)("FirstOrder", (it) => {
  describe("Critic.jointLoss", () => {
    it.effect("without clipping: L_V = mean (V − R̂)² and ∇(c·L_V) match float64 finite differences", () =>
      Effect.sync(() => {
        const { params, observations, targets, values } = valueSetup(11, 8)
        for (const coefficient of [0.5, 2]) {
          const result = Critic.jointLoss(Critic.joint({ coefficient }), valueSpec, params, observations, targets, values)
          const host = (phi: ArrayLike<number>) => hostValueLoss(phi, observations, targets, values, undefined)
          // The loss is L_V itself, not c·L_V (docs/metrics.md's valueLoss).
          expect(Math.abs(result.loss - host(params))).toBeLessThanOrEqual(F32)
          expectClose(result.gradient, Dense.centralGradient(host, params).map((g) => coefficient * g), F32)
        }
        // The gradient is linear in the coefficient: ×4 is exact in binary floating point.
        const half = Critic.jointLoss(Critic.joint({ coefficient: 0.5 }), valueSpec, params, observations, targets, values)
        const two = Critic.jointLoss(Critic.joint({ coefficient: 2 }), valueSpec, params, observations, targets, values)
        expect(Array.from(two.gradient)).toEqual(Array.from(half.gradient, (g) => 4 * g))
        expect(two.loss).toBe(half.loss)
        // Coefficient 0: the value net gets no gradient.
        const none = Critic.jointLoss(Critic.joint({ coefficient: 0 }), valueSpec, params, observations, targets, values)
        expect(none.gradient.every((g) => g === 0)).toBe(true)
      }))

    // Eight rows with V_old = V − d and R̂ = V + e (V the float64 host prediction), clip range c = 0.2:
    //   A (d = 0.05, e = 0.4):  inside the range, clipped = unclipped: (0.4)² = 0.16, slope 2·(−0.4)
    //   B (d = 0.5,  e = 1):    clipped V_old + 0.2 = V − 0.3, error −1.3: 1.69 > 1, slope 0
    //   C (d = 0.5,  e = −1):   unclipped error 1 (1 > 0.7² = 0.49): 1, slope 2
    //   D (d = −0.5, e = −1):   clipped V_old − 0.2 = V + 0.3, error 1.3: 1.69 > 1, slope 0
    //   E (d = −0.5, e = 1):    unclipped error −1 (1 > 0.49): 1, slope −2
    // Rows A, A, B, C, D, E, B, D: L_V = (2·0.16 + 4·1.69 + 2·1)/8 = 9.08/8 = 1.135.
    const clipCase = () => {
      const { params, observations } = valueSetup(12, 8)
      const v = hostOutputs(valueSpec, params, observations, 8)
      const d = [0.05, 0.05, 0.5, 0.5, -0.5, -0.5, 0.5, -0.5]
      const e = [0.4, 0.4, 1, -1, -1, 1, 1, -1]
      return {
        params,
        observations,
        valuesOld: v.map((x, i) => x - d[i]!),
        targets: v.map((x, i) => x + e[i]!)
      }
    }

    it.effect("with clipRange: the larger of the two errors per row, L_V = 1.135 (hand-derived)", () =>
      Effect.sync(() => {
        const { params, observations, valuesOld, targets } = clipCase()
        const result = Critic.jointLoss(Critic.joint({ coefficient: 0.5, clipRange: 0.2 }), valueSpec, params, observations, targets, valuesOld)
        expect(Math.abs(result.loss - 1.135)).toBeLessThanOrEqual(F32)
        expect(Math.abs(hostValueLoss(params, observations, targets, valuesOld, 0.2) - 1.135)).toBeLessThanOrEqual(1e-12)
        // Without clipping every row counts (V − R̂)² = e²: (2·0.16 + 6·1)/8 = 0.79.
        const unclipped = Critic.jointLoss(Critic.joint({ coefficient: 0.5 }), valueSpec, params, observations, targets, valuesOld)
        expect(Math.abs(unclipped.loss - 0.79)).toBeLessThanOrEqual(F32)
      }))

    it.effect("with clipRange: the gradient matches finite differences of the max, and the clipped rows have zero slope", () =>
      Effect.sync(() => {
        const { params, observations, valuesOld, targets } = clipCase()
        const block = Critic.joint({ coefficient: 0.5, clipRange: 0.2 })
        const result = Critic.jointLoss(block, valueSpec, params, observations, targets, valuesOld)
        const fd = Dense.centralGradient((phi) => hostValueLoss(phi, observations, targets, valuesOld, 0.2), params).map((g) => 0.5 * g)
        expectClose(result.gradient, fd, F32)
        // Only the rows on the unclipped branch (A, A, C, E) carry gradient: the same as the
        // unclipped loss of those rows alone (still divided by 8).
        const unclippedRows = Dense.centralGradient((phi) => hostValueLoss(phi, observations, targets, valuesOld, undefined, [0, 1, 3, 5]), params).map((g) => 0.5 * g)
        expectClose(result.gradient, unclippedRows, F32)
        // …which differs from the gradient of all rows, so the check has teeth.
        const allRowsGradient = Dense.centralGradient((phi) => hostValueLoss(phi, observations, targets, valuesOld, undefined), params).map((g) => 0.5 * g)
        expect(maxAbsDiff(result.gradient, allRowsGradient)).toBeGreaterThan(100 * F32)
        // A batch of clipped rows only (B, D, B, D): a flat loss, an exactly zero gradient.
        const rows = [2, 4, 6, 7]
        const onlyClipped = Critic.jointLoss(block, valueSpec, params, Float32Array.from(pick(observations, rows, OBS)), pick(targets, rows, 1), pick(valuesOld, rows, 1))
        expect(Math.abs(onlyClipped.loss - 1.69)).toBeLessThanOrEqual(F32)
        expect(onlyClipped.gradient.every((g) => g === 0)).toBe(true)
      }))

    it.effect("a clip range that clips nothing gives the unclipped loss and gradient", () =>
      Effect.sync(() => {
        const { params, observations, targets, values } = valueSetup(13, 8)
        const plain = Critic.jointLoss(Critic.joint({ coefficient: 0.5 }), valueSpec, params, observations, targets, values)
        // V_old = V (host): |V − V_old| ≈ 1e-7 < c, so every row is inside the range.
        const wide = Critic.jointLoss(Critic.joint({ coefficient: 0.5, clipRange: 0.2 }), valueSpec, params, observations, targets, values)
        expect(Math.abs(wide.loss - plain.loss)).toBeLessThanOrEqual(1e-12)
        expectClose(wide.gradient, plain.gradient, 1e-12)
      }))

    it("Critic.joint validates: coefficient ≥ 0 and finite, clipRange > 0; defaults 0.5 and no clipping", () => {
      expect(Critic.joint()).toEqual({ _tag: "JointValueLoss", coefficient: 0.5 })
      expect(Critic.joint({ coefficient: 1, clipRange: 0.2 })).toEqual({ _tag: "JointValueLoss", coefficient: 1, clipRange: 0.2 })
      for (const options of [{ coefficient: -1 }, { coefficient: Number.NaN }, { coefficient: Number.POSITIVE_INFINITY }, { clipRange: 0 }, { clipRange: -0.1 }]) {
        expect(() => Critic.joint(options), JSON.stringify(options)).toThrow(RangeError)
      }
    })
  })

  describe("update", () => {
    for (const kind of ["categorical", "gaussian"] as const) {
      for (const clipRange of [undefined, 0.2]) {
        it.effect(`one epoch, one minibatch: one Adam step on the clipped joint gradient (${kind}, value clip ${clipRange ?? "off"})`, () =>
          Effect.sync(() => {
            const { input } = updateSetup(kind)
            const blocks = blocksOf({ critic: Critic.joint(clipRange === undefined ? { coefficient: 0.5 } : { coefficient: 0.5, clipRange }) })
            const output = FirstOrder.update(blocks, input)
            const expected = oneStep(blocks, input, allRows)
            expect(expected.learningRate).toBe(0.01)
            expectClose(output.params, expected.params, SAME)
            expectClose(output.valueParams, expected.valueParams, SAME)
            expect(output.optimizer.t).toBe(1)
            // m = 0.1·ĝ and v = 0.001·ĝ² with |ĝ| ≤ 0.3 (after the clip): ĝ's order noise
            // (up to ~1e-7 on entries that are sums of cancelling terms) gives ≤ 1e-8.
            expectClose(output.optimizer.m, expected.state.m, SAME)
            expectClose(output.optimizer.v, expected.state.v, SAME)
            const d = output.diagnostics
            expect(d.epochs).toBe(1)
            expect(d.learningRate).toBe(0.01)
            // ‖g‖ ≈ 1 carries the same float32 order noise (relative ~1e-7).
            expect(Math.abs(d.gradientNorm - expected.norm)).toBeLessThanOrEqual(1e-6)
            expect(d.gradientNorm).toBeGreaterThan(0.3)
            expect(Math.abs(d.policyLoss + expected.objective)).toBeLessThanOrEqual(1e-12)
            expect(Math.abs(d.valueLoss - expected.valueLoss)).toBeLessThanOrEqual(1e-12)
            // The step's size depends on the gradient's magnitudes (ε ~ |g|) and on the clip: an
            // unclipped step, or the policy part alone, lands measurably elsewhere.
            const opts = Adam.options(0.01, { epsilon: 0.05 })
            const unclipped = Adam.step(Gradient.concat(input.params, input.valueParams), expected.joint, input.optimizer, opts).params
            expect(maxAbsDiff(Gradient.concat(output.params, output.valueParams), unclipped)).toBeGreaterThan(1e4 * SAME)
          }))
      }
    }

    it.effect("policyLoss and valueLoss at θ_old: −(mean Â + c·H(π_old)) and the host MSE", () =>
      Effect.sync(() => {
        const { input } = updateSetup("categorical")
        const output = FirstOrder.update(blocksOf(), input)
        // At θ_old every ratio is 1: the clipped surrogate is mean Â; the entropy bonus adds 0.01·H.
        const netSize = Policy.networkSize(input.policy)
        const outputsOld = hostOutputs(input.policy.network, input.params, input.observations, N)
        const meanAdvantage = input.advantages.reduce((a, b) => a + b, 0) / N
        const entropy = Distribution.meanEntropy(input.policy.distribution, outputsOld, input.params.subarray(netSize), N)
        expect(Math.abs(output.diagnostics.policyLoss + meanAdvantage + 0.01 * entropy)).toBeLessThanOrEqual(F32)
        const v = hostOutputs(valueSpec, input.valueParams, input.observations, N)
        const mse = v.reduce((sum, x, i) => sum + (x - input.returns[i]!) ** 2, 0) / N
        expect(Math.abs(output.diagnostics.valueLoss - mse)).toBeLessThanOrEqual(F32)
      }))

    for (const kind of ["categorical", "gaussian"] as const) {
      it.effect(`kl, entropy, surrogateGain, approxKl and clipFraction are those of θ_new on the whole batch (${kind}; float64 host oracle)`, () =>
        Effect.sync(() => {
          const { input } = updateSetup(kind)
          // A larger step (lr 0.3·0.5 = 0.15) so that some ratios leave [0.8, 1.2].
          const blocks = blocksOf({
            optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(0.15), epochs: 2, minibatchSize: 5, maxGradNorm: 0.3, epsilon: 0.05 })
          })
          const output = FirstOrder.update(blocks, input)
          const host = hostDiagnostics(input, output.params, 0.2)
          const d = output.diagnostics
          expect(Math.abs(d.kl - host.kl)).toBeLessThanOrEqual(F32 * Math.max(1, host.kl))
          expect(d.kl).toBeGreaterThan(1e-3)
          expect(Math.abs(d.entropy - host.entropy)).toBeLessThanOrEqual(F32)
          expect(Math.abs(d.surrogateGain - host.surrogateGain)).toBeLessThanOrEqual(F32)
          expect(Math.abs(d.approxKl - host.approxKl)).toBeLessThanOrEqual(F32)
          // No ratio within 1e-4 of a bound, so float32 cannot flip a count.
          expect(host.nearestBound).toBeGreaterThan(1e-4)
          expect(d.clipFraction).toBe(host.clipFraction)
          expect(host.clipFraction).toBeGreaterThan(0)
          // 3 minibatches (5, 5, 2) per epoch.
          expect(d.epochs).toBe(2)
          expect(output.optimizer.t).toBe(6)
        }))
    }

    it.effect("clipFraction is null without a clipped objective; the clip range is found through wrappers", () =>
      Effect.sync(() => {
        const { input } = updateSetup("categorical")
        expect(FirstOrder.update(blocksOf({ objective: Surrogate.importanceSampled() }), input).diagnostics.clipFraction).toBeNull()
        expect(FirstOrder.update(blocksOf({ objective: Surrogate.withEntropyBonus(Surrogate.importanceSampled(), { coefficient: 0 }) }), input).diagnostics.clipFraction).toBeNull()
        expect(FirstOrder.update(blocksOf(), input).diagnostics.clipFraction).not.toBeNull()
      }))

    it.effect("the returned β is Penalty.adaptive applied to the reported kl; diagnostics.beta is the β used", () =>
      Effect.sync(() => {
        const { input } = updateSetup("gaussian")
        const withBeta = { ...input, beta: 1.5 }
        for (const [targetKl, expectedBeta] of [[1e-7, 3], [10, 0.75]] as const) {
          const penalty = Penalty.adaptive({ initialBeta: 1, targetKl, tolerance: 1.5, factor: 2 })
          const output = FirstOrder.update(blocksOf({ objective: Surrogate.importanceSampled(), penalty }), withBeta)
          expect(output.diagnostics.beta).toBe(1.5)
          expect(output.beta).toBe(penalty.next(1.5, output.diagnostics.kl))
          // kl ≫ 1.5·1e-7 doubles β; kl ≪ 10/1.5 halves it.
          expect(output.beta).toBe(expectedBeta)
        }
        // A fixed rule keeps its own β whatever was used.
        expect(FirstOrder.update(blocksOf({ penalty: Penalty.fixed({ beta: 0.4 }) }), withBeta).beta).toBe(0.4)
      }))

    it.effect("β enters the gradient: no effect on the first step at θ_old (KL and its gradient vanish), an effect on later steps", () =>
      Effect.sync(() => {
        const { input } = updateSetup("categorical")
        const objective = Surrogate.importanceSampled()
        const single = blocksOf({ objective })
        const a = FirstOrder.update(single, { ...input, beta: 0 })
        const b = FirstOrder.update(single, { ...input, beta: 10 })
        expectClose(b.params, a.params, SAME)
        expect(b.diagnostics.policyLoss).toBe(a.diagnostics.policyLoss)
        const twoEpochs = blocksOf({
          objective,
          optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(0.05), epochs: 2, minibatchSize: 6, maxGradNorm: 0.3, epsilon: 0.05 })
        })
        const c = FirstOrder.update(twoEpochs, { ...input, beta: 0 })
        const d = FirstOrder.update(twoEpochs, { ...input, beta: 10 })
        expect(maxAbsDiff(c.params, d.params)).toBeGreaterThan(1e-4)
        // A penalty pulls π back towards π_old.
        expect(d.diagnostics.kl).toBeLessThan(c.diagnostics.kl)
        // policyLoss adds β·KL at each step after the first: larger with β = 10.
        expect(d.diagnostics.policyLoss).toBeGreaterThan(c.diagnostics.policyLoss)
      }))

    it.effect("standardized minibatch advantages equal Raw on advantages standardised by hand (sample std + ε)", () =>
      Effect.sync(() => {
        const { input } = updateSetup("categorical")
        const standardized = FirstOrder.update(blocksOf({ minibatchAdvantages: FirstOrder.standardized({ epsilon: 1e-8 }) }), input)
        const mean = input.advantages.reduce((a, b) => a + b, 0) / N
        const std = Math.sqrt(input.advantages.reduce((s, a) => s + (a - mean) ** 2, 0) / (N - 1))
        const advantages = input.advantages.map((a) => (a - mean) / (std + 1e-8))
        const expected = oneStep(blocksOf(), input, allRows, { advantages })
        expectClose(standardized.params, expected.params, SAME)
        expectClose(standardized.valueParams, expected.valueParams, SAME)
        // …and differ from the raw update.
        expect(maxAbsDiff(standardized.params, FirstOrder.update(blocksOf(), input).params)).toBeGreaterThan(1e4 * SAME)
      }))

    it.effect("approxKl early stop: with two minibatches the second's check (after one step) stops the update — epochs 0, one step taken", () =>
      Effect.sync(() => {
        const { input } = updateSetup("categorical")
        // The first check is at θ_old, where the k3 estimate is 0 (same outputs as π_old), so a
        // tiny target (1e-12) lets the first minibatch step; after that step the estimate is
        // ~1e-4 > 1e-12, so the second minibatch's check stops the epoch loop.
        const stopping = blocksOf({
          optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(0.01), epochs: 3, minibatchSize: N / 2, maxGradNorm: 0.3, epsilon: 0.05 }),
          earlyStop: FirstOrder.approxKlStop({ targetKl: 1e-12, tolerance: 1 })
        })
        const output = FirstOrder.update(stopping, input)
        expect(output.diagnostics.epochs).toBe(0)
        expect(output.optimizer.t).toBe(1)
        // The step taken is the first minibatch's: rows permutation(foldIn(key, 0))[0..6).
        const rows = Critic.permutation(Key.foldIn(input.key, 0), N).subarray(0, N / 2)
        const expected = oneStep(stopping, input, rows)
        expectClose(output.params, expected.params, SAME)
        expectClose(output.valueParams, expected.valueParams, SAME)
        expect(Math.abs(output.diagnostics.policyLoss + expected.objective)).toBeLessThanOrEqual(1e-12)
        expect(Math.abs(output.diagnostics.valueLoss - expected.valueLoss)).toBeLessThanOrEqual(1e-12)
        // The diagnostics are still measured at θ_new on the whole batch.
        expect(Math.abs(output.diagnostics.kl - hostDiagnostics(input, output.params, 0.2).kl)).toBeLessThanOrEqual(F32)
        // A loose target runs every epoch: 3 epochs × 2 minibatches.
        const loose = FirstOrder.update({ ...stopping, earlyStop: FirstOrder.approxKlStop({ targetKl: 1e3 }) }, input)
        expect(loose.diagnostics.epochs).toBe(3)
        expect(loose.optimizer.t).toBe(6)
        // The check uses tolerance·targetKl: a target just above the second check's estimate
        // divided by the tolerance lets more steps through.
        expect(FirstOrder.update({ ...stopping, earlyStop: FirstOrder.approxKlStop({ targetKl: 1e-12, tolerance: 1e12 }) }, input).optimizer.t).toBeGreaterThan(1)
      }))

    it.effect("user blocks plug into the minibatchAdvantages and earlyStop slots without editing the update", () =>
      Effect.sync(() => {
        const { input } = updateSetup("categorical")
        const optimizer = FirstOrder.adamEpochs({ learningRate: Schedule.constant(0.01), epochs: 3, minibatchSize: N / 2, maxGradNorm: 0.3, epsilon: 0.05 })
        // Advantages doubled in every minibatch = the raw update on doubled advantages, bit for bit.
        const doubled: FirstOrder.MinibatchAdvantages = { _tag: "Doubled", apply: (a) => a.map((x) => 2 * x) }
        const viaBlock = FirstOrder.update(blocksOf({ optimizer, minibatchAdvantages: doubled }), input)
        const viaInput = FirstOrder.update(blocksOf({ optimizer }), { ...input, advantages: input.advantages.map((x) => 2 * x) })
        expect(Array.from(viaBlock.params)).toEqual(Array.from(viaInput.params))
        expect(maxAbsDiff(viaBlock.params, FirstOrder.update(blocksOf({ optimizer }), input).params)).toBeGreaterThan(1e4 * SAME)
        // A stop after four steps: asked before each of the 3 × 2 minibatches, it lets four through.
        let asked = 0
        const afterFour: FirstOrder.EarlyStop = { _tag: "AfterFour", stop: () => asked++ >= 4 }
        const stopped = FirstOrder.update(blocksOf({ optimizer, earlyStop: afterFour }), input)
        expect(stopped.optimizer.t).toBe(4)
        expect(stopped.diagnostics.epochs).toBe(2)
        expect(asked).toBe(5)
      }))

    it.effect("is deterministic for a key, and the key decides the minibatches", () =>
      Effect.sync(() => {
        const { input, extraKey } = updateSetup("gaussian")
        const blocks = blocksOf({
          optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(0.01), epochs: 2, minibatchSize: 5, maxGradNorm: 0.3, epsilon: 0.05 })
        })
        const a = FirstOrder.update(blocks, input)
        const b = FirstOrder.update(blocks, input)
        expect(Array.from(b.params)).toEqual(Array.from(a.params))
        expect(Array.from(b.valueParams)).toEqual(Array.from(a.valueParams))
        expect(b.diagnostics).toEqual(a.diagnostics)
        expect(b.beta).toBe(a.beta)
        const c = FirstOrder.update(blocks, { ...input, key: extraKey })
        expect(maxAbsDiff(c.params, a.params)).toBeGreaterThan(1e-6)
      }))

    it.effect("does not mutate its input and leaves the tensor count unchanged", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        const { input } = updateSetup("gaussian")
        const copies = [input.params, input.valueParams, input.optimizer.m, input.optimizer.v, input.observations, input.actions, input.advantages, input.returns].map((a) => Array.from(a))
        const before = backend.numTensors()
        FirstOrder.update(blocksOf({ critic: Critic.joint({ coefficient: 0.5, clipRange: 0.2 }) }), input)
        FirstOrder.update(
          blocksOf({
            optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(0.01), epochs: 2, minibatchSize: 6, maxGradNorm: 0.3, epsilon: 0.05 }),
            earlyStop: FirstOrder.approxKlStop({ targetKl: 1e-12, tolerance: 1 })
          }),
          input
        )
        expect(backend.numTensors()).toBe(before)
        const after = [input.params, input.valueParams, input.optimizer.m, input.optimizer.v, input.observations, input.actions, input.advantages, input.returns].map((a) => Array.from(a))
        expect(after).toEqual(copies)
      }))
  })

  describe("constructors", () => {
    it("adamEpochs: defaults 10 epochs, minibatch 64, max norm 0.5, ε 1e-5; rejects bad values", () => {
      const optimizer = FirstOrder.adamEpochs({ learningRate: Schedule.constant(3e-4) })
      expect([optimizer._tag, optimizer.epochs, optimizer.minibatchSize, optimizer.maxGradNorm, optimizer.epsilon]).toEqual(["AdamEpochs", 10, 64, 0.5, 1e-5])
      for (const bad of [{ epochs: 0 }, { epochs: 1.5 }, { minibatchSize: 0 }, { maxGradNorm: 0 }, { epsilon: 0 }, { epsilon: Number.POSITIVE_INFINITY }]) {
        expect(() => FirstOrder.adamEpochs({ learningRate: Schedule.constant(3e-4), ...bad }), JSON.stringify(bad)).toThrow(RangeError)
      }
    })

    it("approxKlStop: defaults targetKl 0.01, tolerance 1.5; rejects targetKl ≤ 0 and tolerance < 1", () => {
      expect(JSON.parse(JSON.stringify(FirstOrder.approxKlStop()))).toEqual({ _tag: "ApproxKl", targetKl: 0.01, tolerance: 1.5 })
      for (const bad of [{ targetKl: 0 }, { targetKl: -1 }, { tolerance: 0.5 }]) expect(() => FirstOrder.approxKlStop(bad)).toThrow(RangeError)
      expect(JSON.parse(JSON.stringify(FirstOrder.standardized()))).toEqual({ _tag: "Standardized", epsilon: 1e-8 })
      expect(JSON.parse(JSON.stringify(FirstOrder.raw()))).toEqual({ _tag: "Raw" })
      expect(JSON.parse(JSON.stringify(FirstOrder.never()))).toEqual({ _tag: "Never" })
    })
  })
})
