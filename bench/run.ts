/**
 * `npm run bench`: the performance figures of issue #2, measured in one process so that their
 * ratios are comparable on a shared, noisy machine. Prints a table and writes
 * bench/results/latest.json.
 *
 *   npm run bench                 # everything
 *   npm run bench -- --quick      # fewer repetitions, shorter training run
 */
import { Effect, Stream } from "effect"
import * as fs from "node:fs"
import * as ConjugateGradient from "../src/algebra/ConjugateGradient.ts"
import * as Fisher from "../src/algebra/Fisher.ts"
import * as Key from "../src/algebra/Key.ts"
import * as NaturalGradient from "../src/algorithms/NaturalGradient.ts"
import type * as Recipe from "../src/algorithms/Recipe.ts"
import * as Train from "../src/algorithms/Train.ts"
import * as Trpo from "../src/algorithms/Trpo.ts"
import * as CartPole from "../src/envs/CartPole.ts"
import * as Registry from "../src/envs/Registry.ts"
import type * as Space from "../src/envs/Space.ts"
import * as VectorEnv from "../src/envs/VectorEnv.ts"
import * as Distribution from "../src/algebra/Distribution.ts"
import * as Policy from "../src/algebra/Policy.ts"
import * as Rollout from "../src/algorithms/Rollout.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"
import { compareMs, cosine, policyGradient, type UpdateProblem, updateProblem } from "./lib/Common.ts"

const quick = process.argv.includes("--quick")
const reps = quick ? 9 : 31

const rows: Array<{ group: string; name: string; value: number; unit: string; note?: string }> = []
const row = (group: string, name: string, value: number, unit: string, note?: string) => {
  rows.push({ group, name, value, unit, ...(note === undefined ? {} : { note }) })
  console.log(`${group.padEnd(10)} ${name.padEnd(52)} ${value.toPrecision(4).padStart(10)} ${unit}${note === undefined ? "" : `  (${note})`}`)
}

// -- The policy update at batch 2048 ----------------------------------------------------------------

const benchUpdate = (p: UpdateProblem) => {
  const trpo = (overrides: Partial<Recipe.NaturalGradient>): Recipe.NaturalGradient => ({ ...Trpo.recipe, ...overrides })
  const variants: ReadonlyArray<[string, Recipe.NaturalGradient]> = [
    ["full batch, CG 10 (default)", trpo({})],
    ["Fvp on every 5th sample, CG 10", trpo({ fisher: Fisher.analytic({ damping: 0.1, subsampleEvery: 5 }) })],
    ["full batch, CG 5", trpo({ solver: ConjugateGradient.make({ maxIterations: 5 }) })]
  ]
  const times: Record<string, number> = {}
  const medians = compareMs(variants.map(([, recipe]) => () => NaturalGradient.update(recipe, p)), reps)
  const backtracks = variants.map(([, recipe]) => NaturalGradient.update(recipe, p).diagnostics.backtracks)
  variants.forEach(([name], j) => {
    times[name] = medians[j]!
    row("update", `TRPO policy update, N=2048, ${name}`, medians[j]!, "ms", `median; line search backtracks ${backtracks[j]}`)
  })

  // Costs relative to one policy-gradient evaluation (forward + objective + backward).
  const [gradientMs] = compareMs([() => policyGradient(p).linearization.dispose()], reps) as [number]
  row("fvp", "policy gradient evaluation, N=2048", gradientMs, "ms")
  const { g, linearization } = policyGradient(p)
  const problem: Fisher.Problem = { policy: p.policy, params: p.params, observations: p.observations, size: p.size, linearization }
  const v = Key.normals(Key.make(1), g.length)
  const strategies: ReadonlyArray<[string, Fisher.Strategy, number]> = [
    ["analytic JᵀMJv", Fisher.analytic(), reps],
    ["analytic JᵀMJv, every 5th sample", Fisher.analytic({ subsampleEvery: 5 }), reps],
    ["finite differences of ∇KL", Fisher.finiteDifference(), Math.min(reps, 11)],
    ["Pearlmutter double backprop (customGrad)", Fisher.pearlmutter(), 3]
  ]
  const fvpRatios: Record<string, number> = {}
  for (const [name, strategy, n] of strategies) {
    const op = strategy.prepare(problem)
    const [ms] = compareMs([() => op.apply(v)], n, Math.min(n, 10)) as [number]
    op.dispose()
    fvpRatios[name] = ms / gradientMs
    row("fvp", `one Fvp: ${name}`, ms / gradientMs, "× gradient", `${ms.toFixed(2)} ms`)
  }

  // Direction quality: cosine to the converged full-batch natural direction (damping 0.1).
  const exactOp = Fisher.analytic({ damping: 0.1 }).prepare(problem)
  const exact = ConjugateGradient.solve(exactOp.apply, g, { maxIterations: 200, residualTolerance: 1e-20 }).solution
  const direction = (strategy: Fisher.Strategy, iterations: number) => {
    const op = strategy.prepare(problem)
    const x = ConjugateGradient.solve(op.apply, g, { maxIterations: iterations }).solution
    op.dispose()
    return x
  }
  const cosines: Record<string, number> = {
    "plain gradient g": cosine(g, exact),
    "full batch, CG 10": cosine(direction(Fisher.analytic({ damping: 0.1 }), 10), exact),
    "full batch, CG 5": cosine(direction(Fisher.analytic({ damping: 0.1 }), 5), exact),
    "every 5th sample, CG 10": cosine(direction(Fisher.analytic({ damping: 0.1, subsampleEvery: 5 }), 10), exact),
    "finite differences, CG 10": cosine(direction(Fisher.finiteDifference({ damping: 0.1 }), 10), exact)
  }
  for (const [name, c] of Object.entries(cosines)) row("cosine", `to the converged natural direction: ${name}`, c, "")
  exactOp.dispose()
  linearization.dispose()
  return { updateMs: times, gradientMs, fvpRatios, cosines }
}

