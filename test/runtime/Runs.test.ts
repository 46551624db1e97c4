// Runs: a run resumed after a crash equals the uninterrupted run bit for bit (every metrics key
// but wallSeconds, the networks, the final checkpoint), replay, checkpoint fallback, evaluation;
// and the RunStore layers underneath. Crashes are simulated in process: a store that dies at a
// chosen write (a SIGKILL between or inside writes) or a recorder that hangs until the test
// interrupts the run (Ctrl-C).
import { NodeServices } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { createHash } from "node:crypto"
import { Data, Deferred, Effect, Exit, Fiber, FileSystem, Layer, Path, Result } from "effect"
import { TestConsole } from "effect/testing"
import * as Key from "../../src/algebra/Key.ts"
import type * as Algorithms from "../../src/algorithms/Algorithms.ts"
import * as Recorder from "../../src/runtime/Recorder.ts"
import * as RunStore from "../../src/runtime/RunStore.ts"
import * as Runs from "../../src/runtime/Runs.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"

// -- Small runs -----------------------------------------------------------------------------------

// 7 iterations of 64 steps with 16×16 networks and a checkpoint every 2 iterations: checkpoints
// 2, 4, 6 during the run and 7 at its end (3 kept). CartPole runs 2 envs × 32 steps (episodes
// end within an iteration); Pendulum 1 env × 64 steps, so its 200-step episodes span the
// checkpoints (the time limit, observation and reward statistics must be restored mid-episode).
const ITERATIONS = 7
const EVERY = 2
const DIR = "run"
const small = [["policyHiddenSizes", "16,16"], ["valueHiddenSizes", "16,16"]] as const

interface Case {
  readonly algo: Algorithms.Name
  readonly env: string
  readonly set: ReadonlyArray<readonly [string, string]>
}

const cases: ReadonlyArray<Case> = [
  { algo: "trpo", env: "CartPole-v1", set: [["numEnvs", "2"], ["stepsPerEnv", "32"], ...small, ["critic.epochs", "2"]] },
  { algo: "trpo", env: "Pendulum-v1", set: [["numEnvs", "1"], ["stepsPerEnv", "64"], ...small, ["critic.epochs", "2"]] },
  { algo: "ppo-clip", env: "CartPole-v1", set: [["numEnvs", "2"], ["stepsPerEnv", "32"], ...small, ["optimizer.epochs", "2"], ["optimizer.minibatchSize", "32"]] },
  { algo: "ppo-clip", env: "Pendulum-v1", set: [["numEnvs", "1"], ["stepsPerEnv", "64"], ...small, ["optimizer.epochs", "2"], ["optimizer.minibatchSize", "32"]] }
]

const configOf = (c: Case): Runs.Config => ({ algo: c.algo, env: c.env, seed: 5, steps: ITERATIONS * 64, backend: "wasm", set: c.set, checkpointEvery: EVERY })

const checkpointName = (iteration: number) => `checkpoints/it-${String(iteration).padStart(6, "0")}.json`
const FINAL_CHECKPOINT = checkpointName(ITERATIONS)

/** Every file of a run directory (the root and `checkpoints/`), by name. */
const snapshot = (dir: string) =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    const files = new Map<string, string>()
    for (const name of yield* store.list(dir)) {
      if (name === "checkpoints") continue
      files.set(name, (yield* store.read(dir, name))!)
    }
    for (const name of yield* store.list(dir, "checkpoints")) files.set(`checkpoints/${name}`, (yield* store.read(dir, `checkpoints/${name}`))!)
    return files as ReadonlyMap<string, string>
  })

const restore = (dir: string, files: ReadonlyMap<string, string>) =>
  RunStore.RunStore.use((store) => Effect.forEach(files, ([name, text]) => store.write(dir, name, text), { discard: true }))

/** Computes once, on first use, and keeps the value for the file's later tests. */
const memo = <A, E, R>(compute: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  let cached: { readonly value: A } | undefined
  return Effect.suspend(() => cached !== undefined ? Effect.succeed(cached.value) : Effect.tap(compute, (value) => Effect.sync(() => { cached = { value } })))
}

// The uninterrupted run of each case: the reference every resumed run is compared with. It is
// trained in a fresh store of its own (layers are memoized: a plain `layerMemory` here would be
// the calling test's store).
const baselines = cases.map((c) =>
  memo(Effect.gen(function*() {
    yield* Runs.train(DIR, configOf(c), { force: false })
    return yield* snapshot(DIR)
  }).pipe(Effect.provide(Layer.mergeAll(Layer.fresh(RunStore.layerMemory), Recorder.layerSilent))))
)

