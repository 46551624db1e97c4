import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem, Layer, Path } from "effect"
import { Command } from "effect/cli"
import { TestConsole } from "effect/testing"
import * as Cli from "../../src/cli/Cli.ts"

const run = (...argv: Array<string>) => Command.runWith(Cli.command, { version: Cli.version })(argv)
const environment = Layer.mergeAll(NodeServices.layer, Cli.layer)

// The keys every metrics line carries (issue #2), with their meanings in docs/metrics.md.
const requiredKeys = [
  "iteration", "steps", "episodes", "episodeReturnMean", "episodeLengthMean", "kl", "entropy", "surrogateGain",
  "backtracks", "lineSearchAccepted", "cgIterations", "cgResidual", "valueLoss", "explainedVariance", "wallSeconds"
]

const readLines = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file)
    return text.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
  })

describe("Cli", () => {
  describe("train flags", () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
      [["--algo", "foo"], `trustregion train: invalid value "foo" for --algo (expected trpo)`],
      [["--env", "Foo-v0"], `trustregion train: invalid value "Foo-v0" for --env (expected CartPole-v1)`],
      [["--steps", "0"], `trustregion train: invalid value "0" for --steps (expected a positive integer)`],
      [["--steps", "-5"], `trustregion train: invalid value "-5" for --steps (expected a positive integer)`],
      [["--steps", "1e"], `trustregion train: invalid value "1e" for --steps (expected a positive integer)`],
      [["--steps", "2.5"], `trustregion train: invalid value "2.5" for --steps (expected a positive integer)`],
      [["--seed", "abc"], `trustregion train: invalid value "abc" for --seed (expected an integer in [0, 2^53))`],
      [["--seed", "-1"], `trustregion train: invalid value "-1" for --seed (expected an integer in [0, 2^53))`],
      [["--backend", "gpu"], `trustregion train: invalid value "gpu" for --backend (expected wasm | cpu | node)`],
      [["--bogus", "1"], `trustregion train: unknown flag --bogus`]
    ]
    for (const [flags, message] of cases) {
      it.effect(`${flags.join(" ")}: one line naming the flag and the allowed values, nothing written`, () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const path = yield* Path.Path
          const dir = yield* fs.makeTempDirectoryScoped()
          const out = path.join(dir, "run")
          const error = yield* Effect.flip(run("train", ...flags, "--out", out))
          expect(error._tag).toBe("ShowHelp")
          expect(yield* TestConsole.errorLines).toEqual([message])
          expect(yield* TestConsole.logLines).toEqual([])
          expect(yield* fs.exists(out)).toBe(false)
        }).pipe(Effect.provide(environment)))
    }

    it.effect("an unavailable backend fails before anything is written", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const out = path.join(yield* fs.makeTempDirectoryScoped(), "run")
        const error = yield* Effect.flip(run("train", "--backend", "node", "--out", out))
        expect(error._tag).toBe("UserError")
        expect(yield* fs.exists(out)).toBe(false)
      }).pipe(Effect.provide(environment)))

    it.effect("--help documents every flag with its default", () =>
      Effect.gen(function*() {
        yield* run("train", "--help")
        const help = (yield* TestConsole.logLines).join("\n")
        for (const flag of ["--algo", "--env", "--seed", "--steps", "--out", "--backend", "--force", "--quiet"]) {
          expect(help).toMatch(new RegExp(`${flag}\\b[^\\n]*\\[default: `))
        }
      }).pipe(Effect.provide(environment)))
  })

  describe("train", () => {
    it.effect("writes config.json, metrics.jsonl, policy.json and value.json; same seed twice, same metrics", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const dir = yield* fs.makeTempDirectoryScoped()
        const a = path.join(dir, "a"), b = path.join(dir, "b")
        yield* run("train", "--steps", "2048", "--seed", "3", "--out", a, "--quiet")
        yield* run("train", "--steps", "2048", "--seed", "3", "--out", b, "--quiet")
        expect((yield* fs.readDirectory(a)).sort()).toEqual(["config.json", "metrics.jsonl", "policy.json", "value.json"])

        const config = JSON.parse(yield* fs.readFileString(path.join(a, "config.json")))
        expect(config).toMatchObject({ algo: "trpo", env: "CartPole-v1", seed: 3, steps: 2048, backend: "wasm", keyFormat: "threefry2x32-20/v1" })
        expect(config.recipe.step).toEqual({ _tag: "BacktrackingLineSearch", maxKl: 0.015, backtrackRatio: 0.8, maxBacktracks: 10, klTolerance: 1 })
        expect(config.recipe.observations).toEqual({ _tag: "Running", clip: 10, epsilon: 1e-8 })

        const linesA = yield* readLines(path.join(a, "metrics.jsonl"))
        const linesB = yield* readLines(path.join(b, "metrics.jsonl"))
        expect(linesA.map((l) => l.steps)).toEqual([1024, 2048])
        for (const line of linesA) for (const key of requiredKeys) expect(line).toHaveProperty(key)
        const strip = (lines: ReadonlyArray<Record<string, unknown>>) => lines.map(({ wallSeconds: _, ...rest }) => rest)
        expect(strip(linesB)).toEqual(strip(linesA))

        const policy = JSON.parse(yield* fs.readFileString(path.join(a, "policy.json")))
        expect(policy.policy.network.sizes).toEqual([4, 64, 64, 2])
        expect(policy.params).toHaveLength(4610)
      }).pipe(Effect.provide(environment)), 60_000)

    it.effect("refuses to overwrite an existing run unless --force", () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const out = path.join(yield* fs.makeTempDirectoryScoped(), "run")
        yield* run("train", "--steps", "1", "--out", out, "--quiet")
        const before = yield* fs.readFileString(path.join(out, "metrics.jsonl"))
        const error = yield* Effect.flip(run("train", "--steps", "1", "--out", out, "--quiet"))
        expect(error._tag).toBe("RunExistsError")
        expect(yield* TestConsole.errorLines).toEqual([
          `trustregion: ${out} already holds a run (metrics.jsonl); pass --force to overwrite it or choose another --out`
        ])
        expect(yield* fs.readFileString(path.join(out, "metrics.jsonl"))).toBe(before)
        yield* run("train", "--steps", "1", "--seed", "1", "--out", out, "--quiet", "--force")
        expect(yield* fs.readFileString(path.join(out, "metrics.jsonl"))).not.toBe(before)
      }).pipe(Effect.provide(environment)), 60_000)
  })
})
