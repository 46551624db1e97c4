/**
 * Advantage estimators: the `advantage` slot of a recipe. Each estimator is a block, a value
 * whose data fields (`_tag` and hyperparameters) go into the run manifest and whose
 * `estimate` maps one batch of trajectories to advantages `Â_t` and value targets.
 *
 * **Batch layout** (used by every module that reads a rollout batch): time-major,
 * `index = t·numEnvs + e` for step `t ∈ [0, numSteps)` and environment `e ∈ [0, numEnvs)`.
 * Step `t` of env `e` took the action in state `s_t` and received `r_t`; `nextValues` holds
 * `V(s_{t+1})` for the observation that followed, which for a truncated step is the final
 * observation of the episode (before the reset), and for the last step of the batch is the
 * observation the next batch starts from.
 *
 * An episode boundary at step `t` (`terminations[t]` or `truncations[t]`) stops every
 * backward recursion: nothing after `t` leaks into `Â_t`. A termination ends the return
 * (no bootstrap); a truncation, e.g. a time limit, bootstraps from `nextValues[t]`; when
 * both flags are set the termination wins. The end of the batch bootstraps like a truncation.
 *
 * @since 0.1.0
 */

/**
 * One batch of transitions in the batch layout (length `numSteps·numEnvs` each).
 *
 * - `rewards`: `r_t`.
 * - `values`: `V(s_t)`.
 * - `nextValues`: `V(s_{t+1})` of the observation that followed step `t`: at a truncated
 *   step the final observation of the episode (before reset); at the last step of the batch
 *   the next observation; ignored where the episode terminated.
 * - `terminations`: 1 where the episode terminated at step `t` (no bootstrap).
 * - `truncations`: 1 where it was truncated at step `t` (bootstrap from `nextValues`).
 *
 * @category models
 */
export interface Trajectories {
  readonly numSteps: number
  readonly numEnvs: number
  readonly rewards: Float64Array
  readonly values: Float64Array
  readonly nextValues: Float64Array
  readonly terminations: Uint8Array
  readonly truncations: Uint8Array
}

/**
 * An estimator's output, in the batch layout: `advantages` `Â_t` for the policy update and
 * `returns` = `Â_t + V(s_t)`, the regression targets of the critic.
 *
 * @category models
 */
export interface Estimate {
  readonly advantages: Float64Array
  readonly returns: Float64Array
}

/**
 * The advantage slot: a block with a `_tag`, JSON-serialisable hyperparameters, and
 * `estimate`.
 *
 * @category models
 */
export interface Estimator {
  readonly _tag: string
  estimate(trajectories: Trajectories): Estimate
}

/**
 * Generalised advantage estimation with discount `gamma` γ and trace parameter `lambda` λ.
 *
 * @category models
 */
export interface Gae extends Estimator {
  readonly _tag: "Gae"
  readonly gamma: number
  readonly lambda: number
}

/**
 * Monte-Carlo advantages with discount `gamma` γ.
 *
 * @category models
 */
export interface MonteCarlo extends Estimator {
  readonly _tag: "MonteCarlo"
  readonly gamma: number
  readonly baseline: boolean
}

/**
 * n-step advantages with discount `gamma` γ and horizon `n`.
 *
 * @category models
 */
export interface NStep extends Estimator {
  readonly _tag: "NStep"
  readonly gamma: number
  readonly n: number
}

/**
 * An estimator whose advantages are standardised over the batch.
 *
 * @category models
 */
export interface Normalized extends Estimator {
  readonly _tag: "Normalized"
  readonly inner: Estimator
  readonly epsilon: number
}

const checkUnit = (name: string, value: number): void => {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`Advantage: ${name} must lie in [0, 1], got ${value}`)
}

const checkTrajectories = (trajectories: Trajectories): void => {
  const { numSteps, numEnvs } = trajectories
  if (!Number.isSafeInteger(numSteps) || numSteps < 0 || !Number.isSafeInteger(numEnvs) || numEnvs < 0) {
    throw new RangeError(`Advantage: numSteps and numEnvs must be non-negative integers, got ${numSteps}, ${numEnvs}`)
  }
  const size = numSteps * numEnvs
  for (const field of ["rewards", "values", "nextValues", "terminations", "truncations"] as const) {
    if (trajectories[field].length !== size) {
      throw new RangeError(
        `Advantage: ${field} has length ${trajectories[field].length}, expected numSteps·numEnvs = ${size}`
      )
    }
  }
}

