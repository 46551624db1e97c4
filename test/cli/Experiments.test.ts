// The command line as a user runs it, in real processes: a run killed with SIGKILL (or stopped
// with Ctrl-C) after a seeded-random number of iterations and resumed with `train --resume`
// equals the uninterrupted run; `replay` on an untouched and on a perturbed run; `train` into a
// directory that already holds a run. The uninterrupted runs are trained in this process, through
// the same command, before any child starts (training blocks the event loop that watches the
// children); the tests then run concurrently, their processes sharing the cores.
import { describe, expect, layer } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { Context, Effect, FileSystem, Layer, Path } from "effect"
import * as Key from "../../src/algebra/Key.ts"
import { environment, run, scratch } from "./Support.ts"

const root = fileURLToPath(new URL("../..", import.meta.url))
const bin = fileURLToPath(new URL("../../bin/trustregion.js", import.meta.url))

// 24 iterations of 64 steps with 16×16 networks, a checkpoint every 2. A signal sent on the
// k-th progress line (k ≤ 7) lands mid-run: 17 iterations, some 0.5 s, would still follow.
const ITERATIONS = 24
const common = [
  "--seed", "3", "--steps", String(ITERATIONS * 64), "--set", "numEnvs=1", "--set", "stepsPerEnv=64",
  "--set", "policyHiddenSizes=16,16", "--set", "valueHiddenSizes=16,16", "--checkpoint-every", "2"
]
const trpoCartPole = ["--algo", "trpo", "--env", "CartPole-v1", ...common]
const ppoPendulum = ["--algo", "ppo-clip", "--env", "Pendulum-v1", ...common, "--set", "optimizer.minibatchSize=32"]

interface Outcome {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs `trustregion ...args` with this process's Node (Node 24 under npm) and collects its
 * output; `onLine` sees every stdout line as it arrives, with the child to signal.
 */
const cli = (args: ReadonlyArray<string>, onLine?: (line: string, child: ChildProcess) => void) =>
  Effect.callback<Outcome>((resume) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = "", stderr = "", pending = ""
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      pending += chunk
      for (let end = pending.indexOf("\n"); end >= 0; end = pending.indexOf("\n")) {
        const line = pending.slice(0, end)
        pending = pending.slice(end + 1)
        onLine?.(line, child)
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk))
    child.on("error", (error) => resume(Effect.die(error)))
    child.on("close", (code, signal) => resume(Effect.succeed({ code, signal, stdout, stderr })))
    return Effect.sync(() => void child.kill("SIGKILL"))
  })

/** Signals the child once `k` progress lines (`iter    k ...`) have been printed. */
const signalAfter = (k: number, signal: NodeJS.Signals) => {
  let seen = 0
  return (line: string, child: ChildProcess) => {
    if (line.startsWith("iter ") && ++seen === k) child.kill(signal)
  }
}

/** Every file of a run directory (root and checkpoints/), by relative name. */
const readRun = (dir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const files = new Map<string, string>()
    for (const name of (yield* fs.readDirectory(dir)).sort()) {
      if (name === "checkpoints") {
        for (const c of (yield* fs.readDirectory(path.join(dir, name))).sort()) files.set(`checkpoints/${c}`, yield* fs.readFileString(path.join(dir, name, c)))
      } else {
        files.set(name, yield* fs.readFileString(path.join(dir, name)))
      }
    }
    return files as ReadonlyMap<string, string>
  })

const writeRun = (dir: string, files: ReadonlyMap<string, string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    yield* fs.makeDirectory(path.join(dir, "checkpoints"), { recursive: true })
    for (const [name, text] of files) yield* fs.writeFileString(path.join(dir, name), text)
  })

/** The complete metrics lines without wallSeconds (re-serialised: equal strings are equal bits). */
const withoutWall = (text: string): ReadonlyArray<string> =>
  text.split("\n").slice(0, -1).map((line) => {
    const { wallSeconds, ...rest } = JSON.parse(line) as Record<string, unknown>
    expect(typeof wallSeconds).toBe("number")
    return JSON.stringify(rest)
  })

/** The uninterrupted run of `flags`, trained in this process through the same command. */
const uninterrupted = (flags: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const { out } = yield* scratch
    yield* run("train", ...flags, "--out", out, "--quiet")
    return yield* readRun(out)
  }))

