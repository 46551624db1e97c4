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

/** max_i |a[i] − b[i]|, after checking the lengths agree. */
export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}
