/**
 * `npm run theory`: generates docs/theory.md and its plots (docs/img/theory-*.svg) from
 * measurements made by this command:
 *
 * 1. NPG against TRPO at the same δ on CartPole-v1 and Pendulum-v1 (seeds 0, 1, 2): the actual
 *    KL of every update, how often it exceeds δ, how often the surrogate or the return got worse.
 * 2. CG against the dense Cholesky solve as the parameter count grows (bench/dense-vs-cg.ts).
 * 3. The cost of one Fisher-vector product per strategy against one gradient, and the accuracy
 *    of the cheaper directions (bench/run.ts --quick).
 *
 *   npm run theory                  # everything (about 10 minutes on 2 cores)
 *   npm run theory -- --reuse       # reuse bench/results/{dense-vs-cg,latest}.json if present
 */
import { Effect, Stream } from "effect"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as Npg from "../src/algorithms/Npg.ts"
import type * as Recipe from "../src/algorithms/Recipe.ts"
import * as Train from "../src/algorithms/Train.ts"
import * as Trpo from "../src/algorithms/Trpo.ts"
import * as Registry from "../src/envs/Registry.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"
import type { DenseVsCgRow } from "./lib/Common.ts"
import * as Svg from "./lib/Svg.ts"

const reuse = process.argv.includes("--reuse")
const SEEDS = [0, 1, 2]
const ENVS: ReadonlyArray<{ readonly id: string; readonly steps: number }> = [
  { id: "CartPole-v1", steps: 100_000 },
  { id: "Pendulum-v1", steps: 200_000 }
]
const docs = new URL("../docs/", import.meta.url)
const images = new URL("./img/", docs)
const results = new URL("./results/", import.meta.url)

const quantile = (sorted: ReadonlyArray<number>, q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
const sd = (xs: ReadonlyArray<number>) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / Math.max(1, xs.length - 1))
const pct = (x: number) => `${(100 * x).toFixed(1)} %`

const maxKlOf = (recipe: Recipe.NaturalGradient): number => (recipe.step as unknown as { readonly maxKl: number }).maxKl

// -- 1. NPG against TRPO ----------------------------------------------------------------------------

interface RunTrace {
  readonly algo: string
  readonly env: string
  readonly seed: number
  readonly maxKl: number
  readonly reports: ReadonlyArray<Train.IterationReport>
}

const trace = (algo: string, recipe: Recipe.NaturalGradient, env: string, steps: number, seed: number) =>
  Effect.gen(function*() {
    const reports = yield* Stream.runCollect(Train.reports({ recipe, makeEnv: () => Registry.makeUnsafe(Registry.builtins, env), seed, totalSteps: steps }))
    console.log(`  ${algo.padEnd(5)} ${env} seed ${seed}: final return ${reports.at(-1)?.episodeReturnMean?.toFixed(1)} (${reports.at(-1)?.wallSeconds.toFixed(0)} s)`)
    return { algo, env, seed, maxKl: maxKlOf(recipe), reports } satisfies RunTrace
  })

const summarize = (runs: ReadonlyArray<RunTrace>) => {
  const updates = runs.flatMap((r) => r.reports)
  const ratios = runs.flatMap((r) => r.reports.map((x) => x.kl / r.maxKl)).sort((a, b) => a - b)
  const returnDrops = runs.flatMap((r) =>
    r.reports.slice(1).flatMap((x, i) => {
      const before = r.reports[i]!.batchReturnMean, after = x.batchReturnMean
      return before === null || after === null ? [] : [after < before ? 1 : 0]
    }))
  return {
    updates: updates.length,
    klMedian: quantile(ratios, 0.5),
    kl90: quantile(ratios, 0.9),
    klMax: ratios.at(-1)!,
    overDelta: ratios.filter((x) => x > 1).length / ratios.length,
    over1_5: ratios.filter((x) => x > 1.5).length / ratios.length,
    surrogateWorse: updates.filter((x) => x.surrogateGain < 0).length / updates.length,
    rejected: updates.filter((x) => x.lineSearchAccepted === false).length / updates.length,
    returnWorse: mean(returnDrops),
    finals: runs.map((r) => r.reports.at(-1)!.episodeReturnMean ?? NaN)
  }
}