/**
 * The lines of metrics.jsonl with `wallSeconds` removed, re-serialised (JSON round-trips every
 * double exactly, so equal strings are equal bits); the text must end with a newline.
 */
const withoutWall = (text: string): ReadonlyArray<string> => {
  expect(text.endsWith("\n")).toBe(true)
  return text.slice(0, -1).split("\n").map((line) => {
    const { wallSeconds, ...rest } = JSON.parse(line) as Record<string, unknown>
    expect(typeof wallSeconds).toBe("number")
    return JSON.stringify(rest)
  })
}

/** The run in `dir` equals `baseline`: metrics (but wallSeconds), networks, completion, final checkpoint. */
const expectSameRun = (dir: string, baseline: ReadonlyMap<string, string>) =>
  Effect.gen(function*() {
    const store = yield* RunStore.RunStore
    const metrics = (yield* store.read(dir, "metrics.jsonl"))!
    expect(withoutWall(metrics)).toEqual(withoutWall(baseline.get("metrics.jsonl")!))
    expect((yield* Runs.readMetrics(dir)).map((l) => l.iteration)).toEqual(range(1, ITERATIONS))
    for (const name of ["policy.json", "value.json", "complete.json", FINAL_CHECKPOINT]) {
      expect(yield* store.read(dir, name), `${name} is byte-identical to the uninterrupted run's`).toBe(baseline.get(name))
    }
    expect(yield* Runs.isComplete(dir)).toBe(true)
  })

const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)

// -- Simulated crashes ------------------------------------------------------------------------------

/** The marker a simulated SIGKILL dies with. */
class Killed extends Data.TaggedError("Killed")<{ readonly at: string }> {}

interface Write {
  readonly op: "write" | "append"
  readonly name: string
  readonly text: string
}

/**
 * `inner`, except that the first write `at` picks stops the run: a kill before it ("before"),
 * a kill half-way through it ("torn": half the line appended, or half the file in `name.tmp`,
 * which is what the file-system layer's write-then-rename leaves when killed before the
 * rename), or a write that never finishes ("hang", after `onHang`) until the run is interrupted.
 */
const killingStore = (
  inner: RunStore.RunStoreShape,
  at: (write: Write) => "before" | "torn" | "hang" | undefined,
  onHang: Effect.Effect<void> = Effect.void
): RunStore.RunStoreShape => {
  let stopped = false
  const guard = (write: Write, proceed: Effect.Effect<void, RunStore.StoreError>, tear: Effect.Effect<void, RunStore.StoreError>) =>
    Effect.suspend(() => {
      const how = stopped ? undefined : at(write)
      if (how === undefined) return proceed
      stopped = true
      if (how === "hang") return onHang.pipe(Effect.andThen(Effect.never))
      return (how === "torn" ? tear : Effect.void).pipe(Effect.andThen(Effect.die(new Killed({ at: `${write.op} ${write.name}` }))))
    })
  const half = (text: string) => text.slice(0, Math.floor(text.length / 2))
  return RunStore.RunStore.of({
    ...inner,
    write: (dir, name, text) => guard({ op: "write", name, text }, inner.write(dir, name, text), inner.write(dir, `${name}.tmp`, half(text))),
    append: (dir, name, text) => guard({ op: "append", name, text }, inner.append(dir, name, text), inner.append(dir, name, half(text)))
  })
}

const isMetricsLine = (write: Write, iteration: number) =>
  write.op === "append" && write.name === "metrics.jsonl" && write.text.startsWith(`{"iteration":${iteration},`)

type Crash =
  | { readonly _tag: "Store"; readonly at: (write: Write) => "before" | "torn" | undefined }
  | { readonly _tag: "KilledAfter"; readonly iteration: number }
  | { readonly _tag: "InterruptedAfter"; readonly iteration: number }
  | { readonly _tag: "InterruptedDuring"; readonly at: (write: Write) => boolean }

/**
 * Trains `config` in `dir` of the current store until the crash, and checks that it crashed
 * the intended way.
 */
