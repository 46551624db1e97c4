import { describe, expect, layer } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as Advantage from "../../src/algebra/Advantage.ts"
import * as ConjugateGradient from "../../src/algebra/ConjugateGradient.ts"
import * as Fisher from "../../src/algebra/Fisher.ts"
import * as Recipe from "../../src/algorithms/Recipe.ts"
import * as Train from "../../src/algorithms/Train.ts"
import * as Trpo from "../../src/algorithms/Trpo.ts"
import * as Env from "../../src/envs/Env.ts"
import * as Registry from "../../src/envs/Registry.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"

// A small batch keeps these tests fast: 2 envs × 128 steps per iteration.
const recipe: Recipe.Recipe = { ...Trpo.forEnv("CartPole-v1"), numEnvs: 2, stepsPerEnv: 128 }
const cartPole = () => Registry.makeUnsafe(Registry.builtins, "CartPole-v1")
const run = (overrides: Partial<Train.Run> = {}): Train.Run => ({ recipe, makeEnv: cartPole, seed: 7, totalSteps: 4 * 256, ...overrides })

const collect = (r: Train.Run) => Stream.runCollect(Train.reports(r))
const withoutWall = (reports: ReadonlyArray<Train.IterationReport>) => reports.map(({ wallSeconds: _, ...rest }) => rest)