/** The uninterrupted runs every test compares with, by config. */
class Baselines extends Context.Service<Baselines, {
  readonly trpoCartPole: ReadonlyMap<string, string>
  readonly ppoPendulum: ReadonlyMap<string, string>
}>()("test/Experiments/Baselines") {
  static readonly layer = Layer.effect(
    Baselines,
    Effect.gen(function*() {
      return Baselines.of({ trpoCartPole: yield* uninterrupted(trpoCartPole), ppoPendulum: yield* uninterrupted(ppoPendulum) })
    })
  )
}

const expectSameRun = (files: ReadonlyMap<string, string>, baseline: ReadonlyMap<string, string>) => {
  expect(withoutWall(files.get("metrics.jsonl")!)).toEqual(withoutWall(baseline.get("metrics.jsonl")!))
  expect(withoutWall(files.get("metrics.jsonl")!)).toHaveLength(ITERATIONS)
  for (const name of ["policy.json", "value.json", "complete.json"]) expect(files.get(name), `${name} is byte-identical`).toBe(baseline.get(name))
}

const checkpointIterations = (files: ReadonlyMap<string, string>) =>
  [...files.keys()].flatMap((name) => {
    const match = /^checkpoints\/it-(\d{6})\.json$/.exec(name)
    return match === null ? [] : [Number(match[1])]
  })

// Kill points are drawn with the project's keys from a fixed seed: k ∈ {3, 5, 7}. Checkpoints
// precede the kill, at least 7 iterations would have followed it, and k is odd, so iteration k
// has no scheduled checkpoint: after SIGKILL, resume recomputes it from k − 1; after SIGINT, its
// checkpoint is the one written on the way out.
const draws = Key.make(7_031_977)
const killAfter = (test: number) => 3 + 2 * Math.floor(Key.uniform(Key.foldIn(draws, test)) * 3)

const nodeMajor = Number(process.versions.node.split(".")[0])