const cdfPlot = (env: string, byAlgo: ReadonlyArray<[string, ReadonlyArray<RunTrace>, string]>) =>
  Svg.linePlot(
    byAlgo.map(([name, runs, color]) => {
      const ratios = runs.flatMap((r) => r.reports.map((x) => Math.max(x.kl / r.maxKl, 1e-3))).sort((a, b) => a - b)
      return { name, color, points: ratios.map((x, i) => [x, (i + 1) / ratios.length] as const) }
    }),
    { title: `${env}: actual KL of each update / δ (empirical CDF)`, xLabel: "mean KL(π_old ‖ π_new) / δ", yLabel: "fraction of updates ≤ x", logX: true, vLines: [{ x: 1, label: "δ" }] }
  )

const learningPlot = (env: string, byAlgo: ReadonlyArray<[string, ReadonlyArray<RunTrace>, string]>) =>
  Svg.linePlot(
    byAlgo.map(([name, runs, color]) => ({
      name,
      color,
      points: runs[0]!.reports.map((x, i) => [x.steps, mean(runs.map((r) => r.reports[i]?.episodeReturnMean ?? NaN))] as const)
    })),
    { title: `${env}: mean return of the last 100 episodes (mean of ${SEEDS.length} seeds)`, xLabel: "environment steps", yLabel: "episodeReturnMean" }
  )

// -- 2 and 3. The solvers and the Fisher-vector products, from the benches ---------------------------

const runScript = (script: string, args: ReadonlyArray<string>, output: string): unknown => {
  const file = new URL(output, results)
  if (!reuse || !fs.existsSync(file)) {
    console.log(`\nrunning ${script} ${args.join(" ")}`)
    execFileSync(process.execPath, [new URL(script, import.meta.url).pathname, ...args], { stdio: "inherit" })
  }
  return JSON.parse(fs.readFileSync(file, "utf8"))
}