const crash = (dir: string, config: Runs.Config, how: Crash) =>
  Effect.gen(function*() {
    const inner = yield* RunStore.RunStore
    const reached = yield* Deferred.make<void>()
    const recorder = Recorder.Recorder.of({
      record: (report) => {
        if (how._tag === "KilledAfter" && report.iteration === how.iteration) return Effect.die(new Killed({ at: `after iteration ${report.iteration}` }))
        // Ctrl-C while iteration k is being reported: the run waits here until interrupted.
        if (how._tag === "InterruptedAfter" && report.iteration === how.iteration) return Deferred.succeed(reached, undefined).pipe(Effect.andThen(Effect.never))
        return Effect.void
      }
    })
    const store = how._tag === "Store"
      ? killingStore(inner, how.at)
      : how._tag === "InterruptedDuring"
      ? killingStore(inner, (w) => (how.at(w) ? "hang" : undefined), Deferred.succeed(reached, undefined))
      : inner
    const interrupted = how._tag === "InterruptedAfter" || how._tag === "InterruptedDuring"
    const fiber = yield* Runs.train(dir, config, { force: false }).pipe(
      Effect.provideService(RunStore.RunStore, store),
      Effect.provideService(Recorder.Recorder, recorder),
      Effect.forkChild
    )
    if (interrupted) {
      yield* Deferred.await(reached)
      yield* Fiber.interrupt(fiber)
    }
    const exit = yield* Effect.exit(Fiber.join(fiber))
    if (interrupted) {
      expect(Exit.hasInterrupts(exit)).toBe(true)
    } else {
      const defect = Exit.findDefect(exit)
      expect(Result.isSuccess(defect) && defect.success instanceof Killed, `the run died of the simulated kill: ${String(exit)}`).toBe(true)
    }
    expect(yield* Runs.isRun(dir)).toBe(true)
    expect(yield* Runs.isComplete(dir)).toBe(false)
  })

/** Resumes `dir` and returns the outcome and the iterations it (re)computed. */
const resumeRecording = (dir: string) =>
  Effect.gen(function*() {
    const outcome = yield* Runs.resume(dir)
    const reports = yield* (yield* Recorder.RecordedReports).get
    return { outcome, recomputed: reports.map((r) => r.iteration) }
  }).pipe(Effect.provide(Recorder.layerMemory))

/** The complete lines of metrics.jsonl and whether a torn line follows them. */
const metricsOnDisk = (dir: string) =>
  Effect.gen(function*() {
    const text = (yield* RunStore.RunStore.use((store) => store.read(dir, "metrics.jsonl"))) ?? ""
    return { iterations: (yield* Runs.readMetrics(dir)).map((l) => l.iteration), torn: text !== "" && !text.endsWith("\n") }
  })

const checkpointsOnDisk = (dir: string) => RunStore.RunStore.use((store) => store.list(dir, "checkpoints"))

// The kill iterations are drawn with the project's keys from a fixed seed: k ∈ [3, 6], one per
// case and scenario, so that a checkpoint precedes the crash and iterations follow it.
const draws = Key.make(20_240_611)
const killIteration = (caseIndex: number, scenarioIndex: number) =>
  3 + Math.floor(Key.uniform(Key.foldIn(Key.foldIn(draws, caseIndex), scenarioIndex)) * (ITERATIONS - 3))

const floorEven = (n: number) => n - (n % EVERY)
const ceilEven = (n: number) => n + ((EVERY - (n % EVERY)) % EVERY)
const FINAL_FILES = ["policy.json", "value.json", "complete.json"] as const

interface Scenario {
  /** What the crash leaves behind, for the test's name. */
  readonly what: (k: number) => string
  readonly crash: (k: number) => Crash
  /** The complete metrics lines the crash leaves, and whether half a line follows them. */
  readonly lines: (k: number) => number
  readonly torn?: boolean
  /** The checkpoint resume starts from. */
  readonly resumedFrom: (k: number) => number
  readonly fileSystem?: boolean
}

const scenarios: ReadonlyArray<Scenario> = [
  {
    what: (k) => `SIGKILL half-way through appending metrics line ${k}`,
    crash: (k) => ({ _tag: "Store", at: (w) => (isMetricsLine(w, k) ? "torn" : undefined) }),
    lines: (k) => k - 1,
    torn: true,
    resumedFrom: (k) => floorEven(k - 1)
  },
  {
    what: (k) => `SIGKILL after metrics line ${ceilEven(k)} was appended, before its checkpoint was written`,
    crash: (k) => ({ _tag: "Store", at: (w) => (w.op === "write" && w.name === checkpointName(ceilEven(k)) ? "before" : undefined) }),
    lines: (k) => ceilEven(k),
    resumedFrom: (k) => ceilEven(k) - EVERY
  },
  {
    what: (k) => `SIGKILL while writing checkpoint ${ceilEven(k)} (half of it left in its .tmp file, on disk)`,
    crash: (k) => ({ _tag: "Store", at: (w) => (w.op === "write" && w.name === checkpointName(ceilEven(k)) ? "torn" : undefined) }),
    lines: (k) => ceilEven(k),
    resumedFrom: (k) => ceilEven(k) - EVERY,
    fileSystem: true
  },
  {
    what: (k) => `SIGKILL between iterations ${k} and ${k + 1}`,
    crash: (k) => ({ _tag: "KilledAfter", iteration: k }),
    lines: (k) => k,
    resumedFrom: (k) => floorEven(k)
  },
  {
    what: (k) => `interrupted (Ctrl-C) after iteration ${k}: its checkpoint is written on the way out`,
    crash: (k) => ({ _tag: "InterruptedAfter", iteration: k }),
    lines: (k) => k,
    resumedFrom: (k) => k
  },
  {
    // The usual Ctrl-C: it lands while the next iteration runs, whose rollout has already
    // stepped the environments past iteration k's state.
    what: (k) => `interrupted (Ctrl-C) during iteration ${k + 1}, while its metrics line is written: the checkpoint of iteration ${k} is written on the way out`,
    crash: (k) => ({ _tag: "InterruptedDuring", at: (w) => isMetricsLine(w, k + 1) }),
    lines: (k) => k,
    resumedFrom: (k) => k
  },
  {
    what: (k) => `SIGKILL after the last iteration, writing ${FINAL_FILES[k % 3]}`,
    crash: (k) => ({ _tag: "Store", at: (w) => (w.op === "write" && w.name === FINAL_FILES[k % 3] ? "before" : undefined) }),
    lines: () => ITERATIONS,
    resumedFrom: () => ITERATIONS
  }
]

