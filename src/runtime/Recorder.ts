/**
 * Where iteration reports go, as a service: a human progress line on the terminal, a JSONL
 * file (one report per line), an in-memory list for tests, or several at once. The training
 * loop only produces reports; which recorders run is decided by the layer a caller provides.
 *
 * @since 0.1.0
 */
import { Console, Context, Effect, FileSystem, Layer, Ref } from "effect"
import type { IterationReport } from "../algorithms/Train.ts"

/**
 * @category models
 */
export interface RecorderShape {
  readonly record: (report: IterationReport) => Effect.Effect<void>
}

/**
 * @category services
 */
export class Recorder extends Context.Service<Recorder, RecorderShape>()("trustregion/Recorder") {}

/**
 * Records through whatever recorder the environment provides.
 *
 * @category accessors
 */
export const record = (report: IterationReport): Effect.Effect<void, never, Recorder> => Recorder.use((r) => r.record(report))

const fixed = (x: number | null, digits: number): string => (x === null || !Number.isFinite(x) ? "—" : x.toFixed(digits))

/**
 * The one-line progress summary of a report, e.g.
 * `iter   12  steps    12288  return   245.3  len  245.3  kl 0.0087  ls ok/2  cg 10 1.2e-3  vloss    12.34  ev  0.95  1.2s`.
 *
 * @category formatting
 */
export const progressLine = (r: IterationReport): string =>
  [
    `iter ${String(r.iteration).padStart(4)}`,
    `steps ${String(r.steps).padStart(8)}`,
    `return ${fixed(r.episodeReturnMean, 1).padStart(7)}`,
    `len ${fixed(r.episodeLengthMean, 1).padStart(6)}`,
    `kl ${r.kl.toFixed(4)}`,
    ...(r.cgIterations !== undefined
      ? [`ls ${r.lineSearchAccepted ? "ok" : "no"}/${r.backtracks}`, `cg ${r.cgIterations} ${(r.cgResidual ?? NaN).toExponential(1)}`]
      : []),
    ...(r.epochs !== undefined
      ? [`epochs ${r.epochs}`, ...(r.clipFraction !== undefined && r.clipFraction !== null ? [`clip ${r.clipFraction.toFixed(3)}`] : []), ...(r.beta !== undefined && r.beta > 0 ? [`beta ${r.beta.toPrecision(3)}`] : [])]
      : []),
    `vloss ${fixed(r.valueLoss, 2).padStart(8)}`,
    `ev ${fixed(r.explainedVariance, 2).padStart(5)}`,
    `${r.wallSeconds.toFixed(1)}s`
  ].join("  ")

/**
 * Prints {@link progressLine} for every report.
 *
 * @category layers
 */
export const layerTerminal: Layer.Layer<Recorder> = Layer.succeed(Recorder, Recorder.of({ record: (r) => Console.log(progressLine(r)) }))

/**
 * Discards every report (`train --quiet`, the ablation workers, tests).
 *
 * @category layers
 */
export const layerSilent: Layer.Layer<Recorder> = Layer.succeed(Recorder, Recorder.of({ record: () => Effect.void }))

/**
 * A report as one JSON line; non-finite numbers become `null`.
 *
 * @category formatting
 */
export const jsonLine = (report: IterationReport): string => `${JSON.stringify(report)}\n`

/**
 * Appends every report as one JSON line to `path`, flushing each line as it is written, so
 * a run that is killed loses at most the line being written.
 *
 * @category layers
 */
export const layerJsonl = (path: string): Layer.Layer<Recorder, never, FileSystem.FileSystem> =>
  Layer.effect(
    Recorder,
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      return Recorder.of({
        record: (report) => fs.writeFileString(path, jsonLine(report), { flag: "a" }).pipe(Effect.orDie)
      })
    })
  )

/**
 * The reports an in-memory recorder has received.
 *
 * @category services
 */
export class RecordedReports extends Context.Service<RecordedReports, { readonly get: Effect.Effect<ReadonlyArray<IterationReport>> }>()(
  "trustregion/RecordedReports"
) {}

/**
 * Keeps reports in memory; read them back through {@link RecordedReports}.
 *
 * @category layers
 */
export const layerMemory: Layer.Layer<Recorder | RecordedReports> = Layer.effectContext(
  Effect.gen(function*() {
    const ref = yield* Ref.make<ReadonlyArray<IterationReport>>([])
    return Context.make(Recorder, Recorder.of({ record: (r) => Ref.update(ref, (rs) => [...rs, r]) })).pipe(
      Context.add(RecordedReports, RecordedReports.of({ get: Ref.get(ref) }))
    )
  })
)

/**
 * Sends every report to each of the given recorders, in order.
 *
 * @category layers
 */
export const layerTee = <E, R>(...layers: ReadonlyArray<Layer.Layer<Recorder, E, R>>): Layer.Layer<Recorder, E, R> =>
  Layer.effect(
    Recorder,
    Effect.gen(function*() {
      const recorders = yield* Effect.forEach(layers, (layer) => Effect.map(Layer.build(layer), (context) => Context.get(context, Recorder)))
      return Recorder.of({ record: (report) => Effect.forEach(recorders, (r) => r.record(report), { discard: true }) })
    })
  )
