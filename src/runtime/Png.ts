/**
 * PNG images of the plots of `Plot.ts`, without dependencies: a small RGB rasteriser
 * (anti-aliased strokes and polygon fills, a built-in 5×7 bitmap font) and a PNG encoder
 * (`node:zlib` deflate, CRC-32, chunks IHDR/IDAT/IEND, 8-bit truecolour). For terminals,
 * notebooks and issue trackers where an SVG is not shown.
 *
 * @since 0.1.0
 */
import * as zlib from "node:zlib"
import * as Plot from "./Plot.ts"

// -- PNG encoding -------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/**
 * CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as PNG chunks use it.
 *
 * @category encoding
 */
export const crc32 = (bytes: Uint8Array, start = 0, end = bytes.length): number => {
  let c = 0xffffffff
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/**
 * The eight bytes every PNG file starts with.
 *
 * @category constants
 */
export const signature: Uint8Array = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)

const chunk = (type: string, data: Uint8Array): Uint8Array => {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length))
  return out
}

/**
 * Encodes an 8-bit RGB image (`rgb[3·(y·width + x) + c]`, rows top to bottom) as PNG bytes:
 * signature, IHDR (colour type 2, no interlace), one IDAT (every row with filter 0, deflated
 * at level 9), IEND.
 *
 * @category encoding
 */
