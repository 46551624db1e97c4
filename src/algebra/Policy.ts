/**
 * A stochastic policy: an MLP whose outputs parameterise an action distribution, plus the
 * distribution's state-independent parameters. One flat parameter vector
 * `θ = [network parameters, extra]` holds both, so the natural gradient, the trust region
 * and the line search all act on every parameter that changes π — including a Gaussian's
 * log-std (leaving it out of the trust region was openai/baselines #262).
 *
 * @since 0.1.0
 */
import * as Distribution from "./Distribution.ts"
import type * as Key from "./Key.ts"
import * as Mlp from "./Mlp.ts"

/**
 * @category models
 */
export interface Spec {
  readonly network: Mlp.Spec
  readonly distribution: Distribution.Distribution
}

/**
 * A policy for observations of `observationSize` numbers, with tanh hidden layers of
 * `hiddenSizes` and the given distribution.
 *
 * @category constructors
 */
export const make = (options: {
  readonly observationSize: number
  readonly hiddenSizes: ReadonlyArray<number>
  readonly distribution: Distribution.Distribution
}): Spec => ({
  network: Mlp.make({
    inputSize: options.observationSize,
    hiddenSizes: options.hiddenSizes,
    outputSize: Distribution.outputSize(options.distribution)
  }),
  distribution: options.distribution
})

/** Parameters of the network. @category getters */
export const networkSize = (spec: Spec): number => Mlp.parameterCount(spec.network)

/** All parameters: network + extra. @category getters */
export const parameterCount = (spec: Spec): number => networkSize(spec) + Distribution.extraSize(spec.distribution)

/** The extra (state-independent) parameters inside θ, as a view. @category getters */
export const extra = (spec: Spec, theta: Float64Array): Float64Array => theta.subarray(networkSize(spec))

/**
 * Initial parameters: orthogonal network weights with gain √2 on hidden layers and 0.01 on
 * the output layer (Stable-Baselines3's policy head, which starts π near uniform / near
 * the prior mean), and the distribution's initial extra parameters.
 *
 * @category constructors
 */
export const initialize = (key: Key.Key, spec: Spec, gains = { hidden: Math.SQRT2, output: 0.01 }): Float64Array => {
  const theta = new Float64Array(parameterCount(spec))
  theta.set(Mlp.initialize(key, spec.network, gains))
  theta.set(Distribution.initialExtra(spec.distribution), networkSize(spec))
  return theta
}
