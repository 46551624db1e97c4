import { describe, expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as FirstOrder from "../../src/algorithms/FirstOrder.ts"
import * as Npg from "../../src/algorithms/Npg.ts"
import * as Ppo from "../../src/algorithms/Ppo.ts"
import type * as Recipe from "../../src/algorithms/Recipe.ts"
import * as Train from "../../src/algorithms/Train.ts"
import * as Trpo from "../../src/algorithms/Trpo.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"

// Every algorithm on its CartPole-v1 recipe and TRPO / PPO-clip on Pendulum-v1 (a Gaussian
// policy), shrunk to 2 envs × 64 steps per iteration (PPO: 2 epochs of minibatches of 64) and
// 4 iterations, so that each run takes a fraction of a second. The networks keep their sizes.

const STEPS_PER_ITERATION = 2 * 64
const ITERATIONS = 4

const shrinkNatural = (recipe: Recipe.NaturalGradient): Recipe.NaturalGradient => ({ ...recipe, numEnvs: 2, stepsPerEnv: 64 })
const shrinkFirstOrder = (recipe: Recipe.FirstOrder): Recipe.FirstOrder => ({
  ...recipe,
  numEnvs: 2,
  stepsPerEnv: 64,
  optimizer: FirstOrder.adamEpochs({ ...recipe.optimizer, epochs: 2, minibatchSize: 64 })
})

const makeEnv = (id: string) => () => Registry.makeUnsafe(Registry.builtins, id)

interface Case {
  readonly label: string
  readonly recipe: Recipe.Recipe
  readonly env: string
}

const cases: ReadonlyArray<Case> = [
  { label: "npg CartPole-v1", recipe: shrinkNatural(Npg.forEnv("CartPole-v1")), env: "CartPole-v1" },
  { label: "trpo CartPole-v1", recipe: shrinkNatural(Trpo.forEnv("CartPole-v1")), env: "CartPole-v1" },
  { label: "ppo-penalty CartPole-v1", recipe: shrinkFirstOrder(Ppo.penaltyForEnv("CartPole-v1")), env: "CartPole-v1" },
  { label: "ppo-clip CartPole-v1", recipe: shrinkFirstOrder(Ppo.clipForEnv("CartPole-v1")), env: "CartPole-v1" },
  { label: "trpo Pendulum-v1", recipe: shrinkNatural(Trpo.forEnv("Pendulum-v1")), env: "Pendulum-v1" },
  { label: "ppo-clip Pendulum-v1", recipe: shrinkFirstOrder(Ppo.clipForEnv("Pendulum-v1")), env: "Pendulum-v1" }
]

const runOf = (c: Case, seed = 5, iterations = ITERATIONS): Train.Run => ({
  recipe: c.recipe,
  makeEnv: makeEnv(c.env),
  seed,
  totalSteps: iterations * STEPS_PER_ITERATION
})

const withoutWall = (reports: ReadonlyArray<Train.IterationReport>) => reports.map(({ wallSeconds: _, ...rest }) => rest)

// docs/metrics.md.
const commonKeys = [
  "iteration", "steps", "episodes", "episodeReturnMean", "episodeLengthMean", "kl", "entropy", "surrogateGain", "valueLoss",
  "explainedVariance", "wallSeconds"
]
const naturalGradientKeys = ["backtracks", "lineSearchAccepted", "cgIterations", "cgResidual"]
const firstOrderKeys = ["approxKl", "clipFraction", "policyLoss", "beta", "learningRate", "epochs"]

/** Reports of one run, with the live tensor count before it and after each iteration. */
const traced = (run: Train.Run) =>
  Effect.gen(function*() {
    const backend = yield* TensorBackend.TensorBackend
    const before = backend.numTensors()
    const iterations = yield* Train.iterations(run).pipe(
      Stream.map((iteration) => ({ ...iteration, tensors: backend.numTensors() })),
      Stream.runCollect
    )
    return { before, iterations: Array.from(iterations), reports: Array.from(iterations, (i) => i.report) }
  })

layer(TensorBackend.layerWasm)("Algorithms", (it) => {
  for (const c of cases) {
    describe(c.label, () => {
      it.effect("is deterministic for a seed, reports the common and family keys, and keeps the tensor count flat", () =>
        Effect.gen(function*() {
          const a = yield* traced(runOf(c))
          const b = yield* traced(runOf(c))
          expect(a.reports.map((r) => r.steps)).toEqual([1, 2, 3, 4].map((i) => i * STEPS_PER_ITERATION))
          expect(a.reports.map((r) => r.iteration)).toEqual([1, 2, 3, 4])
          // "each algorithm is deterministic for a seed": identical apart from wallSeconds, and
          // so are the parameters it ends with.
          expect(withoutWall(b.reports)).toEqual(withoutWall(a.reports))
          const last = (t: typeof a) => t.iterations.at(-1)!.state
          expect(Array.from(last(b).policyParams)).toEqual(Array.from(last(a).policyParams))
          expect(Array.from(last(b).valueParams)).toEqual(Array.from(last(a).valueParams))
          // …and the seed matters (the check above is not vacuous).
          const other = yield* Stream.runCollect(Train.reports(runOf(c, 6, 1)))
          expect(withoutWall(Array.from(other))).not.toEqual(withoutWall(a.reports.slice(0, 1)))

          const [own, foreign] = c.recipe._tag === "NaturalGradient" ? [naturalGradientKeys, firstOrderKeys] : [firstOrderKeys, naturalGradientKeys]
          for (const report of a.reports) {
            for (const key of [...commonKeys, ...own]) expect(report, key).toHaveProperty(key)
            for (const key of foreign) expect(report, key).not.toHaveProperty(key)
            for (const key of ["kl", "entropy", "surrogateGain", "valueLoss"] as const) expect(Number.isFinite(report[key]), key).toBe(true)
            expect(report.kl).toBeGreaterThanOrEqual(0)
          }
          expect(a.iterations.map((i) => i.tensors)).toEqual(a.iterations.map(() => a.before))
        }))
    })
  }

  describe("natural-gradient families", () => {
    it.effect("NPG accepts every step: lineSearchAccepted, backtracks 0, stepSize = maxStepSize = √(2δ/sᵀFs)", () =>
      Effect.gen(function*() {
        const { reports } = yield* traced(runOf(cases[0]!))
        for (const r of reports) {
          expect(r.lineSearchAccepted).toBe(true)
          expect(r.backtracks).toBe(0)
          expect(r.stepOutcome).toBe("accepted")
          expect(r.stepSize).toBe(r.maxStepSize)
          expect(r.kl).toBeGreaterThan(0)
          expect(r.cgIterations).toBeGreaterThan(0)
          expect(Number.isInteger(r.cgIterations)).toBe(true)
        }
      }))

    for (const c of [cases[1]!, cases[4]!]) {
      it.effect(`TRPO keeps every step's KL within its δ (${c.label}); a rejected step reports KL 0`, () =>
        Effect.gen(function*() {
          const maxKl = (c.recipe as Recipe.NaturalGradient).step as unknown as { readonly maxKl: number; readonly klTolerance: number }
          // Tolerance 1 (Spinning Up's bound), so the check below is KL ≤ δ itself.
          expect(maxKl.klTolerance).toBe(1)
          const { reports } = yield* traced(runOf(c))
          for (const r of reports) {
            expect(r.kl).toBeLessThanOrEqual(maxKl.maxKl)
            if (r.lineSearchAccepted) expect(r.stepSize).toBeLessThanOrEqual(r.maxStepSize! * (1 + 1e-12))
            else expect(r.kl).toBe(0)
          }
          expect(reports.some((r) => r.lineSearchAccepted)).toBe(true)
        }))
    }

    it.effect("the Gaussian policy's entropy is Σ_j (log σ_j + ½ log 2πe) of its log-std parameters (Pendulum, one action)", () =>
      Effect.gen(function*() {
        for (const c of [cases[4]!, cases[5]!]) {
          const { iterations } = yield* traced(runOf(c))
          for (const { report, state } of iterations) {
            const logStd = state.policyParams[state.policyParams.length - 1]!
            expect(Math.abs(report.entropy - (logStd + 0.5 * Math.log(2 * Math.PI * Math.E)))).toBeLessThanOrEqual(1e-12)
          }
          // The log-std is trained (it is inside θ), so it moves from its initial 0.
          expect(iterations.at(-1)!.state.policyParams.at(-1)).not.toBe(0)
        }
      }))
  })

  describe("first-order families", () => {
    it.effect("PPO-penalty: β starts at initialBeta and β_{i+1} = Penalty rule applied to (β_i, kl_i); clipFraction null", () =>
      Effect.gen(function*() {
        const recipe = cases[2]!.recipe as Recipe.FirstOrder
        expect(recipe.penalty._tag).toBe("AdaptivePenalty")
        const { reports } = yield* traced(runOf(cases[2]!))
        expect(reports[0]!.beta).toBe(recipe.penalty.initialBeta)
        expect(reports[0]!.beta).toBe(1)
        for (let i = 0; i + 1 < reports.length; i++) {
          const { beta, kl } = reports[i]!
          expect(reports[i + 1]!.beta).toBe(recipe.penalty.next(beta!, kl))
          // By hand, the paper's rule at targetKl 0.01: ÷2 below 0.01/1.5, ×2 above 0.015.
          const byHand = kl < 0.01 / 1.5 ? beta! / 2 : kl > 0.01 * 1.5 ? beta! * 2 : beta!
          expect(reports[i + 1]!.beta).toBe(byHand)
        }
        // The rule acted at least once in these iterations.
        expect(new Set(reports.map((r) => r.beta)).size).toBeGreaterThan(1)
        for (const r of reports) expect(r.clipFraction).toBeNull()
      }))

    it.effect("PPO-clip: β 0 throughout; clipFraction in [0, 1]; approxKl ≥ 0", () =>
      Effect.gen(function*() {
        for (const c of [cases[3]!, cases[5]!]) {
          const { reports } = yield* traced(runOf(c))
          for (const r of reports) {
            expect(r.beta).toBe(0)
            expect(r.clipFraction).not.toBeNull()
            expect(r.clipFraction!).toBeGreaterThanOrEqual(0)
            expect(r.clipFraction!).toBeLessThanOrEqual(1)
            expect(r.approxKl!).toBeGreaterThanOrEqual(0)
          }
        }
      }))

    it.effect("learningRate follows the schedule at progress = steps before the update / totalSteps; epochs as configured", () =>
      Effect.gen(function*() {
        // Both CartPole PPO recipes anneal 1e-3 linearly to 0: iteration i (1-based) uses
        // 1e-3·(1 − (i − 1)/4) = 1e-3, 7.5e-4, 5e-4, 2.5e-4 (as (1 − p)·1e-3 + p·0).
        for (const c of [cases[2]!, cases[3]!]) {
          const recipe = c.recipe as Recipe.FirstOrder
          const { reports } = yield* traced(runOf(c))
          expect(reports.map((r) => r.learningRate)).toEqual([0, 0.25, 0.5, 0.75].map((p) => (1 - p) * 1e-3))
          reports.forEach((r, i) => expect(r.learningRate).toBe(recipe.optimizer.learningRate.at(i / ITERATIONS)))
          for (const r of reports) {
            expect(r.epochs).toBe(2)
            expect(Number.isFinite(r.policyLoss)).toBe(true)
          }
        }
      }))
  })
})
