import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestConsole } from "effect/testing"
import * as Report from "../../src/runtime/Report.ts"
import { environment, readJson, run, scratch } from "./Support.ts"

// Two variants × two seeds, two iterations of 256 steps each: the grid in a few seconds.
const spec = {
  name: "tiny λ ablation",
  algo: "trpo",
  env: "CartPole-v1",
  steps: 512,
  seeds: [0, 1],
  checkpointEvery: 1,
  set: { numEnvs: 1, stepsPerEnv: 256, "critic.epochs": 2 },
  variants: [
    { name: "GAE λ=0.9", set: { "advantage.inner.lambda": 0.9 } },
    { name: "Monte-Carlo returns", set: { "advantage.inner": { _tag: "MonteCarlo", gamma: 0.99, baseline: false } } }
  ]
}
const runDirs = ["runs/gae-lambda=0.9/seed-0", "runs/gae-lambda=0.9/seed-1", "runs/monte-carlo-returns/seed-0", "runs/monte-carlo-returns/seed-1"]

const withoutWall = (text: string) => text.trim().split("\n").map((line) => ({ ...JSON.parse(line), wallSeconds: null }))

// summary.json with its wall times removed: everything else must not depend on the worker count.
const deterministicPart = (summary: Report.AblationSummary) =>
  summary.variants.map((v) => ({ ...v, wallSeconds: null, runs: v.runs.map((r) => ({ ...r, wallSeconds: null })) }))

// A scoped temporary directory holding `spec.json` (the value as JSON, or a string as it is).
const specDirectory = (value: unknown) =>
  Effect.gen(function*() {
    const { fs, path, dir } = yield* scratch
    const file = path.join(dir, "spec.json")
    yield* fs.writeFileString(file, typeof value === "string" ? value : JSON.stringify(value))
    return { fs, path, dir, file }
  })

