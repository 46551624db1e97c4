/**
 * Typed action and observation spaces, as in Gymnasium's `spaces.Discrete` and `spaces.Box`.
 *
 * @since 0.1.0
 */

/**
 * `{0, 1, …, n − 1}`.
 *
 * @category models
 */
export interface Discrete {
  readonly _tag: "Discrete"
  readonly n: number
}

/**
 * A box `[low, high]` of float vectors with the given shape (flattened row-major).
 * Bounds may be infinite.
 *
 * @category models
 */
export interface Box {
  readonly _tag: "Box"
  readonly shape: ReadonlyArray<number>
  readonly low: ReadonlyArray<number>
  readonly high: ReadonlyArray<number>
}

/**
 * @category models
 */
export type Space = Discrete | Box

/**
 * @category constructors
 */
export const discrete = (n: number): Discrete => {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`Space.discrete: n must be a positive integer, got ${n}`)
  return { _tag: "Discrete", n }
}

/**
 * A box of the given bounds; `low` and `high` must have the same length, the product of `shape`.
 *
 * @category constructors
 */
export const box = (low: ReadonlyArray<number>, high: ReadonlyArray<number>, shape: ReadonlyArray<number> = [low.length]): Box => {
  const size = shape.reduce((a, b) => a * b, 1)
  if (low.length !== size || high.length !== size) {
    throw new RangeError(`Space.box: low and high must have ${size} elements, got ${low.length} and ${high.length}`)
  }
  return { _tag: "Box", shape: [...shape], low: [...low], high: [...high] }
}

/**
 * The number of scalars in one element of the space (1 for Discrete).
 *
 * @category getters
 */
export const flatSize = (space: Space): number =>
  space._tag === "Discrete" ? 1 : space.shape.reduce((a, b) => a * b, 1)

/**
 * A short human description, e.g. `Discrete(2)` or `Box(-2, 2, (1,))`, for error messages.
 *
 * @category getters
 */
export const describe = (space: Space): string => {
  if (space._tag === "Discrete") return `Discrete(${space.n})`
  const low = new Set(space.low), high = new Set(space.high)
  const bound = (s: Set<number>, all: ReadonlyArray<number>) => (s.size === 1 ? String(all[0]) : `[${all.join(", ")}]`)
  return `Box(${bound(low, space.low)}, ${bound(high, space.high)}, (${space.shape.join(",")},))`
}

/**
 * Guard: is `action` an element of `space`? Discrete: an integer in [0, n). Box: a vector
 * of the right length whose entries lie within the bounds.
 *
 * @category guards
 */
export const contains = (space: Space, action: number | ArrayLike<number>): boolean => {
  if (space._tag === "Discrete") return typeof action === "number" && Number.isInteger(action) && action >= 0 && action < space.n
  if (typeof action === "number" || action.length !== space.low.length) return false
  for (let i = 0; i < action.length; i++) {
    const x = action[i]!
    if (!(x >= space.low[i]! && x <= space.high[i]!)) return false
  }
  return true
}
