import { describe, expect, it } from "@effect/vitest"
import * as zlib from "node:zlib"
import * as Plot from "../../src/runtime/Plot.ts"
import * as Png from "../../src/runtime/Png.ts"

// An independent CRC-32 (bitwise, no table shared with the encoder).
const crc32 = (bytes: Uint8Array): number => {
  let c = ~0 >>> 0
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return (~c) >>> 0
}

interface Chunk {
  readonly type: string
  readonly data: Uint8Array
}

// Walks the chunks after the signature, checking every CRC.
const chunks = (png: Uint8Array): Array<Chunk> => {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength)
  const out: Array<Chunk> = []
  let at = 8
  while (at < png.length) {
    const length = view.getUint32(at)
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8))
    const data = png.subarray(at + 8, at + 8 + length)
    expect(view.getUint32(at + 8 + length), `CRC of ${type}`).toBe(crc32(png.subarray(at + 4, at + 8 + length)))
    out.push({ type, data })
    at += 12 + length
  }
  expect(at).toBe(png.length)
  return out
}

interface Image {
  readonly width: number
  readonly height: number
  readonly pixel: (x: number, y: number) => [number, number, number]
}

const decode = (png: Uint8Array): Image => {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
  const cs = chunks(png)
  expect(cs.map((c) => c.type)).toEqual(["IHDR", "IDAT", "IEND"])
  const ihdr = new DataView(cs[0]!.data.buffer, cs[0]!.data.byteOffset, 13)
  const width = ihdr.getUint32(0), height = ihdr.getUint32(4)
  expect([...cs[0]!.data.subarray(8)]).toEqual([8, 2, 0, 0, 0])
  const raw = zlib.inflateSync(cs[1]!.data)
  expect(raw.length).toBe(height * (1 + 3 * width))
  for (let y = 0; y < height; y++) expect(raw[y * (1 + 3 * width)]).toBe(0)
  return {
    width,
    height,
    pixel: (x, y) => {
      const i = y * (1 + 3 * width) + 1 + 3 * x
      return [raw[i]!, raw[i + 1]!, raw[i + 2]!]
    }
  }
}

const RED = "#ff0000"