describe("ablate", () => {
  it.effect("1 and 2 workers give identical runs and summaries; a rerun skips the complete runs; an interrupted run is resumed", () =>
    Effect.gen(function*() {
      const { fs, path, dir, file } = yield* specDirectory(spec)
      const one = path.join(dir, "one"), two = path.join(dir, "two")
      yield* run("ablate", file, "--out", one, "--workers", "1")
      yield* run("ablate", file, "--out", two, "--workers", "2")
      expect(yield* TestConsole.errorLines).toEqual([])

      for (const out of [one, two]) {
        expect((yield* fs.readDirectory(out)).sort()).toEqual(["report.html", "runs", "spec.json", "summary.json", "summary.md"])
      }
      for (const runDir of runDirs) {
        const a = yield* fs.readFileString(path.join(one, runDir, "metrics.jsonl"))
        const b = yield* fs.readFileString(path.join(two, runDir, "metrics.jsonl"))
        expect(withoutWall(a).map((l) => l.steps)).toEqual([256, 512])
        expect(withoutWall(b)).toEqual(withoutWall(a))
        expect(yield* fs.readFileString(path.join(two, runDir, "policy.json"))).toBe(yield* fs.readFileString(path.join(one, runDir, "policy.json")))
      }
      const summaryOne = Report.decodeSummary(yield* readJson(path.join(one, "summary.json")))
      const summaryTwo = Report.decodeSummary(yield* readJson(path.join(two, "summary.json")))
      expect(deterministicPart(summaryTwo)).toEqual(deterministicPart(summaryOne))

      // The summary's numbers recomputed from the runs' metrics, independently of Report.make.
      const finals = yield* Effect.forEach(runDirs, (runDir) =>
        Effect.map(fs.readFileString(path.join(one, runDir, "metrics.jsonl")), (text) => withoutWall(text).at(-1).episodeReturnMean as number))
      expect(summaryOne.variants.map((v) => v.name)).toEqual(["GAE λ=0.9", "Monte-Carlo returns"])
      expect(summaryOne.variants.map((v) => v.seeds)).toEqual([[0, 1], [0, 1]])
      expect(summaryOne.variants[0]!.finalReturn.mean).toBeCloseTo((finals[0]! + finals[1]!) / 2, 12)
      expect(summaryOne.variants[1]!.finalReturn.mean).toBeCloseTo((finals[2]! + finals[3]!) / 2, 12)
      for (const v of summaryOne.variants) {
        // A percentile bootstrap over two seeds lies within their range and contains the mean.
        const values = v.runs.map((r) => r.finalReturn!)
        expect(v.finalReturn.lower!).toBeGreaterThanOrEqual(Math.min(...values))
        expect(v.finalReturn.upper!).toBeLessThanOrEqual(Math.max(...values))
        expect(v.finalReturn.lower! <= v.finalReturn.mean! && v.finalReturn.mean! <= v.finalReturn.upper!).toBe(true)
      }
      expect(summaryOne.variants[1]!.changes).toEqual([`advantage.inner={"_tag":"MonteCarlo","gamma":0.99,"baseline":false}`])
      const markdown = yield* fs.readFileString(path.join(one, "summary.md"))
      expect(markdown).toContain("| GAE λ=0.9 | advantage.inner.lambda=0.9 | 2 |")
      const html = yield* fs.readFileString(path.join(one, "report.html"))
      // Readable offline: learning curves inline, nothing fetched.
      expect(html.match(/<svg/g)?.length).toBe(3)
      for (const external of ["http:", "https:", "<script", " src=", " href="]) expect(html).not.toContain(external)

      // A rerun finds every run complete and rewrites only the reports.
      const before = yield* fs.readFileString(path.join(one, runDirs[0]!, "metrics.jsonl"))
      yield* run("ablate", file, "--out", one, "--workers", "2")
      expect(yield* TestConsole.logLines).toContain("4 of 4 runs already complete; running 0")
      expect(yield* fs.readFileString(path.join(one, runDirs[0]!, "metrics.jsonl"))).toBe(before)

      // An ablation killed while one run was appending its second line (checkpoint 1 written,
      // half of line 2, nothing after): that run resumes from checkpoint 1 to the same bits.
      const victim = path.join(two, runDirs[3]!)
      const complete = yield* fs.readFileString(path.join(victim, "metrics.jsonl"))
      expect(yield* fs.readDirectory(path.join(victim, "checkpoints"))).toEqual(["it-000001.json", "it-000002.json"])
      for (const name of ["complete.json", "policy.json", "value.json", "checkpoints/it-000002.json"]) yield* fs.remove(path.join(victim, name))
      yield* fs.writeFileString(path.join(victim, "metrics.jsonl"), complete.slice(0, complete.indexOf("\n") + 20))
      yield* run("ablate", file, "--out", two, "--workers", "2")
      expect(yield* TestConsole.logLines).toContain("3 of 4 runs already complete; running 1")
      expect(withoutWall(yield* fs.readFileString(path.join(victim, "metrics.jsonl")))).toEqual(withoutWall(complete))
    }).pipe(Effect.provide(environment)), 120_000)

  const bad: ReadonlyArray<readonly [string, unknown, string]> = [
    ["not JSON", "{\"algo\": ", "is not valid JSON"],
    ["an unknown algorithm", { ...spec, algo: "sac" }, `algo: Expected "npg" | "trpo" | "ppo-penalty" | "ppo-clip"`],
    ["an unknown environment", { ...spec, env: "Hopper-v4" }, `env: Expected "CartPole-v1" | "Pendulum-v1" | "Acrobot-v1" | "MountainCar-v0" | "MountainCarContinuous-v0"`],
    ["a missing field", { ...spec, steps: undefined }, "steps: Missing key"],
    ["a wrong type", { ...spec, steps: "many" }, "steps: Expected number"],
    ["an out-of-range budget", { ...spec, steps: 0 }, "steps: Expected a value greater than 0"],
    ["repeated seeds", { ...spec, seeds: [1, 1] }, "seeds: a non-empty list of distinct seeds"],
    ["no variants", { ...spec, variants: [] }, "variants: a non-empty list of variants with distinct names"],
    ["an unknown field", { ...spec, seed: 3 }, "seed: unknown field; allowed: name, algo, env, steps, seeds, backend, checkpointEvery, set, variants"],
    ["an unknown variant field", { ...spec, variants: [{ name: "a", sets: {} }] }, "variants[0].sets: unknown field; allowed: name, set"],
    [
      "an unknown block",
      { ...spec, variants: [{ name: "a", set: { "advantage.inner": { _tag: "Td" } } }] },
      `variants[0].set["advantage.inner"] (variant "a"): invalid value "{"_tag":"Td"}" for advantage.inner (unknown block; expected one of Gae, MonteCarlo, NStep, Normalized)`
    ],
    [
      "an out-of-range value",
      { ...spec, variants: [spec.variants[0], { name: "b", set: { "advantage.inner.lambda": 2 } }] },
      `variants[1].set["advantage.inner.lambda"] (variant "b"): invalid value "2" for advantage.inner.lambda (must lie in [0, 1], got 2)`
    ],
    [
      "an unknown hyperparameter",
      { ...spec, variants: [{ name: "a", set: { "step.maxkl": 0.1 } }] },
      `variants[0].set["step.maxkl"] (variant "a"): unknown key "step.maxkl" for trpo; keys under step: step.maxKl, step.backtrackRatio, step.maxBacktracks, step.klTolerance`
    ],
    [
      "a bad shared setting",
      { ...spec, set: { numEnvs: -1 } },
      `set["numEnvs"] (variant "GAE λ=0.9"): invalid value "-1" for numEnvs`
    ],
    [
      "two variants in one directory",
      { ...spec, variants: [{ name: "λ 1" }, { name: "lambda 1" }] },
      `variants[1].name: "lambda 1" and "λ 1" share the run directory runs/lambda-1; rename one`
    ]
  ]
  for (const [what, value, message] of bad) {
    it.effect(`a spec with ${what} is rejected with one line naming the field; nothing is written`, () =>
      Effect.gen(function*() {
        const { fs, path, dir, file } = yield* specDirectory(value)
        const out = path.join(dir, "out")
        const error = yield* Effect.flip(run("ablate", file, "--out", out))
        expect(error._tag).toBe("UserError")
        const lines = yield* TestConsole.errorLines
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(`trustregion: ${file}`)
        expect(lines[0]).toContain(message)
        expect(yield* fs.exists(out)).toBe(false)
      }).pipe(Effect.provide(environment)))
  }

  it.effect("a directory holding another ablation or other files is refused and left untouched", () =>
    Effect.gen(function*() {
      const { fs, path, dir, file } = yield* specDirectory(spec)
      const other = path.join(dir, "other")
      yield* fs.makeDirectory(other)
      yield* fs.writeFileString(path.join(other, "spec.json"), "{\"name\": \"another ablation\"}\n")
      const error = yield* Effect.flip(run("ablate", file, "--out", other))
      expect(error._tag).toBe("UserError")
      expect(yield* TestConsole.errorLines).toEqual([`trustregion: ${other} holds a different ablation (its spec.json differs); choose another --out`])
      expect(yield* fs.readDirectory(other)).toEqual(["spec.json"])
      expect(yield* fs.readFileString(path.join(other, "spec.json"))).toBe("{\"name\": \"another ablation\"}\n")

      const busy = path.join(dir, "busy")
      yield* fs.makeDirectory(busy)
      yield* fs.writeFileString(path.join(busy, "notes.txt"), "mine")
      yield* Effect.flip(run("ablate", file, "--out", busy))
      expect((yield* TestConsole.errorLines).at(-1)).toBe(`trustregion: ${busy} is not empty and holds no ablation; choose another --out`)
      expect(yield* fs.readDirectory(busy)).toEqual(["notes.txt"])
    }).pipe(Effect.provide(environment)))
})

