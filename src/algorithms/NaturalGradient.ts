/**
 * The natural-gradient policy update shared by NPG and TRPO, composed of four blocks:
 *
 * 1. `objective` — the surrogate L(θ) and its gradient g = ∇L(θ_old);
 * 2. `fisher` — a Fisher-vector product strategy, v ↦ (F + λI)v;
 * 3. `solver` — s ≈ (F + λI)⁻¹ g (conjugate gradient by default), with sᵀFs;
 * 4. `step` — the step rule: TRPO's backtracking line search from β = √(2δ/sᵀFs) with the
 *    KL and improvement checks, or NPG's fixed step.
 *
 * Swapping any block changes exactly that part of the algorithm.
 *
 * @since 0.1.0
 */
import type * as ConjugateGradient from "../algebra/ConjugateGradient.ts"
import * as Distribution from "../algebra/Distribution.ts"
import type * as Fisher from "../algebra/Fisher.ts"
import type * as LineSearch from "../algebra/LineSearch.ts"
import * as Gradient from "../algebra/Gradient.ts"
import * as Mlp from "../algebra/Mlp.ts"
import * as Policy from "../algebra/Policy.ts"
import * as Surrogate from "../algebra/Surrogate.ts"

/**
 * @category models
 */
export interface Blocks {
  readonly objective: Surrogate.Objective
  readonly fisher: Fisher.Strategy
  readonly solver: ConjugateGradient.Solver
  readonly step: LineSearch.StepRule
}

/**
 * One update's data: π_old's parameters and the batch it collected.
 *
 * @category models
 */
export interface Input {
  readonly policy: Policy.Spec
  readonly params: Float64Array
  /** `[size, observationSize]`. */
  readonly observations: Float32Array
  /** `[size, actionSize]`. */
  readonly actions: Float64Array
  readonly advantages: ArrayLike<number>
  readonly size: number
}

/**
 * What the update did, in the metric vocabulary of docs/metrics.md.
 *
 * @category models
 */
export interface Diagnostics {
  readonly kl: number
  readonly entropy: number
  readonly surrogateGain: number
  readonly expectedImprovement: number
  readonly backtracks: number
  readonly lineSearchAccepted: boolean
  readonly stepOutcome: LineSearch.Outcome
  readonly stepSize: number
  readonly maxStepSize: number
  readonly cgIterations: number
  readonly cgResidual: number
  readonly gradientNorm: number
}

/**
 * @category models
 */
export interface Output {
  readonly params: Float64Array
  readonly diagnostics: Diagnostics
}

/**
 * One natural-gradient update of the policy on a batch.
 *
 * @category functions
 */
export const update = (blocks: Blocks, input: Input): Output => {
  const { policy, params, observations, size } = input
  const dist = policy.distribution
  const netSize = Policy.networkSize(policy)
  const linearization = Mlp.linearize(policy.network, params, observations, size)
  let operator: Fisher.Operator | undefined
  let network: Mlp.DeviceNetwork | undefined
  let x: ReturnType<typeof Mlp.uploadRows> | undefined
  try {
    const extraOld = Policy.extra(policy, params)
    const batch = Surrogate.makeBatch({
      distribution: dist,
      size,
      actions: input.actions,
      advantages: input.advantages,
      outputsOld: linearization.outputs,
      extraOld
    })
    // g = ∇L(θ_old) = Jᵀ ∂L/∂z (network) ⊕ ∂L/∂s (extra)
    const { value: surrogateOld, gradient: outputGradient } = blocks.objective.valueAndGradient(batch, linearization.outputs, extraOld)
    const g = Gradient.concat(linearization.vjp(outputGradient.outputs), outputGradient.extra)

    operator = blocks.fisher.prepare({ policy, params, observations, size, linearization })
    const solution = blocks.solver.solve(operator, g)
    let gs = 0
    for (let p = 0; p < g.length; p++) gs += g[p]! * solution.solution[p]!

    x = Mlp.uploadRows(observations, size, Mlp.inputSize(policy.network))
    const inputs = x
    let lastOutputs: Float32Array = linearization.outputs
    const step = blocks.step.apply({
      params,
      direction: solution.solution,
      sFs: solution.xAx,
      gradientDotDirection: gs,
      surrogateOld,
      evaluate: (candidate) => {
        network?.dispose()
        network = Mlp.upload(policy.network, candidate)
        lastOutputs = Mlp.forwardToHost(network, inputs)
        const extra = candidate.subarray(netSize)
        return { surrogate: blocks.objective.value(batch, lastOutputs, extra), kl: Surrogate.meanKl(batch, lastOutputs, extra) }
      }
    })
    const outputsNew = step.accepted ? lastOutputs : linearization.outputs
    return {
      params: step.params,
      diagnostics: {
        kl: step.kl,
        entropy: Distribution.meanEntropy(dist, outputsNew, step.params.subarray(netSize), size),
        surrogateGain: step.surrogateGain,
        expectedImprovement: step.expectedImprovement,
        backtracks: step.backtracks,
        lineSearchAccepted: step.accepted,
        stepOutcome: step.outcome,
        stepSize: step.stepSize,
        maxStepSize: step.maxStepSize,
        cgIterations: solution.iterations,
        cgResidual: solution.residualNorm,
        gradientNorm: Gradient.norm(g)
      }
    }
  } finally {
    operator?.dispose()
    network?.dispose()
    x?.dispose()
    linearization.dispose()
  }
}
