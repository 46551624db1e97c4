/**
 * Counter-based, splittable random keys: the only source of randomness in trustregion.
 *
 * A `Key` is two 32-bit words. Every derived key and every random draw is the
 * Threefry-2x32 block cipher with 20 rounds (Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3", SC 2011) applied to a counter under that key, so a draw depends
 * only on the key and the counter: never on call order, scheduling or worker count.
 * This is JAX's design (`PRNGKey`, `split`, `fold_in`); the counter domains below are
 * trustregion's own and are versioned by {@link format}.
 *
 * Counter domains (first counter word), so that `split`, `foldIn` and draws never collide:
 *
 * | use            | counter                      |
 * |----------------|------------------------------|
 * | `split(k, n)`  | `(0x73706c74 "splt", j)`     |
 * | `foldIn(k, i)` | `(0x666f6c64 "fold", i)`     |
 * | draws          | `(0x64726177 "draw", block)` |
 *
 * @since 0.1.0
 */

/**
 * An immutable random key. Create with {@link make}; derive with {@link split} and {@link foldIn}.
 *
 * @category models
 */
export interface Key {
  readonly _tag: "Key"
  readonly k0: number
  readonly k1: number
}

/**
 * The key format version, written into run manifests: a checkpoint whose key format
 * differs cannot be resumed bit-exactly.
 *
 * @category constants
 */
export const format = "threefry2x32-20/v1"

const DOMAIN_SPLIT = 0x73706c74
const DOMAIN_FOLD = 0x666f6c64
const DOMAIN_DRAW = 0x64726177

// Threefry-2x32 rotation constants (Random123, threefry.h, R_32x2).
const ROTATIONS = [13, 15, 26, 6, 17, 29, 16, 24] as const
const SKEIN_PARITY = 0x1bd11bda

const output = new Uint32Array(2)

/**
 * Threefry-2x32-20: encrypts the counter `(c0, c1)` under the key `(k0, k1)`.
 *
 * Writes the two output words into a shared scratch array and returns it; copy the
 * words before the next call.
 *
 * @category primitives
 */
export const threefry2x32Unsafe = (k0: number, k1: number, c0: number, c1: number): Uint32Array => {
  const ks0 = k0 >>> 0
  const ks1 = k1 >>> 0
  const ks2 = (SKEIN_PARITY ^ ks0 ^ ks1) >>> 0
  const ks = [ks0, ks1, ks2]
  let x0 = (c0 + ks0) >>> 0
  let x1 = (c1 + ks1) >>> 0
  for (let round = 0; round < 20; round++) {
    const r = ROTATIONS[round % 8]!
    x0 = (x0 + x1) >>> 0
    x1 = ((x1 << r) | (x1 >>> (32 - r))) >>> 0
    x1 = (x1 ^ x0) >>> 0
    if (round % 4 === 3) {
      const s = (round + 1) / 4
      x0 = (x0 + ks[s % 3]!) >>> 0
      x1 = (x1 + ks[(s + 1) % 3]! + s) >>> 0
    }
  }
  output[0] = x0
  output[1] = x1
  return output
}

/**
 * Threefry-2x32-20 as a pure function returning fresh words.
 *
 * @category primitives
 */
export const threefry2x32 = (
  key: readonly [number, number],
  counter: readonly [number, number]
): [number, number] => {
  const out = threefry2x32Unsafe(key[0], key[1], counter[0], counter[1])
  return [out[0]!, out[1]!]
}

const fromWords = (k0: number, k1: number): Key => ({ _tag: "Key", k0: k0 >>> 0, k1: k1 >>> 0 })

const derive = (key: Key, domain: number, index: number): Key => {
  const out = threefry2x32Unsafe(key.k0, key.k1, domain, index)
  return fromWords(out[0]!, out[1]!)
}

const checkIndex = (name: string, value: number, limit: number): void => {
  if (!Number.isInteger(value) || value < 0 || value >= limit) {
    throw new RangeError(`Key.${name}: expected an integer in [0, ${limit}), got ${value}`)
  }
}

/**
 * The root key of a seed: the words `(floor(seed / 2^32), seed mod 2^32)`, as JAX's
 * `PRNGKey` does for 64-bit seeds.
 *
 * @param seed an integer in [0, 2^53)
 * @category constructors
 */
export const make = (seed: number): Key => {
  checkIndex("make", seed, Number.MAX_SAFE_INTEGER + 1)
  return fromWords(Math.floor(seed / 0x1_0000_0000), seed % 0x1_0000_0000)
}

/**
 * A key from its two words (for checkpoints and tests).
 *
 * @category constructors
 */
export const fromKeyWords = (k0: number, k1: number): Key => fromWords(k0, k1)

/**
 * `n` independent keys derived from `key`: `split(k, n)[j] = threefry(k, ("splt", j))`.
 * Do not use `key` itself again after splitting it.
 *
 * @category combinators
 */
export const split = (key: Key, n: number): Array<Key> => {
  checkIndex("split", n, 0x1_0000_0000)
  const keys = new Array<Key>(n)
  for (let j = 0; j < n; j++) keys[j] = derive(key, DOMAIN_SPLIT, j)
  return keys
}

/**
 * The key for item `data` of a family: `foldIn(k, i) = threefry(k, ("fold", i))`.
 * Use it where items are numbered (iteration i, environment j), so that the key of an
 * item does not depend on how many other items were drawn before it.
 *
 * @param data an integer in [0, 2^32)
 * @category combinators
 */