describe("plot", () => {
  it.effect("draws runs and ablations to SVG and PNG; refuses other formats, unknown metrics and non-run directories", () =>
    Effect.gen(function*() {
      const { fs, path, dir } = yield* scratch
      const a = path.join(dir, "a"), b = path.join(dir, "b")
      for (const [seed, out] of [["0", a], ["1", b]] as const) {
        yield* run("train", "--steps", "512", "--set", "numEnvs=1", "--set", "stepsPerEnv=128", "--seed", seed, "--out", out, "--quiet")
      }

      const svg = path.join(dir, "curves.svg")
      yield* run("plot", a, b, "--metric", "kl", "--out", svg, "--title", "KL per iteration")
      expect(yield* TestConsole.logLines).toContain(`wrote ${svg} (2 curves of kl)`)
      const text = yield* fs.readFileString(svg)
      expect(text.startsWith("<svg")).toBe(true)
      expect(text).toContain("KL per iteration")
      // One line per run, through its four (steps, kl) points.
      const klA = withoutWall(yield* fs.readFileString(path.join(a, "metrics.jsonl"))).map((l) => l.kl)
      expect(klA).toHaveLength(4)
      const lines = [...text.matchAll(/<path d="([^"]*)" fill="none"/g)].map((m) => m[1]!.split(" ").length)
      expect(lines).toEqual([4, 4])

      const png = path.join(dir, "curves.png")
      yield* run("plot", a, "--out", png)
      const bytes = yield* fs.readFile(png)
      expect(Array.from(bytes.slice(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])

      const failures: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [[a, "--out", path.join(dir, "x.gif")], `trustregion: --out ${path.join(dir, "x.gif")}: unknown image format; the file name must end in .svg or .png`],
        [[dir, "--out", svg], `trustregion: ${dir} holds neither a run (metrics.jsonl) nor an ablation (spec.json)`],
        [[a, "--metric", "klx", "--out", svg], `trustregion: --metric klx: no numeric values in ${a}; its keys: `]
      ]
      for (const [args, message] of failures) {
        const before = yield* fs.readFileString(svg)
        yield* Effect.flip(run("plot", ...args))
        expect((yield* TestConsole.errorLines).at(-1)).toContain(message)
        expect(yield* fs.readFileString(svg)).toBe(before)
      }
    }).pipe(Effect.provide(environment)), 60_000)
})
