/**
 * What the command-line tests share: the `trustregion` command run in this process, the
 * services it runs with, and a scoped temporary directory.
 */
import { NodeServices } from "@effect/platform-node"
import { Effect, FileSystem, Layer, Path } from "effect"
import { Command } from "effect/cli"
import * as Cli from "../../src/cli/Cli.ts"

/** `trustregion ...argv`, in process. */
export const run = (...argv: Array<string>) => Command.runWith(Cli.command, { version: Cli.version })(argv)

/** The services of the executable: Node's, and the CLI's one-line error rendering. */
export const environment = Layer.mergeAll(NodeServices.layer, Cli.layer)

/** A temporary directory `dir` (removed with the scope), `out` = `dir/run` (not created) and the services to use them. */
export const scratch = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped()
  return { fs, path, dir, out: path.join(dir, "run") }
})

/** A file's text parsed as JSON. */
export const readJson = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    return JSON.parse(yield* fs.readFileString(file))
  })