describe("Png", () => {
  describe("encodeRgb", () => {
    it("writes signature, IHDR, IDAT and IEND with valid CRCs", () => {
      const rgb = new Uint8Array(3 * 4 * 2)
      rgb.set([255, 0, 0], 3 * 5)
      const image = decode(Png.encodeRgb(4, 2, rgb))
      expect([image.width, image.height]).toEqual([4, 2])
      expect(image.pixel(1, 1)).toEqual([255, 0, 0])
      expect(image.pixel(0, 0)).toEqual([0, 0, 0])
      expect(Png.crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926)
    })

    it("rejects a buffer of the wrong size", () => {
      expect(() => Png.encodeRgb(2, 2, new Uint8Array(5))).toThrow(RangeError)
    })
  })

  describe("linePlotPng", () => {
    const series: ReadonlyArray<Plot.Series> = [
      { name: "flat", points: [[0, 0.5], [1, 0.5]], color: RED, lineWidth: 3, band: [[0, 0.2, 0.3], [1, 0.2, 0.3]] }
    ]
    const options: Plot.PlotOptions = { title: "Title", xLabel: "steps", yLabel: "return", xDomain: [0, 1], yDomain: [0, 1], width: 300, height: 200 }

    it("has the plot's size, times the scale", () => {
      expect([decode(Png.linePlotPng(series, options)).width, decode(Png.linePlotPng(series, options)).height]).toEqual([300, 200])
      const big = decode(Png.linePlotPng(series, { ...options, scale: 2 }))
      expect([big.width, big.height]).toEqual([600, 400])
    })

    it("draws the line in the series colour and the band lighter in the same hue", () => {
      const image = decode(Png.linePlotPng(series, options))
      const plot = Plot.layout(series, options)
      const x = Math.round((plot.area.left + plot.area.right) / 2)
      const y = Math.floor(plot.series[0]!.lines[0]![0]![1])
      expect(image.pixel(x, y)).toEqual([255, 0, 0])
      let red = 0
      for (let yy = 0; yy < image.height; yy++) for (let xx = 0; xx < image.width; xx++) if (image.pixel(xx, yy).join() === "255,0,0") red++
      // Full coverage where a pixel centre lies within w/2 − ½ = 1 px of the line: at least two
      // rows across the plot area.
      expect(red).toBeGreaterThan(2 * (plot.area.right - plot.area.left) - 10)
      // Band between y = 0.2 and 0.3: white blended with red at 0.2 opacity = (255, 204, 204).
      const bandY = Math.round(plot.area.bottom - 0.25 * (plot.area.bottom - plot.area.top))
      expect(image.pixel(x, bandY)).toEqual([255, 204, 204])
      expect(image.pixel(x, Math.round(plot.area.bottom - 0.75 * (plot.area.bottom - plot.area.top)))).toEqual([255, 255, 255])
    })

    it("is deterministic", () => {
      expect(Png.linePlotPng(series, options)).toEqual(Png.linePlotPng(series, options))
    })
  })

  describe("drawText", () => {
    const ink = (canvas: Png.Canvas): number => {
      let n = 0
      for (let i = 0; i < canvas.rgb.length; i += 3) if (canvas.rgb[i] !== 255 || canvas.rgb[i + 1] !== 255 || canvas.rgb[i + 2] !== 255) n++
      return n
    }

    it("renders non-background pixels within the text box", () => {
      const canvas = Png.makeCanvas(80, 20)
      Png.drawText(canvas, "Ret 1.5e-3", 2, 10, [0, 0, 0])
      expect(ink(canvas)).toBeGreaterThan(40)
      // Nothing right of the text's width or below the descender rows.
      for (let y = 0; y < 20; y++) {
        for (let x = 0; x < 80; x++) {
          const i = 3 * (y * 80 + x)
          if (canvas.rgb[i] !== 255) {
            expect(x).toBeLessThan(2 + Png.textWidth("Ret 1.5e-3"))
            expect(y).toBeLessThan(10 + 2)
            expect(y).toBeGreaterThanOrEqual(10 - 7)
          }
        }
      }
    })

    it("draws characters outside the font as '?'", () => {
      const a = Png.makeCanvas(20, 12), b = Png.makeCanvas(20, 12)
      Png.drawText(a, "ж", 2, 9, [0, 0, 0])
      Png.drawText(b, "?", 2, 9, [0, 0, 0])
      expect(a.rgb).toEqual(b.rgb)
      expect(Png.hasGlyph("ж")).toBe(false)
      expect(Png.hasGlyph("λ")).toBe(true)
      for (const ch of "09AZaz.,-+:()/=%_ ") expect(Png.hasGlyph(ch)).toBe(true)
    })

    it("scales and rotates", () => {
      const one = Png.makeCanvas(40, 40), two = Png.makeCanvas(40, 40), up = Png.makeCanvas(40, 40)
      Png.drawText(one, "A", 2, 12, [0, 0, 0])
      Png.drawText(two, "A", 2, 20, [0, 0, 0], { scale: 2 })
      Png.drawText(up, "A", 12, 30, [0, 0, 0], { vertical: true })
      expect(ink(two)).toBe(4 * ink(one))
      expect(ink(up)).toBe(ink(one))
    })
  })

  describe("parseColor", () => {
    it("reads hex, rgb() and names, grey otherwise", () => {
      expect(Png.parseColor("#1f77b4")).toEqual([31, 119, 180])
      expect(Png.parseColor("#f00")).toEqual([255, 0, 0])
      expect(Png.parseColor("rgb(1, 2, 3)")).toEqual([1, 2, 3])
      expect(Png.parseColor("black")).toEqual([0, 0, 0])
      expect(Png.parseColor("nonsense")).toEqual([128, 128, 128])
    })
  })
})