export const encodeRgb = (width: number, height: number, rgb: Uint8Array): Uint8Array => {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || rgb.length !== width * height * 3) {
    throw new RangeError(`Png.encodeRgb: expected ${width}×${height}×3 bytes of a positive integer size, got ${rgb.length}`)
  }
  const header = new Uint8Array(13)
  const view = new DataView(header.buffer)
  view.setUint32(0, width)
  view.setUint32(4, height)
  header.set([8, 2, 0, 0, 0], 8)
  const stride = 3 * width
  const raw = new Uint8Array(height * (1 + stride))
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * stride, (y + 1) * stride), y * (1 + stride) + 1)
  const idat = new Uint8Array(zlib.deflateSync(raw, { level: 9 }))
  const parts = [signature, chunk("IHDR", header), chunk("IDAT", idat), chunk("IEND", new Uint8Array(0))]
  const out = new Uint8Array(parts.reduce((sum, p) => sum + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

// -- Colours ------------------------------------------------------------------------------------

/**
 * An RGB colour, each channel 0–255.
 *
 * @category models
 */
export type Rgb = readonly [number, number, number]

const NAMED: Readonly<Record<string, Rgb>> = {
  black: [0, 0, 0], white: [255, 255, 255], red: [255, 0, 0], green: [0, 128, 0], blue: [0, 0, 255],
  gray: [128, 128, 128], grey: [128, 128, 128], orange: [255, 165, 0], purple: [128, 0, 128], brown: [165, 42, 42]
}

/**
 * Parses `#rgb`, `#rrggbb`, `rgb(r, g, b)` or one of a few colour names; anything else is grey.
 *
 * @category parsing
 */
export const parseColor = (color: string): Rgb => {
  const c = color.trim().toLowerCase()
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(c)
  if (short) return [parseInt(short[1]! + short[1]!, 16), parseInt(short[2]! + short[2]!, 16), parseInt(short[3]! + short[3]!, 16)]
  const long = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/.exec(c)
  if (long) return [parseInt(long[1]!, 16), parseInt(long[2]!, 16), parseInt(long[3]!, 16)]
  const fn = /^rgb\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*\)$/.exec(c)
  if (fn) return [Math.min(255, Number(fn[1])), Math.min(255, Number(fn[2])), Math.min(255, Number(fn[3]))]
  return NAMED[c] ?? [128, 128, 128]
}

// -- Font ---------------------------------------------------------------------------------------

// A 5×7 font (cap height 7 rows above the baseline) with two descender rows, drawn as
// rows of five cells, '#' set. Printable ASCII; everything else is drawn as '?'.
const GLYPHS: Readonly<Record<string, string>> = {
  " ": "..... ..... ..... ..... ..... ..... .....",
  "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
  "\"": ".#.#. .#.#. ..... ..... ..... ..... .....",
  "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
  "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
  "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
  "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
  "'": "..#.. ..#.. .#... ..... ..... ..... .....",
  "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
  ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
  "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
  ",": "..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...",
  "-": "..... ..... ..... ##### ..... ..... .....",
  ".": "..... ..... ..... ..... ..... .##.. .##..",
  "/": "..... ....# ...#. ..#.. .#... #.... .....",
  "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": ".###. #...# ....# ..##. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  ":": "..... .##.. .##.. ..... .##.. .##.. .....",
  ";": "..... .##.. .##.. ..... .##.. .##.. ..#.. .#...",
  "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
  "=": "..... ..... ##### ..... ##### ..... .....",
  ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
  "@": ".###. #...# #.### #.#.# #.### #.... .###.",
  "A": ".###. #...# #...# ##### #...# #...# #...#",
  "B": "####. #...# #...# ####. #...# #...# ####.",
  "C": ".###. #...# #.... #.... #.... #...# .###.",
  "D": "####. #...# #...# #...# #...# #...# ####.",
  "E": "##### #.... #.... ####. #.... #.... #####",
  "F": "##### #.... #.... ####. #.... #.... #....",
  "G": ".###. #...# #.... #.### #...# #...# .####",
  "H": "#...# #...# #...# ##### #...# #...# #...#",
  "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
  "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  "L": "#.... #.... #.... #.... #.... #.... #####",
  "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
  "O": ".###. #...# #...# #...# #...# #...# .###.",
  "P": "####. #...# #...# ####. #.... #.... #....",
  "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
  "R": "####. #...# #...# ####. #.#.. #..#. #...#",
  "S": ".#### #.... #.... .###. ....# ....# ####.",
  "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "U": "#...# #...# #...# #...# #...# #...# .###.",
  "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
  "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  "Z": "##### ....# ...#. ..#.. .#... #.... #####",
  "[": ".###. .#... .#... .#... .#... .#... .###.",
  "\\": "..... #.... .#... ..#.. ...#. ....# .....",
  "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
  "^": "..#.. .#.#. #...# ..... ..... ..... .....",
  "_": "..... ..... ..... ..... ..... ..... ..... #####",
  "`": ".#... ..#.. ..... ..... ..... ..... .....",
  "a": "..... ..... .###. ....# .#### #...# .####",
  "b": "#.... #.... ####. #...# #...# #...# ####.",
  "c": "..... ..... .###. #.... #.... #...# .###.",
  "d": "....# ....# .#### #...# #...# #...# .####",
  "e": "..... ..... .###. #...# ##### #.... .###.",
  "f": "..##. .#..# .#... ###.. .#... .#... .#...",
  "g": "..... ..... .#### #...# #...# #...# .#### ....# .###.",
  "h": "#.... #.... #.##. ##..# #...# #...# #...#",
  "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
  "j": "...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..",
  "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
  "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
  "m": "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",
  "n": "..... ..... #.##. ##..# #...# #...# #...#",
  "o": "..... ..... .###. #...# #...# #...# .###.",
  "p": "..... ..... ####. #...# #...# #...# ####. #.... #....",
  "q": "..... ..... .#### #...# #...# #...# .#### ....# ....#",
  "r": "..... ..... #.##. ##..# #.... #.... #....",
  "s": "..... ..... .###. #.... .###. ....# ####.",
  "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
  "u": "..... ..... #...# #...# #...# #..## .##.#",
  "v": "..... ..... #...# #...# #...# .#.#. ..#..",
  "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
  "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
  "y": "..... ..... #...# #...# #...# #...# .#### ....# .###.",
  "z": "..... ..... ##### ...#. ..#.. .#... #####",
  "{": "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",
  "|": "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "}": ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",
  "~": "..... ..... .#... #.#.# ...#. ..... .....",
  // The Greek letters and symbols of RL hyperparameter names (λ, γ, δ, ε, β, …).
  "α": "..... ..... .##.# #..#. #..#. #..#. .##.#",
  "β": ".##.. #..#. #..#. ###.. #..#. #..#. ###.. #.... #....",
  "γ": "..... ..... #...# .#.#. .#.#. ..#.. ..#.. ..#.. ..#..",
  "δ": ".###. .#... ..#.. .###. #...# #...# .###.",
  "ε": "..... ..... .###. #.... .##.. #.... .###.",
  "θ": ".###. #...# #...# ##### #...# #...# .###.",
  "κ": "..... ..... #..#. #.#.. ##... #.#.. #..#.",
  "λ": "#.... .#... .#... ..#.. .#.#. #...# #...#",
  "μ": "..... ..... #...# #...# #...# ##..# #.##. #.... #....",
  "π": "..... ..... ##### .#.#. .#.#. .#.#. .#..#",
  "σ": "..... ..... .#### #..#. #...# #...# .###.",
  "τ": "..... ..... ##### ..#.. ..#.. ..#.# ...#.",
  "ρ": "..... ..... .###. #...# #...# #...# ####. #.... #....",
  "·": "..... ..... ..... ..##. ..##. ..... .....",
  "±": "..#.. ..#.. ##### ..#.. ..#.. ..... #####",
  "×": "..... #...# .#.#. ..#.. .#.#. #...# .....",
  "–": "..... ..... ..... ##### ..... ..... .....",
  "—": "..... ..... ..... ##### ..... ..... .....",
  "≤": "...#. ..#.. .#... ..#.. ...#. ..... #####",
  "≥": ".#... ..#.. ...#. ..#.. .#... ..... #####"
}