export const foldIn = (key: Key, data: number): Key => {
  checkIndex("foldIn", data, 0x1_0000_0000)
  return derive(key, DOMAIN_FOLD, data)
}

/**
 * `n` random 32-bit words: words `2b` and `2b + 1` are `threefry(k, ("draw", b))`.
 *
 * @category draws
 */
export const bits = (key: Key, n: number): Uint32Array => {
  checkIndex("bits", n, 0x1_0000_0000)
  const words = new Uint32Array(n)
  for (let b = 0; 2 * b < n; b++) {
    const out = threefry2x32Unsafe(key.k0, key.k1, DOMAIN_DRAW, b)
    words[2 * b] = out[0]!
    if (2 * b + 1 < n) words[2 * b + 1] = out[1]!
  }
  return words
}

const TWO_POW_26 = 67108864
const TWO_POW_MINUS_53 = 1.1102230246251565e-16

// A double in [0, 1) with 53 random bits from one block: (w0 >>> 5)·2^26 + (w1 >>> 6), over 2^53.
const unitFromBlock = (k0: number, k1: number, block: number): number => {
  const out = threefry2x32Unsafe(k0, k1, DOMAIN_DRAW, block)
  return ((out[0]! >>> 5) * TWO_POW_26 + (out[1]! >>> 6)) * TWO_POW_MINUS_53
}

/**
 * One uniform double in [0, 1), from the first draw block (53 random bits; exact).
 *
 * @category draws
 */
export const uniform = (key: Key): number => unitFromBlock(key.k0, key.k1, 0)

/**
 * `n` uniform doubles in [0, 1); element `i` uses draw block `i`, so `uniforms(k, n)[i]`
 * does not depend on `n`.
 *
 * @category draws
 */
export const uniforms = (key: Key, n: number): Float64Array => {
  checkIndex("uniforms", n, 0x1_0000_0000)
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = unitFromBlock(key.k0, key.k1, i)
  return out
}

/**
 * `n` standard normal draws by the Box–Muller transform: the pair `(z_{2m}, z_{2m+1})`
 * comes from uniforms in blocks `2m` and `2m + 1`,
 * `z = √(−2 ln(1 − u₁))·(cos 2πu₂, sin 2πu₂)`.
 *
 * **Gotchas**: `1 − u₁` lies in (0, 1], so the logarithm is always finite.
 *
 * @category draws
 */
export const normals = (key: Key, n: number): Float64Array => {
  checkIndex("normals", n, 0x1_0000_0000)
  const out = new Float64Array(n)
  for (let m = 0; 2 * m < n; m++) {
    const u1 = unitFromBlock(key.k0, key.k1, 2 * m)
    const u2 = unitFromBlock(key.k0, key.k1, 2 * m + 1)
    const radius = Math.sqrt(-2 * Math.log(1 - u1))
    const angle = 2 * Math.PI * u2
    out[2 * m] = radius * Math.cos(angle)
    if (2 * m + 1 < n) out[2 * m + 1] = radius * Math.sin(angle)
  }
  return out
}

/**
 * One standard normal draw (the first of {@link normals}).
 *
 * @category draws
 */
export const normal = (key: Key): number => normals(key, 1)[0]!

/**
 * An index drawn with probability `softmax(logits)`, by inverting the cumulative
 * distribution at one uniform draw.
 *
 * **Gotchas**: logits are shifted by their maximum before exponentiating; a `-Infinity`
 * logit has probability zero and is never drawn.
 *
 * @category draws
 */
export const categorical = (key: Key, logits: ArrayLike<number>): number =>
  categoricalAt(logits, 0, logits.length, uniform(key))

/**
 * The inverse-CDF categorical draw for `logits[offset .. offset + n)` at uniform `u`.
 * Exposed for batched samplers that already hold their uniforms.
 *
 * @category draws
 */
export const categoricalAt = (logits: ArrayLike<number>, offset: number, n: number, u: number): number => {
  let max = -Infinity
  for (let i = 0; i < n; i++) max = Math.max(max, logits[offset + i]!)
  let total = 0
  for (let i = 0; i < n; i++) total += Math.exp(logits[offset + i]! - max)
  const target = u * total
  let cumulative = 0
  let last = 0
  for (let i = 0; i < n; i++) {
    const weight = Math.exp(logits[offset + i]! - max)
    if (weight === 0) continue
    last = i
    cumulative += weight
    if (target < cumulative) return i
  }
  return last
}

/**
 * Serialises a key as its two words in hexadecimal, e.g. `"0000002a:9e3779b9"`.
 *
 * @category conversions
 */
export const toHex = (key: Key): string =>
  `${key.k0.toString(16).padStart(8, "0")}:${key.k1.toString(16).padStart(8, "0")}`

/**
 * Parses {@link toHex}; `undefined` for anything else.
 *
 * @category conversions
 */
export const fromHex = (text: string): Key | undefined => {
  const match = /^([0-9a-f]{8}):([0-9a-f]{8})$/.exec(text)
  return match === null ? undefined : fromWords(parseInt(match[1]!, 16), parseInt(match[2]!, 16))
}

/**
 * Guard for {@link Key}.
 *
 * @category guards
 */
export const isKey = (u: unknown): u is Key =>
  typeof u === "object" && u !== null && (u as { _tag?: unknown })._tag === "Key"
