/**
 * The tensor backend as a service: which TensorFlow.js backend computes, initialised once per
 * scope. This is the only module that calls `tf.setBackend`; everything that runs tensor code
 * requires `TensorBackend` in its environment, so nothing computes before a backend is chosen.
 *
 * - `wasm` (default): XNNPACK with SIMD, single-threaded under Node; ~20× the cpu backend's
 *   matMul throughput on this project's machines.
 * - `cpu`: plain JavaScript kernels; slow, useful as a cross-check.
 * - `node`: `@tensorflow/tfjs-node` (libtensorflow), only when that optional package is
 *   installed; otherwise {@link BackendUnavailableError}.
 *
 * Results are bit-reproducible for a given backend, machine architecture and library version;
 * different backends agree to float32 rounding, not bit for bit.
 *
 * @since 0.1.0
 */
import * as tf from "@tensorflow/tfjs-core"
// The umbrella package registers every op's gradient (the core package alone registers none
// under Node's ESM resolution); the Pearlmutter Fvp and the tests use tf.grads.
import "@tensorflow/tfjs"
import { Context, Data, Effect, Layer } from "effect"

/**
 * @category models
 */
export type BackendName = "wasm" | "cpu" | "node"

/**
 * @category constants
 */
export const backendNames: ReadonlyArray<BackendName> = ["wasm", "cpu", "node"]

/**
 * The requested backend cannot be initialised here.
 *
 * @category errors
 */
export class BackendUnavailableError extends Data.TaggedError("BackendUnavailableError")<{
  readonly backend: BackendName
  readonly message: string
}> {}

/**
 * @category models
 */
export interface TensorBackendShape {
  /** The backend's name, as recorded in a run's manifest. */
  readonly name: BackendName
  /** The TensorFlow.js version. */
  readonly version: string
  /** Live tensors (`tf.memory().numTensors`), for leak checks. */
  readonly numTensors: () => number
}

/**
 * @category services
 */
export class TensorBackend extends Context.Service<TensorBackend, TensorBackendShape>()("trustregion/TensorBackend") {}

const NODE_PACKAGE = "@tensorflow/tfjs-node"

const register = (name: BackendName): Effect.Effect<void, BackendUnavailableError> => {
  switch (name) {
    case "cpu":
      return Effect.void
    case "wasm":
      return Effect.tryPromise({
        try: () => import("@tensorflow/tfjs-backend-wasm"),
        catch: (cause) => new BackendUnavailableError({ backend: name, message: `the wasm backend failed to load: ${String(cause)}` })
      })
    case "node": {
      // A variable specifier: the optional package is resolved at run time only.
      const specifier: string = NODE_PACKAGE
      return Effect.tryPromise({
        try: () => import(specifier),
        catch: () =>
          new BackendUnavailableError({
            backend: name,
            message: `the node backend needs the optional package ${NODE_PACKAGE}; install it with \`npm install ${NODE_PACKAGE}@4.22.0\` (it downloads libtensorflow), or use --backend wasm`
          })
      })
    }
  }
}

let active: { name: BackendName; scopes: number } | undefined

const releaseEngine = Effect.sync(() => {
  if (active !== undefined && --active.scopes === 0) active = undefined
})

/**
 * A layer that initialises the named backend for its lifetime. tfjs has one process-global
 * engine, so two scopes may share a backend but not hold different ones at once.
 *
 * @category layers
 */
export const layer = (name: BackendName): Layer.Layer<TensorBackend, BackendUnavailableError> =>
  Layer.effect(
    TensorBackend,
    Effect.acquireRelease(
      Effect.gen(function*() {
        // Claim the engine before the first asynchronous step, so that two concurrent
        // acquisitions of different backends cannot both pass this check.
        if (active !== undefined && active.name !== name) {
          return yield* new BackendUnavailableError({
            backend: name,
            message: `the ${active.name} backend is already in use in this process; tfjs has one global engine`
          })
        }
        active = { name, scopes: (active?.scopes ?? 0) + 1 }
        yield* Effect.gen(function*() {
          yield* register(name)
          const ok = yield* Effect.tryPromise({
            try: async () => {
              if (tf.getBackend() === name) return true
              const selected = await tf.setBackend(name)
              await tf.ready()
              return selected
            },
            catch: (cause) => new BackendUnavailableError({ backend: name, message: `tfjs could not initialise the ${name} backend: ${String(cause)}` })
          })
          if (!ok || tf.getBackend() !== name) {
            return yield* new BackendUnavailableError({ backend: name, message: `tfjs could not initialise the ${name} backend` })
          }
        }).pipe(Effect.onError(() => releaseEngine))
        return TensorBackend.of({ name, version: tf.version_core, numTensors: () => tf.memory().numTensors })
      }),
      () => releaseEngine
    )
  )

/** @category layers */
export const layerWasm: Layer.Layer<TensorBackend, BackendUnavailableError> = layer("wasm")

/** @category layers */
export const layerCpu: Layer.Layer<TensorBackend, BackendUnavailableError> = layer("cpu")

/** @category layers */
export const layerNode: Layer.Layer<TensorBackend, BackendUnavailableError> = layer("node")
