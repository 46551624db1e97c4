/**
 * The dense natural-gradient solve against conjugate gradient, as the policy grows: for a
 * 4→h→h→2 tanh categorical policy on CartPole-v1 (after 5 TRPO iterations, then a fresh batch
 * of 2048 steps with its normalised GAE advantages), the time to build the damped Fisher
 * F + λI from per-sample Jacobians, to factorise and solve it by Cholesky, and the time of
 * CG with 10 analytic Fisher-vector products (`Fisher.analytic`, the TRPO default) or run to
 * convergence; and how close CG's direction is to the exact one, at λ = 0.1 (timed) and at
 * λ = 1e-3 (directions only). Prints a table and writes
 * bench/results/dense-vs-cg.json.
 *
 *   npx node bench/dense-vs-cg.ts            # h ∈ {4, 8, 16, 24, 32, 48, 64}
 *   npx node bench/dense-vs-cg.ts --quick    # h ∈ {4, 16, 32}, fewer repetitions
 */
import { Effect } from "effect"
import * as fs from "node:fs"
import * as ConjugateGradient from "../src/algebra/ConjugateGradient.ts"
import * as DenseFisher from "../src/algebra/DenseFisher.ts"
import * as Fisher from "../src/algebra/Fisher.ts"
import * as TensorBackend from "../src/runtime/TensorBackend.ts"
import { cosine, type DenseVsCgRow, median, policyGradient, updateProblem } from "./lib/Common.ts"

const quick = process.argv.includes("--quick")
const widths = quick ? [4, 16, 32] : [4, 8, 16, 24, 32, 48, 64]
const N = 2048
const damping = 0.1 // Trpo.recipe's
const smallDamping = 1e-3 // Trpo.zoo["CartPole-v1"]'s: a worse-conditioned F + λI, directions only
const cg10 = ConjugateGradient.make({ maxIterations: 10, residualTolerance: 1e-10 })

/** The update problem of bench/run.ts for hidden sizes [h, h], with its linearisation and gradient. */
const fisherProblem = (h: number) =>
  Effect.map(updateProblem({ hidden: h, size: N }), (p) => {
    const { g, linearization } = policyGradient(p)
    const problem: Fisher.Problem = { policy: p.policy, params: p.params, observations: p.observations, size: N, linearization }
    return { problem, g }
  })

type Row = DenseVsCgRow

const measure = (h: number) =>
  Effect.gen(function*() {
    const { problem, g } = yield* fisherProblem(h)
    const P = problem.params.length
    // Dense: one solver call per round, with the time of dense() (F + λI) inside it.
    const solver = DenseFisher.cholesky({ maxParameters: 100_000 })
    const build = DenseFisher.denseOperator(problem, damping)
    let buildMs = 0
    const operator: ConjugateGradient.LinearOperator = {
      dimension: P,
      apply: () => {
        throw new Error("the dense solver uses no products")
      },
      dense: () => {
        const start = performance.now()
        const A = build()
        buildMs = performance.now() - start
        return A
      }
    }
    // CG: prepare the analytic operator (its cached sensitivities are per update) and solve.
    const strategy = Fisher.analytic({ damping })
    const cgSolve = (solverBlock: ConjugateGradient.Solver, fisher: Fisher.Strategy = strategy) => {
      const op = fisher.prepare(problem)
      try {
        return solverBlock.solve(op, g)
      } finally {
        op.dispose()
      }
    }
    let gg = 0
    for (let p = 0; p < P; p++) gg += g[p]! * g[p]!
    const converged = ConjugateGradient.make({ maxIterations: 2000, residualTolerance: 1e-14 * gg })

    // Round-robin (dense, CG-10, CG to convergence), so that the drift of a shared machine
    // affects the three alike, after warm-up rounds: kernels run slowly for their first dozens
    // of calls (docs/performance.md). The large sizes take seconds per dense solve and get few
    // dense rounds; CG then runs alone until it has 31 timed rounds.
    const denseRounds = P > 1500 ? 3 : P > 500 ? 9 : 31
    const warmup = P > 1500 ? 1 : P > 500 ? 3 : 20
    const builds: Array<number> = [], totals: Array<number> = [], cgTimes: Array<number> = [], convergedTimes: Array<number> = []
    let dense: ConjugateGradient.SolveResult | undefined, short: ConjugateGradient.SolveResult | undefined, long: ConjugateGradient.SolveResult | undefined
    const timed = <A>(f: () => A, into: Array<number> | undefined): A => {
      const start = performance.now()
      const result = f()
      into?.push(performance.now() - start)
      return result
    }
    for (let i = 0; i < warmup + Math.max(denseRounds, 31); i++) {
      const measured = i >= warmup
      if (i < warmup + denseRounds) {
        dense = timed(() => solver.solve(operator, g), measured ? totals : undefined)
        if (measured) builds.push(buildMs)
      }
      short = timed(() => cgSolve(cg10), measured ? cgTimes : undefined)
      long = timed(() => cgSolve(converged), measured ? convergedTimes : undefined)
    }
    const choleskys = totals.map((t, i) => t - builds[i]!)

    // ‖g − (F + λI) x‖ / ‖g‖ of the dense solution, with the analytic (float32) products.
    const op = strategy.prepare(problem)
    const Ax = op.apply(dense!.solution)
    op.dispose()
    let rr = 0
    for (let p = 0; p < P; p++) rr += (g[p]! - Ax[p]!) ** 2

    // The same directions at λ = 1e-3, where CG needs more than 10 products.
    const A = DenseFisher.denseOperator(problem, smallDamping)()
    const exact = DenseFisher.solve(A, g).solution
    const small = Fisher.analytic({ damping: smallDamping })
    const smallShort = cgSolve(cg10, small), smallLong = cgSolve(converged, small)
    problem.linearization.dispose()

    const row: Row = {
      hidden: h,
      parameters: P,
      buildMs: median(builds),
      choleskyMs: median(choleskys),
      denseMs: median(totals),
      cg10Ms: median(cgTimes),
      cgConvergedMs: median(convergedTimes),
      cgConvergedIterations: long!.iterations,
      cosineCg10: cosine(dense!.solution, short!.solution),
      cosineCgConverged: cosine(dense!.solution, long!.solution),
      denseRelativeResidual: Math.sqrt(rr / gg),
      smallDamping: {
        cosineCg10: cosine(exact, smallShort.solution),
        cosineCgConverged: cosine(exact, smallLong.solution),
        cgConvergedIterations: smallLong.iterations
      }
    }
    return row
  })