layer(TensorBackend.layerWasm)("Train", (it) => {
  describe("reports", () => {
    it.effect("stops at the first iteration reaching totalSteps and counts steps and episodes", () =>
      Effect.gen(function*() {
        const reports = yield* collect(run({ totalSteps: 600 }))
        // 256 steps per iteration: 256, 512, 768 ≥ 600.
        expect(reports.map((r) => r.steps)).toEqual([256, 512, 768])
        expect(reports.map((r) => r.iteration)).toEqual([1, 2, 3])
        for (let i = 1; i < reports.length; i++) expect(reports[i]!.episodes).toBeGreaterThanOrEqual(reports[i - 1]!.episodes)
        const maxKl = (recipe.step as unknown as { readonly maxKl: number }).maxKl
        for (const r of reports) {
          expect(r.kl).toBeLessThanOrEqual(maxKl)
          expect(r.lineSearchAccepted ? r.kl > 0 : r.kl === 0).toBe(true)
          expect(r.cgIterations).toBeGreaterThan(0)
          expect(r.episodeReturnMean).toBeGreaterThan(0)
        }
      }))

    it.effect("is deterministic: the same seed twice gives identical reports apart from wallSeconds", () =>
      Effect.gen(function*() {
        const a = yield* collect(run())
        const b = yield* collect(run())
        expect(withoutWall(a)).toEqual(withoutWall(b))
        const c = yield* collect(run({ seed: 8 }))
        expect(withoutWall(c)).not.toEqual(withoutWall(a))
      }))

    it.effect("keeps the tensor count flat across iterations", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        const before = backend.numTensors()
        const counts = yield* Train.iterations(run({ totalSteps: 5 * 256 })).pipe(
          Stream.map(() => backend.numTensors()),
          Stream.runCollect
        )
        expect(counts).toEqual([before, before, before, before, before])
      }))

    it.effect("learns: CartPole's mean return rises over 24 iterations", () =>
      Effect.gen(function*() {
        const reports = yield* collect({ recipe: Trpo.forEnv("CartPole-v1"), makeEnv: cartPole, seed: 0, totalSteps: 24 * 1024 })
        // A uniformly random policy averages ~22 steps; TRPO roughly triples that by 24k steps.
        expect(reports[0]!.episodeReturnMean!).toBeLessThan(30)
        expect(reports.at(-1)!.episodeReturnMean!).toBeGreaterThan(60)
      }), 60_000)
  })

  describe("ablations", () => {
    it.effect("replacing one block is one line and changes only that slot", () =>
      Effect.gen(function*() {
        const monteCarlo = Recipe.replace(recipe, "advantage", Advantage.normalized(Advantage.monteCarlo({ gamma: 0.99 })))
        const base = Recipe.describe(recipe), variant = Recipe.describe(monteCarlo)
        expect(variant.advantage).toEqual({ _tag: "Normalized", epsilon: 1e-8, inner: { _tag: "MonteCarlo", gamma: 0.99, baseline: true } })
        expect({ ...variant, advantage: null }).toEqual({ ...base, advantage: null })
        const a = yield* collect(run({ totalSteps: 512 }))
        const b = yield* collect(run({ recipe: monteCarlo, totalSteps: 512 }))
        // Same rollout in the first iteration (same policy, same keys); a different update.
        expect(b[0]!.episodes).toBe(a[0]!.episodes)
        expect(b[0]!.surrogateGain).not.toBe(a[0]!.surrogateGain)
      }))

    it.effect("a finite-difference Fvp gives nearly the same first update as the analytic one", () =>
      Effect.gen(function*() {
        // Damping 0.1 (the reference default): with 1e-3, CG amplifies the finite differences'
        // float32 error (~1e-5) along the Fisher's small eigenvalues.
        const analyticRecipe = Recipe.replace(recipe, "fisher", Fisher.analytic({ damping: 0.1 }))
        const analytic = yield* Train.iterations(run({ recipe: analyticRecipe, totalSteps: 256 })).pipe(Stream.runCollect)
        const fdRecipe = Recipe.replace(recipe, "fisher", Fisher.finiteDifference({ damping: 0.1 }))
        const fd = yield* Train.iterations(run({ recipe: fdRecipe, totalSteps: 256 })).pipe(Stream.runCollect)
        const pa = analytic[0]!.state.policyParams, pf = fd[0]!.state.policyParams
        let diff = 0, norm = 0
        for (let i = 0; i < pa.length; i++) {
          diff += (pa[i]! - pf[i]!) ** 2
          norm += pa[i]! ** 2
        }
        expect(Math.sqrt(diff / norm)).toBeLessThan(1e-3)
        expect(fd[0]!.report.backtracks).toBe(analytic[0]!.report.backtracks)
      }))
  })

  describe("errors", () => {
    it.effect("an env that rejects the policy's actions fails the run with a TrainError naming it", () =>
      Effect.gen(function*() {
        const rejecting = (): Env.Env => {
          const inner = cartPole()
          return { ...inner, id: "Rejecting-v0", reset: (from) => inner.reset(from), step: (action) => { throw Env.invalidAction("Rejecting-v0", inner.actionSpace, action) } }
        }
        const error = yield* Effect.flip(collect(run({ makeEnv: rejecting })))
        expect(error._tag).toBe("TrainError")
        expect(error.message).toContain("Rejecting-v0")
        expect(error.message).toContain("Discrete(2)")
      }))

    it.effect("a solver whose check refuses the policy's size fails the run before it starts, with the solver's message", () =>
      Effect.gen(function*() {
        let built = 0
        const solver: Recipe.NaturalGradient["solver"] = {
          ...ConjugateGradient.make(),
          check: (dimension) => new RangeError(`${dimension} parameters are too many`)
        }
        const error = yield* Effect.flip(collect(run({ recipe: Recipe.replace(recipe as Recipe.NaturalGradient, "solver", solver), makeEnv: () => (built++, cartPole()) })))
        expect(error._tag).toBe("TrainError")
        // 4→64→64→2: 4·64 + 64 + 64·64 + 64 + 64·2 + 2 = 4610.
        expect(error.message).toBe("4610 parameters are too many")
        expect(built).toBe(1)
        expect(yield* Stream.runCollect(Train.reports(run({ recipe: Recipe.replace(recipe as Recipe.NaturalGradient, "solver", { ...solver, check: () => undefined }), totalSteps: 1 })))).toHaveLength(1)
      }))

    it.effect("a non-positive step budget is a TrainError", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(collect(run({ totalSteps: 0 })))
        expect(error.message).toContain("totalSteps")
      }))
  })
})
