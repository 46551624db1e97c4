/**
 * `npm run e2e`: the learning checks of issues #2 and #3, too slow for the unit tests. Trains an
 * algorithm's command-line recipe per seed and reports the first iteration whose
 * `episodeReturnMean` (last 100 episodes) reaches the target within the step budget, and the
 * final value. Exits 1 when a seed misses. Writes bench/results/e2e-<algo>-<env>[-zoo].json.
 *
 *   npm run e2e                                              # TRPO, CartPole-v1, 100 000 steps, seeds 0 1 2
 *   npm run e2e -- --seeds 0-9                               # a range of seeds
 *   npm run e2e -- --algo ppo-clip                           # CartPole-v1, 200 000 steps
 *   npm run e2e -- --algo trpo --env Pendulum-v1             # 300 000 steps, target −200
 *   npm run e2e -- --recipe zoo                              # TRPO with rl-baselines3-zoo's settings
 *   npm run e2e -- --all                                     # every acceptance check of #2, #3 and #4
 */
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import type * as Recipe from "../src/algorithms/Recipe.ts"
import * as Npg from "../src/algorithms/Npg.ts"
import * as Ppo from "../src/algorithms/Ppo.ts"
import * as Train from "../src/algorithms/Train.ts"
import * as Trpo from "../src/algorithms/Trpo.ts"
import * as Registry from "../src/envs/Registry.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"

const argument = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined)

const recipes: Readonly<Record<string, (env: string) => Recipe.Recipe>> = {
  npg: Npg.forEnv,
  trpo: Trpo.forEnv,
  "ppo-penalty": Ppo.penaltyForEnv,
  "ppo-clip": Ppo.clipForEnv
}

/** The acceptance checks: target return and step budget per (algorithm, environment). */
const checks: ReadonlyArray<{ readonly algo: string; readonly env: string; readonly steps: number; readonly target: number; readonly informational?: boolean }> = [
  { algo: "trpo", env: "CartPole-v1", steps: 100_000, target: 475 },
  { algo: "npg", env: "CartPole-v1", steps: 200_000, target: 475 },
  { algo: "ppo-penalty", env: "CartPole-v1", steps: 200_000, target: 475 },
  { algo: "ppo-clip", env: "CartPole-v1", steps: 200_000, target: 475 },
  { algo: "trpo", env: "Pendulum-v1", steps: 300_000, target: -200 },
  { algo: "ppo-clip", env: "Pendulum-v1", steps: 300_000, target: -200 },
  { algo: "trpo", env: "Acrobot-v1", steps: 100_000, target: -100 },
  { algo: "trpo", env: "MountainCarContinuous-v0", steps: 100_000, target: 90 },
  // Issue #4 asks what TRPO reaches here, not for a target: reported, never failing.
  { algo: "trpo", env: "MountainCar-v0", steps: 100_000, target: -110, informational: true }
]

const parseSeeds = (text: string | undefined): ReadonlyArray<number> => {
  if (text === undefined) return [0, 1, 2]
  if (text.includes("-")) {
    const [from, to] = text.split("-").map(Number) as [number, number]
    return Array.from({ length: to - from + 1 }, (_, i) => from + i)
  }
  return text.split(",").map(Number)
}

const runCheck = (check: (typeof checks)[number], seeds: ReadonlyArray<number>, zoo: boolean) =>
  Effect.gen(function*() {
    const recipe = zoo ? Trpo.zoo[check.env]! : recipes[check.algo]!(check.env)
    console.log(`\n${check.algo} on ${check.env}${zoo ? " (zoo settings)" : ""}: ${check.steps} steps, target episodeReturnMean ≥ ${check.target}`)
    const results = yield* Effect.forEach(seeds, (seed) =>
      Effect.gen(function*() {
        let first: Train.IterationReport | undefined
        let last: Train.IterationReport | undefined
        yield* Train.reports({ recipe, makeEnv: () => Registry.makeUnsafe(Registry.builtins, check.env), seed, totalSteps: check.steps }).pipe(
          Stream.runForEach((report) =>
            Effect.sync(() => {
              last = report
              // Only steps within the budget count.
              if (first === undefined && report.steps <= check.steps && (report.episodeReturnMean ?? -Infinity) >= check.target) first = report
            })
          )
        )
        const result = {
          seed,
          reached: first !== undefined,
          firstStep: first?.steps ?? null,
          finalReturnMean: last?.episodeReturnMean ?? null,
          finalSteps: last?.steps ?? null,
          wallSeconds: last?.wallSeconds ?? null
        }
        console.log(
          `  seed ${String(seed).padStart(2)}  ${result.reached ? `≥ ${check.target} at ${String(result.firstStep).padStart(7)} steps` : `never ≥ ${check.target}`.padEnd(25)}  final ${result.finalReturnMean?.toFixed(1)} at ${result.finalSteps}  ${result.wallSeconds?.toFixed(1)} s`
        )
        return result
      }))
    const reached = results.filter((r) => r.reached).length
    console.log(`  ${reached}/${results.length} seeds reached ${check.target} within ${check.steps} steps`)
    fs.mkdirSync(new URL("./results/", import.meta.url), { recursive: true })
    fs.writeFileSync(
      new URL(`./results/e2e-${check.algo}-${check.env}${zoo ? "-zoo" : ""}.json`, import.meta.url),
      `${JSON.stringify({ ...check, recipe: zoo ? "zoo" : "tuned", results }, null, 2)}\n`
    )
    return check.informational === true || reached === results.length
  })

const program = Effect.gen(function*() {
  const seeds = parseSeeds(argument("--seeds"))
  const zoo = argument("--recipe") === "zoo"
  const env = argument("--env") ?? "CartPole-v1"
  const algo = argument("--algo") ?? "trpo"
  if (!(algo in recipes)) return yield* Effect.die(new Error(`--algo must be one of ${Object.keys(recipes).join(", ")}`))
  const selected = process.argv.includes("--all")
    ? checks
    : [checks.find((c) => c.algo === algo && c.env === env) ?? { algo, env, steps: Number(argument("--steps") ?? 200_000), target: Number(argument("--target") ?? (env === "Pendulum-v1" ? -200 : 475)) }]
  const passed = yield* Effect.forEach(selected, (check) => runCheck(check, seeds, zoo))
  if (passed.some((ok) => !ok)) process.exitCode = 1
})

await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layerWasm)))