const header = ["h", "P", "build F (ms)", "Cholesky (ms)", "dense (ms)", "CG-10 (ms)", "dense / CG-10", "CG conv. (ms)", "CG conv. iters", "cos(dense, CG-10)", "cos(dense, CG conv.)", "λ=1e-3: cos CG-10", "cos CG conv.", "iters"]
const format = (r: Row): Array<string> => [
  String(r.hidden),
  String(r.parameters),
  r.buildMs.toFixed(1),
  r.choleskyMs.toFixed(1),
  r.denseMs.toFixed(1),
  r.cg10Ms.toFixed(1),
  (r.denseMs / r.cg10Ms).toFixed(2),
  r.cgConvergedMs.toFixed(1),
  String(r.cgConvergedIterations),
  r.cosineCg10.toFixed(10),
  r.cosineCgConverged.toFixed(10),
  r.smallDamping.cosineCg10.toFixed(6),
  r.smallDamping.cosineCgConverged.toFixed(6),
  String(r.smallDamping.cgConvergedIterations)
]

const program = Effect.gen(function*() {
  const backend = yield* TensorBackend.TensorBackend
  console.log(`dense Fisher + Cholesky vs CG — backend ${backend.name}, tfjs ${backend.version}, node ${process.version}, N = ${N}, λ = ${damping}\n`)
  console.log(header.join(" | "))
  const rows: Array<Row> = []
  for (const h of widths) {
    const before = backend.numTensors()
    const row = yield* measure(h)
    if (backend.numTensors() !== before) console.log(`  (tensor count changed: ${before} → ${backend.numTensors()})`)
    rows.push(row)
    console.log(format(row).join(" | "))
  }
  // The first width at which the dense route is slower than CG with 10 products.
  const crossover = rows.find((r) => r.denseMs > r.cg10Ms)
  const crossoverConverged = rows.find((r) => r.denseMs > r.cgConvergedMs)
  console.log(`\ndense slower than CG-10 from h = ${crossover?.hidden ?? "—"} (P = ${crossover?.parameters ?? "—"}); slower than CG to convergence from h = ${crossoverConverged?.hidden ?? "—"}`)
  const results = {
    backend: backend.name,
    tfjs: backend.version,
    node: process.version,
    quick,
    batch: N,
    damping,
    smallDamping,
    policy: "4→h→h→2 tanh categorical, CartPole-v1 after 5 TRPO iterations (seed 0), batch from Key.make(99)",
    cgConverged: "maxIterations 2000, rᵀr < 1e-14 ‖g‖²",
    crossover: { cg10: crossover?.hidden ?? null, cgConverged: crossoverConverged?.hidden ?? null },
    rows
  }
  fs.mkdirSync(new URL("./results/", import.meta.url), { recursive: true })
  fs.writeFileSync(new URL("./results/dense-vs-cg.json", import.meta.url), `${JSON.stringify(results, null, 2)}\n`)
  console.log("wrote bench/results/dense-vs-cg.json")
})

await Effect.runPromise(program.pipe(Effect.provide(TensorBackend.layerWasm)))