const withReturns = (advantages: Float64Array, values: Float64Array): Estimate => {
  const returns = new Float64Array(advantages.length)
  for (let i = 0; i < advantages.length; i++) returns[i] = advantages[i] + values[i]
  return { advantages, returns }
}

/**
 * GAE(γ, λ) advantages (Schulman et al., "High-Dimensional Continuous Control Using
 * Generalized Advantage Estimation", ICLR 2016, eq. 16), by the backward recursion
 *
 * ```
 * δ_t = r_t + γ (1 − term_t) V(s_{t+1}) − V(s_t)
 * Â_t = δ_t + γλ (1 − done_t) Â_{t+1},   done_t = term_t ∨ trunc_t
 * ```
 *
 * started from `Â = δ` at the last step of the batch, i.e. `Â_t = Σ_l (γλ)^l δ_{t+l}` up to
 * the episode's or the batch's end. `V(s_{t+1})` is `nextValues[t]`. λ = 0 gives the TD error
 * `δ_t`; λ = 1 gives {@link monteCarlo} when `nextValues[t] = values[t+1]` inside episodes.
 *
 * **Gotchas**: truncated steps bootstrap from `V` of the final observation, which the env
 * runner must record before the reset (SB3 #633, cleanrl #198: dropping it biases returns
 * at time limits). rlax's `truncated_generalized_advantage_estimation` takes
 * `discount_t = γ(1 − term_t)` and cannot tell a truncation from a continuing step.
 *
 * @param gamma discount γ ∈ [0, 1]
 * @param lambda GAE trace parameter λ ∈ [0, 1]
 * @category constructors
 */
export const gae = (params: { readonly gamma: number; readonly lambda: number }): Gae => {
  const { gamma, lambda } = params
  checkUnit("gamma", gamma)
  checkUnit("lambda", lambda)
  return {
    _tag: "Gae",
    gamma,
    lambda,
    estimate: (trajectories) => {
      checkTrajectories(trajectories)
      const { numSteps, numEnvs, rewards, values, nextValues, terminations, truncations } = trajectories
      const advantages = new Float64Array(numSteps * numEnvs)
      // Â_{t+1} per env; 0 at the batch end, where the recursion starts from δ.
      const next = new Float64Array(numEnvs)
      for (let t = numSteps - 1; t >= 0; t--) {
        for (let e = 0; e < numEnvs; e++) {
          const i = t * numEnvs + e
          const terminated = terminations[i] !== 0
          const done = terminated || truncations[i] !== 0
          const delta = rewards[i] + (terminated ? 0 : gamma * nextValues[i]) - values[i]
          const advantage = done ? delta : delta + gamma * lambda * next[e]
          advantages[i] = advantage
          next[e] = advantage
        }
      }
      return withReturns(advantages, values)
    }
  }
}

/**
 * Monte-Carlo advantages: the discounted return to the end of the episode minus the value,
 *
 * ```
 * G_t = r_t                        if term_t
 *     = r_t + γ V(s_{t+1})         if trunc_t, or t is the last step of the batch
 *     = r_t + γ G_{t+1}            otherwise
 * Â_t = G_t − V(s_t)      (baseline, the default)
 *     = G_t               (baseline: false)
 * ```
 *
 * (REINFORCE with and without a baseline; Williams 1992). With the baseline it equals
 * {@link gae} with λ = 1 when `nextValues[t] = values[t+1]` inside episodes; without it the
 * advantage is the discounted return itself (the GAE paper's "no value function" ablation),
 * while the critic is still fitted to `G_t` and still bootstraps at truncations.
 *
 * **Gotchas**: bootstrapping at a truncation and at the batch end makes this "Monte-Carlo to
 * the horizon of the data", as SB3 and Spinning Up do; pure Monte-Carlo would need complete
 * episodes.
 *
 * @param gamma discount γ ∈ [0, 1]
 * @param baseline subtract `V(s_t)` (default `true`)
 * @category constructors
 */
export const monteCarlo = (params: { readonly gamma: number; readonly baseline?: boolean }): MonteCarlo => {
  const { gamma } = params
  const baseline = params.baseline ?? true
  checkUnit("gamma", gamma)
  return {
    _tag: "MonteCarlo",
    gamma,
    baseline,
    estimate: (trajectories) => {
      checkTrajectories(trajectories)
      const { numSteps, numEnvs, rewards, values, nextValues, terminations, truncations } = trajectories
      const returns = new Float64Array(numSteps * numEnvs)
      const advantages = new Float64Array(numSteps * numEnvs)
      for (let t = numSteps - 1; t >= 0; t--) {
        for (let e = 0; e < numEnvs; e++) {
          const i = t * numEnvs + e
          let tail: number
          if (terminations[i] !== 0) tail = 0
          else if (truncations[i] !== 0 || t === numSteps - 1) tail = nextValues[i]
          else tail = returns[i + numEnvs]
          returns[i] = rewards[i] + gamma * tail
          advantages[i] = baseline ? returns[i] - values[i] : returns[i]
        }
      }
      return { advantages, returns }
    }
  }
}

