/**
 * Proximal Policy Optimization (Schulman, Wolski, Dhariwal, Radford, Klimov 2017): first-order
 * updates that keep π near π_old without a second-order solve.
 *
 * - **PPO-clip** maximises the clipped surrogate `mean min(r Â, clip(r, 1 ± ε) Â)` (eq. 7).
 * - **PPO-penalty** maximises `mean r Â − β·KL(π_old ‖ π_θ)` (eq. 8) and adapts β after each
 *   update: halved when the measured KL < targetKl/1.5, doubled when > 1.5·targetKl.
 *
 * Both are `Recipe.FirstOrder` values over the same update (FirstOrder.ts); they differ in the
 * `objective` and `penalty` slots only. See docs/algorithms/ppo.md.
 *
 * @since 0.1.0
 */
import * as Advantage from "../algebra/Advantage.ts"
import * as Normalize from "../algebra/Normalize.ts"
import * as Wrappers from "../envs/Wrappers.ts"
import * as Penalty from "../algebra/Penalty.ts"
import * as Schedule from "../algebra/Schedule.ts"
import * as Surrogate from "../algebra/Surrogate.ts"
import * as Critic from "./Critic.ts"
import * as FirstOrder from "./FirstOrder.ts"
import type * as Recipe from "./Recipe.ts"

/**
 * PPO-clip with the PPO paper's MuJoCo settings, which SB3 and CleanRL share: one env × 2048
 * steps, ε 0.2, 10 epochs of minibatches of 64, Adam 3e-4 (ε 1e-5), γ 0.99, GAE λ 0.95,
 * advantages standardised per minibatch, gradient norm clipped to 0.5, value loss coefficient 0.5
 * without clipping, no entropy bonus, no early stop, constant learning rate; separate 64×64 tanh
 * policy and value networks.
 *
 * @category recipes
 */
export const clip: Recipe.FirstOrder = {
  _tag: "FirstOrder",
  name: "ppo-clip",
  numEnvs: 1,
  stepsPerEnv: 2048,
  policyHiddenSizes: [64, 64],
  valueHiddenSizes: [64, 64],
  initialLogStd: 0,
  observations: Normalize.identity(),
  rewards: Wrappers.unscaled(),
  advantage: Advantage.gae({ gamma: 0.99, lambda: 0.95 }),
  objective: Surrogate.withEntropyBonus(Surrogate.clipped({ epsilon: 0.2 }), { coefficient: 0 }),
  penalty: Penalty.fixed({ beta: 0 }),
  optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(3e-4), epochs: 10, minibatchSize: 64, maxGradNorm: 0.5, epsilon: 1e-5 }),
  minibatchAdvantages: FirstOrder.standardized(),
  critic: Critic.joint({ coefficient: 0.5 }),
  earlyStop: FirstOrder.never()
}

/**
 * PPO-penalty: the same settings with the importance-sampled surrogate and the paper's adaptive
 * KL penalty (initial β 1, targetKl 0.01, ×2 / ÷2 at 1.5·targetKl and targetKl/1.5).
 *
 * @category recipes
 */
export const penalty: Recipe.FirstOrder = {
  ...clip,
  name: "ppo-penalty",
  objective: Surrogate.withEntropyBonus(Surrogate.importanceSampled(), { coefficient: 0 }),
  penalty: Penalty.adaptive({ initialBeta: 1, targetKl: 0.01, tolerance: 1.5, factor: 2 })
}

/**
 * Tuned settings per environment (docs/results.md).
 *
 * - CartPole-v1: rl-baselines3-zoo's PPO settings (8 envs × 32 steps, γ 0.98, λ 0.8, 20 epochs
 *   of one 256-sample minibatch, Adam 1e-3 annealed linearly to 0; the zoo also anneals ε,
 *   which is kept at 0.2 here).
 *
 * @category recipes
 */
export const tunedClip: Readonly<Record<string, Recipe.FirstOrder>> = {
  "CartPole-v1": {
    ...clip,
    numEnvs: 8,
    stepsPerEnv: 32,
    advantage: Advantage.gae({ gamma: 0.98, lambda: 0.8 }),
    optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.linear({ start: 1e-3, end: 0 }), epochs: 20, minibatchSize: 256, maxGradNorm: 0.5, epsilon: 1e-5 })
  },
  "Pendulum-v1": {
    ...clip,
    numEnvs: 4,
    stepsPerEnv: 1024,
    advantage: Advantage.gae({ gamma: 0.9, lambda: 0.95 }),
    optimizer: FirstOrder.adamEpochs({ learningRate: Schedule.constant(1e-3), epochs: 10, minibatchSize: 64, maxGradNorm: 0.5, epsilon: 1e-5 })
  }
}

/**
 * PPO-penalty's tuned settings: PPO-clip's for the environment with the objective and penalty
 * slots of {@link penalty}.
 *
 * @category recipes
 */
export const tunedPenalty: Readonly<Record<string, Recipe.FirstOrder>> = Object.fromEntries(
  Object.entries(tunedClip).map(([id, r]) => [id, { ...r, name: "ppo-penalty", objective: penalty.objective, penalty: penalty.penalty }])
)

/** @category recipes */
export const clipForEnv = (envId: string): Recipe.FirstOrder => tunedClip[envId] ?? clip

/** @category recipes */
export const penaltyForEnv = (envId: string): Recipe.FirstOrder => tunedPenalty[envId] ?? penalty