/** Runs `body` on a run directory in memory, or in a fresh temporary directory on disk. */
const inStore = <A, E, R>(fileSystem: boolean, body: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    if (!fileSystem) return yield* body(DIR).pipe(Effect.provide(RunStore.layerMemory))
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = path.join(yield* fs.makeTempDirectoryScoped(), DIR)
    return yield* body(dir).pipe(Effect.provide(RunStore.layerFileSystem))
  }).pipe(Effect.provide(NodeServices.layer))

/** A one-ulp change: the nearest double above `x` (in magnitude). */
const adjacent = (x: number): number => {
  const view = new DataView(new ArrayBuffer(8))
  view.setFloat64(0, x)
  view.setBigUint64(0, view.getBigUint64(0) + 1n)
  return view.getFloat64(0)
}

/** metrics.jsonl with `f` applied to the line of `iteration`. */
const editLine = (dir: string, iteration: number, f: (line: Record<string, unknown>) => Record<string, unknown>) =>
  RunStore.RunStore.use((store) =>
    Effect.gen(function*() {
      const lines = (yield* store.read(dir, "metrics.jsonl"))!.split("\n")
      const index = lines.findIndex((line) => line.startsWith(`{"iteration":${iteration},`))
      expect(index).toBe(iteration - 1)
      lines[index] = JSON.stringify(f(JSON.parse(lines[index]!)))
      yield* store.write(dir, "metrics.jsonl", lines.join("\n"))
    })
  )

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex")

/** A checkpoint with its state replaced by `f(state)` and a correct checksum for it. */
const rewriteState = (text: string, f: (state: Record<string, unknown>) => Record<string, unknown>) => {
  const parsed = JSON.parse(text) as { format: string; keyFormat: string; iteration: number; state: Record<string, unknown> }
  const body = JSON.stringify(f(parsed.state))
  return `{"format":${JSON.stringify(parsed.format)},"keyFormat":${JSON.stringify(parsed.keyFormat)},"iteration":${parsed.iteration},"sha256":"${sha256(body)}","state":${body}}\n`
}

