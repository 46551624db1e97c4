/**
 * A worker thread of `trustregion ablate`: serves `TrainRun` requests one at a time, each a
 * whole training run (or the resumption of one) written to its run directory. Every run is a
 * function of its config alone, so which worker runs it never changes its results.
 *
 * @since 0.1.0
 */
import { NodeRuntime, NodeServices, NodeWorkerRunner } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { RpcServer } from "effect/rpc"
import { AblationRpcs } from "./AblationRpc.ts"
import * as Recorder from "./Recorder.ts"
import * as RunStore from "./RunStore.ts"
import * as Runs from "./Runs.ts"
import * as TensorBackend from "./TensorBackend.ts"

const handlers = AblationRpcs.toLayer({
  TrainRun: ({ dir, config, resume }) =>
    (resume ? Effect.asVoid(Runs.resume(dir)) : Runs.train(dir, config, { force: true })).pipe(
      Effect.andThen(Runs.readMetrics(dir)),
      Effect.map((lines) => ({ iterations: lines.length })),
      Effect.provide(TensorBackend.layer(config.backend)),
      Effect.provide(Recorder.layerSilent),
      Effect.provide(RunStore.layerFileSystem.pipe(Layer.provide(NodeServices.layer))),
      Effect.mapError((e) => e.message)
    )
})

NodeRuntime.runMain(
  Layer.launch(
    RpcServer.layer(AblationRpcs).pipe(
      Layer.provide(handlers),
      Layer.provide(RpcServer.layerProtocolWorkerRunner),
      Layer.provide(NodeWorkerRunner.layer)
    )
  )
)