/** Cell geometry of the font, in font pixels: 5 wide with 1 of spacing; 7 above the baseline, 2 below. */
const GLYPH_WIDTH = 5
const ADVANCE = 6
const ASCENT = 7

// Each glyph as a list of set cells [column, row], row 0 at the top of the cap height.
const CELLS: ReadonlyMap<string, ReadonlyArray<readonly [number, number]>> = new Map(
  Object.entries(GLYPHS).map(([ch, rows]) => [
    ch,
    rows.split(" ").flatMap((row, r) => [...row].flatMap((cell, c) => (cell === "#" ? [[c, r] as const] : [])))
  ])
)

/**
 * Whether the built-in font has a glyph for `ch` (printable ASCII, the Greek letters of RL
 * hyperparameters and a few symbols); others are drawn as `?`.
 *
 * @category font
 */
export const hasGlyph = (ch: string): boolean => CELLS.has(ch)

/**
 * Width in pixels of `text` in the built-in font at `scale`.
 *
 * @category font
 */
export const textWidth = (text: string, scale = 1): number => {
  const count = [...text].length
  return count === 0 ? 0 : (count * ADVANCE - (ADVANCE - GLYPH_WIDTH)) * scale
}

// -- Raster -------------------------------------------------------------------------------------

/**
 * A mutable RGB raster, white when created. The drawing functions below are its whole API.
 *
 * @category models
 */
export interface Canvas {
  readonly width: number
  readonly height: number
  readonly rgb: Uint8Array
}

/**
 * A white canvas.
 *
 * @category constructors
 */
export const makeCanvas = (width: number, height: number): Canvas => ({ width, height, rgb: new Uint8Array(width * height * 3).fill(255) })

interface Clip {
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
}

const fullClip = (canvas: Canvas): Clip => ({ x0: 0, y0: 0, x1: canvas.width, y1: canvas.height })

