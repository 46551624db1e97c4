/**
 * Recipes: an algorithm as a typed record of blocks. The training loop (Train.ts) is one
 * program; a recipe fills its slots. An ablation replaces one slot:
 *
 * ```ts
 * const mc = Recipe.replace(Trpo.recipe, "advantage", Advantage.monteCarlo({ gamma: 0.99 }))
 * ```
 *
 * Blocks are values whose data fields describe them (`_tag` and hyperparameters) and whose
 * methods compute; {@link describe} keeps the data, which is what a run's config records.
 *
 * @since 0.1.0
 */
import type * as Advantage from "../algebra/Advantage.ts"
import type * as ConjugateGradient from "../algebra/ConjugateGradient.ts"
import type * as Fisher from "../algebra/Fisher.ts"
import type * as LineSearch from "../algebra/LineSearch.ts"
import type * as Normalize from "../algebra/Normalize.ts"
import type * as Surrogate from "../algebra/Surrogate.ts"
import type * as Penalty from "../algebra/Penalty.ts"
import type * as Wrappers from "../envs/Wrappers.ts"
import type * as Critic from "./Critic.ts"
import type * as FirstOrderUpdate from "./FirstOrder.ts"

/**
 * What every recipe has: its name, the rollout, the networks, the observation normaliser and
 * the advantage estimator.
 *
 * @category models
 */
export interface Common {
  /** The algorithm's name as the command line knows it (e.g. `trpo`). */
  readonly name: string
  /** Environments stepped in lockstep. */
  readonly numEnvs: number
  /** Steps per environment per iteration; the batch holds `numEnvs · stepsPerEnv` rows. */
  readonly stepsPerEnv: number
  /** Hidden layer sizes of the policy network (tanh). */
  readonly policyHiddenSizes: ReadonlyArray<number>
  /** Hidden layer sizes of the value network (tanh). */
  readonly valueHiddenSizes: ReadonlyArray<number>
  /** Initial log-std of a Gaussian policy (unused for discrete actions). */
  readonly initialLogStd: number
  /** How observations are normalised before the policy and value networks see them. */
  readonly observations: Normalize.Observation
  /** How rewards are scaled before the algorithm sees them (episode returns stay raw). */
  readonly rewards: Wrappers.RewardScaling
  readonly advantage: Advantage.Estimator
}

/**
 * The shape of a natural-gradient method (NPG, TRPO): a surrogate, a Fisher-vector product,
 * a linear solver for the natural direction, and a step rule.
 *
 * @category models
 */
export interface NaturalGradient extends Common {
  readonly _tag: "NaturalGradient"
  readonly objective: Surrogate.Objective
  readonly fisher: Fisher.Strategy
  readonly solver: ConjugateGradient.Solver
  readonly step: LineSearch.StepRule
  readonly critic: Critic.AdamFit
}

/**
 * The shape of a first-order method (PPO-clip, PPO-penalty): a surrogate with an optional KL
 * penalty, optimised by Adam over epochs of minibatches jointly with the value loss.
 *
 * @category models
 */
export interface FirstOrder extends Common {
  readonly _tag: "FirstOrder"
  readonly objective: Surrogate.Objective
  readonly penalty: Penalty.Rule
  readonly optimizer: FirstOrderUpdate.Optimizer
  readonly minibatchAdvantages: FirstOrderUpdate.MinibatchAdvantages
  readonly critic: Critic.Joint
  readonly earlyStop: FirstOrderUpdate.EarlyStop
}

/**
 * @category models
 */
export type Recipe = NaturalGradient | FirstOrder

/**
 * The recipe with one slot replaced.
 *
 * @category combinators
 */
export const replace = <R extends Recipe, K extends Exclude<keyof R, "_tag">>(recipe: R, slot: K, value: R[K]): R => ({
  ...recipe,
  [slot]: value
})

/**
 * The recipe as plain JSON data: every block's `_tag` and hyperparameters, no functions.
 *
 * @category conversions
 */
export const describe = (recipe: Recipe): Record<string, unknown> => JSON.parse(JSON.stringify(recipe))
