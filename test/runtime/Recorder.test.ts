import { NodeServices } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, FileSystem, Layer, Path } from "effect"
import { TestConsole } from "effect/testing"
import type { IterationReport } from "../../src/algorithms/Train.ts"
import * as Recorder from "../../src/runtime/Recorder.ts"

// Hand-built reports; every field is set so that a lost or renamed field shows up.
const report = (iteration: number, overrides: Partial<IterationReport> = {}): IterationReport => ({
  iteration,
  steps: 1024 * iteration,
  episodes: 3 * iteration,
  episodeReturnMean: 20 + iteration,
  episodeLengthMean: 20 + iteration,
  batchReturnMean: 21 + iteration,
  kl: 0.0087,
  entropy: 0.69,
  surrogateGain: 0.011,
  expectedImprovement: 0.012,
  backtracks: 2,
  lineSearchAccepted: true,
  stepOutcome: "accepted",
  stepSize: 0.5,
  maxStepSize: 1,
  cgIterations: 10,
  cgResidual: 0.0012,
  gradientNorm: 0.3,
  valueLoss: 12.34,
  explainedVariance: 0.95,
  wallSeconds: 1.23,
  ...overrides
})

const reports: ReadonlyArray<IterationReport> = [
  report(1),
  report(2, { episodeReturnMean: null, episodeLengthMean: null, episodes: 0, lineSearchAccepted: false, stepOutcome: "klExceeded" }),
  report(3, { valueLoss: Number.NaN, explainedVariance: Number.NEGATIVE_INFINITY, kl: 0 })
]

// What JSON gives back: non-finite numbers become null.
const jsonOf = (r: IterationReport): Record<string, unknown> =>
  Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === "number" && !Number.isFinite(v) ? null : v]))

const recordAll = (rs: ReadonlyArray<IterationReport>) => Effect.forEach(rs, Recorder.record, { discard: true })

// A test double that appends `[tag, iteration]` to a shared trace.
const tracing = (tag: string, trace: Array<readonly [string, number]>): Layer.Layer<Recorder.Recorder> =>
  Layer.succeed(Recorder.Recorder, Recorder.Recorder.of({ record: (r) => Effect.sync(() => trace.push([tag, r.iteration])) }))

const tempFile = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const dir = yield* fs.makeTempDirectoryScoped()
  return path.join(dir, "reports.jsonl")
})

const readLines = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file)
    expect(text.endsWith("\n")).toBe(true)
    return text.slice(0, -1).split("\n")
  })