// The clip rectangle narrowed to the bounding box of `points` grown by `reach`, so that a
// short stroke does not allocate and scan a mask of the whole canvas.
const boundedClip = (clip: Clip, points: ReadonlyArray<Plot.Point>, reach: number): Clip => {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity
  for (const [x, y] of points) {
    x0 = Math.min(x0, x)
    y0 = Math.min(y0, y)
    x1 = Math.max(x1, x)
    y1 = Math.max(y1, y)
  }
  const bx0 = Math.max(clip.x0, Math.floor(x0 - reach)), by0 = Math.max(clip.y0, Math.floor(y0 - reach))
  return { x0: bx0, y0: by0, x1: Math.max(bx0, Math.min(clip.x1, Math.ceil(x1 + reach) + 1)), y1: Math.max(by0, Math.min(clip.y1, Math.ceil(y1 + reach) + 1)) }
}

const blend = (canvas: Canvas, x: number, y: number, color: Rgb, alpha: number): void => {
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height || alpha <= 0) return
  const a = Math.min(1, alpha)
  const i = 3 * (y * canvas.width + x)
  const rgb = canvas.rgb
  rgb[i] = Math.round(rgb[i]! * (1 - a) + color[0] * a)
  rgb[i + 1] = Math.round(rgb[i + 1]! * (1 - a) + color[1] * a)
  rgb[i + 2] = Math.round(rgb[i + 2]! * (1 - a) + color[2] * a)
}

/**
 * Fills the pixels `[x0, x1) × [y0, y1)` (rounded to whole pixels).
 *
 * @category drawing
 */
export const fillRect = (canvas: Canvas, x0: number, y0: number, x1: number, y1: number, color: Rgb, alpha = 1): void => {
  const xa = Math.max(0, Math.round(x0)), xb = Math.min(canvas.width, Math.round(x1))
  const ya = Math.max(0, Math.round(y0)), yb = Math.min(canvas.height, Math.round(y1))
  for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) blend(canvas, x, y, color, alpha)
}

// A coverage mask over the clip rectangle: strokes and fills accumulate coverage here and are
// blended once, so overlapping segments of one polyline do not darken their joints.
interface Mask {
  readonly clip: Clip
  readonly stride: number
  readonly cover: Float32Array
}

const makeMask = (clip: Clip): Mask => {
  const stride = Math.max(0, clip.x1 - clip.x0)
  return { clip, stride, cover: new Float32Array(stride * Math.max(0, clip.y1 - clip.y0)) }
}

const applyMask = (canvas: Canvas, mask: Mask, color: Rgb, alpha: number): void => {
  const { clip, stride, cover } = mask
  for (let y = clip.y0; y < clip.y1; y++) {
    for (let x = clip.x0; x < clip.x1; x++) {
      const c = cover[(y - clip.y0) * stride + (x - clip.x0)]!
      if (c > 0) blend(canvas, x, y, color, Math.min(1, c) * alpha)
    }
  }
}

// Coverage of a segment of width w at each pixel centre: clamp(w/2 + ½ − distance, 0, 1),
// which gives round caps and joins and a one-pixel anti-aliased edge.
const strokeSegment = (mask: Mask, ax: number, ay: number, bx: number, by: number, width: number): void => {
  const { clip, stride, cover } = mask
  const reach = width / 2 + 1
  const xa = Math.max(clip.x0, Math.floor(Math.min(ax, bx) - reach)), xb = Math.min(clip.x1 - 1, Math.ceil(Math.max(ax, bx) + reach))
  const ya = Math.max(clip.y0, Math.floor(Math.min(ay, by) - reach)), yb = Math.min(clip.y1 - 1, Math.ceil(Math.max(ay, by) + reach))
  const dx = bx - ax, dy = by - ay
  const length2 = dx * dx + dy * dy
  for (let y = ya; y <= yb; y++) {
    for (let x = xa; x <= xb; x++) {
      const cx = x + 0.5, cy = y + 0.5
      const t = length2 === 0 ? 0 : Math.max(0, Math.min(1, ((cx - ax) * dx + (cy - ay) * dy) / length2))
      const ex = cx - (ax + t * dx), ey = cy - (ay + t * dy)
      const c = width / 2 + 0.5 - Math.sqrt(ex * ex + ey * ey)
      if (c > 0) {
        const i = (y - clip.y0) * stride + (x - clip.x0)
        if (c > cover[i]!) cover[i] = c
      }
    }
  }
}

