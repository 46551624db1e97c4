/**
 * Natural Policy Gradient (Kakade 2001; the NPG of Spinning Up, rllab's TNPG and Tianshou): the
 * same natural direction as TRPO — conjugate gradient on Fisher-vector products — followed by a
 * fixed step, with no line search and no improvement check. The step is either the trust
 * region's `√(2δ / sᵀFs)` (the default) or a fixed step size; either way the actual KL and the
 * surrogate are measured after the step but never used to refuse it, which is what
 * docs/theory.md measures against TRPO.
 *
 * @since 0.1.0
 */
import * as LineSearch from "../algebra/LineSearch.ts"
import * as Recipe from "./Recipe.ts"
import * as Trpo from "./Trpo.ts"

/**
 * TRPO's reference recipe with the step rule replaced: `LineSearch.trustRegionStep({ maxKl: 0.01 })`.
 *
 * @category recipes
 */
export const recipe: Recipe.NaturalGradient = { ...Recipe.replace(Trpo.recipe, "step", LineSearch.trustRegionStep({ maxKl: 0.01 })), name: "npg" }

/**
 * NPG for an environment: TRPO's settings for it (`Trpo.forEnv`) with the step rule replaced by
 * the trust region's step at the same δ, so that NPG and TRPO differ in exactly one block.
 *
 * @category recipes
 */
export const forEnv = (envId: string): Recipe.NaturalGradient => {
  const trpo = Trpo.forEnv(envId)
  const maxKl = (trpo.step as { readonly maxKl?: number }).maxKl ?? 0.01
  return { ...Recipe.replace(trpo, "step", LineSearch.trustRegionStep({ maxKl })), name: "npg" }
}