const program = Effect.gen(function*() {
  fs.mkdirSync(images, { recursive: true })
  console.log("NPG against TRPO at the same δ")
  const sections: Array<string> = []
  const comparison: Array<string> = []
  for (const env of ENVS) {
    const trpo = Trpo.forEnv(env.id), npg = Npg.forEnv(env.id)
    const npgRuns = yield* Effect.forEach(SEEDS, (seed) => trace("npg", npg, env.id, env.steps, seed))
    const trpoRuns = yield* Effect.forEach(SEEDS, (seed) => trace("trpo", trpo, env.id, env.steps, seed))
    const byAlgo: ReadonlyArray<[string, ReadonlyArray<RunTrace>, string]> = [["NPG", npgRuns, "#d62728"], ["TRPO", trpoRuns, "#1f77b4"]]
    const slug = env.id.toLowerCase().replace(/-v\d+$/, "")
    fs.writeFileSync(new URL(`theory-kl-${slug}.svg`, images), cdfPlot(env.id, byAlgo))
    fs.writeFileSync(new URL(`theory-learning-${slug}.svg`, images), learningPlot(env.id, byAlgo))
    for (const [name, runs] of byAlgo) {
      const s = summarize(runs)
      comparison.push(
        `| ${env.id} | ${name} | ${maxKlOf(name === "NPG" ? npg : trpo)} | ${s.updates} | ${s.klMedian.toFixed(2)} | ${s.kl90.toFixed(2)} | ${s.klMax.toFixed(2)} | ${pct(s.overDelta)} | ${pct(s.over1_5)} | ${pct(s.surrogateWorse)} | ${pct(s.rejected)} | ${pct(s.returnWorse)} | ${mean(s.finals).toFixed(1)} ± ${sd(s.finals).toFixed(1)} |`
      )
    }
    sections.push(`![${env.id}: KL per update](img/theory-kl-${slug}.svg)\n\n![${env.id}: learning curves](img/theory-learning-${slug}.svg)`)
  }

  const dense = runScript("./dense-vs-cg.ts", [], "dense-vs-cg.json") as { readonly rows: ReadonlyArray<DenseVsCgRow>; readonly batch: number; readonly damping: number }
  const denseRows = dense.rows.map((r) =>
    `| ${r.hidden} | ${r.parameters} | ${r.buildMs.toFixed(1)} | ${r.choleskyMs.toFixed(1)} | ${r.denseMs.toFixed(1)} | ${r.cg10Ms.toFixed(1)} | ${r.cgConvergedMs.toFixed(1)} (${r.cgConvergedIterations}) | ${r.cosineCg10.toFixed(6)} | ${r.cosineCgConverged.toFixed(9)} |`
  )
  const crossover = dense.rows.find((r) => r.denseMs > r.cg10Ms)
  fs.writeFileSync(
    new URL("theory-solvers.svg", images),
    Svg.linePlot(
      [
        { name: "dense: build F + Cholesky", color: "#d62728", points: dense.rows.map((r) => [r.parameters, r.denseMs] as const) },
        { name: "CG, 10 iterations", color: "#1f77b4", points: dense.rows.map((r) => [r.parameters, r.cg10Ms] as const) },
        { name: "CG to convergence", color: "#2ca02c", dashed: true, points: dense.rows.map((r) => [r.parameters, r.cgConvergedMs] as const) }
      ],
      { title: `Natural direction at batch ${dense.batch}: time per solve`, xLabel: "policy parameters P", yLabel: "ms", logX: true, logY: true }
    )
  )

  const bench = runScript("./run.ts", ["--quick"], "latest.json") as {
    readonly update: { readonly gradientMs: number; readonly fvpRatios: Readonly<Record<string, number>>; readonly cosines: Readonly<Record<string, number>> }
  }
  const fvpRows = Object.entries(bench.update.fvpRatios).map(([name, ratio]) => `| ${name} | ${ratio.toFixed(2)} × | ${(ratio * bench.update.gradientMs).toFixed(2)} ms |`)
  const cosineRows = Object.entries(bench.update.cosines).map(([name, c]) => `| ${name} | ${c.toFixed(4)} |`)

  const text = `# The theory, measured

Generated by \`npm run theory\` (bench/theory.ts) — do not edit by hand; rerun it. Every number
below was measured by that command on the wasm backend; the machines are shared and noisy, so
compare ratios within one table.

## 1. What the line search buys: NPG against TRPO at the same δ

NPG and TRPO compute the same natural direction s ≈ F⁻¹g and the same maximal step
β = √(2δ / sᵀFs). NPG takes it (\`LineSearch.trustRegionStep\`); TRPO backtracks until the actual
mean KL ≤ δ and the surrogate improved (\`LineSearch.backtracking\`). The recipes differ in the
\`step\` slot only (\`Npg.forEnv\`, \`Trpo.forEnv\`), seeds ${SEEDS.join(", ")}; CartPole-v1 for
${ENVS[0]!.steps.toLocaleString("en")} steps, Pendulum-v1 for ${ENVS[1]!.steps.toLocaleString("en")}.

| env | algorithm | δ | updates | KL/δ median | KL/δ 90 % | KL/δ max | KL > δ | KL > 1.5 δ | surrogate worse | step rejected | batch return fell | final return (mean ± sd) |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${comparison.join("\n")}

- **KL/δ** is the actual mean KL(π_old ‖ π_new) over the batch after the update, divided by δ.
  The quadratic model puts every NPG step at exactly δ; the true KL differs by the third-order
  terms the model drops, in both directions.
- **surrogate worse**: updates with L(θ_new) < L(θ_old). TRPO never accepts one (a rejected
  update keeps θ_old, gain 0); NPG takes them.
- **batch return fell**: iterations whose episodes returned less on average than the previous
  iteration's. Sampling noise makes this frequent for both; the difference between the rows is
  what the improvement check is worth on the true objective.

${sections.join("\n\n")}

## 2. Conjugate gradient against the dense solve

The natural direction without forming F: CG needs only Fisher-vector products, each O(N·P); the
dense route forms F from per-sample Jacobians, O(N·P²), and factorises it, O(P³)
(\`DenseFisher.matrix\`, \`DenseFisher.cholesky\`). 4→h→h→2 tanh policy, batch ${dense.batch},
damping ${dense.damping} (bench/dense-vs-cg.ts):

| h | P | build F (ms) | Cholesky (ms) | dense total (ms) | CG 10 (ms) | CG to convergence (ms, iterations) | cos(dense, CG 10) | cos(dense, CG converged) |
|---|---|---|---|---|---|---|---|---|
${denseRows.join("\n")}

${crossover === undefined ? "CG was not faster than the dense solve at any measured size." : `CG with 10 iterations is faster from P = ${crossover.parameters} (h = ${crossover.hidden}) on; below it forming F is cheap enough that the exact solve wins.`}
Both routes agree: the converged CG direction and the dense one have cosine 1 to the precision
shown.

![time per solve](img/theory-solvers.svg)

## 3. The cost of one Fisher-vector product

At batch 2048 on the 4→64→64→2 policy (bench/run.ts), relative to one policy-gradient
evaluation (${bench.update.gradientMs.toFixed(2)} ms):

| strategy | cost | time |
|---|---|---|
${fvpRows.join("\n")}

Cosine of each cheaper direction to the converged full-batch natural direction:

| direction | cosine |
|---|---|
${cosineRows.join("\n")}

All three strategies are tested against a dense float64 Fisher built from explicit per-sample
Jacobians (test/algebra/Fisher.test.ts, relative error ≤ 1e-3 in float32).

## 4. Each formula next to the function that computes it

| concept | formula | code |
|---|---|---|
| Surrogate advantage | L(θ) = Ê[π_θ(a∣s)/π_old(a∣s) · Â] | \`Surrogate.importanceSampled\` |
| KL constraint | D̄_KL(θ_old, θ) = Ê[KL(π_old(·∣s) ‖ π_θ(·∣s))] ≤ δ | \`Surrogate.meanKl\`, \`Distribution.kls\` |
| Fisher information | F = Ê[∇log π ∇log πᵀ] = ∇²_θ D̄_KL at θ_old = (1/N) Σ Jᵢᵀ Mᵢ Jᵢ | \`Fisher.analytic\` (\`Distribution.fisherOutputs\`, \`reducedFisher\`), \`Fisher.finiteDifference\`, \`Fisher.pearlmutter\`, \`DenseFisher.matrix\` |
| Natural gradient | s = F⁻¹ g, g = ∇_θ L at θ_old | \`NaturalGradient.update\` |
| Conjugate gradient | solve (F + λI) s = g with products only; sᵀFs = sᵀ(g − r) | \`ConjugateGradient.solve\` |
| Maximal step | β = √(2δ / sᵀFs), so that ½ (βs)ᵀF(βs) = δ | \`LineSearch.maxStepSize\` |
| Line search | θⱼ = θ_old + ratioʲ β s; accept iff D̄_KL ≤ δ·tol and L(θⱼ) > L(θ_old) | \`LineSearch.backtracking\` |
| NPG step | θ_new = θ_old + β s (or + α s) | \`LineSearch.trustRegionStep\`, \`LineSearch.fixedStep\` |
| Ratio acceptance (Schulman's code) | accept iff ΔL > 0 and ΔL / (step · gᵀs) > 0.1 | \`LineSearch.improvementRatio\` |
| Clipped objective | Ê[min(rÂ, clip(r, 1 ± ε)Â)] | \`Surrogate.clipped\` |
| KL penalty and its β rule | Ê[rÂ] − β D̄_KL; β ÷ 2 below d/1.5, × 2 above 1.5 d | \`Penalty.adaptive\`, \`FirstOrder.update\` |
| GAE | Âₜ = Σₗ (γλ)ˡ δₜ₊ₗ | \`Advantage.gae\` |
`
  fs.writeFileSync(new URL("theory.md", docs), text)
  console.log("\nwrote docs/theory.md and docs/img/theory-*.svg")
})

await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layerWasm)))