layer(TensorBackend.layerWasm)("Runs", (it) => {
  describe("resume", () => {
    cases.forEach((c, caseIndex) => {
      scenarios.forEach((scenario, scenarioIndex) => {
        const k = killIteration(caseIndex, scenarioIndex)
        const from = scenario.resumedFrom(k)
        it.effect(`${c.algo} ${c.env}: ${scenario.what(k)} (k = ${k} drawn from the seeded key); resume from checkpoint ${from} equals the uninterrupted run`, () =>
          inStore(scenario.fileSystem === true, (dir) =>
            Effect.gen(function*() {
              const baseline = yield* baselines[caseIndex]!
              yield* crash(dir, configOf(c), scenario.crash(k))

              // What the crash left: the complete lines, a torn one, the checkpoints.
              expect(yield* metricsOnDisk(dir)).toEqual({ iterations: range(1, scenario.lines(k)), torn: scenario.torn === true })
              const checkpoints = yield* checkpointsOnDisk(dir)
              expect(checkpoints.filter((n) => n.endsWith(".json")).at(-1)).toBe(checkpointName(from).slice("checkpoints/".length))
              if (scenario.fileSystem === true) expect(checkpoints).toContain(`${checkpointName(ceilEven(k)).slice("checkpoints/".length)}.tmp`)

              const { outcome, recomputed } = yield* resumeRecording(dir)
              expect(outcome).toEqual({ resumedFrom: from, alreadyComplete: false })
              // Every iteration after the checkpoint is computed again, including lines already on disk.
              expect(recomputed).toEqual(range(from + 1, ITERATIONS))
              yield* expectSameRun(dir, baseline)
              // On disk, the next write of that checkpoint replaced the stale .tmp.
              expect((yield* checkpointsOnDisk(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([])
            })))
      })
    })

    it.effect("a finished run is left as it is", () =>
      Effect.gen(function*() {
        const baseline = yield* baselines[0]!
        yield* restore(DIR, baseline)
        const { outcome, recomputed } = yield* resumeRecording(DIR)
        expect(outcome).toEqual({ resumedFrom: undefined, alreadyComplete: true })
        expect(recomputed).toEqual([])
        expect(yield* snapshot(DIR)).toEqual(baseline)
      }).pipe(Effect.provide(RunStore.layerMemory)))
  })

  describe("latestCheckpoint", () => {
    // Killed between iterations 6 and 7: lines 1–6 and checkpoints 2, 4 and 6 on disk.
    const killedAfter6 = memo(Effect.gen(function*() {
      yield* crash(DIR, configOf(cases[0]!), { _tag: "KilledAfter", iteration: 6 })
      return yield* snapshot(DIR)
    }).pipe(Effect.provide(Layer.fresh(RunStore.layerMemory))))
    const name = (iteration: number) => `${DIR}/${checkpointName(iteration)}`
    const truncate = (text: string) => text.slice(0, Math.floor(text.length / 2))
    // One byte of the state's JSON changed (a digit after the middle of the file, to its neighbour).
    const flipByte = (text: string) => {
      const at = text.slice(text.length >> 1).search(/[0-9]/) + (text.length >> 1)
      return `${text.slice(0, at)}${String.fromCharCode(text.charCodeAt(at) ^ 1)}${text.slice(at + 1)}`
    }
    const variants: ReadonlyArray<{
      readonly what: string
      readonly corrupt: (files: Map<string, string>) => void
      readonly skipped: (files: ReadonlyMap<string, string>) => ReadonlyArray<string | RegExp>
      readonly from: number | undefined
    }> = [
      {
        what: "a truncated newest checkpoint",
        corrupt: (files) => void files.set(checkpointName(6), truncate(files.get(checkpointName(6))!)),
        skipped: () => [`${name(6)}: not a complete checkpoint`],
        from: 4
      },
      {
        what: "a newest checkpoint with one byte flipped (checksum mismatch)",
        corrupt: (files) => void files.set(checkpointName(6), flipByte(files.get(checkpointName(6))!)),
        skipped: () => [`${name(6)}: checksum mismatch (the file is corrupt)`],
        from: 4
      },
      {
        what: "a newest checkpoint with a valid checksum but the wrong schema",
        corrupt: (files) => void files.set(checkpointName(6), rewriteState(files.get(checkpointName(6))!, (state) => ({ ...state, policyParams: "corrupt" }))),
        skipped: () => [new RegExp(`^${name(6)}: .*\\["policyParams"\\]`)],
        from: 4
      },
      {
        what: "a newest checkpoint with a valid checksum and schema that does not fit the run (one parameter short)",
        corrupt: (files) =>
          void files.set(checkpointName(6), rewriteState(files.get(checkpointName(6))!, (state) => ({ ...state, policyParams: (state.policyParams as Array<number>).slice(1) }))),
        skipped: (files) => {
          const n = (JSON.parse(files.get(checkpointName(6))!).state.policyParams as Array<number>).length
          return [`${name(6)}: does not fit the run: checkpoint policyParams has ${n - 1} numbers, the run needs ${n}`]
        },
        from: 4
      },
      {
        what: "a newest checkpoint written with another key format",
        corrupt: (files) => void files.set(checkpointName(6), files.get(checkpointName(6))!.replace(`"keyFormat":"${Key.format}"`, `"keyFormat":"philox4x32/v0"`)),
        skipped: () => [`${name(6)}: key format "philox4x32/v0", this version uses ${Key.format}`],
        from: 4
      },
      {
        what: "a newest checkpoint past the end of metrics.jsonl (its line 6 lost: a damaged directory, not a crash)",
        corrupt: (files) => void files.set("metrics.jsonl", files.get("metrics.jsonl")!.split("\n").slice(0, 5).join("\n") + "\n"),
        skipped: () => [`${name(6)}: metrics.jsonl ends at iteration 5`],
        from: 4
      },
      {
        what: "the two newest checkpoints corrupt (truncated, flipped byte)",
        corrupt: (files) => {
          files.set(checkpointName(6), truncate(files.get(checkpointName(6))!))
          files.set(checkpointName(4), flipByte(files.get(checkpointName(4))!))
        },
        skipped: () => [`${name(6)}: not a complete checkpoint`, `${name(4)}: checksum mismatch (the file is corrupt)`],
        from: 2
      },
      {
        what: "no usable checkpoint at all (every one truncated)",
        corrupt: (files) => {
          for (const i of [2, 4, 6]) files.set(checkpointName(i), truncate(files.get(checkpointName(i))!))
        },
        skipped: () => [6, 4, 2].map((i) => `${name(i)}: not a complete checkpoint`),
        from: undefined
      }
    ]
    for (const variant of variants) {
      it.effect(`${variant.what}: resume starts ${variant.from === undefined ? "over" : `from checkpoint ${variant.from}`} and ends identical to the uninterrupted run`, () =>
        Effect.gen(function*() {
          const baseline = yield* baselines[0]!
          const files = new Map(yield* killedAfter6)
          expect([...files.keys()].filter((n) => n.startsWith("checkpoints/"))).toEqual([2, 4, 6].map(checkpointName))
          const skipped = variant.skipped(files)
          variant.corrupt(files)
          yield* restore(DIR, files)

          // The console is shared by the tests of this block: only this test's lines count.
          const before = (yield* TestConsole.errorLines).length
          const { outcome, recomputed } = yield* resumeRecording(DIR)
          expect(outcome).toEqual({ resumedFrom: variant.from, alreadyComplete: false })
          expect(recomputed).toEqual(range((variant.from ?? 0) + 1, ITERATIONS))
          const errors = (yield* TestConsole.errorLines).slice(before)
          expect(errors).toHaveLength(skipped.length)
          skipped.forEach((line, i) =>
            typeof line === "string"
              ? expect(errors[i]).toBe(`trustregion: skipping checkpoint ${line}`)
              : expect(String(errors[i]).replace(/^trustregion: skipping checkpoint /, "")).toMatch(line))
          yield* expectSameRun(DIR, baseline)
        }).pipe(Effect.provide(RunStore.layerMemory)))
    }
  })

  describe("replay", () => {
    const replayOf = (edit: Effect.Effect<void, RunStore.StoreError, RunStore.RunStore>) =>
      Effect.gen(function*() {
        yield* restore(DIR, yield* baselines[0]!)
        yield* edit
        return yield* Runs.replay(DIR)
      }).pipe(Effect.provide(RunStore.layerMemory))
    const klOf = (iteration: number) =>
      Effect.map(baselines[0]!, (files) => JSON.parse(files.get("metrics.jsonl")!.split("\n")[iteration - 1]!).kl as number)

    it.effect("an untouched run is identical, every iteration compared", () =>
      Effect.gen(function*() {
        expect(yield* replayOf(Effect.void)).toEqual({ _tag: "Identical", iterations: ITERATIONS })
      }))

    it.effect("kl of iteration 2 changed by one ulp: differs at iteration 2, key kl, with both values", () =>
      Effect.gen(function*() {
        const kl = yield* klOf(2)
        const result = yield* replayOf(editLine(DIR, 2, (line) => ({ ...line, kl: adjacent(kl) })))
        expect(result).toEqual({ _tag: "Different", iteration: 2, key: "kl", recorded: adjacent(kl), replayed: kl })
      }))

    it.effect("iterations 2 and 3 both changed: the first difference is reported", () =>
      Effect.gen(function*() {
        const kl2 = yield* klOf(2), kl3 = yield* klOf(3)
        const result = yield* replayOf(Effect.andThen(
          editLine(DIR, 2, (line) => ({ ...line, kl: adjacent(kl2) })),
          editLine(DIR, 3, (line) => ({ ...line, kl: adjacent(kl3) }))
        ))
        expect(result).toEqual({ _tag: "Different", iteration: 2, key: "kl", recorded: adjacent(kl2), replayed: kl2 })
      }))

    it.effect("a key missing from the last line differs at that key; a changed wallSeconds does not count", () =>
      Effect.gen(function*() {
        const missing = yield* replayOf(editLine(DIR, ITERATIONS, ({ entropy: _, ...rest }) => rest))
        expect(missing).toMatchObject({ _tag: "Different", iteration: ITERATIONS, key: "entropy", recorded: undefined })
        expect(typeof (missing as { readonly replayed: unknown }).replayed).toBe("number")
        const wall = yield* replayOf(editLine(DIR, 3, (line) => ({ ...line, wallSeconds: 1234.5 })))
        expect(wall).toEqual({ _tag: "Identical", iterations: ITERATIONS })
      }))
  })

  describe("evaluate", () => {
    const evaluateIn = (files: ReadonlyMap<string, string>, options: { readonly episodes: number; readonly deterministic: boolean; readonly seed: number }) =>
      Effect.gen(function*() {
        yield* restore(DIR, files)
        return yield* Runs.evaluate(DIR, options)
      }).pipe(Effect.provide(Layer.fresh(RunStore.layerMemory)))
    const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length

    it.effect("deterministic evaluation is reproducible: the same returns twice", () =>
      Effect.gen(function*() {
        const files = yield* baselines[0]!
        const a = yield* evaluateIn(files, { episodes: 3, deterministic: true, seed: 0 })
        const b = yield* evaluateIn(files, { episodes: 3, deterministic: true, seed: 0 })
        expect(b).toEqual(a)
        expect(a.returns).toHaveLength(3)
        // CartPole pays 1 per step for at most 500 steps.
        for (const r of a.returns) expect(Number.isInteger(r) && r >= 1 && r <= 500).toBe(true)
        expect(a.mean).toBeCloseTo(mean(a.returns), 12)
        expect(a.std).toBeCloseTo(Math.sqrt(mean(a.returns.map((r) => (r - a.mean) ** 2))), 12)
      }))

    it.effect("sampled evaluation: the same seed repeats, different seeds differ", () =>
      Effect.gen(function*() {
        const files = yield* baselines[1]!
        const a = yield* evaluateIn(files, { episodes: 2, deterministic: false, seed: 1 })
        const again = yield* evaluateIn(files, { episodes: 2, deterministic: false, seed: 1 })
        const b = yield* evaluateIn(files, { episodes: 2, deterministic: false, seed: 2 })
        expect(again).toEqual(a)
        // Pendulum: 200 steps, each reward in [−(π² + 0.1·8² + 0.001·2²), 0].
        for (const r of [...a.returns, ...b.returns]) expect(r <= 0 && r >= -200 * (Math.PI ** 2 + 6.4 + 0.004)).toBe(true)
        expect(b.returns[0]).not.toBe(a.returns[0])
        expect(b.returns[1]).not.toBe(a.returns[1])
      }))

    it.effect("a run without policy.json, or a directory without a run, is a RunError with one line", () =>
      Effect.gen(function*() {
        const files = new Map(yield* baselines[0]!)
        files.delete("policy.json")
        const unfinished = yield* Effect.flip(evaluateIn(files, { episodes: 1, deterministic: true, seed: 0 }))
        expect(unfinished).toBeInstanceOf(Runs.RunError)
        expect(unfinished.message).toBe(`${DIR} has no policy.json (the run has not finished; resume it first)`)
        const none = yield* Effect.flip(evaluateIn(new Map(), { episodes: 1, deterministic: true, seed: 0 }))
        expect(none.message).toBe(`${DIR} is not a run directory (no manifest.json)`)
      }))
  })

  describe("train", () => {
    it.effect("refuses a directory that holds a run and leaves every file as it was", () =>
      Effect.gen(function*() {
        const baseline = yield* baselines[0]!
        yield* restore(DIR, baseline)
        const error = yield* Effect.flip(Runs.train(DIR, configOf(cases[1]!), { force: false }).pipe(Effect.provide(Recorder.layerSilent)))
        expect(error).toBeInstanceOf(Runs.RunExistsError)
        expect(error.message).toBe(`${DIR} already holds a run; pass --force to overwrite it, --resume to continue it, or choose another --out`)
        expect(yield* snapshot(DIR)).toEqual(baseline)
      }).pipe(Effect.provide(RunStore.layerMemory)))
  })
})

describe("RunStore", () => {
  const layers: ReadonlyArray<readonly [string, boolean]> = [["layerMemory", false], ["layerFileSystem", true]]
  for (const [layerName, fileSystem] of layers) {
    describe(layerName, () => {
      const withStore = <A, E>(body: (store: RunStore.RunStoreShape, dir: string) => Effect.Effect<A, E, FileSystem.FileSystem | Path.Path>) =>
        inStore(fileSystem, (dir) => RunStore.RunStore.use((store) => body(store, dir)))
      /** On disk, the files actually in `dir/sub`; in memory, what the store lists. */
      const onDisk = (store: RunStore.RunStoreShape, dir: string, sub = "") =>
        fileSystem
          ? FileSystem.FileSystem.use((fs) => Effect.map(fs.readDirectory(sub === "" ? dir : `${dir}/${sub}`), (names) => [...names].sort()))
          : store.list(dir, sub)

      it.effect("a missing file reads as undefined; a missing directory does not exist and lists nothing", () =>
        withStore((store, dir) =>
          Effect.gen(function*() {
            expect(yield* store.read(dir, "metrics.jsonl")).toBeUndefined()
            expect(yield* store.exists(dir)).toBe(false)
            expect(yield* store.exists(dir, "metrics.jsonl")).toBe(false)
            expect(yield* store.list(dir)).toEqual([])
            expect(yield* store.list(dir, "checkpoints")).toEqual([])
            yield* store.remove(dir, "checkpoints")
            expect(yield* store.exists(dir)).toBe(false)
          })))

      it.effect("write creates parents, replaces the content, and leaves no .tmp (also over one a crash left)", () =>
        withStore((store, dir) =>
          Effect.gen(function*() {
            yield* store.write(dir, "checkpoints/it-000002.json", "first\n")
            expect(yield* store.read(dir, "checkpoints/it-000002.json")).toBe("first\n")
            yield* store.write(dir, "checkpoints/it-000002.json", "second")
            expect(yield* store.read(dir, "checkpoints/it-000002.json")).toBe("second")
            expect(yield* onDisk(store, dir, "checkpoints")).toEqual(["it-000002.json"])
            // A crashed write's leftover: the next write goes through it and renames it away.
            yield* store.write(dir, "manifest.json.tmp", "{\"half")
            yield* store.write(dir, "manifest.json", "{}\n")
            expect(yield* store.read(dir, "manifest.json")).toBe("{}\n")
            expect(yield* onDisk(store, dir)).toEqual(fileSystem ? ["checkpoints", "manifest.json"] : ["checkpoints", "manifest.json", "manifest.json.tmp"])
            yield* store.write(dir, "empty", "")
            expect(yield* store.read(dir, "empty")).toBe("")
          })))

      it.effect("append creates the file and adds to its end", () =>
        withStore((store, dir) =>
          Effect.gen(function*() {
            yield* store.append(dir, "metrics.jsonl", `{"iteration":1}\n`)
            yield* store.append(dir, "metrics.jsonl", `{"iteration":2}\n`)
            yield* store.append(dir, "logs/a.txt", "x")
            expect(yield* store.read(dir, "metrics.jsonl")).toBe(`{"iteration":1}\n{"iteration":2}\n`)
            expect(yield* store.read(dir, "logs/a.txt")).toBe("x")
            yield* store.write(dir, "metrics.jsonl", "")
            yield* store.append(dir, "metrics.jsonl", "y")
            expect(yield* store.read(dir, "metrics.jsonl")).toBe("y")
          })))

      it.effect("list is sorted and one level deep; exists knows files, directories and the run directory, not name prefixes", () =>
        withStore((store, dir) =>
          Effect.gen(function*() {
            for (const name of ["value.json", "checkpoints/it-000004.json", "checkpoints/it-000002.json", "complete.json", "checkpoints/old/x"]) yield* store.write(dir, name, name)
            yield* store.write(`${dir}-other`, "a.json", "other run")
            expect(yield* store.list(dir)).toEqual(["checkpoints", "complete.json", "value.json"])
            expect(yield* store.list(dir, "checkpoints")).toEqual(["it-000002.json", "it-000004.json", "old"])
            expect(yield* store.exists(dir)).toBe(true)
            expect(yield* store.exists(dir, "checkpoints")).toBe(true)
            expect(yield* store.exists(dir, "checkpoints/it-000004.json")).toBe(true)
            expect(yield* store.exists(dir, "checkpoints/it-00000")).toBe(false)
            expect(yield* store.exists(dir, "value")).toBe(false)
            expect(yield* store.exists(dir, "a.json")).toBe(false)
          })))

      it.effect("remove deletes a file, or a directory with everything under it, and ignores what is absent", () =>
        withStore((store, dir) =>
          Effect.gen(function*() {
            for (const name of ["metrics.jsonl", "checkpoints/it-000002.json", "checkpoints/old/x", "checkpoints-notes.txt"]) yield* store.write(dir, name, name)
            yield* store.remove(dir, "metrics.jsonl")
            expect(yield* store.read(dir, "metrics.jsonl")).toBeUndefined()
            expect(yield* store.exists(dir, "metrics.jsonl")).toBe(false)
            yield* store.remove(dir, "checkpoints")
            expect(yield* store.exists(dir, "checkpoints")).toBe(false)
            expect(yield* store.exists(dir, "checkpoints/old/x")).toBe(false)
            expect(yield* store.list(dir, "checkpoints")).toEqual([])
            expect(yield* store.list(dir)).toEqual(["checkpoints-notes.txt"])
            yield* store.remove(dir, "checkpoints")
            yield* store.remove(dir, "nothing/here")
            expect(yield* store.read(dir, "checkpoints-notes.txt")).toBe("checkpoints-notes.txt")
          })))
    })
  }
})