// -- Environment and end-to-end training --------------------------------------------------------

// Valid actions for an env: alternating indices for Discrete, a fixed sweep of the Box.
const actionsFor = (space: Space.Space, count: number, width: number): Float64Array => {
  const out = new Float64Array(count * width)
  for (let i = 0; i < count * width; i++) {
    out[i] = space._tag === "Discrete" ? i % space.n : space.low[i % width]! + ((i * 0.37) % 1) * (space.high[i % width]! - space.low[i % width]!)
  }
  return out
}

const benchEnv = () => {
  const result: Record<string, number> = {}
  const raw = CartPole.make()
  raw.reset({ key: Key.make(0) })
  const rawSteps = quick ? 1_000_000 : 5_000_000
  let start = performance.now(), episode = 0
  for (let t = 0; t < rawSteps; t++) {
    const s = raw.step(t & 1)
    if (s.terminated) raw.reset({ key: Key.foldIn(Key.make(0), ++episode) })
  }
  result["CartPole-v1 dynamics"] = rawSteps / ((performance.now() - start) / 1000)
  row("env", "CartPole-v1 dynamics (no time limit)", result["CartPole-v1 dynamics"]!, "steps/s")
  for (const id of Registry.ids(Registry.builtins)) {
    // One env through the registry (time limit, key resets), then a vector env of 8 copies.
    const env = Registry.makeUnsafe(Registry.builtins, id)
    const width = env.actionSpace._tag === "Discrete" ? 1 : env.actionSpace.low.length
    const steps = quick ? 200_000 : 1_000_000
    const actions = actionsFor(env.actionSpace, 4096, width)
    env.reset({ key: Key.make(0) })
    episode = 0
    start = performance.now()
    for (let t = 0; t < steps; t++) {
      const i = t & 4095
      const s = env.step(width === 1 && env.actionSpace._tag === "Discrete" ? actions[i]! : actions.subarray(i * width, (i + 1) * width))
      if (s.terminated || s.truncated) env.reset({ key: Key.foldIn(Key.make(0), ++episode) })
    }
    result[`${id} single`] = steps / ((performance.now() - start) / 1000)
    const venv = VectorEnv.make(() => Registry.makeUnsafe(Registry.builtins, id), 8, Key.make(0))
    const vectorActions = actionsFor(env.actionSpace, 8 * 512, width)
    start = performance.now()
    for (let t = 0; t < steps / 8; t++) {
      const i = t & 511
      venv.step(vectorActions.subarray(i * 8 * width, (i + 1) * 8 * width))
    }
    result[`${id} vector ×8`] = steps / ((performance.now() - start) / 1000)
    row("env", `${id}: single env / vector of 8 (env steps/s)`, result[`${id} single`]!, "steps/s", `vector ×8: ${(result[`${id} vector ×8`]! / 1e6).toFixed(2)} M steps/s`)
  }
  // Rollout throughput with policy inference (4→64→64→2 categorical, CartPole-v1).
  const policy = Policy.make({ observationSize: 4, hiddenSizes: [64, 64], distribution: Distribution.categorical(2) })
  const params = Policy.initialize(Key.make(1), policy)
  for (const n of [1, 8, 32]) {
    const state = Rollout.init(() => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"), n, Key.make(2))
    const stepsPerEnv = Math.ceil((quick ? 8192 : 32768) / n)
    Rollout.collect(state, policy, params, Key.make(3), Math.min(stepsPerEnv, 64))
    start = performance.now()
    Rollout.collect(state, policy, params, Key.make(4), stepsPerEnv)
    const perSecond = (n * stepsPerEnv) / ((performance.now() - start) / 1000)
    result[`rollout N=${n}`] = perSecond
    row("rollout", `CartPole-v1 rollout with 64×64 policy inference, N = ${n}`, perSecond, "steps/s")
  }
  return result
}

const benchTraining = Effect.gen(function*() {
  const totalSteps = quick ? 30_720 : 100_000
  const zoo = Trpo.zoo["CartPole-v1"]!
  const backend = yield* TensorBackend.TensorBackend
  const tensorCounts: Array<number> = []
  let rss = 0
  const start = performance.now()
  const last = yield* Train.reports({ recipe: zoo, makeEnv: () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1"), seed: 0, totalSteps }).pipe(
    Stream.tap(() =>
      Effect.sync(() => {
        tensorCounts.push(backend.numTensors())
        rss = Math.max(rss, process.memoryUsage().rss)
      })
    ),
    Stream.runLast
  )
  const seconds = (performance.now() - start) / 1000
  const steps = last._tag === "Some" ? last.value.steps : 0
  row("train", `CartPole-v1 TRPO ${steps} steps, wall`, seconds, "s", "rl-baselines3-zoo settings, in-process, after backend init")
  row("train", "end-to-end env steps/s of training", steps / seconds, "steps/s")
  row("train", "peak resident memory", rss / 2 ** 20, "MiB")
  const flat = tensorCounts.every((n) => n === tensorCounts[0])
  row("train", "tensor count flat across iterations", flat ? 1 : 0, flat ? "yes" : "NO", `${tensorCounts[0]} tensors`)
  return { steps, seconds, stepsPerSecond: steps / seconds, peakRssMiB: rss / 2 ** 20, tensorCountFlat: flat }
})

const program = Effect.gen(function*() {
  const backend = yield* TensorBackend.TensorBackend
  console.log(`trustregion bench — backend ${backend.name}, tfjs ${backend.version}, node ${process.version}${quick ? ", quick" : ""}\n`)
  const update = benchUpdate(yield* updateProblem())
  const env = benchEnv()
  const training = yield* benchTraining
  const results = { backend: backend.name, tfjs: backend.version, node: process.version, quick, update, env, training, rows }
  fs.mkdirSync(new URL("./results/", import.meta.url), { recursive: true })
  fs.writeFileSync(new URL("./results/latest.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`)
  console.log("\nwrote bench/results/latest.json")
})

await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layerWasm)))
