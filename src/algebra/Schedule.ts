/**
 * Schedules of a hyperparameter over training, e.g. the learning rate or a coefficient, as
 * blocks: `_tag` and the endpoints as data, `at(progress)` with `progress ∈ [0, 1]` the
 * fraction of training done when the value is used.
 *
 * @since 0.1.0
 */

/**
 * @category models
 */
export interface Schedule {
  readonly _tag: string
  /** The value at `progress ∈ [0, 1]`. */
  at(progress: number): number
}

/**
 * @category models
 */
export interface Constant extends Schedule {
  readonly _tag: "Constant"
  readonly value: number
}

/**
 * @category models
 */
export interface Linear extends Schedule {
  readonly _tag: "Linear"
  readonly start: number
  readonly end: number
}

const checkProgress = (name: string, progress: number): void => {
  if (!(progress >= 0 && progress <= 1)) throw new RangeError(`Schedule.${name}: progress must lie in [0, 1], got ${progress}`)
}

const checkFinite = (name: string, field: string, value: number): void => {
  if (!Number.isFinite(value)) throw new RangeError(`Schedule.${name}: ${field} must be finite, got ${value}`)
}

/**
 * The same value throughout.
 *
 * @category constructors
 */
export const constant = (value: number): Constant => {
  checkFinite("constant", "value", value)
  return {
    _tag: "Constant",
    value,
    at: (progress) => {
      checkProgress("constant", progress)
      return value
    }
  }
}

/**
 * Linear interpolation from `start` at progress 0 to `end` at progress 1:
 * `at(p) = start + (end − start)·p`, computed as `(1 − p)·start + p·end` so that both
 * endpoints are exact.
 *
 * cleanrl's `anneal_lr` is `linear({ start: lr, end: 0 })` at `p = (update − 1)/num_updates`
 * for `update = 1 … num_updates` (its `frac = 1 − p`, `lr_now = frac·lr`, bit for bit); the
 * last update uses `lr/num_updates`, never 0. OpenAI baselines' ppo2 anneals the same way.
 *
 * **Gotchas**: progress is the fraction done *before* the update that uses the value; the
 * caller computes it (e.g. `iteration / numIterations` with 0-based iterations).
 *
 * @category constructors
 */
export const linear = (options: { readonly start: number; readonly end: number }): Linear => {
  const { start, end } = options
  checkFinite("linear", "start", start)
  checkFinite("linear", "end", end)
  return {
    _tag: "Linear",
    start,
    end,
    at: (progress) => {
      checkProgress("linear", progress)
      return (1 - progress) * start + progress * end
    }
  }
}
