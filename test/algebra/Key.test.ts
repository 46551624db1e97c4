import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"

const mean = (xs: Float64Array): number => xs.reduce((sum, x) => sum + x, 0) / xs.length

const variance = (xs: Float64Array): number => {
  const m = mean(xs)
  return xs.reduce((sum, x) => sum + (x - m) ** 2, 0) / xs.length
}

// Φ(z) = ½ + ½·erf(z/√2) with erf(x) = (2/√π)·e^{−x²}·Σₙ x·(2x²)ⁿ / (2n+1)!!: a series of
// positive terms (no cancellation), accurate to ~1e-14 for |z| ≤ 10.
const standardNormalCdf = (z: number): number => {
  if (z > 10) return 1
  if (z < -10) return 0
  const x = Math.abs(z) / Math.SQRT2
  let term = x
  let sum = x
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * x * x) / (2 * n + 1)
    sum += term
  }
  const erf = (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum
  return z >= 0 ? 0.5 + 0.5 * erf : 0.5 - 0.5 * erf
}

const hexes = (keys: ReadonlyArray<Key.Key>): Array<string> => keys.map(Key.toHex)

describe("Key", () => {
  describe("threefry2x32", () => {
    // Random123 known-answer vectors for threefry2x32_20 (kat_vectors lists counter, key, result;
    // threefry2x32 takes the key first, then the counter).
    it("matches the Random123 known-answer vectors", () => {
      expect(Key.threefry2x32([0, 0], [0, 0])).toEqual([0x6b200159, 0x99ba4efe])
      expect(Key.threefry2x32([0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([0x1cb996fc, 0xbb002be7])
      expect(Key.threefry2x32([0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3])).toEqual([0xc4923a9c, 0x483df7a0])
    })

    it("agrees with the scratch-buffer variant", () => {
      const words = Key.threefry2x32Unsafe(0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3)
      expect(Array.from(words)).toEqual([0xc4923a9c, 0x483df7a0])
    })
  })

  describe("make", () => {
    it("splits the seed into the words (floor(seed / 2^32), seed mod 2^32)", () => {
      expect(Key.make(42)).toEqual({ _tag: "Key", k0: 0, k1: 42 })
      expect(Key.make(2 ** 32 + 5)).toEqual({ _tag: "Key", k0: 1, k1: 5 })
      expect(Key.make(0)).toEqual({ _tag: "Key", k0: 0, k1: 0 })
      // 2^53 − 1 = (2^21 − 1)·2^32 + (2^32 − 1).
      expect(Key.make(Number.MAX_SAFE_INTEGER)).toEqual({ _tag: "Key", k0: 0x1fffff, k1: 0xffffffff })
      expect(Key.isKey(Key.make(7))).toBe(true)
      expect(Key.isKey({ k0: 0, k1: 7 })).toBe(false)
    })

    it("rejects negative, non-integer and unsafe seeds", () => {
      for (const seed of [-1, 1.5, -0.5, 2 ** 53, 2 ** 60, NaN, Infinity, -Infinity]) {
        expect(() => Key.make(seed), `seed ${seed}`).toThrow(RangeError)
      }
    })
  })

  describe("split", () => {
    it("is deterministic", () => {
      expect(Key.split(Key.make(1), 8)).toEqual(Key.split(Key.make(1), 8))
    })

    it("gives distinct keys, distinct from the parent and from other parents' children", () => {
      const parent = Key.make(1)
      const children = hexes(Key.split(parent, 1000))
      const other = hexes(Key.split(Key.make(2), 1000))
      expect(new Set([...children, ...other, Key.toHex(parent), Key.toHex(Key.make(2))]).size).toBe(2002)
    })

    it("gives split(k, n)[i] independent of n", () => {
      const key = Key.make(3)
      const many = Key.split(key, 10)
      for (const n of [1, 2, 3, 7]) expect(Key.split(key, n)).toEqual(many.slice(0, n))
      expect(Key.split(key, 0)).toEqual([])
    })
  })

  describe("foldIn", () => {
    it("differs from split, from the parent, and across data", () => {
      const parent = Key.make(4)
      const folded = hexes(Array.from({ length: 1000 }, (_, i) => Key.foldIn(parent, i)))
      const children = hexes(Key.split(parent, 1000))
      expect(new Set([...folded, ...children, Key.toHex(parent)]).size).toBe(2001)
      expect(Key.foldIn(parent, 5)).toEqual(Key.foldIn(parent, 5))
    })

    it("rejects data outside [0, 2^32)", () => {
      for (const data of [-1, 2 ** 32, 0.5]) expect(() => Key.foldIn(Key.make(0), data)).toThrow(RangeError)
      expect(() => Key.foldIn(Key.make(0), 2 ** 32 - 1)).not.toThrow()
    })
  })

  describe("uniforms", () => {
    it("lies in [0, 1) with mean 1/2 and variance 1/12 over 1e5 draws (within 4 standard errors)", () => {
      const n = 100_000
      const draws = Key.uniforms(Key.make(5), n)
      expect(draws.every((u) => u >= 0 && u < 1)).toBe(true)
      // SE(mean) = √(1/12 / n) ≈ 9.1e-4.
      expect(Math.abs(mean(draws) - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n))
      // SE(variance) = √((μ₄ − σ⁴)/n) = √((1/80 − 1/144)/n) = √(1/180/n) ≈ 2.4e-4.
      expect(Math.abs(variance(draws) - 1 / 12)).toBeLessThan(4 * Math.sqrt(1 / 180 / n))
    })

    it("gives uniforms(k, n)[i] independent of n, and uniform(k) = uniforms(k, 1)[0]", () => {
      const key = Key.make(6)
      const many = Key.uniforms(key, 9)
      for (const n of [1, 2, 5]) expect(Key.uniforms(key, n)).toEqual(many.slice(0, n))
      expect(Key.uniform(key)).toBe(many[0])
      expect(Key.bits(key, 5)).toEqual(Key.bits(key, 8).slice(0, 5))
    })

    it("differs between keys", () => {
      expect(Key.uniforms(Key.make(7), 4)).not.toEqual(Key.uniforms(Key.make(8), 4))
    })
  })

  describe("normals", () => {
    it("has mean 0 and variance 1 over 1e5 draws (within 4 standard errors)", () => {
      const n = 100_000
      const draws = Key.normals(Key.make(9), n)
      expect(draws.every(Number.isFinite)).toBe(true)
      // SE(mean) = 1/√n ≈ 3.2e-3; SE(variance) = √((μ₄ − σ⁴)/n) = √(2/n) ≈ 4.5e-3.
      expect(Math.abs(mean(draws))).toBeLessThan(4 / Math.sqrt(n))
      expect(Math.abs(variance(draws) - 1)).toBeLessThan(4 * Math.sqrt(2 / n))
    })

    it("passes a Kolmogorov–Smirnov test against Φ at the 1% level over 1e4 draws", () => {
      const n = 10_000
      const sorted = Key.normals(Key.make(10), n).sort()
      let statistic = 0
      sorted.forEach((z, i) => {
        const cdf = standardNormalCdf(z)
        statistic = Math.max(statistic, (i + 1) / n - cdf, cdf - i / n)
      })
      // Asymptotic 1% critical value of √n·D: 1.6276 (Kolmogorov distribution), so 0.0163 at n = 1e4.
      expect(statistic).toBeLessThan(1.6276 / Math.sqrt(n))
    })

    it("gives normals(k, n)[i] independent of n, odd n included, and normal(k) = normals(k, 1)[0]", () => {
      const key = Key.make(11)
      const many = Key.normals(key, 8)
      for (const n of [1, 2, 3, 5]) expect(Key.normals(key, n)).toEqual(many.slice(0, n))
      expect(Key.normal(key)).toBe(many[0])
    })

    it("checks the Φ oracle itself", () => {
      expect(standardNormalCdf(0)).toBe(0.5)
      expect(standardNormalCdf(1.959963984540054)).toBeCloseTo(0.975, 14)
      expect(standardNormalCdf(-1)).toBeCloseTo(0.15865525393145707, 14)
    })
  })

  describe("categorical", () => {
    it("draws with probability softmax(logits): chi-square over 2e4 foldIn keys below the 0.1% critical value", () => {
      const logits = [0, 1, -1, 2]
      const total = logits.reduce((sum, l) => sum + Math.exp(l), 0)
      const probabilities = logits.map((l) => Math.exp(l) / total)
      const n = 20_000
      const counts = [0, 0, 0, 0]
      const root = Key.make(12)
      for (let i = 0; i < n; i++) counts[Key.categorical(Key.foldIn(root, i), logits)]!++
      const expected = probabilities.map((p) => n * p)
      const chiSquare = counts.reduce((sum, count, j) => sum + (count - expected[j]!) ** 2 / expected[j]!, 0)
      // 3 degrees of freedom: P(χ² > 16.27) = 0.001.
      expect(chiSquare).toBeLessThan(16.27)
    })

    it("never draws an index whose logit is -Infinity", () => {
      const logits = [0, -Infinity, 1, -Infinity]
      const root = Key.make(13)
      const seen = new Set<number>()
      for (let i = 0; i < 20_000; i++) seen.add(Key.categorical(Key.foldIn(root, i), logits))
      expect([...seen].sort()).toEqual([0, 2])
      // At the ends of [0, 1): u = 0 skips a leading −∞, u = 1 − 2^−53 never lands on a trailing one.
      expect(Key.categoricalAt([-Infinity, 0], 0, 2, 0)).toBe(1)
      expect(Key.categoricalAt([0, -Infinity], 0, 2, 1 - 2 ** -53)).toBe(0)
    })

    it("reads logits at an offset", () => {
      // logits [5, 5 | 0, -Infinity, 0]: the second row has mass ½ on 0 and ½ on 2.
      const flat = [5, 5, 0, -Infinity, 0]
      expect(Key.categoricalAt(flat, 2, 3, 0.25)).toBe(0)
      expect(Key.categoricalAt(flat, 2, 3, 0.75)).toBe(2)
    })
  })

  describe("toHex", () => {
    it("round-trips through fromHex", () => {
      const keys = [Key.make(0), Key.make(42), Key.make(Number.MAX_SAFE_INTEGER), ...Key.split(Key.make(14), 20)]
      for (const key of keys) expect(Key.fromHex(Key.toHex(key))).toEqual(key)
      expect(Key.toHex(Key.make(42))).toBe("00000000:0000002a")
      expect(Key.toHex(Key.fromKeyWords(0xdeadbeef, 1))).toBe("deadbeef:00000001")
    })

    it("rejects anything else", () => {
      for (const text of ["", "0000002a", "00000000:0000002a:", "0000000:0000002a", "0000000g:0000002a"]) {
        expect(Key.fromHex(text), JSON.stringify(text)).toBeUndefined()
      }
    })
  })
})