// Splits a polyline into the "on" pieces of a dash pattern, measured along its length.
const dashPieces = (points: ReadonlyArray<Plot.Point>, pattern: readonly [number, number]): Array<Array<Plot.Point>> => {
  const period = pattern[0] + pattern[1]
  const pieces: Array<Array<Plot.Point>> = []
  let current: Array<Plot.Point> = []
  let phase = 0
  for (let i = 1; i < points.length; i++) {
    const [ax, ay] = points[i - 1]!, [bx, by] = points[i]!
    const length = Math.hypot(bx - ax, by - ay)
    let s = 0
    while (s < length) {
      const on = phase < pattern[0]
      const step = Math.min(length - s, (on ? pattern[0] : period) - phase)
      const at = (u: number): Plot.Point => [ax + ((bx - ax) * u) / length, ay + ((by - ay) * u) / length]
      if (on) {
        if (current.length === 0) current.push(at(s))
        current.push(at(s + step))
      } else if (current.length > 0) {
        pieces.push(current)
        current = []
      }
      s += step
      phase = (phase + step) % period
    }
  }
  if (current.length > 0) pieces.push(current)
  return pieces
}

/**
 * Strokes a polyline of `width` pixels, anti-aliased, optionally dashed (6 on, 3 off, times
 * `dashScale`), clipped to `clip` (the whole canvas by default).
 *
 * @category drawing
 */
export const strokePolyline = (
  canvas: Canvas,
  points: ReadonlyArray<Plot.Point>,
  color: Rgb,
  options: { readonly width?: number; readonly alpha?: number; readonly dashed?: boolean; readonly dashScale?: number; readonly clip?: Clip } = {}
): void => {
  if (points.length === 0) return
  const width = options.width ?? 1
  const mask = makeMask(boundedClip(options.clip ?? fullClip(canvas), points, width / 2 + 1))
  const scale = options.dashScale ?? 1
  const pieces = options.dashed === true ? dashPieces(points, [6 * scale, 3 * scale]) : [points.slice()]
  for (const piece of pieces) {
    if (piece.length === 1) strokeSegment(mask, piece[0]![0], piece[0]![1], piece[0]![0], piece[0]![1], width)
    for (let i = 1; i < piece.length; i++) strokeSegment(mask, piece[i - 1]![0], piece[i - 1]![1], piece[i]![0], piece[i]![1], width)
  }
  applyMask(canvas, mask, color, options.alpha ?? 1)
}

const SUBSAMPLES = 4

/**
 * Fills a polygon (even-odd rule), anti-aliased: four sub-scanlines per pixel row, exact
 * horizontal coverage at span ends.
 *
 * @category drawing
 */
