import { describe, expect, it } from "@effect/vitest"
import * as Key from "../src/algebra/Key.ts"

describe("Key", () => {
  describe("threefry2x32", () => {
    // Random123 known-answer vectors for threefry2x32_20 (kat_vectors): counter, key, result.
    it("matches the Random123 known-answer vectors", () => {
      expect(Key.threefry2x32([0, 0], [0, 0])).toEqual([0x6b200159, 0x99ba4efe])
      expect(Key.threefry2x32([0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff])).toEqual([0x1cb996fc, 0xbb002be7])
      expect(Key.threefry2x32([0x13198a2e, 0x03707344], [0x243f6a88, 0x85a308d3])).toEqual([0xc4923a9c, 0x483df7a0])
    })
  })
})