describe("Recorder", () => {
  describe("layerMemory", () => {
    it.effect("keeps the reports in order, read back through RecordedReports", () =>
      Effect.gen(function*() {
        expect(yield* Recorder.RecordedReports.use((r) => r.get)).toEqual([])
        yield* recordAll(reports)
        const got = yield* Recorder.RecordedReports.use((r) => r.get)
        expect(got.map((r) => r.iteration)).toEqual([1, 2, 3])
        expect(got).toEqual(reports)
        expect(got[2]).toBe(reports[2])
      }).pipe(Effect.provide(Recorder.layerMemory)))

    it.effect("starts empty each time it is provided", () =>
      Effect.gen(function*() {
        const get = Recorder.RecordedReports.use((r) => r.get)
        const first = yield* recordAll(reports).pipe(Effect.andThen(get), Effect.provide(Recorder.layerMemory))
        expect(first).toHaveLength(3)
        expect(yield* get.pipe(Effect.provide(Recorder.layerMemory))).toEqual([])
      }))
  })

  describe("jsonLine", () => {
    it("is one JSON line that parses back to the report, non-finite numbers as null", () => {
      for (const r of reports) {
        const line = Recorder.jsonLine(r)
        expect(line.endsWith("\n")).toBe(true)
        expect(line.slice(0, -1)).not.toContain("\n")
        expect(JSON.parse(line)).toEqual(jsonOf(r))
      }
      const parsed = JSON.parse(Recorder.jsonLine(reports[2]!))
      expect(parsed.valueLoss).toBeNull()
      expect(parsed.explainedVariance).toBeNull()
      expect(parsed.kl).toBe(0)
      expect(JSON.parse(Recorder.jsonLine(reports[1]!)).episodeReturnMean).toBeNull()
    })
  })

  describe("layerJsonl", () => {
    it.effect("appends one line per report that parses back to the report (NaN → null)", () =>
      Effect.gen(function*() {
        const file = yield* tempFile
        yield* recordAll(reports.slice(0, 2)).pipe(Effect.provide(Recorder.layerJsonl(file)))
        expect((yield* readLines(file)).map((l) => JSON.parse(l))).toEqual(reports.slice(0, 2).map(jsonOf))
        // A second recorder on the same path appends rather than truncating.
        yield* recordAll(reports.slice(2)).pipe(Effect.provide(Layer.fresh(Recorder.layerJsonl(file))))
        const lines = yield* readLines(file)
        expect(lines.length).toBe(3)
        expect(lines.map((l) => JSON.parse(l))).toEqual(reports.map(jsonOf))
        expect(JSON.parse(lines[2]!).valueLoss).toBeNull()
        expect(lines).toEqual(reports.map((r) => Recorder.jsonLine(r).slice(0, -1)))
      }).pipe(Effect.provide(NodeServices.layer)))

    it.effect("writes each line as it is recorded", () =>
      Effect.gen(function*() {
        const file = yield* tempFile
        const fs = yield* FileSystem.FileSystem
        yield* Effect.gen(function*() {
          yield* Recorder.record(reports[0]!)
          expect(yield* readLines(file)).toHaveLength(1)
          yield* Recorder.record(reports[1]!)
          expect(yield* readLines(file)).toHaveLength(2)
        }).pipe(Effect.provide(Recorder.layerJsonl(file)))
        expect(yield* fs.exists(file)).toBe(true)
      }).pipe(Effect.provide(NodeServices.layer)))
  })

  describe("layerTee", () => {
    it.effect("sends every report to each recorder, in the given order", () =>
      Effect.gen(function*() {
        const trace: Array<readonly [string, number]> = []
        yield* recordAll(reports).pipe(Effect.provide(Recorder.layerTee(tracing("a", trace), tracing("b", trace))))
        expect(trace).toEqual([["a", 1], ["b", 1], ["a", 2], ["b", 2], ["a", 3], ["b", 3]])
      }))

    it.effect("tees to the JSONL file and another recorder", () =>
      Effect.gen(function*() {
        const file = yield* tempFile
        const trace: Array<readonly [string, number]> = []
        yield* recordAll(reports).pipe(Effect.provide(Recorder.layerTee(Recorder.layerJsonl(file), tracing("memory", trace))))
        expect(trace).toEqual([["memory", 1], ["memory", 2], ["memory", 3]])
        expect((yield* readLines(file)).map((l) => JSON.parse(l))).toEqual(reports.map(jsonOf))
      }).pipe(Effect.provide(NodeServices.layer)))

    it.effect("tees to an in-memory recorder built inside it", () =>
      Effect.gen(function*() {
        // The memory layer's Recorder is reached through the tee; its RecordedReports is not
        // exposed, so read the tee's recorders back by building layerMemory with the tee.
        const trace: Array<readonly [string, number]> = []
        const context = yield* Layer.build(Recorder.layerMemory)
        const memory = Layer.succeedContext(context)
        yield* recordAll(reports).pipe(Effect.provide(Recorder.layerTee(memory, tracing("b", trace))))
        expect(yield* Context.get(context, Recorder.RecordedReports).get).toEqual(reports)
        expect(trace.map(([, i]) => i)).toEqual([1, 2, 3])
      }))
  })

  describe("progressLine", () => {
    it("formats iteration, steps and return (and the other columns) with fixed widths", () => {
      // iter: padStart(4); steps: padStart(8); return/len: 1 decimal, padStart(7)/(6);
      // kl: 4 decimals; cg residual: toExponential(1); vloss: 2 decimals, padStart(8);
      // ev: 2 decimals, padStart(5); wall: 1 decimal; columns joined by two spaces.
      expect(Recorder.progressLine(report(12, { steps: 12288, episodeReturnMean: 245.34, episodeLengthMean: 245.28 }))).toBe(
        "iter   12  steps    12288  return   245.3  len  245.3  kl 0.0087  ls ok/2  cg 10 1.2e-3  vloss    12.34  ev  0.95  1.2s"
      )
    })

    it("shows — for a null return and length and for non-finite losses", () => {
      const line = Recorder.progressLine(reports[1]!)
      expect(line).toBe(
        "iter    2  steps     2048  return       —  len      —  kl 0.0087  ls no/2  cg 10 1.2e-3  vloss    12.34  ev  0.95  1.2s"
      )
      const nonFinite = Recorder.progressLine(reports[2]!)
      expect(nonFinite).toContain("vloss        —")
      expect(nonFinite).toContain("ev     —")
      expect(nonFinite).toContain("return    23.0")
    })
  })

  describe("layerTerminal", () => {
    it.effect("prints the progress line of every report", () =>
      Effect.gen(function*() {
        yield* recordAll(reports).pipe(Effect.provide(Recorder.layerTerminal))
        expect(yield* TestConsole.logLines).toEqual(reports.map(Recorder.progressLine))
      }).pipe(Effect.provide(TestConsole.layer)))
  })

  describe("layerSilent", () => {
    it.effect("accepts every report and prints nothing", () =>
      Effect.gen(function*() {
        yield* recordAll(reports).pipe(Effect.provide(Recorder.layerSilent))
        expect(yield* TestConsole.logLines).toEqual([])
        expect(yield* TestConsole.errorLines).toEqual([])
      }).pipe(Effect.provide(TestConsole.layer)))
  })
})