/**
 * n-step advantages: up to `n` rewards, then the value of the state reached,
 *
 * ```
 * Â_t = Σ_{k<m} γ^k r_{t+k} + γ^m (1 − term_{t+m−1}) V(s_{t+m}) − V(s_t)
 * ```
 *
 * where `m ≤ n` is cut short at the first episode boundary or at the batch end
 * (Sutton & Barto, 2nd ed., §7.1). `V(s_{t+m})` is `nextValues[t+m−1]`. With n = 1 this is
 * the TD error, i.e. {@link gae} with λ = 0.
 *
 * **Gotchas**: `γ^m V` reads `nextValues` of the last summed step, not `values[t+m]`; the two
 * agree inside an episode in a consistent rollout. Cost O(numSteps·numEnvs·n).
 *
 * @param gamma discount γ ∈ [0, 1]
 * @param n horizon, a positive integer
 * @category constructors
 */
export const nStep = (params: { readonly gamma: number; readonly n: number }): NStep => {
  const { gamma, n } = params
  checkUnit("gamma", gamma)
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`Advantage.nStep: n must be a positive integer, got ${n}`)
  return {
    _tag: "NStep",
    gamma,
    n,
    estimate: (trajectories) => {
      checkTrajectories(trajectories)
      const { numSteps, numEnvs, rewards, values, nextValues, terminations, truncations } = trajectories
      const advantages = new Float64Array(numSteps * numEnvs)
      for (let t = 0; t < numSteps; t++) {
        for (let e = 0; e < numEnvs; e++) {
          let sum = 0
          let discount = 1
          for (let k = 0; k < n && t + k < numSteps; k++) {
            const j = (t + k) * numEnvs + e
            sum += discount * rewards[j]
            discount *= gamma
            const terminated = terminations[j] !== 0
            if (terminated) break
            if (k === n - 1 || t + k === numSteps - 1 || truncations[j] !== 0) {
              sum += discount * nextValues[j]
              break
            }
          }
          const i = t * numEnvs + e
          advantages[i] = sum - values[i]
        }
      }
      return withReturns(advantages, values)
    }
  }
}

/**
 * Standardises the advantages of `inner` over the whole batch,
 * `Â'_t = (Â_t − mean Â) / (std Â + ε)`, with the population standard deviation
 * (divide by N). The returns stay those of `inner`, `Â_t + V(s_t)` before standardising,
 * so the critic's targets are unaffected.
 *
 * **Gotchas**: SB3, SB3-contrib and cleanrl call `torch.Tensor.std()`, which divides by
 * N − 1; Spinning Up and baselines divide by N, as here. The two differ by a factor
 * `√(N/(N−1))`, which is negligible at batch sizes. This normalises the full batch once;
 * per-minibatch normalisation (SB3's PPO) belongs to the minibatch loop. A batch of equal
 * advantages maps to about zero (rounding error / ε), not to NaN.
 *
 * @param inner the estimator to normalise
 * @param epsilon ε added to the standard deviation (default 1e-8)
 * @category combinators
 */
export const normalized = (inner: Estimator, params?: { readonly epsilon?: number }): Normalized => {
  const epsilon = params?.epsilon ?? 1e-8
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) {
    throw new RangeError(`Advantage.normalized: epsilon must be a finite non-negative number, got ${epsilon}`)
  }
  return {
    _tag: "Normalized",
    inner,
    epsilon,
    estimate: (trajectories) => {
      const { advantages, returns } = inner.estimate(trajectories)
      const size = advantages.length
      if (size === 0) return { advantages, returns }
      let mean = 0
      for (let i = 0; i < size; i++) mean += advantages[i]
      mean /= size
      let variance = 0
      for (let i = 0; i < size; i++) variance += (advantages[i] - mean) ** 2
      variance /= size
      const scale = 1 / (Math.sqrt(variance) + epsilon)
      const standardized = new Float64Array(size)
      for (let i = 0; i < size; i++) standardized[i] = (advantages[i] - mean) * scale
      return { advantages: standardized, returns }
    }
  }
}
