/**
 * An ablation in a few lines: TRPO on CartPole-v1 with the analytic Fisher-vector product
 * replaced by finite differences of the KL gradient, trained for 50 000 steps with a progress
 * line per iteration.
 *
 *   npx node examples/ablation.ts
 */
import { Effect, Stream } from "effect"
import * as Fisher from "../src/algebra/Fisher.ts"
import * as Recipe from "../src/algorithms/Recipe.ts"
import * as Train from "../src/algorithms/Train.ts"
import * as Trpo from "../src/algorithms/Trpo.ts"
import * as Registry from "../src/envs/Registry.ts"
import * as Recorder from "../src/runtime/Recorder.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"

const base = Trpo.forEnv("CartPole-v1")
const recipe = Recipe.replace(base, "fisher", Fisher.finiteDifference({ damping: base.fisher.damping }))

const program = Train.reports({
  recipe,
  makeEnv: () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"),
  seed: 0,
  totalSteps: 50_000
}).pipe(
  Stream.tap(Recorder.record),
  Stream.runDrain,
  Effect.provide(Recorder.layerTerminal),
  Effect.provide(TensorBackend.layerWasm)
)

await Effect.runPromise(program)
