// Backend switching lives in this file only: tfjs has one process-global engine and
// TensorBackend tracks the active backend in module state, and vitest runs each file in its
// own fork. The tests below run in order and leave no backend held.
import { describe, expect, it } from "@effect/vitest"
import * as tf from "@tensorflow/tfjs-core"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import * as fs from "node:fs"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"

// The pinned tfjs version, read from the project's manifest (an independent source).
const pinnedVersion: string = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")).dependencies["@tensorflow/tfjs-core"]
const nodeInstalled = fs.existsSync(new URL("../../node_modules/@tensorflow/tfjs-node", import.meta.url))

// Builds `layer` in a fresh scope that the caller closes.
const hold = (layer: Layer.Layer<TensorBackend.TensorBackend, TensorBackend.BackendUnavailableError>) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Layer.fresh(layer), scope).pipe(Effect.onError(() => Scope.close(scope, Exit.void)))
    return { scope, context }
  })

const failure = (layer: Layer.Layer<TensorBackend.TensorBackend, TensorBackend.BackendUnavailableError>) =>
  Effect.scoped(Layer.build(Layer.fresh(layer))).pipe(Effect.flip)

const backendOf = (layer: Layer.Layer<TensorBackend.TensorBackend, TensorBackend.BackendUnavailableError>) =>
  TensorBackend.TensorBackend.use(Effect.succeed).pipe(Effect.provide(Layer.fresh(layer)))

describe("TensorBackend", () => {
  describe("layerWasm", () => {
    it.effect("provides the wasm backend, the tfjs version and a live tensor count", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        expect(backend.name).toBe("wasm")
        expect(backend.version).toMatch(/^\d+\.\d+\.\d+/)
        expect(backend.version).toBe(pinnedVersion)
        expect(tf.getBackend()).toBe("wasm")
        const before = backend.numTensors()
        const t = tf.tensor1d([1, 2, 3])
        expect(backend.numTensors()).toBe(before + 1)
        expect(Array.from(t.dataSync())).toEqual([1, 2, 3])
        t.dispose()
        expect(backend.numTensors()).toBe(before)
      }).pipe(Effect.provide(TensorBackend.layerWasm)))
  })

  describe("layerNode", () => {
    it.effect.skipIf(nodeInstalled)("fails with BackendUnavailableError naming @tensorflow/tfjs-node and how to install it", () =>
      Effect.gen(function*() {
        const error = yield* failure(TensorBackend.layerNode)
        expect(error).toBeInstanceOf(TensorBackend.BackendUnavailableError)
        expect(error._tag).toBe("BackendUnavailableError")
        expect(error.backend).toBe("node")
        expect(error.message).toContain("@tensorflow/tfjs-node")
        expect(error.message).toContain(`npm install @tensorflow/tfjs-node@${pinnedVersion}`)
        // The failed acquisition holds nothing: another backend can still be acquired.
        expect((yield* backendOf(TensorBackend.layerCpu)).name).toBe("cpu")
      }))
  })

  describe("layer", () => {
    it.effect("refuses cpu while wasm is held, and grants it once wasm's scope closes", () =>
      Effect.gen(function*() {
        const wasm = yield* hold(TensorBackend.layerWasm)
        expect(tf.getBackend()).toBe("wasm")
        const error = yield* failure(TensorBackend.layerCpu)
        expect(error).toBeInstanceOf(TensorBackend.BackendUnavailableError)
        expect(error.backend).toBe("cpu")
        expect(error.message).toContain("wasm")
        // The refusal leaves the engine on wasm.
        expect(tf.getBackend()).toBe("wasm")
        yield* Scope.close(wasm.scope, Exit.void)

        const cpu = yield* hold(TensorBackend.layerCpu)
        expect(tf.getBackend()).toBe("cpu")
        // Now wasm is the one refused.
        expect((yield* failure(TensorBackend.layerWasm)).backend).toBe("wasm")
        yield* Scope.close(cpu.scope, Exit.void)
        expect((yield* backendOf(TensorBackend.layerWasm)).name).toBe("wasm")
      }))

    it.effect("lets two scopes share a backend and frees it only when both close", () =>
      Effect.gen(function*() {
        const first = yield* hold(TensorBackend.layerWasm)
        const second = yield* hold(TensorBackend.layerWasm)
        yield* Scope.close(first.scope, Exit.void)
        expect((yield* failure(TensorBackend.layerCpu)).backend).toBe("cpu")
        yield* Scope.close(second.scope, Exit.void)
        expect((yield* backendOf(TensorBackend.layerCpu)).name).toBe("cpu")
      }))

    it.effect("lets only one of two concurrent acquisitions of different backends succeed", () =>
      Effect.gen(function*() {
        const results = yield* Effect.all([Effect.result(hold(TensorBackend.layerWasm)), Effect.result(hold(TensorBackend.layerCpu))], {
          concurrency: "unbounded"
        })
        const held = results.filter((r) => r._tag === "Success")
        const refused = results.filter((r) => r._tag === "Failure")
        expect(held).toHaveLength(1)
        expect(refused).toHaveLength(1)
        const holder = held[0]!
        if (holder._tag !== "Success") return
        // The engine runs the backend its holder was granted.
        expect(tf.getBackend()).toBe(Context.get(holder.success.context, TensorBackend.TensorBackend).name)
        yield* Scope.close(holder.success.scope, Exit.void)
      }))

    it("lists the backend names", () => {
      expect(TensorBackend.backendNames).toEqual(["wasm", "cpu", "node"])
    })
  })
})