export const fillPolygon = (canvas: Canvas, points: ReadonlyArray<Plot.Point>, color: Rgb, options: { readonly alpha?: number; readonly clip?: Clip } = {}): void => {
  if (points.length < 3) return
  const mask = makeMask(boundedClip(options.clip ?? fullClip(canvas), points, 1))
  const { clip, stride, cover } = mask
  const ys = points.map((p) => p[1])
  const ya = Math.max(clip.y0, Math.floor(Math.min(...ys))), yb = Math.min(clip.y1 - 1, Math.ceil(Math.max(...ys)))
  const crossings: Array<number> = []
  for (let y = ya; y <= yb; y++) {
    for (let k = 0; k < SUBSAMPLES; k++) {
      const sy = y + (k + 0.5) / SUBSAMPLES
      crossings.length = 0
      for (let i = 0; i < points.length; i++) {
        const [ax, ay] = points[i]!, [bx, by] = points[(i + 1) % points.length]!
        if ((ay <= sy) !== (by <= sy)) crossings.push(ax + ((sy - ay) / (by - ay)) * (bx - ax))
      }
      crossings.sort((a, b) => a - b)
      for (let j = 0; j + 1 < crossings.length; j += 2) {
        const xa = Math.max(clip.x0, crossings[j]!), xb = Math.min(clip.x1, crossings[j + 1]!)
        for (let x = Math.floor(xa); x < xb && x < clip.x1; x++) {
          const overlap = Math.min(xb, x + 1) - Math.max(xa, x)
          if (overlap > 0) cover[(y - clip.y0) * stride + (x - clip.x0)] += overlap / SUBSAMPLES
        }
      }
    }
  }
  applyMask(canvas, mask, color, options.alpha ?? 1)
}

/**
 * Draws `text` in the built-in 5×7 font, each font pixel a `scale`×`scale` block, with its
 * baseline at `y`. `anchor` places `x` at the start, middle or end of the text; `vertical`
 * rotates the text by −90° (reading upwards; `x` is then the baseline and `y` the anchor).
 * `bold` draws each glyph twice, one pixel apart.
 *
 * @category drawing
 */
export const drawText = (
  canvas: Canvas,
  text: string,
  x: number,
  y: number,
  color: Rgb,
  options: { readonly scale?: number; readonly anchor?: "start" | "middle" | "end"; readonly vertical?: boolean; readonly bold?: boolean } = {}
): void => {
  const scale = Math.max(1, Math.round(options.scale ?? 1))
  const width = textWidth(text, scale)
  const shift = options.anchor === "middle" ? width / 2 : options.anchor === "end" ? width : 0
  const passes = options.bold === true ? [0, 1] : [0]
  const bx = Math.round(x), by = Math.round(y)
  let pen = 0
  for (const ch of text) {
    const cells = CELLS.get(ch) ?? CELLS.get("?")!
    for (const pass of passes) {
      for (const [c, r] of cells) {
        const along = Math.round(pen * scale - shift) + c * scale + pass
        const across = (r - ASCENT) * scale
        if (options.vertical === true) fillRect(canvas, bx + across, by - along - scale, bx + across + scale, by - along, color)
        else fillRect(canvas, bx + along, by + across, bx + along + scale, by + across + scale, color)
      }
    }
    pen += ADVANCE
  }
}

// -- Plots --------------------------------------------------------------------------------------

/**
 * Options of {@link linePlotPng}: those of the SVG plot plus `scale`, an integer pixel ratio
 * (default 1: a 720×360 plot is a 720×360 image with 7-pixel capitals; 2 doubles every
 * dimension, the font included).
 *
 * @category models
 */
export interface PngOptions extends Plot.PlotOptions {
  readonly scale?: number
}

const GRID: Rgb = [238, 238, 238]
const AXIS: Rgb = [51, 51, 51]
const MUTED: Rgb = [102, 102, 102]

/**
 * Draws a {@link Plot.Layout} on a new canvas at an integer `scale`.
 *
 * @category rendering
 */
