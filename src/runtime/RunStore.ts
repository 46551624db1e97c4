/**
 * Where runs are kept, as a service: a small store of text files per run directory, with
 * atomic writes. The run format (manifest, metrics, checkpoints, artefacts) is built on it in
 * `Runs.ts`; the store decides only where the bytes go — the file system for real use, memory
 * for tests, or anything an embedding application provides.
 *
 * @since 0.1.0
 */
import { Context, Data, Effect, FileSystem, Layer, Path, Ref } from "effect"

/**
 * A storage operation failed.
 *
 * @category errors
 */
export class StoreError extends Data.TaggedError("StoreError")<{ readonly path: string; readonly message: string }> {}

/**
 * @category models
 */
export interface RunStoreShape {
  /** Whether `dir/name` exists (`name` may be empty for the directory itself). */
  readonly exists: (dir: string, name?: string) => Effect.Effect<boolean, StoreError>
  /** The file's text, or `undefined` when it does not exist. */
  readonly read: (dir: string, name: string) => Effect.Effect<string | undefined, StoreError>
  /** Replaces the file atomically: a reader sees the old text or the new, never a mixture. */
  readonly write: (dir: string, name: string, text: string) => Effect.Effect<void, StoreError>
  /** Appends to the file (creating it), flushed before the effect completes. */
  readonly append: (dir: string, name: string, text: string) => Effect.Effect<void, StoreError>
  /** Names of the files in `dir/sub` (non-recursive), sorted. */
  readonly list: (dir: string, sub?: string) => Effect.Effect<ReadonlyArray<string>, StoreError>
  /** Removes a file or a directory with everything under it; nothing happens when it is absent. */
  readonly remove: (dir: string, name: string) => Effect.Effect<void, StoreError>
}

/**
 * @category services
 */
export class RunStore extends Context.Service<RunStore, RunStoreShape>()("trustregion/RunStore") {}

const describe = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * Files under the run directory. `write` goes to `name.tmp` and is renamed over `name`
 * (atomic on POSIX file systems), so a run killed mid-write leaves the previous file intact.
 *
 * @category layers
 */
export const layerFileSystem: Layer.Layer<RunStore, never, FileSystem.FileSystem | Path.Path> = Layer.effect(
  RunStore,
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const full = (dir: string, name = "") => (name === "" ? dir : path.join(dir, name))
    const fail = (p: string) => (cause: unknown) => new StoreError({ path: p, message: `${p}: ${describe(cause)}` })
    const ensureParent = (file: string) => fs.makeDirectory(path.dirname(file), { recursive: true })
    return RunStore.of({
      exists: (dir, name) => fs.exists(full(dir, name)).pipe(Effect.mapError(fail(full(dir, name)))),
      read: (dir, name) =>
        Effect.gen(function*() {
          const file = full(dir, name)
          if (!(yield* fs.exists(file))) return undefined
          return yield* fs.readFileString(file)
        }).pipe(Effect.mapError(fail(full(dir, name)))),
      write: (dir, name, text) =>
        Effect.gen(function*() {
          const file = full(dir, name)
          yield* ensureParent(file)
          yield* fs.writeFileString(`${file}.tmp`, text)
          yield* fs.rename(`${file}.tmp`, file)
        }).pipe(Effect.mapError(fail(full(dir, name)))),
      append: (dir, name, text) =>
        Effect.gen(function*() {
          const file = full(dir, name)
          yield* ensureParent(file)
          yield* fs.writeFileString(file, text, { flag: "a" })
        }).pipe(Effect.mapError(fail(full(dir, name)))),
      list: (dir, sub = "") =>
        Effect.gen(function*() {
          const folder = full(dir, sub)
          if (!(yield* fs.exists(folder))) return []
          return [...(yield* fs.readDirectory(folder))].sort()
        }).pipe(Effect.mapError(fail(full(dir, sub)))),
      remove: (dir, name) => fs.remove(full(dir, name), { force: true, recursive: true }).pipe(Effect.mapError(fail(full(dir, name))))
    })
  })
)

/**
 * An in-memory store (for tests and for embedding applications that keep runs elsewhere).
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<RunStore> = Layer.effect(
  RunStore,
  Effect.gen(function*() {
    const files = yield* Ref.make(new Map<string, string>())
    const key = (dir: string, name = "") => (name === "" ? dir : `${dir}/${name}`)
    return RunStore.of({
      exists: (dir, name) =>
        Ref.get(files).pipe(Effect.map((m) => {
          const k = key(dir, name)
          return m.has(k) || [...m.keys()].some((f) => f.startsWith(`${k}/`))
        })),
      read: (dir, name) => Ref.get(files).pipe(Effect.map((m) => m.get(key(dir, name)))),
      write: (dir, name, text) => Ref.update(files, (m) => new Map(m).set(key(dir, name), text)),
      append: (dir, name, text) => Ref.update(files, (m) => new Map(m).set(key(dir, name), (m.get(key(dir, name)) ?? "") + text)),
      list: (dir, sub = "") =>
        Ref.get(files).pipe(Effect.map((m) => {
          const prefix = `${key(dir, sub)}/`
          return [...new Set([...m.keys()].filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split("/")[0]!))].sort()
        })),
      remove: (dir, name) =>
        Ref.update(files, (m) => {
          const next = new Map(m)
          const k = key(dir, name)
          for (const f of m.keys()) if (f === k || f.startsWith(`${k}/`)) next.delete(f)
          return next
        })
    })
  })
)
