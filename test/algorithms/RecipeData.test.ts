import { describe, expect, it } from "@effect/vitest"
import { Result } from "effect"
import * as Advantage from "../../src/algebra/Advantage.ts"
import * as Distribution from "../../src/algebra/Distribution.ts"
import * as Key from "../../src/algebra/Key.ts"
import type * as LineSearch from "../../src/algebra/LineSearch.ts"
import * as Surrogate from "../../src/algebra/Surrogate.ts"
import * as Npg from "../../src/algorithms/Npg.ts"
import * as Ppo from "../../src/algorithms/Ppo.ts"
import * as Recipe from "../../src/algorithms/Recipe.ts"
import * as RecipeData from "../../src/algorithms/RecipeData.ts"
import * as Trpo from "../../src/algorithms/Trpo.ts"

// Every built-in recipe, named as the failure messages show it.
const builtins: ReadonlyArray<readonly [string, Recipe.Recipe]> = [
  ["Trpo.recipe", Trpo.recipe],
  ...Object.entries(Trpo.zoo).map(([id, r]) => [`Trpo.zoo[${id}]`, r] as const),
  ...Object.entries(Trpo.tuned).map(([id, r]) => [`Trpo.tuned[${id}]`, r] as const),
  ["Npg.recipe", Npg.recipe],
  ["Npg.forEnv(CartPole-v1)", Npg.forEnv("CartPole-v1")],
  ["Npg.forEnv(Pendulum-v1)", Npg.forEnv("Pendulum-v1")],
  ["Ppo.clip", Ppo.clip],
  ["Ppo.penalty", Ppo.penalty],
  ...Object.entries(Ppo.tunedClip).map(([id, r]) => [`Ppo.tunedClip[${id}]`, r] as const),
  ...Object.entries(Ppo.tunedPenalty).map(([id, r]) => [`Ppo.tunedPenalty[${id}]`, r] as const)
]

const success = <A, E>(result: Result.Result<A, E>): A => {
  if (Result.isFailure(result)) throw new Error(`expected success, got ${JSON.stringify(result.failure)}`)
  return result.success
}
const failure = <A, E>(result: Result.Result<A, E>): E => {
  if (Result.isSuccess(result)) throw new Error("expected a failure, got a recipe")
  return result.failure
}

/** `{ path, message }` of a failed decode or override. */
const errorOf = (result: Result.Result<Recipe.Recipe, RecipeData.RecipeError>) => {
  const error = failure(result)
  expect(error._tag).toBe("RecipeError")
  expect(error.message).not.toContain("\n")
  return { path: error.path, message: error.message }
}

const json = (recipe: Recipe.Recipe) => Recipe.describe(recipe) as Record<string, any>

const at = (value: unknown, path: string): unknown => path.split(".").reduce<any>((node, k) => node?.[k], value)

// A synthetic step problem (LineSearch.test.ts): L = L₀ + gᵀΔ − ½‖Δ‖², KL = ½ ΔᵀFΔ.
const stepProblem = (sFs: number): LineSearch.Problem => ({
  params: Float64Array.of(1, -2),
  direction: Float64Array.of(1, 2),
  sFs,
  gradientDotDirection: 1,
  surrogateOld: 0.25,
  evaluate: (params) => {
    const d0 = params[0]! - 1, d1 = params[1]! + 2
    return { surrogate: 0.25 + d0 - 0.5 * (d0 * d0 + d1 * d1), kl: 0.5 * (2 * d0 * d0 + d0 * d1 + d1 * d1) }
  }
})

// Two envs × three steps of made-up trajectories for the advantage estimators.
const trajectories: Advantage.Trajectories = {
  numSteps: 3,
  numEnvs: 2,
  rewards: Float64Array.of(1, 0.5, -1, 2, 0, 1),
  values: Float64Array.of(0.2, -0.1, 0.4, 0.3, 0.1, 0),
  nextValues: Float64Array.of(0.4, 0.3, 0.1, 0, 0.5, -0.2),
  terminations: Uint8Array.of(0, 0, 0, 1, 0, 0),
  truncations: Uint8Array.of(0, 0, 0, 0, 0, 1)
}

