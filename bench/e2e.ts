/**
 * `npm run e2e`: the learning check of issue #2, too slow for the unit tests. Trains the
 * command line's TRPO recipe for CartPole-v1 for 100 000 steps per seed and reports, per seed,
 * the first iteration whose `episodeReturnMean` (last 100 episodes) reaches 475 and the final
 * value. Exits 1 when a seed misses. Writes bench/results/e2e-<recipe>.json.
 *
 *   npm run e2e                       # seeds 0 1 2
 *   npm run e2e -- --seeds 0-9        # a range
 *   npm run e2e -- --recipe zoo       # rl-baselines3-zoo's settings instead of the tuned ones
 */
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as Train from "../src/algorithms/Train.ts"
import * as Trpo from "../src/algorithms/Trpo.ts"
import * as Registry from "../src/envs/Registry.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"

const TARGET = 475
const STEPS = 100_000
const ENV = "CartPole-v1"

const recipeName = process.argv.includes("--recipe") ? process.argv[process.argv.indexOf("--recipe") + 1] : "tuned"
if (recipeName !== "tuned" && recipeName !== "zoo") throw new Error(`--recipe must be tuned or zoo, got ${recipeName}`)
const recipe = recipeName === "zoo" ? Trpo.zoo[ENV]! : Trpo.forEnv(ENV)

const seedsArgument = process.argv[process.argv.indexOf("--seeds") + 1]
const seeds = process.argv.includes("--seeds") && seedsArgument !== undefined
  ? seedsArgument.includes("-")
    ? Array.from({ length: Number(seedsArgument.split("-")[1]) - Number(seedsArgument.split("-")[0]) + 1 }, (_, i) => Number(seedsArgument.split("-")[0]) + i)
    : seedsArgument.split(",").map(Number)
  : [0, 1, 2]

const trainSeed = (seed: number) =>
  Effect.gen(function*() {
    let first: Train.IterationReport | undefined
    let last: Train.IterationReport | undefined
    yield* Train.reports({ recipe, makeEnv: () => Registry.makeUnsafe(Registry.builtins, ENV), seed, totalSteps: STEPS }).pipe(
      Stream.runForEach((report) =>
        Effect.sync(() => {
          last = report
          // Only steps within the budget count.
          if (first === undefined && report.steps <= STEPS && (report.episodeReturnMean ?? -Infinity) >= TARGET) first = report
        })
      )
    )
    const result = {
      seed,
      reached: first !== undefined,
      firstStep: first?.steps ?? null,
      firstIteration: first?.iteration ?? null,
      finalReturnMean: last?.episodeReturnMean ?? null,
      finalSteps: last?.steps ?? null,
      wallSeconds: last?.wallSeconds ?? null
    }
    console.log(
      `seed ${String(seed).padStart(2)}  ${result.reached ? `≥ ${TARGET} at ${String(result.firstStep).padStart(6)} steps (iteration ${result.firstIteration})` : `never ≥ ${TARGET}`.padEnd(37)}  final ${result.finalReturnMean?.toFixed(1)} at ${result.finalSteps}  ${result.wallSeconds?.toFixed(1)} s`
    )
    return result
  })

const program = Effect.gen(function*() {
  console.log(`TRPO on ${ENV}, ${STEPS} steps, target episodeReturnMean ≥ ${TARGET}, recipe ${recipeName === "zoo" ? `Trpo.zoo["${ENV}"]` : `Trpo.forEnv("${ENV}")`}\n`)
  const results = yield* Effect.forEach(seeds, trainSeed)
  const missed = results.filter((r) => !r.reached).length
  console.log(`\n${results.length - missed}/${results.length} seeds reached ${TARGET} within ${STEPS} steps`)
  fs.mkdirSync(new URL("./results/", import.meta.url), { recursive: true })
  fs.writeFileSync(new URL(`./results/e2e-${recipeName}.json`, import.meta.url), `${JSON.stringify({ env: ENV, recipe: recipeName, steps: STEPS, target: TARGET, results }, null, 2)}\n`)
  if (missed > 0) process.exitCode = 1
})

await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layerWasm)))
