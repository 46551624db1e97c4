/**
 * Runs inside your own Effect program: train a run into an in-memory run store, interrupt it
 * after a few iterations, resume it, replay it and evaluate its policy — the same programs the
 * CLI uses, with the store swapped for `RunStore.layerMemory` (provide your own layer to keep
 * runs in a database or object storage).
 *
 *   npx node examples/embedded-run.ts
 */
import { Deferred, Effect, Fiber, Layer } from "effect"
import * as Recorder from "../src/runtime/Recorder.ts"
import * as RunStore from "../src/runtime/RunStore.ts"
import * as Runs from "../src/runtime/Runs.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"

const config: Runs.Config = { algo: "trpo", env: "CartPole-v1", seed: 0, steps: 20_480, backend: "wasm", set: [], checkpointEvery: 5 }

const program = Effect.gen(function*() {
  // Interrupt the run once its 12th iteration is recorded, as Ctrl-C does: the run writes a
  // checkpoint of the last finished iteration on its way out.
  const twelve = yield* Deferred.make<void>()
  const recorder = Layer.succeed(Recorder.Recorder, Recorder.Recorder.of({
    record: (report) => (report.iteration === 12 ? Deferred.succeed(twelve, undefined) : Effect.void)
  }))
  const fiber = yield* Effect.forkChild(Runs.train("exp/a", config, { force: false }).pipe(Effect.provide(recorder)))
  yield* Deferred.await(twelve)
  yield* Fiber.interrupt(fiber)
  console.log(`interrupted after ${(yield* Runs.readMetrics("exp/a")).length} iterations`)

  const resumed = yield* Runs.resume("exp/a").pipe(Effect.provide(Recorder.layerTerminal))
  console.log(`resumed from iteration ${resumed.resumedFrom}; ${(yield* Runs.readMetrics("exp/a")).length} iterations in all`)

  const replay = yield* Runs.replay("exp/a")
  console.log(replay._tag === "Identical" ? `replay: identical (${replay.iterations} iterations)` : `replay: iteration ${replay.iteration} differs at ${replay.key}`)

  const score = yield* Runs.evaluate("exp/a", { episodes: 10, deterministic: true, seed: 0 })
  console.log(`deterministic return ${score.mean.toFixed(1)} ± ${score.std.toFixed(1)} over 10 episodes`)
})

Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(RunStore.layerMemory, TensorBackend.layerWasm))))
