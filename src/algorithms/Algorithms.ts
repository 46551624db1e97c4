/**
 * The algorithms by name, as the command line, run manifests and ablation specs know them, and
 * the recipe each resolves to for an environment — with `--set`-style overrides applied.
 *
 * @since 0.1.0
 */
import { Result } from "effect"
import * as Npg from "./Npg.ts"
import * as Ppo from "./Ppo.ts"
import type * as Recipe from "./Recipe.ts"
import * as RecipeData from "./RecipeData.ts"
import * as Trpo from "./Trpo.ts"

const recipes = {
  npg: (envId: string): Recipe.Recipe => Npg.forEnv(envId),
  trpo: (envId: string): Recipe.Recipe => Trpo.forEnv(envId),
  "ppo-penalty": (envId: string): Recipe.Recipe => Ppo.penaltyForEnv(envId),
  "ppo-clip": (envId: string): Recipe.Recipe => Ppo.clipForEnv(envId)
} as const

/** @category models */
export type Name = keyof typeof recipes

/** @category constants */
export const names = Object.keys(recipes) as ReadonlyArray<Name>

/**
 * The algorithm's recipe for an environment (its tuned settings where there are any).
 *
 * @category constructors
 */
export const recipeFor = (name: Name, envId: string): Recipe.Recipe => recipes[name](envId)

/**
 * {@link recipeFor} with overrides `[key, value]` applied in order (`RecipeData.override`);
 * the first bad one is the error.
 *
 * @category constructors
 */
export const resolve = (
  name: Name,
  envId: string,
  overrides: ReadonlyArray<readonly [string, string]>
): Result.Result<Recipe.Recipe, RecipeData.RecipeError> => {
  let recipe = recipeFor(name, envId)
  for (const [key, value] of overrides) {
    const next = RecipeData.override(recipe, key, value)
    if (Result.isFailure(next)) return next
    recipe = next.success
  }
  return Result.succeed(recipe)
}
