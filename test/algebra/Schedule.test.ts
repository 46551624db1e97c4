import { describe, expect, it } from "@effect/vitest"
import * as Key from "../../src/algebra/Key.ts"
import * as Schedule from "../../src/algebra/Schedule.ts"
import { expectClose } from "../reference/Assert.ts"

describe("Schedule", () => {
  describe("constant", () => {
    it("returns its value at every progress and records it as data", () => {
      const schedule = Schedule.constant(3e-4)
      expect(JSON.parse(JSON.stringify(schedule))).toEqual({ _tag: "Constant", value: 3e-4 })
      for (const p of [0, 0.3, 1]) expect(schedule.at(p)).toBe(3e-4)
    })

    it("rejects a non-finite value and progress outside [0, 1] with a RangeError", () => {
      expect(() => Schedule.constant(Number.NaN)).toThrow(RangeError)
      for (const p of [-0.1, 1.1, Number.NaN]) expect(() => Schedule.constant(1).at(p), `p = ${p}`).toThrow(RangeError)
    })
  })

  describe("linear", () => {
    it("goes from start at 0 to end at 1 exactly: 3e-4 → 0 gives 2.25e-4 at ¼ (tol 1e-19)", () => {
      const schedule = Schedule.linear({ start: 3e-4, end: 0 })
      expect(JSON.parse(JSON.stringify(schedule))).toEqual({ _tag: "Linear", start: 3e-4, end: 0 })
      expect(schedule.at(0)).toBe(3e-4)
      expect(schedule.at(1)).toBe(0)
      expectClose([schedule.at(0.25)], [2.25e-4], 1e-19)
      const up = Schedule.linear({ start: -2, end: 6 })
      expect(up.at(0)).toBe(-2)
      expect(up.at(1)).toBe(6)
      expect(up.at(0.5)).toBe(2)
    })

    it("equals start + (end − start)·p at random progress (tol 1e-15)", () => {
      const schedule = Schedule.linear({ start: 0.7, end: -0.2 })
      for (const p of Key.uniforms(Key.make(3), 20)) expectClose([schedule.at(p)], [0.7 + (-0.2 - 0.7) * p], 1e-15)
    })

    it("reproduces cleanrl's anneal_lr bit for bit: lr_now = (1 − (update − 1)/num_updates)·lr at p = (update − 1)/num_updates", () => {
      const lr = 2.5e-4, numUpdates = 7
      const schedule = Schedule.linear({ start: lr, end: 0 })
      for (let update = 1; update <= numUpdates; update++) {
        const frac = 1.0 - (update - 1.0) / numUpdates
        expect(schedule.at((update - 1) / numUpdates), `update ${update}`).toBe(frac * lr)
      }
      // The last update uses lr/num_updates, not 0.
      expectClose([schedule.at(6 / 7)], [lr / 7], 1e-19)
    })

    it("rejects non-finite endpoints and progress outside [0, 1] with a RangeError", () => {
      expect(() => Schedule.linear({ start: Number.POSITIVE_INFINITY, end: 0 })).toThrow(RangeError)
      expect(() => Schedule.linear({ start: 0, end: Number.NaN })).toThrow(RangeError)
      for (const p of [-1e-9, 1 + 1e-9, Number.NaN]) expect(() => Schedule.linear({ start: 1, end: 0 }).at(p), `p = ${p}`).toThrow(RangeError)
    })
  })
})
