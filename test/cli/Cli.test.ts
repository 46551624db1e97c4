import { describe, expect, it } from "@effect/vitest"
import { Effect, FileSystem } from "effect"
import { TestConsole } from "effect/testing"
import { environment, readJson, run, scratch } from "./Support.ts"

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

/** A refused command printed nothing on stdout and left `out` unwritten. */
const nothingWritten = (out: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    expect(yield* TestConsole.logLines).toEqual([])
    expect(yield* fs.exists(out)).toBe(false)
  })

describe("Cli", () => {
  describe("train flags", () => {
    const cases: ReadonlyArray<[ReadonlyArray<string>, string]> = [
      [["--algo", "foo"], `trustregion train: invalid value "foo" for --algo (expected npg | trpo | ppo-penalty | ppo-clip)`],
      [["--env", "Foo-v0"], `trustregion train: invalid value "Foo-v0" for --env (expected CartPole-v1 | Pendulum-v1 | Acrobot-v1 | MountainCar-v0 | MountainCarContinuous-v0)`],
      [["--set", "step.maxKl"], `trustregion train: invalid value "step.maxKl" for --set (expected Invalid key=value format. Expected format: key=value, got: step.maxKl)`],
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
          const { out } = yield* scratch
          const error = yield* Effect.flip(run("train", ...flags, "--out", out))
          expect(error._tag).toBe("ShowHelp")
          expect(yield* TestConsole.errorLines).toEqual([message])
          yield* nothingWritten(out)
        }).pipe(Effect.provide(environment)))
    }

    it.effect("an unavailable backend fails before anything is written", () =>
      Effect.gen(function*() {
        const { fs, out } = yield* scratch
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
    it.effect("writes manifest.json, metrics.jsonl, checkpoints, complete.json, policy.json and value.json; same seed twice, same metrics", () =>
      Effect.gen(function*() {
        const { fs, path, dir } = yield* scratch
        const a = path.join(dir, "a"), b = path.join(dir, "b")
        yield* run("train", "--steps", "2048", "--seed", "3", "--out", a, "--quiet")
        yield* run("train", "--steps", "2048", "--seed", "3", "--out", b, "--quiet")
        expect((yield* fs.readDirectory(a)).sort()).toEqual(["checkpoints", "complete.json", "manifest.json", "metrics.jsonl", "policy.json", "value.json"])

        const manifest = yield* readJson(path.join(a, "manifest.json"))
        expect(manifest.config).toMatchObject({ algo: "trpo", env: "CartPole-v1", seed: 3, steps: 2048, backend: "wasm", checkpointEvery: 10 })
        expect(manifest.keyFormat).toBe("threefry2x32-20/v1")
        expect(manifest.node).toBe(process.version)
        expect(Number.isNaN(Date.parse(manifest.startTime))).toBe(false)
        expect(manifest.recipe.step).toEqual({ _tag: "BacktrackingLineSearch", maxKl: 0.015, backtrackRatio: 0.8, maxBacktracks: 10, klTolerance: 1 })
        expect(manifest.recipe.observations).toEqual({ _tag: "Running", clip: 10, epsilon: 1e-8 })

        const linesA = yield* readLines(path.join(a, "metrics.jsonl"))
        const linesB = yield* readLines(path.join(b, "metrics.jsonl"))
        expect(linesA.map((l) => l.steps)).toEqual([1024, 2048])
        for (const line of linesA) for (const key of requiredKeys) expect(line).toHaveProperty(key)
        const strip = (lines: ReadonlyArray<Record<string, unknown>>) => lines.map(({ wallSeconds: _, ...rest }) => rest)
        expect(strip(linesB)).toEqual(strip(linesA))

        const policy = yield* readJson(path.join(a, "policy.json"))
        expect(policy.policy.network.sizes).toEqual([4, 64, 64, 2])
        expect(policy.params).toHaveLength(4610)
      }).pipe(Effect.provide(environment)), 60_000)

    it.effect("refuses to overwrite an existing run unless --force", () =>
      Effect.gen(function*() {
        const { fs, path, out } = yield* scratch
        yield* run("train", "--steps", "1", "--out", out, "--quiet")
        const before = yield* fs.readFileString(path.join(out, "metrics.jsonl"))
        const error = yield* Effect.flip(run("train", "--steps", "1", "--out", out, "--quiet"))
        expect(error._tag).toBe("UserError")
        expect(yield* TestConsole.errorLines).toEqual([
          `trustregion: ${out} already holds a run; pass --force to overwrite it, --resume to continue it, or choose another --out`
        ])
        expect(yield* fs.readFileString(path.join(out, "metrics.jsonl"))).toBe(before)
        yield* run("train", "--steps", "1", "--seed", "1", "--out", out, "--quiet", "--force")
        expect(yield* fs.readFileString(path.join(out, "metrics.jsonl"))).not.toBe(before)
      }).pipe(Effect.provide(environment)), 60_000)
  })

  describe("train --algo, --set, --env", () => {
    const familyKeys = {
      NaturalGradient: ["backtracks", "lineSearchAccepted", "cgIterations", "cgResidual"],
      FirstOrder: ["approxKl", "clipFraction", "policyLoss", "beta", "learningRate", "epochs"]
    } as const
    const algos: ReadonlyArray<readonly [string, keyof typeof familyKeys, (recipe: any) => void]> = [
      ["npg", "NaturalGradient", (recipe) => expect(recipe.step).toEqual({ _tag: "TrustRegionStep", maxKl: 0.015 })],
      ["ppo-penalty", "FirstOrder", (recipe) => {
        expect(recipe.penalty._tag).toBe("AdaptivePenalty")
        expect(recipe.objective.inner._tag).toBe("ImportanceSampled")
      }],
      ["ppo-clip", "FirstOrder", (recipe) => {
        expect(recipe.penalty).toEqual({ _tag: "FixedPenalty", beta: 0, initialBeta: 0 })
        expect(recipe.objective.inner).toEqual({ _tag: "Clipped", epsilon: 0.2 })
      }]
    ]
    for (const [algo, tag, check] of algos) {
      it.effect(`--algo ${algo} --steps 1 writes a run whose recipe is ${algo}'s (${tag})`, () =>
        Effect.gen(function*() {
          const { fs, path, out } = yield* scratch
          yield* run("train", "--algo", algo, "--steps", "1", "--out", out, "--quiet")
          expect(yield* TestConsole.errorLines).toEqual([])
          const manifest = yield* readJson(path.join(out, "manifest.json"))
          expect(manifest.config.algo).toBe(algo)
          expect(manifest.recipe.name).toBe(algo)
          expect(manifest.recipe._tag).toBe(tag)
          check(manifest.recipe)
          const lines = yield* readLines(path.join(out, "metrics.jsonl"))
          expect(lines).toHaveLength(1)
          for (const key of familyKeys[tag]) expect(lines[0]).toHaveProperty(key)
          for (const key of familyKeys[tag === "FirstOrder" ? "NaturalGradient" : "FirstOrder"]) expect(lines[0]).not.toHaveProperty(key)
          expect((yield* fs.readDirectory(out)).sort()).toEqual(["checkpoints", "complete.json", "manifest.json", "metrics.jsonl", "policy.json", "value.json"])
        }).pipe(Effect.provide(environment)), 60_000)
    }

    it.effect("--set step.maxKl=0.02 (and a second --set) appears in manifest.json's recipe and in set", () =>
      Effect.gen(function*() {
        const { path, out } = yield* scratch
        yield* run("train", "--steps", "1", "--set", "step.maxKl=0.02", "--set", "numEnvs=1", "--out", out, "--quiet")
        const manifest = yield* readJson(path.join(out, "manifest.json"))
        expect(manifest.config.set).toEqual([["step.maxKl", "0.02"], ["numEnvs", "1"]])
        // TRPO's CartPole step with δ replaced, the rest as tuned.
        expect(manifest.recipe.step).toEqual({ _tag: "BacktrackingLineSearch", maxKl: 0.02, backtrackRatio: 0.8, maxBacktracks: 10, klTolerance: 1 })
        expect(manifest.recipe.numEnvs).toBe(1)
        // One env × 512 steps per iteration.
        expect((yield* readLines(path.join(out, "metrics.jsonl"))).map((l) => l.steps)).toEqual([512])
      }).pipe(Effect.provide(environment)), 60_000)

    const badSets: ReadonlyArray<readonly [ReadonlyArray<string>, string, string]> = [
      [[], "step.maxkl=0.02", `trustregion: --set unknown key "step.maxkl" for trpo; keys under step: step.maxKl, step.backtrackRatio, step.maxBacktracks, step.klTolerance`],
      [[], "step.maxKl=-1", `trustregion: --set invalid value "-1" for step.maxKl (must be > 0, got -1)`],
      [[], "numEnvs=abc", `trustregion: --set invalid value "abc" for numEnvs (expected a number)`],
      [["--algo", "npg"], "step.backtrackRatio=0.5", `trustregion: --set unknown key "step.backtrackRatio" for npg; keys under step: step.maxKl`],
      [["--algo", "ppo-clip"], "advantage.lambda=1.5", `trustregion: --set invalid value "1.5" for advantage.lambda (must lie in [0, 1], got 1.5)`]
    ]
    for (const [flags, set, line] of badSets) {
      it.effect(`${[...flags, "--set", set].join(" ")}: exactly one line naming the key, nothing written`, () =>
        Effect.gen(function*() {
          const { out } = yield* scratch
          const error = yield* Effect.flip(run("train", ...flags, "--set", set, "--steps", "1", "--out", out, "--quiet"))
          expect(error._tag).toBe("UserError")
          const lines = yield* TestConsole.errorLines
          expect(lines).toHaveLength(1)
          expect(String(lines[0]).startsWith("trustregion: --set ")).toBe(true)
          expect(lines[0]).toContain(set.slice(0, set.indexOf("=")))
          expect(lines).toEqual([line])
          yield* nothingWritten(out)
        }).pipe(Effect.provide(environment)))
    }

    it.effect("--env Pendulum-v1 is accepted and trains a Gaussian policy", () =>
      Effect.gen(function*() {
        const { path, out } = yield* scratch
        yield* run("train", "--env", "Pendulum-v1", "--steps", "1", "--set", "stepsPerEnv=64", "--out", out, "--quiet")
        expect(yield* TestConsole.errorLines).toEqual([])
        const manifest = yield* readJson(path.join(out, "manifest.json"))
        expect(manifest.config).toMatchObject({ algo: "trpo", env: "Pendulum-v1" })
        expect(manifest.recipe.name).toBe("trpo")
        const policy = yield* readJson(path.join(out, "policy.json"))
        expect(policy.policy.network.sizes).toEqual([3, 64, 64, 1])
        expect(policy.policy.distribution._tag).toBe("DiagGaussian")
        // (3 + 1)·64 + (64 + 1)·64 + (64 + 1)·1 network parameters and one log-std.
        expect(policy.params).toHaveLength(256 + 4160 + 65 + 1)
        expect((yield* readLines(path.join(out, "metrics.jsonl"))).map((l) => l.steps)).toEqual([128])
      }).pipe(Effect.provide(environment)), 60_000)

    it.effect("a dense solver over its parameter limit fails with one line before anything is written", () =>
      Effect.gen(function*() {
        const { fs, out } = yield* scratch
        const error = yield* Effect.flip(run("train", "--steps", "1", "--set", `solver={"_tag":"DenseCholesky","maxParameters":100}`, "--out", out, "--quiet"))
        expect(error._tag).toBe("UserError")
        // CartPole's 4×64×64×2 policy: (4 + 1)·64 + (64 + 1)·64 + (64 + 1)·2 = 4610 parameters.
        expect(yield* TestConsole.errorLines).toEqual([
          "trustregion: the dense Fisher solve supports at most 100 parameters; this policy has 4610 — use conjugate gradient"
        ])
        expect(yield* fs.exists(out)).toBe(false)
      }).pipe(Effect.provide(environment)))

    it.effect("the same dense solver trains a policy within its limit (hidden size 8: 58 parameters)", () =>
      Effect.gen(function*() {
        const { path, out } = yield* scratch
        yield* run(
          "train", "--steps", "1", "--set", "policyHiddenSizes=8", "--set", `solver={"_tag":"DenseCholesky","maxParameters":100}`, "--set", "stepsPerEnv=64",
          "--out", out, "--quiet"
        )
        expect(yield* TestConsole.errorLines).toEqual([])
        const manifest = yield* readJson(path.join(out, "manifest.json"))
        expect(manifest.recipe.solver).toEqual({ _tag: "DenseCholesky", maxParameters: 100 })
        expect(manifest.config.set).toEqual([["policyHiddenSizes", "8"], ["solver", `{"_tag":"DenseCholesky","maxParameters":100}`], ["stepsPerEnv", "64"]])
        // (4 + 1)·8 + (8 + 1)·2 = 58.
        expect((yield* readJson(path.join(out, "policy.json"))).params).toHaveLength(58)
        expect(yield* readLines(path.join(out, "metrics.jsonl"))).toHaveLength(1)
      }).pipe(Effect.provide(environment)), 60_000)
  })
})
