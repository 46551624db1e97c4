/**
 * Small assertion helpers shared by the tests.
 */
import { expect } from "@effect/vitest"

/** Every |actual[i] − expected[i]| ≤ tolerance, with the index in the failure message. */
export const expectClose = (actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void => {
  expect(actual.length).toBe(expected.length)
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tolerance)
  }
}

/** Row i of a row-major [rows, width] array. */
export const row = (flat: ArrayLike<number>, i: number, width: number): Float64Array =>
  Float64Array.from({ length: width }, (_, j) => flat[i * width + j]!)