layer(Layer.provideMerge(Baselines.layer, environment), { concurrent: true })("Experiments", (it) => {
  it("runs the CLI with a Node that strips types (the devDependency's Node 24 under npm)", () => {
    expect(nodeMajor, `process.execPath ${process.execPath} is Node ${process.versions.node}; run the tests through npm/npx`).toBeGreaterThanOrEqual(22)
  })

  describe("train --resume after SIGKILL", () => {
    const cases = [
      { name: "trpo CartPole-v1 (discrete)", flags: trpoCartPole, baseline: "trpoCartPole", k: killAfter(0) },
      { name: "ppo-clip Pendulum-v1 (continuous)", flags: ppoPendulum, baseline: "ppoPendulum", k: killAfter(1) }
    ] as const
    for (const c of cases) {
      it.effect(`${c.name}: SIGKILL after k = ${c.k} iterations (seeded draw), then train --resume: metrics.jsonl, policy.json and value.json equal the uninterrupted run's`, () =>
        Effect.gen(function*() {
          const baseline = (yield* Baselines)[c.baseline]
          const { out } = yield* scratch

          const killed = yield* cli(["train", ...c.flags, "--out", out], signalAfter(c.k, "SIGKILL"))
          expect(killed, killed.stderr).toMatchObject({ code: null, signal: "SIGKILL" })
          const left = yield* readRun(out)
          const lines = withoutWall(left.get("metrics.jsonl")!)
          // Killed mid-run: at least k lines, not all of them, no networks, not complete.
          expect(lines.length).toBeGreaterThanOrEqual(c.k)
          expect(lines.length).toBeLessThan(ITERATIONS)
          expect(lines).toEqual(withoutWall(baseline.get("metrics.jsonl")!).slice(0, lines.length))
          for (const name of ["complete.json", "policy.json", "value.json"]) expect(left.has(name)).toBe(false)
          const checkpoints = checkpointIterations(left)
          expect(checkpoints.length).toBeGreaterThan(0)
          expect(Math.max(...checkpoints)).toBeLessThanOrEqual(lines.length)

          const resumed = yield* cli(["train", "--resume", out, "--quiet"])
          expect(resumed, resumed.stderr).toMatchObject({ code: 0, signal: null, stderr: "" })
          expectSameRun(yield* readRun(out), baseline)
        }))
    }
  })

  describe("train --resume after SIGINT", () => {
    const k = killAfter(2)
    it.effect(`trpo CartPole-v1: SIGINT after k = ${k} iterations exits with 130 and a checkpoint of the last finished iteration; train --resume ends identical`, () =>
      Effect.gen(function*() {
        const { trpoCartPole: baseline } = yield* Baselines
        const { out } = yield* scratch

        const stopped = yield* cli(["train", ...trpoCartPole, "--out", out], signalAfter(k, "SIGINT"))
        expect(stopped, stopped.stderr).toMatchObject({ code: 130, signal: null })
        // The last finished iteration is the last one reported: its progress line is printed
        // after its metrics line and its scheduled checkpoint are written.
        const last = Number(/^iter +(\d+) /m.exec(stopped.stdout.split("\n").filter((l) => l.startsWith("iter ")).at(-1) ?? "")?.[1])
        expect(last).toBeGreaterThanOrEqual(k)
        expect(last).toBeLessThan(ITERATIONS)
        const left = yield* readRun(out)
        expect(left.has("complete.json")).toBe(false)
        // Its metrics line is on disk (the next one may be too, if the signal came while it was written).
        const lines = withoutWall(left.get("metrics.jsonl")!)
        expect([last, last + 1]).toContain(lines.length)
        expect(lines).toEqual(withoutWall(baseline.get("metrics.jsonl")!).slice(0, lines.length))
        // Its checkpoint is the newest, written on the way out (k is odd: none was due).
        const checkpoint = left.get(`checkpoints/it-${String(last).padStart(6, "0")}.json`)
        expect(checkpoint, `checkpoint of iteration ${last}`).toBeDefined()
        expect(checkpoint!.startsWith(`{"format":"trustregion-checkpoint/v1","keyFormat":"${Key.format}","iteration":${last},"sha256":"`)).toBe(true)
        expect(Math.max(...checkpointIterations(left))).toBe(last)

        const resumed = yield* cli(["train", "--resume", out, "--quiet"])
        expect(resumed, resumed.stderr).toMatchObject({ code: 0, signal: null, stderr: "" })
        expectSameRun(yield* readRun(out), baseline)
      }))
  })

  describe("replay and train on an existing run", () => {
    it.effect("replay: 0 and one line on the untouched run, 1 and one line naming iteration and key on a perturbed one; train --out without --force: 1, one line, nothing changed", () =>
      Effect.gen(function*() {
        const { trpoCartPole: baseline } = yield* Baselines
        const { fs, path, dir: tmp } = yield* scratch
        const untouched = path.join(tmp, "untouched"), perturbed = path.join(tmp, "perturbed"), existing = path.join(tmp, "existing")
        for (const dir of [untouched, perturbed, existing]) yield* writeRun(dir, baseline)

        // kl of iteration 2 moved to the adjacent double.
        const lines = baseline.get("metrics.jsonl")!.split("\n")
        const line = JSON.parse(lines[1]!) as Record<string, unknown>
        const kl = line.kl as number
        const view = new DataView(new ArrayBuffer(8))
        view.setFloat64(0, kl)
        view.setBigUint64(0, view.getBigUint64(0) + 1n)
        const changed = view.getFloat64(0)
        lines[1] = JSON.stringify({ ...line, kl: changed })
        yield* fs.writeFileString(path.join(perturbed, "metrics.jsonl"), lines.join("\n"))

        const [same, different, refused] = yield* Effect.all([
          cli(["replay", untouched]),
          cli(["replay", perturbed]),
          cli(["train", ...trpoCartPole, "--out", existing])
        ], { concurrency: "unbounded" })

        expect(same).toEqual({ code: 0, signal: null, stdout: `replay: identical (${ITERATIONS} iterations)\n`, stderr: "" })
        expect(different).toEqual({
          code: 1,
          signal: null,
          stdout: "",
          stderr: `trustregion: replay: iteration 2 differs at kl: recorded ${JSON.stringify(changed)}, replayed ${JSON.stringify(kl)}\n`
        })
        expect(refused).toEqual({
          code: 1,
          signal: null,
          stdout: "",
          stderr: `trustregion: ${existing} already holds a run; pass --force to overwrite it, --resume to continue it, or choose another --out\n`
        })
        const after = yield* readRun(existing)
        expect(after.get("metrics.jsonl"), "metrics.jsonl is byte-identical").toBe(baseline.get("metrics.jsonl"))
        expect(after).toEqual(baseline)
      }))
  })
})