export const renderCanvas = (plot: Plot.Layout, scale = 1): Canvas => {
  const s = Math.max(1, Math.round(scale))
  const canvas = makeCanvas(Math.round(plot.width * s), Math.round(plot.height * s))
  const { left, top, right, bottom } = plot.area
  // Hairlines sit on pixel centres so that they stay one device pixel (times scale) sharp.
  const snap = (v: number) => Math.floor(v * s) + 0.5 * (s % 2)
  const hairline = (ax: number, ay: number, bx: number, by: number, color: Rgb, dashed = false) =>
    strokePolyline(canvas, [[ax, ay], [bx, by]], color, { width: s, dashed, dashScale: s * (4 / 6) })
  const L = snap(left), R = snap(right), T = snap(top), B = snap(bottom)
  const area: Clip = { x0: Math.floor(left * s), y0: Math.floor(top * s), x1: Math.ceil(right * s), y1: Math.ceil(bottom * s) }
  const text = (t: string, x: number, y: number, color: Rgb, anchor: "start" | "middle" | "end", extra: { readonly vertical?: boolean; readonly bold?: boolean } = {}) =>
    drawText(canvas, t, x * s, y * s, color, { scale: s, anchor, ...extra })

  for (const t of plot.x.ticks) hairline(snap(t.position), T, snap(t.position), B, GRID)
  for (const t of plot.y.ticks) hairline(L, snap(t.position), R, snap(t.position), GRID)
  for (const series of plot.series) {
    for (const band of series.bands) {
      fillPolygon(canvas, band.map(([x, y]): Plot.Point => [x * s, y * s]), parseColor(series.color), { alpha: plot.bandOpacity, clip: area })
    }
  }
  for (const line of plot.hLines) {
    hairline(L, snap(line.y), R, snap(line.y), parseColor(line.color), true)
    text(line.label, right - 4, line.labelY, MUTED, "end")
  }
  for (const line of plot.vLines) {
    hairline(snap(line.x), T, snap(line.x), B, parseColor(line.color), true)
    text(line.label, line.x + 4, line.labelY, MUTED, "start")
  }
  for (const series of plot.series) {
    for (const line of series.lines) {
      strokePolyline(canvas, line.map(([x, y]): Plot.Point => [x * s, y * s]), parseColor(series.color), {
        width: series.lineWidth * s,
        alpha: series.opacity,
        dashed: series.dashed,
        dashScale: s,
        clip: area
      })
    }
  }
  hairline(L, T, R, T, AXIS)
  hairline(L, B, R, B, AXIS)
  hairline(L, T, L, B, AXIS)
  hairline(R, T, R, B, AXIS)
  for (const t of plot.x.ticks) {
    hairline(snap(t.position), B, snap(t.position), B + 4 * s, AXIS)
    text(t.label, t.position, bottom + 16, AXIS, "middle")
  }
  for (const t of plot.y.ticks) {
    hairline(L - 4 * s, snap(t.position), L, snap(t.position), AXIS)
    text(t.label, left - 7, t.position + 3.5, AXIS, "end")
  }
  if (plot.title !== undefined) text(plot.title, left, 22, [0, 0, 0], "start", { bold: true })
  if (plot.xLabel !== undefined) text(plot.xLabel, (left + right) / 2, plot.height - 10, AXIS, "middle")
  if (plot.yLabel !== undefined) text(plot.yLabel, 16, (top + bottom) / 2, AXIS, "middle", { vertical: true })
  for (const entry of plot.legend) {
    const color = parseColor(entry.color)
    if (entry.band) fillRect(canvas, entry.x * s, (entry.y - 6) * s, (entry.x + 24) * s, (entry.y + 6) * s, color, plot.bandOpacity)
    strokePolyline(canvas, [[entry.x * s, snap(entry.y)], [(entry.x + 24) * s, snap(entry.y)]], color, { width: 2 * s, dashed: entry.dashed, dashScale: s })
    text(entry.name, entry.x + 30, entry.y + 3.5, AXIS, "start")
  }
  return canvas
}

/**
 * A line plot as PNG bytes: the same series and options as `Plot.linePlot`, drawn by
 * {@link renderCanvas} and encoded by {@link encodeRgb}. Characters the font lacks
 * ({@link hasGlyph}: e.g. CJK, most symbols) are drawn as `?`.
 *
 * @category rendering
 */
export const linePlotPng = (series: ReadonlyArray<Plot.Series>, options: PngOptions = {}): Uint8Array => {
  const canvas = renderCanvas(Plot.layout(series, options), options.scale ?? 1)
  return encodeRgb(canvas.width, canvas.height, canvas.rgb)
}