// A categorical batch of 5 samples and nearby outputs, for the objectives.
const objectiveBatch = (() => {
  const [a, b, c, d] = Key.split(Key.make(17), 4)
  const outputsOld = Key.normals(a!, 15)
  const batch = Surrogate.makeBatch({
    distribution: Distribution.categorical(3),
    size: 5,
    actions: Key.uniforms(b!, 5).map((u) => Math.floor(3 * u)),
    advantages: Key.normals(c!, 5),
    outputsOld,
    extraOld: new Float64Array(0)
  })
  return { batch, outputs: Key.normals(d!, 15).map((z, k) => outputsOld[k]! + 0.4 * z) }
})()

/** The decoded recipe computes what the original computes, block by block (those without tensors). */
const expectSameBehaviour = (original: Recipe.Recipe, decoded: Recipe.Recipe): void => {
  expect(decoded._tag).toBe(original._tag)
  expect(decoded.advantage.estimate(trajectories)).toEqual(original.advantage.estimate(trajectories))
  const { batch, outputs } = objectiveBatch
  expect(decoded.objective.valueAndGradient(batch, outputs, [])).toEqual(original.objective.valueAndGradient(batch, outputs, []))
  if (original._tag === "NaturalGradient" && decoded._tag === "NaturalGradient") {
    for (const sFs of [0.5, 8, 200]) expect(decoded.step.apply(stepProblem(sFs))).toEqual(original.step.apply(stepProblem(sFs)))
    expect(typeof decoded.fisher.prepare).toBe("function")
    expect(typeof decoded.solver.solve).toBe("function")
  } else if (original._tag === "FirstOrder" && decoded._tag === "FirstOrder") {
    for (const kl of [1e-4, 0.01, 0.05]) expect(decoded.penalty.next(0.7, kl)).toBe(original.penalty.next(0.7, kl))
    expect(decoded.penalty.initialBeta).toBe(original.penalty.initialBeta)
    for (const p of [0, 0.25, 1]) expect(decoded.optimizer.learningRate.at(p)).toBe(original.optimizer.learningRate.at(p))
  } else {
    throw new Error("decoded recipe of another kind")
  }
}

