/**
 * Ablations as code: each variant replaces exactly one block of TRPO's CartPole-v1 recipe.
 * Prints each variant's slot as it appears in a run's config, trains each for 20 000 steps on
 * seed 0, and prints the final mean return.
 *
 *   npx node examples/ablations.ts
 */
import { Effect, Stream } from "effect"
import * as Advantage from "../src/algebra/Advantage.ts"
import * as DenseFisher from "../src/algebra/DenseFisher.ts"
import * as Fisher from "../src/algebra/Fisher.ts"
import * as LineSearch from "../src/algebra/LineSearch.ts"
import * as Recipe from "../src/algorithms/Recipe.ts"
import * as Train from "../src/algorithms/Train.ts"
import * as Trpo from "../src/algorithms/Trpo.ts"
import * as Registry from "../src/envs/Registry.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"

// A small policy so that the dense solve is affordable (P = 4·16 + 16 + 16·16 + 16 + 16·2 + 2 = 386).
const base = { ...Trpo.forEnv("CartPole-v1"), policyHiddenSizes: [16, 16] }

const variants: ReadonlyArray<readonly [string, Recipe.Recipe]> = [
  ["TRPO (base)", base],
  ["GAE λ → Monte-Carlo returns", Recipe.replace(base, "advantage", Advantage.normalized(Advantage.monteCarlo({ gamma: 0.99 })))],
  ["CG → dense Cholesky solve", Recipe.replace(base, "solver", DenseFisher.cholesky({ maxParameters: 2000 }))],
  ["line search → NPG's fixed δ-step", Recipe.replace(base, "step", LineSearch.trustRegionStep({ maxKl: 0.015 }))],
  ["analytic Fvp → finite differences", Recipe.replace(base, "fisher", Fisher.finiteDifference({ damping: 1e-3 }))]
]

const program = Effect.forEach(variants, ([name, recipe]) =>
  Effect.gen(function*() {
    const last = yield* Train.reports({ recipe, makeEnv: () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"), seed: 0, totalSteps: 20_000 }).pipe(Stream.runLast)
    const changed = Object.entries(Recipe.describe(recipe)).filter(([slot, value]) => JSON.stringify(value) !== JSON.stringify((Recipe.describe(base) as Record<string, unknown>)[slot]))
    console.log(`${name.padEnd(36)} return ${last._tag === "Some" ? last.value.episodeReturnMean?.toFixed(1) : "—"}   ${changed.map(([slot, value]) => `${slot} = ${JSON.stringify(value)}`).join(", ")}`)
  }))

await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layerWasm)))