describe("RecipeData", () => {
  describe("decode", () => {
    for (const [label, recipe] of builtins) {
      it(`${label} round-trips: decode(describe(r)) succeeds, describes identically and computes the same`, () => {
        const before = JSON.stringify(json(recipe))
        const decoded = success(RecipeData.decode(json(recipe)))
        expect(json(decoded)).toEqual(json(recipe))
        expectSameBehaviour(recipe, decoded)
        // …and through a JSON text, as config.json is read back.
        expect(json(success(RecipeData.decode(JSON.parse(before))))).toEqual(json(recipe))
        expect(JSON.stringify(json(recipe))).toBe(before)
      })
    }

    it("a KL penalty around another objective (KlPenalized with inner) round-trips and computes the same", () => {
      const recipe = Recipe.replace(Ppo.clip, "objective", Surrogate.klPenalized({ beta: 0.3, inner: Ppo.clip.objective }))
      const decoded = success(RecipeData.decode(json(recipe)))
      expect(json(decoded).objective).toEqual({ _tag: "KlPenalized", beta: 0.3, inner: json(Ppo.clip).objective })
      expect(json(decoded)).toEqual(json(recipe))
      expectSameBehaviour(recipe, decoded)
      expect(errorOf(RecipeData.decode({ ...json(recipe), objective: { _tag: "KlPenalized", beta: 0.3, inner: { _tag: "Clipped", epsilon: -1 } } })).path)
        .toBe("objective.inner.epsilon")
    })

    it("the built-in recipes have the names and kinds the CLI knows them by", () => {
      expect([Trpo.recipe.name, Npg.recipe.name, Npg.forEnv("CartPole-v1").name, Ppo.clip.name, Ppo.penalty.name]).toEqual(["trpo", "npg", "npg", "ppo-clip", "ppo-penalty"])
      expect(json(Npg.forEnv("CartPole-v1")).step).toEqual({ _tag: "TrustRegionStep", maxKl: 0.015 })
      // NPG for an env differs from TRPO for it in the step rule (and the name) only.
      const { step: _s, name: _n, ...npg } = json(Npg.forEnv("CartPole-v1"))
      const { step: _t, name: _m, ...trpo } = json(Trpo.forEnv("CartPole-v1"))
      expect(npg).toEqual(trpo)
    })

    it("rejects a missing field with its path: numEnvs, step, step.maxKl", () => {
      const { numEnvs: _, ...noEnvs } = json(Trpo.recipe)
      expect(errorOf(RecipeData.decode(noEnvs))).toEqual({ path: "numEnvs", message: "numEnvs: Missing key" })
      const { step: _s, ...noStep } = json(Trpo.recipe)
      expect(errorOf(RecipeData.decode(noStep))).toEqual({ path: "step", message: "step: Missing key" })
      const base = json(Trpo.recipe)
      const { maxKl: _m, ...step } = base.step
      expect(errorOf(RecipeData.decode({ ...base, step }))).toEqual({ path: "step.maxKl", message: "step.maxKl: Missing key" })
    })

    it("rejects a wrong type with its path: a string number, a nested string, a list element, a fractional integer", () => {
      const base = json(Trpo.recipe)
      expect(errorOf(RecipeData.decode({ ...base, numEnvs: "2" }))).toEqual({ path: "numEnvs", message: "numEnvs: expected number" })
      expect(errorOf(RecipeData.decode({ ...base, advantage: { ...base.advantage, inner: { ...base.advantage.inner, lambda: "x" } } })))
        .toEqual({ path: "advantage.inner.lambda", message: "advantage.inner.lambda: expected number" })
      expect(errorOf(RecipeData.decode({ ...base, policyHiddenSizes: [64, "a"] }))).toEqual({ path: "policyHiddenSizes.1", message: "policyHiddenSizes.1: expected number" })
      expect(errorOf(RecipeData.decode({ ...base, numEnvs: 2.5 }))).toEqual({ path: "numEnvs", message: "numEnvs: expected an integer" })
      const ppo = json(Ppo.clip)
      expect(errorOf(RecipeData.decode({ ...ppo, optimizer: { ...ppo.optimizer, epochs: 2.5 } }))).toEqual({ path: "optimizer.epochs", message: "optimizer.epochs: expected an integer" })
    })

    it("an unknown _tag lists the allowed tags of that slot (top level, a slot, a nested block)", () => {
      const base = json(Trpo.recipe)
      expect(errorOf(RecipeData.decode({ ...base, _tag: "SecondOrder" }))).toEqual({ path: "", message: "recipe: unknown block; expected one of NaturalGradient, FirstOrder" })
      expect(errorOf(RecipeData.decode({ ...base, step: { _tag: "Wolfe", maxKl: 0.01 } })))
        .toEqual({ path: "step", message: "step: unknown block; expected one of BacktrackingLineSearch, TrustRegionStep, FixedStep, ImprovementRatio" })
      expect(errorOf(RecipeData.decode({ ...base, advantage: { ...base.advantage, inner: { _tag: "Td", gamma: 0.9 } } })))
        .toEqual({ path: "advantage.inner", message: "advantage.inner: unknown block; expected one of Gae, MonteCarlo, NStep, Normalized" })
      const ppo = json(Ppo.clip)
      expect(errorOf(RecipeData.decode({ ...ppo, optimizer: { ...ppo.optimizer, learningRate: { _tag: "Cosine" } } })))
        .toEqual({ path: "optimizer.learningRate", message: "optimizer.learningRate: unknown block; expected one of Constant, Linear" })
    })

    it("rebuilds blocks through their constructors, so an out-of-range value is an error naming its path", () => {
      const base = json(Trpo.recipe)
      expect(errorOf(RecipeData.decode({ ...base, step: { ...base.step, maxKl: -1 } }))).toEqual({ path: "step.maxKl", message: "step.maxKl: must be > 0, got -1" })
      expect(errorOf(RecipeData.decode({ ...base, numEnvs: 0 }))).toEqual({ path: "numEnvs", message: "numEnvs: must be a positive integer, got 0" })
      expect(errorOf(RecipeData.decode({ ...base, valueHiddenSizes: [] })))
        .toEqual({ path: "valueHiddenSizes", message: "valueHiddenSizes: must be a non-empty list of positive integers, got []" })
    })

    it("a non-object is rejected at the root", () => {
      for (const value of [null, 3, "trpo", []]) expect(errorOf(RecipeData.decode(value)).path).toBe("")
    })

    // FixedPenalty's JSON form carries `initialBeta` (= beta) and the schema accepts the key, but
    // the rebuild passes only `beta` to Penalty.fixed: a different initialBeta is dropped without
    // an error. Known src bug, see the report.
    it("does not silently drop a FixedPenalty initialBeta that differs from beta", () => {
      const ppo = json(Ppo.clip)
      const decoded = RecipeData.decode({ ...ppo, penalty: { _tag: "FixedPenalty", beta: 0, initialBeta: 5 } })
      if (Result.isSuccess(decoded)) expect((decoded.success as Recipe.FirstOrder).penalty.initialBeta).toBe(5)
      else expect(decoded.failure.path).toBe("penalty.initialBeta")
    })
  })

  describe("override", () => {
    it("a numeric key: step.maxKl=0.02 rebuilds the step rule at δ = 0.02 and changes nothing else", () => {
      const recipe = success(RecipeData.override(Trpo.recipe, "step.maxKl", "0.02"))
      const expected = json(Trpo.recipe)
      expected.step = { ...expected.step, maxKl: 0.02 }
      expect(json(recipe)).toEqual(expected)
      // The block itself is rebuilt: its maximal step is √(2·0.02/8) = √0.005.
      const result = (recipe as Recipe.NaturalGradient).step.apply(stepProblem(8))
      expect(Math.abs(result.maxStepSize - Math.sqrt(0.005))).toBeLessThanOrEqual(1e-16)
      // The original recipe is untouched.
      expect(json(Trpo.recipe).step.maxKl).toBe(0.01)
    })

    it("a nested key: advantage.inner.lambda=0.9 estimates as normalized(gae(0.99, 0.9))", () => {
      const recipe = success(RecipeData.override(Trpo.recipe, "advantage.inner.lambda", "0.9"))
      expect(json(recipe).advantage).toEqual({ _tag: "Normalized", inner: { _tag: "Gae", gamma: 0.99, lambda: 0.9 }, epsilon: 1e-8 })
      expect(recipe.advantage.estimate(trajectories)).toEqual(Advantage.normalized(Advantage.gae({ gamma: 0.99, lambda: 0.9 })).estimate(trajectories))
      expect(recipe.advantage.estimate(trajectories)).not.toEqual(Trpo.recipe.advantage.estimate(trajectories))
    })

    it("a boolean: advantage.inner.baseline=false after switching to Monte-Carlo; anything but true/false is refused", () => {
      const mc = success(RecipeData.override(Trpo.recipe, "advantage.inner", `{"_tag":"MonteCarlo","gamma":0.99}`))
      expect(json(mc).advantage.inner).toEqual({ _tag: "MonteCarlo", gamma: 0.99, baseline: true })
      const raw = success(RecipeData.override(mc, "advantage.inner.baseline", "false"))
      expect(json(raw).advantage.inner).toEqual({ _tag: "MonteCarlo", gamma: 0.99, baseline: false })
      expect(raw.advantage.estimate(trajectories)).toEqual(Advantage.normalized(Advantage.monteCarlo({ gamma: 0.99, baseline: false })).estimate(trajectories))
      const bad = RecipeData.override(mc, "advantage.inner.baseline", "no")
      expect(Result.isFailure(bad) && bad.failure.message).toBe(`invalid value "no" for advantage.inner.baseline (expected true or false)`)
    })

    it("a list: policyHiddenSizes=32,32 (and with spaces, or a single size)", () => {
      expect(json(success(RecipeData.override(Trpo.recipe, "policyHiddenSizes", "32,32"))).policyHiddenSizes).toEqual([32, 32])
      expect(json(success(RecipeData.override(Ppo.clip, "valueHiddenSizes", "16, 8"))).valueHiddenSizes).toEqual([16, 8])
      expect(json(success(RecipeData.override(Ppo.clip, "policyHiddenSizes", "7"))).policyHiddenSizes).toEqual([7])
    })

    it("a whole block as JSON: solver=DenseCholesky(3000), step=TrustRegionStep(0.02), a learning-rate schedule", () => {
      const dense = success(RecipeData.override(Trpo.recipe, "solver", `{"_tag":"DenseCholesky","maxParameters":3000}`))
      expect(json(dense).solver).toEqual({ _tag: "DenseCholesky", maxParameters: 3000 })
      expect(typeof (dense as Recipe.NaturalGradient).solver.solve).toBe("function")
      const npg = success(RecipeData.override(Trpo.recipe, "step", `{"_tag":"TrustRegionStep","maxKl":0.02}`))
      expect(json(npg).step).toEqual({ _tag: "TrustRegionStep", maxKl: 0.02 })
      // NPG's rule: the full step √(2·0.02/0.5) = √0.08 is taken although its KL, ½·0.08·8 = 0.32
      // (the true sᵀFs of stepProblem's s is 8), is 16δ.
      const step = (npg as Recipe.NaturalGradient).step.apply(stepProblem(0.5))
      expect(step.backtracks).toBe(0)
      expect(Math.abs(step.stepSize - Math.sqrt(0.08))).toBeLessThanOrEqual(1e-16)
      expect(Math.abs(step.kl - 0.32)).toBeLessThanOrEqual(1e-15)
      const annealed = success(RecipeData.override(Ppo.clip, "optimizer.learningRate", `{"_tag":"Linear","start":0.001,"end":0}`))
      expect((annealed as Recipe.FirstOrder).optimizer.learningRate.at(0.5)).toBe(0.0005)
    })

    it("an optional key absent from the JSON form: critic.clipRange=0.2 on PPO, penalty.maxBeta on PPO-penalty", () => {
      expect(RecipeData.keys(Ppo.clip)).not.toContain("critic.clipRange")
      const clipped = success(RecipeData.override(Ppo.clip, "critic.clipRange", "0.2"))
      expect(json(clipped).critic).toEqual({ _tag: "JointValueLoss", coefficient: 0.5, clipRange: 0.2 })
      expect(RecipeData.keys(clipped)).toContain("critic.clipRange")
      const bounded = success(RecipeData.override(Ppo.penalty, "penalty.maxBeta", "4"))
      expect(json(bounded).penalty).toEqual({ _tag: "AdaptivePenalty", initialBeta: 1, targetKl: 0.01, tolerance: 1.5, factor: 2, maxBeta: 4 })
      // The bound acts: 3 · 2 = 6 is clamped to 4.
      expect((bounded as Recipe.FirstOrder).penalty.next(3, 1)).toBe(4)
    })

    it("overrides compose in order", () => {
      const once = success(RecipeData.override(Ppo.clip, "numEnvs", "2"))
      const twice = success(RecipeData.override(once, "stepsPerEnv", "64"))
      const thrice = success(RecipeData.override(twice, "optimizer.epochs", "2"))
      expect([thrice.numEnvs, thrice.stepsPerEnv, (thrice as Recipe.FirstOrder).optimizer.epochs]).toEqual([2, 64, 2])
      expect(thrice.name).toBe("ppo-clip")
    })

    describe("errors", () => {
      it("an unknown key names the key and lists the keys of its block", () => {
        expect(errorOf(RecipeData.override(Trpo.recipe, "step.maxkl", "0.02"))).toEqual({
          path: "step.maxkl",
          message: `unknown key "step.maxkl" for trpo; keys under step: step.maxKl, step.backtrackRatio, step.maxBacktracks, step.klTolerance`
        })
        expect(errorOf(RecipeData.override(Ppo.clip, "critic.clip", "0.2"))).toEqual({
          path: "critic.clip",
          message: `unknown key "critic.clip" for ppo-clip; keys under critic: critic.coefficient`
        })
        // critic.clipRange is PPO's optional key, not TRPO's (its critic is an AdamFit).
        expect(errorOf(RecipeData.override(Trpo.recipe, "critic.clipRange", "0.2"))).toEqual({
          path: "critic.clipRange",
          message: `unknown key "critic.clipRange" for trpo; keys under critic: critic.learningRate, critic.epochs, critic.minibatchSize`
        })
        // A top-level unknown key lists every key.
        expect(errorOf(RecipeData.override(Npg.recipe, "numenvs", "2"))).toEqual({
          path: "numenvs",
          message: `unknown key "numenvs" for npg; keys: ${RecipeData.keys(Npg.recipe).join(", ")}`
        })
        // A tag is not a hyperparameter.
        expect(errorOf(RecipeData.override(Trpo.recipe, "step._tag", "FixedStep")).path).toBe("step._tag")
        expect(errorOf(RecipeData.override(Trpo.recipe, "_tag", "FirstOrder")).path).toBe("_tag")
      })

      // "keys under X" must list keys under X. For a path below a leaf or a missing block the
      // message says "keys under step.bogus" (resp. "under step.maxKl") and then lists every key
      // of the recipe. Known src bug (RecipeData.unknownKey), see the report.
      it("an unknown key below a missing block does not list unrelated keys as being under it", () => {
        for (const path of ["step.bogus.x", "step.maxKl.x"]) {
          const { message } = errorOf(RecipeData.override(Trpo.recipe, path, "1"))
          const under = /keys under ([\w.]+): (.*)$/.exec(message)
          if (under !== null) for (const key of under[2]!.split(", ")) expect(key.startsWith(`${under[1]}.`), `${message}`).toBe(true)
        }
      })

      it("a malformed value is an error naming the key and the expected form", () => {
        const cases: ReadonlyArray<readonly [Recipe.Recipe, string, string, string]> = [
          [Trpo.recipe, "numEnvs", "abc", `invalid value "abc" for numEnvs (expected a number)`],
          [Trpo.recipe, "numEnvs", "", `invalid value "" for numEnvs (expected a number)`],
          [Trpo.recipe, "step.maxKl", "0.0.2", `invalid value "0.0.2" for step.maxKl (expected a number)`],
          [Trpo.recipe, "step.maxKl", "Infinity", `invalid value "Infinity" for step.maxKl (expected a number)`],
          [Trpo.recipe, "policyHiddenSizes", "32,a", `invalid value "32,a" for policyHiddenSizes (expected a comma-separated list of integers)`],
          [Trpo.recipe, "solver", "DenseCholesky", `invalid value "DenseCholesky" for solver (expected a block as JSON, e.g. {"_tag": …})`],
          [Ppo.clip, "optimizer.learningRate", "[1]", `invalid value "[1]" for optimizer.learningRate (expected a block as JSON, e.g. {"_tag": …})`]
        ]
        for (const [recipe, path, text, message] of cases) expect(errorOf(RecipeData.override(recipe, path, text))).toEqual({ path, message })
      })

      it("a non-integer for an integer field", () => {
        expect(errorOf(RecipeData.override(Trpo.recipe, "numEnvs", "1.5"))).toEqual({ path: "numEnvs", message: `invalid value "1.5" for numEnvs (expected an integer)` })
        expect(errorOf(RecipeData.override(Trpo.recipe, "step.maxBacktracks", "2.5")))
          .toEqual({ path: "step.maxBacktracks", message: `invalid value "2.5" for step.maxBacktracks (expected an integer)` })
        expect(errorOf(RecipeData.override(Ppo.clip, "optimizer.minibatchSize", "64.5")))
          .toEqual({ path: "optimizer.minibatchSize", message: `invalid value "64.5" for optimizer.minibatchSize (expected an integer)` })
      })

      it("an out-of-range value names the key and the constructor's range", () => {
        const cases: ReadonlyArray<readonly [Recipe.Recipe, string, string, string]> = [
          [Trpo.recipe, "step.maxKl", "-1", `invalid value "-1" for step.maxKl (must be > 0, got -1)`],
          [Npg.recipe, "step.maxKl", "0", `invalid value "0" for step.maxKl (must be > 0, got 0)`],
          [Trpo.recipe, "advantage.inner.lambda", "1.5", `invalid value "1.5" for advantage.inner.lambda (must lie in [0, 1], got 1.5)`],
          [Ppo.clip, "advantage.lambda", "1.5", `invalid value "1.5" for advantage.lambda (must lie in [0, 1], got 1.5)`],
          [Ppo.clip, "objective.inner.epsilon", "0", `invalid value "0" for objective.inner.epsilon (must be a finite number > 0, got 0)`],
          [Ppo.clip, "objective.inner.epsilon", "-0.1", `invalid value "-0.1" for objective.inner.epsilon (must be a finite number > 0, got -0.1)`],
          [Trpo.recipe, "numEnvs", "0", `invalid value "0" for numEnvs (must be a positive integer, got 0)`],
          [Ppo.clip, "numEnvs", "-3", `invalid value "-3" for numEnvs (must be a positive integer, got -3)`],
          [Trpo.recipe, "policyHiddenSizes", "64,0", `invalid value "64,0" for policyHiddenSizes (must be a non-empty list of positive integers, got [64, 0])`],
          [Trpo.recipe, "step.backtrackRatio", "1", `invalid value "1" for step.backtrackRatio (must be in (0, 1), got 1)`],
          [Ppo.clip, "critic.clipRange", "-0.2", `invalid value "-0.2" for critic.clipRange (must be > 0, got -0.2)`],
          [Ppo.penalty, "penalty.targetKl", "0", `invalid value "0" for penalty.targetKl (must be a finite number > 0, got 0)`]
        ]
        for (const [recipe, path, text, message] of cases) expect(errorOf(RecipeData.override(recipe, path, text))).toEqual({ path, message })
      })

      it("a block with an unknown _tag lists the allowed tags; one with a missing field names it", () => {
        const text = `{"_tag":"Dense","maxParameters":3000}`
        expect(errorOf(RecipeData.override(Trpo.recipe, "solver", text)))
          .toEqual({ path: "solver", message: `invalid value "${text}" for solver (unknown block; expected one of ConjugateGradient, DenseCholesky)` })
        const step = `{"_tag":"Armijo"}`
        expect(errorOf(RecipeData.override(Npg.recipe, "step", step))).toEqual({
          path: "step",
          message: `invalid value "${step}" for step (unknown block; expected one of BacktrackingLineSearch, TrustRegionStep, FixedStep, ImprovementRatio)`
        })
        const partial = `{"_tag":"DenseCholesky"}`
        expect(errorOf(RecipeData.override(Trpo.recipe, "solver", partial)))
          .toEqual({ path: "solver", message: `invalid value "${partial}" for solver at solver.maxParameters (Missing key)` })
        const badRange = `{"_tag":"TrustRegionStep","maxKl":-1}`
        expect(errorOf(RecipeData.override(Trpo.recipe, "step", badRange)))
          .toEqual({ path: "step", message: `invalid value "${badRange}" for step at step.maxKl (must be > 0, got -1)` })
      })

      it("a failed override leaves the recipe as it was", () => {
        const before = JSON.stringify(json(Trpo.recipe))
        RecipeData.override(Trpo.recipe, "step.maxKl", "-1")
        RecipeData.override(Trpo.recipe, "solver", `{"_tag":"Dense"}`)
        expect(JSON.stringify(json(Trpo.recipe))).toBe(before)
      })
    })
  })

  describe("keys", () => {
    it("lists TRPO's hyperparameters as dotted paths, in JSON order, without tags", () => {
      expect(RecipeData.keys(Trpo.recipe)).toEqual([
        "name", "numEnvs", "stepsPerEnv", "policyHiddenSizes", "valueHiddenSizes", "initialLogStd",
        "advantage.inner.gamma", "advantage.inner.lambda", "advantage.epsilon",
        "fisher.damping", "fisher.subsampleEvery",
        "solver.maxIterations", "solver.residualTolerance",
        "step.maxKl", "step.backtrackRatio", "step.maxBacktracks", "step.klTolerance",
        "critic.learningRate", "critic.epochs", "critic.minibatchSize"
      ])
      expect(RecipeData.keys(Npg.recipe)).toContain("step.maxKl")
      expect(RecipeData.keys(Npg.recipe)).not.toContain("step.backtrackRatio")
    })

    it("lists PPO-penalty's keys, including the nested schedule and the adaptive rule", () => {
      expect(RecipeData.keys(Ppo.penalty)).toEqual([
        "name", "numEnvs", "stepsPerEnv", "policyHiddenSizes", "valueHiddenSizes", "initialLogStd",
        "advantage.gamma", "advantage.lambda",
        "objective.coefficient",
        "penalty.initialBeta", "penalty.targetKl", "penalty.tolerance", "penalty.factor",
        "optimizer.learningRate.value", "optimizer.epochs", "optimizer.minibatchSize", "optimizer.maxGradNorm", "optimizer.epsilon",
        "minibatchAdvantages.epsilon",
        "critic.coefficient"
      ])
    })

    it("every key of every built-in recipe can be set to its own value, which changes nothing", () => {
      for (const [label, recipe] of builtins) {
        const keys = RecipeData.keys(recipe)
        expect(keys.some((k) => k.split(".").includes("_tag")), label).toBe(false)
        for (const key of keys) {
          const value = at(json(recipe), key)
          const text = Array.isArray(value) ? value.join(",") : String(value)
          const result = RecipeData.override(recipe, key, text)
          expect(Result.isSuccess(result), `${label} ${key}=${text}`).toBe(true)
          if (Result.isSuccess(result)) expect(json(result.success), `${label} ${key}`).toEqual(json(recipe))
        }
      }
    })

    // A numeric key that `keys` offers and `override` accepts must take the new value.
    // FixedPenalty's `penalty.initialBeta` (PPO-clip) is accepted and dropped. Known src bug, see
    // the report.
    it("every numeric key set to a new in-range value either takes it or is refused (never silently dropped)", () => {
      const dropped: Array<string> = []
      let taken = 0
      for (const [label, recipe] of builtins) {
        for (const key of RecipeData.keys(recipe)) {
          const value = at(json(recipe), key)
          if (typeof value !== "number") continue
          const next = Number.isInteger(value) && value >= 1 ? value + 1 : value === 0 ? 0.5 : value / 2
          const result = RecipeData.override(recipe, key, String(next))
          if (Result.isSuccess(result)) {
            if (at(json(result.success), key) === next) taken += 1
            else dropped.push(`${label} ${key}=${next} → ${String(at(json(result.success), key))}`)
          }
        }
      }
      expect(taken).toBeGreaterThan(100)
      expect(dropped).toEqual([])
    })
  })
})
