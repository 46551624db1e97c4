import { describe, expect, it, layer } from "@effect/vitest"
import { Effect } from "effect"
import * as Key from "../../src/algebra/Key.ts"
import * as Mlp from "../../src/algebra/Mlp.ts"
import * as TensorBackend from "../../src/runtime/TensorBackend.ts"
import { maxAbsDiff } from "../reference/Assert.ts"
import * as Dense from "../reference/Dense.ts"

// Every kernel is checked against the float64 oracle `test/reference/Dense.ts`, which shares
// no code with `src/algebra/Mlp.ts` (plain loops, tanh evaluated directly, Jacobians by
// backpropagation once per output row).

const specOf = (sizes: ReadonlyArray<number>): Mlp.Spec =>
  Mlp.make({ inputSize: sizes[0]!, hiddenSizes: sizes.slice(1, -1), outputSize: sizes[sizes.length - 1]! })

// Architectures: two hidden layers (the policy shape), no hidden layer, one hidden layer,
// three hidden layers (the middle layers' feature-major activations are used by vjp) and a
// scalar value net.
const architectures: ReadonlyArray<ReadonlyArray<number>> = [
  [3, 5, 5, 2],
  [4, 1],
  [3, 7, 2],
  [3, 6, 5, 4, 2],
  [4, 8, 8, 1]
]
const batchSizes = [1, 7, 13]

interface Fixture {
  readonly sizes: ReadonlyArray<number>
  readonly spec: Mlp.Spec
  readonly batch: number
  readonly theta: Float64Array
  /** `[batch, n₀]`, float32 so that the host and device paths read identical inputs. */
  readonly inputs: Float32Array
  readonly rows: Array<Float64Array>
}

const fixture = (sizes: ReadonlyArray<number>, batch: number, seed: number): Fixture => {
  const [paramKey, inputKey] = Key.split(Key.make(seed), 2)
  const theta = Dense.randomParameters(paramKey!, sizes, "categorical", 0.7)
  const inputs = Float32Array.from(Key.normals(inputKey!, batch * sizes[0]!))
  return { sizes, spec: specOf(sizes), batch, theta, inputs, rows: Dense.rows(inputs, sizes[0]!) }
}

// Oracle: outputs `[N, n_L]` row-major.
const denseOutputs = (f: Fixture): Float64Array => {
  const nL = f.sizes[f.sizes.length - 1]!
  const out = new Float64Array(f.batch * nL)
  f.rows.forEach((x, n) => out.set(Dense.forward(f.sizes, f.theta, x).output, n * nL))
  return out
}

// Oracle: `J v` per sample, `(J v)_{n,k} = Σ_p J_n[k, p] v_p`.
const denseJvp = (f: Fixture, v: ArrayLike<number>): Float64Array => {
  const nL = f.sizes[f.sizes.length - 1]!
  const out = new Float64Array(f.batch * nL)
  f.rows.forEach((x, n) => out.set(Dense.matVec(Dense.jacobian(f.sizes, f.theta, x), v), n * nL))
  return out
}

// Oracle: `Σ_n J_nᵀ c_n`.
const denseVjp = (f: Fixture, c: ArrayLike<number>): Float64Array => {
  const nL = f.sizes[f.sizes.length - 1]!
  const P = Dense.layoutSize(f.sizes)
  const out = new Float64Array(P)
  f.rows.forEach((x, n) => {
    const J = Dense.jacobian(f.sizes, f.theta, x)
    for (let k = 0; k < nL; k++) {
      const ck = c[n * nL + k]!
      for (let p = 0; p < P; p++) out[p] = out[p]! + J[k * P + p]! * ck
    }
  })
  return out
}


// `[rows, cols]` row-major: the Gram matrix of its rows (`A Aᵀ`, rows×rows) or of its
// columns (`Aᵀ A`, cols×cols).
const rowGram = (a: ArrayLike<number>, rows: number, cols: number): Float64Array => {
  const g = new Float64Array(rows * rows)
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < rows; k++) {
      let s = 0
      for (let j = 0; j < cols; j++) s += a[i * cols + j]! * a[k * cols + j]!
      g[i * rows + k] = s
    }
  }
  return g
}
const columnGram = (a: ArrayLike<number>, rows: number, cols: number): Float64Array => {
  const g = new Float64Array(cols * cols)
  for (let j = 0; j < cols; j++) {
    for (let k = 0; k < cols; k++) {
      let s = 0
      for (let i = 0; i < rows; i++) s += a[i * cols + j]! * a[i * cols + k]!
      g[j * cols + k] = s
    }
  }
  return g
}
const scaledIdentity = (n: number, scale: number): Float64Array => {
  const m = new Float64Array(n * n)
  for (let i = 0; i < n; i++) m[i * n + i] = scale
  return m
}

describe("Mlp", () => {
  describe("make", () => {
    it("keeps the sizes in order: input, hidden, output", () => {
      expect(Mlp.make({ inputSize: 4, hiddenSizes: [64, 32], outputSize: 2 }).sizes).toEqual([4, 64, 32, 2])
      expect(Mlp.make({ inputSize: 4, hiddenSizes: [], outputSize: 1 }).sizes).toEqual([4, 1])
      const spec = specOf([3, 6, 5, 4, 2])
      expect(Mlp.inputSize(spec)).toBe(3)
      expect(Mlp.outputSize(spec)).toBe(2)
    })

    it("rejects non-positive and non-integer sizes", () => {
      const bad = [0, -1, 2.5, Number.NaN, Infinity]
      for (const n of bad) {
        expect(() => Mlp.make({ inputSize: n, hiddenSizes: [4], outputSize: 2 })).toThrow(RangeError)
        expect(() => Mlp.make({ inputSize: 3, hiddenSizes: [4, n], outputSize: 2 })).toThrow(RangeError)
        expect(() => Mlp.make({ inputSize: 3, hiddenSizes: [4], outputSize: n })).toThrow(RangeError)
      }
    })
  })

  describe("parameterCount", () => {
    it("counts (n_{l−1} + 1)·n_l per layer", () => {
      // [4, 64, 64, 2]: (4+1)·64 + (64+1)·64 + (64+1)·2 = 320 + 4160 + 130 = 4610.
      expect(Mlp.parameterCount(specOf([4, 64, 64, 2]))).toBe(4610)
      // [4, 1]: 4 + 1.
      expect(Mlp.parameterCount(specOf([4, 1]))).toBe(5)
      for (const sizes of architectures) expect(Mlp.parameterCount(specOf(sizes))).toBe(Dense.layoutSize(sizes))
    })
  })

  describe("layout", () => {
    it("places W_l then b_l for each layer, by hand for [4, 64, 64, 2]", () => {
      // W₁ 4·64 = 256 at 0, b₁ at 256 (to 320); W₂ 64·64 = 4096 at 320, b₂ at 4416 (to 4480);
      // W₃ 64·2 = 128 at 4480, b₃ at 4608 (to 4610).
      expect(Mlp.layout(specOf([4, 64, 64, 2]))).toEqual([
        { fanIn: 4, fanOut: 64, weightOffset: 0, biasOffset: 256 },
        { fanIn: 64, fanOut: 64, weightOffset: 320, biasOffset: 4416 },
        { fanIn: 64, fanOut: 2, weightOffset: 4480, biasOffset: 4608 }
      ])
    })

    it("agrees with the oracle's offsets", () => {
      for (const sizes of architectures) {
        const expected = Dense.layerOffsets(sizes)
        Mlp.layout(specOf(sizes)).forEach((layer, l) => {
          expect(layer.weightOffset).toBe(expected[l]!.weights)
          expect(layer.biasOffset).toBe(expected[l]!.bias)
          expect([layer.fanIn, layer.fanOut]).toEqual([sizes[l], sizes[l + 1]])
        })
      }
    })
  })

  describe("orthogonal", () => {
    // Tall (rows > cols): orthonormal columns, QᵀQ = I_cols. Wide: orthonormal rows, QQᵀ = I_rows.
    const shapes: ReadonlyArray<readonly [number, number]> = [[7, 3], [3, 7], [6, 6], [64, 4], [2, 64], [64, 64], [1, 5], [5, 1]]
    for (const [rows, cols] of shapes) {
      it(`${rows}×${cols} has orthonormal ${rows >= cols ? "columns" : "rows"} (to 1e-12)`, () => {
        const q = Mlp.orthogonal(Key.make(rows * 100 + cols), rows, cols)
        expect(q.length).toBe(rows * cols)
        const gram = rows >= cols ? columnGram(q, rows, cols) : rowGram(q, rows, cols)
        expect(maxAbsDiff(gram, scaledIdentity(Math.min(rows, cols), 1))).toBeLessThan(1e-12)
        if (rows === cols) expect(maxAbsDiff(rowGram(q, rows, cols), scaledIdentity(rows, 1))).toBeLessThan(1e-12)
      })
    }

    it("is deterministic per key and differs between keys", () => {
      const a = Mlp.orthogonal(Key.make(5), 6, 4)
      expect(Mlp.orthogonal(Key.make(5), 6, 4)).toEqual(a)
      const b = Mlp.orthogonal(Key.make(6), 6, 4)
      expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-3)
    })

    it("is the transpose of the tall draw when wide (the same QR, as torch)", () => {
      const key = Key.make(17)
      const tall = Mlp.orthogonal(key, 5, 3), wide = Mlp.orthogonal(key, 3, 5)
      for (let i = 0; i < 5; i++) for (let j = 0; j < 3; j++) expect(wide[j * 5 + i]).toBe(tall[i * 3 + j])
    })
  })

  describe("initialize", () => {
    // The stored weight is W_l = gain·Qᵀ with Q a torch-style [fanOut, fanIn] orthogonal matrix,
    // so W_l is [fanIn, fanOut] with
    // - fanOut ≥ fanIn (Q tall, orthonormal columns): W Wᵀ = gain²·I_fanIn, each of the fanIn
    //   rows has norm gain;
    // - fanOut < fanIn (Q wide, orthonormal rows): Wᵀ W = gain²·I_fanOut, each of the fanOut
    //   columns has norm gain;
    // and both when square. Biases are zero.
    const spec = specOf([4, 64, 64, 2])
    const gains = { hidden: Math.SQRT2, output: 0.01 }
    const theta = Mlp.initialize(Key.make(2024), spec, gains)

    it("has zero biases and the right length", () => {
      expect(theta.length).toBe(4610)
      for (const { biasOffset, fanOut } of Mlp.layout(spec)) {
        expect(Array.from(theta.subarray(biasOffset, biasOffset + fanOut))).toEqual(new Array(fanOut).fill(0))
      }
    })

    it("scales orthogonal weights by the gain: rows or columns of norm gain, mutually orthogonal", () => {
      Mlp.layout(spec).forEach(({ fanIn, fanOut, weightOffset }, l) => {
        const gain = l === 2 ? gains.output : gains.hidden
        const w = theta.subarray(weightOffset, weightOffset + fanIn * fanOut)
        if (fanOut >= fanIn) expect(maxAbsDiff(rowGram(w, fanIn, fanOut), scaledIdentity(fanIn, gain * gain))).toBeLessThan(1e-12)
        if (fanOut <= fanIn) expect(maxAbsDiff(columnGram(w, fanIn, fanOut), scaledIdentity(fanOut, gain * gain))).toBeLessThan(1e-12)
      })
      // Layer 1 is 4×64: its 4 rows have norm √2; layer 3 is 64×2: its 2 columns have norm 0.01.
      const row0 = theta.subarray(0, 64)
      expect(Math.sqrt(Dense.dot(row0, row0))).toBeCloseTo(Math.SQRT2, 12)
      const col0 = Float64Array.from({ length: 64 }, (_, i) => theta[4480 + i * 2]!)
      expect(Math.sqrt(Dense.dot(col0, col0))).toBeCloseTo(0.01, 12)
    })

    it("draws layer l from split(key, L)[l − 1], stored transposed", () => {
      const keys = Key.split(Key.make(2024), 3)
      Mlp.layout(spec).forEach(({ fanIn, fanOut, weightOffset }, l) => {
        const gain = l === 2 ? gains.output : gains.hidden
        const q = Mlp.orthogonal(keys[l]!, fanOut, fanIn)
        for (let i = 0; i < fanIn; i++) {
          for (let j = 0; j < fanOut; j++) expect(theta[weightOffset + i * fanOut + j]).toBe(gain * q[j * fanIn + i]!)
        }
      })
    })

    it("is deterministic per key", () => {
      expect(Mlp.initialize(Key.make(2024), spec, gains)).toEqual(theta)
      expect(maxAbsDiff(Mlp.initialize(Key.make(2025), spec, gains), theta)).toBeGreaterThan(1e-3)
    })
  })

  describe("forwardHost", () => {
    for (const sizes of architectures) {
      for (const batch of batchSizes) {
        it(`equals the float64 oracle for [${sizes.join(", ")}], batch ${batch} (to 1e-12)`, () => {
          const f = fixture(sizes, batch, sizes.length * 31 + batch)
          const out = new Float64Array(batch * sizes[sizes.length - 1]!)
          expect(Mlp.forwardHost(f.spec, f.theta, f.inputs, batch, out)).toBe(out)
          expect(maxAbsDiff(out, denseOutputs(f))).toBeLessThan(1e-12)
        })
      }
    }

    it("gives each row the same bits whatever the batch and whatever ran before", () => {
      // Row n of a batch equals a batch of one on row n exactly (rollouts with different
      // numEnvs act identically on equal observations), also after calls on wider nets.
      const f = fixture([3, 6, 5, 4, 2], 13, 4)
      const wide = fixture([4, 8, 8, 1], 13, 5)
      const whole = Mlp.forwardHost(f.spec, f.theta, f.inputs, 13, new Float64Array(26))
      for (let n = 0; n < 13; n++) {
        Mlp.forwardHost(wide.spec, wide.theta, wide.inputs, 13, new Float64Array(13))
        const one = Mlp.forwardHost(f.spec, f.theta, f.inputs.subarray(3 * n, 3 * n + 3), 1, new Float64Array(2))
        expect(Array.from(one)).toEqual(Array.from(whole.subarray(2 * n, 2 * n + 2)))
      }
    })

    it("reads the network at a non-zero offset inside a longer vector", () => {
      const f = fixture([3, 6, 5, 4, 2], 7, 3)
      const offset = 11
      const long = Key.normals(Key.make(77), offset + f.theta.length + 6).map((z) => 100 * z)
      long.set(f.theta, offset)
      const out = new Float64Array(7 * 2)
      Mlp.forwardHost(f.spec, long, f.inputs, 7, out, offset)
      expect(maxAbsDiff(out, denseOutputs(f))).toBeLessThan(1e-12)
    })
  })
})

// Runs `body` on a linearisation of the fixture (or of `theta` at `offset`), then disposes it.
const withLinearization = <A>(f: Fixture, body: (lin: Mlp.Linearization) => A, theta: ArrayLike<number> = f.theta, offset = 0): A => {
  const lin = Mlp.linearize(f.spec, theta, f.inputs, f.batch, offset)
  try {
    return body(lin)
  } finally {
    lin.dispose()
  }
}

layer(TensorBackend.layerWasm)("Mlp", (it) => {
  describe("linearize", () => {
    for (const sizes of architectures) {
      for (const batch of batchSizes) {
        const label = `[${sizes.join(", ")}], batch ${batch}`
        it.effect(`outputs, jvp and vjp match the oracle for ${label}`, () =>
          Effect.sync(() => {
            const f = fixture(sizes, batch, sizes.length * 31 + batch)
            const P = Dense.layoutSize(sizes)
            withLinearization(f, (lin) => {
              expect(lin.batchSize).toBe(batch)
              // float32 forward in sigmoid space: ~1e-6 relative.
              expect(Dense.relativeError(lin.outputs, denseOutputs(f))).toBeLessThan(1e-5)
              for (let trial = 0; trial < 2; trial++) {
                const [kv, kc] = Key.split(Key.foldIn(Key.make(500 + batch), trial), 2)
                const v = Key.normals(kv!, P)
                const jv = lin.jvp(v)
                expect(jv.length).toBe(batch * sizes[sizes.length - 1]!)
                expect(Dense.relativeError(jv, denseJvp(f, v))).toBeLessThan(1e-4)
                const c = Key.normals(kc!, batch * sizes[sizes.length - 1]!)
                const g = lin.vjp(c)
                expect(g.length).toBe(P)
                expect(Dense.relativeError(g, denseVjp(f, c))).toBeLessThan(1e-4)
              }
            })
          }))
      }
    }

    it.effect("stays within 1e-4 with saturated hidden units (weights ~ 2·N(0,1), inputs ~ 5·N(0,1))", () =>
      Effect.sync(() => {
        // tanh′ is read as 4s(1 − s) from float32 sigmoids, which loses relative precision
        // where |z| is large; the products must still meet the tolerance on the whole vector.
        for (const sizes of [[3, 5, 5, 2], [3, 6, 5, 4, 2]]) {
          const [kp, kx, kv, kc] = Key.split(Key.make(90 + sizes.length), 4)
          const theta = Dense.randomParameters(kp!, sizes, "categorical", 2)
          const inputs = Float32Array.from(Key.normals(kx!, 13 * 3).map((z) => 5 * z))
          const f: Fixture = { sizes, spec: specOf(sizes), batch: 13, theta, inputs, rows: Dense.rows(inputs, 3) }
          const v = Key.normals(kv!, Dense.layoutSize(sizes)), c = Key.normals(kc!, 13 * 2)
          withLinearization(f, (lin) => {
            expect(Dense.relativeError(lin.outputs, denseOutputs(f))).toBeLessThan(1e-5)
            expect(Dense.relativeError(lin.jvp(v), denseJvp(f, v))).toBeLessThan(1e-4)
            expect(Dense.relativeError(lin.vjp(c), denseVjp(f, c))).toBeLessThan(1e-4)
          })
        }
      }))

    it.effect("jvp and vjp are adjoint: cᵀ(J v) = (Jᵀc)ᵀ v", () =>
      Effect.sync(() => {
        const f = fixture([3, 6, 5, 4, 2], 13, 8)
        const [kv, kc] = Key.split(Key.make(9), 2)
        const v = Key.normals(kv!, Dense.layoutSize(f.sizes)), c = Key.normals(kc!, 13 * 2)
        withLinearization(f, (lin) => {
          const left = Dense.dot(c, lin.jvp(v)), right = Dense.dot(lin.vjp(c), v)
          expect(Math.abs(left - right)).toBeLessThan(1e-4 * Math.abs(left))
        })
      }))

    it.effect("is linear in the tangent and cotangent", () =>
      Effect.sync(() => {
        const f = fixture([3, 5, 5, 2], 7, 21)
        const P = Dense.layoutSize(f.sizes)
        const [k1, k2, k3, k4] = Key.split(Key.make(22), 4)
        const u = Key.normals(k1!, P), w = Key.normals(k2!, P)
        const a = Key.normals(k3!, 14), b = Key.normals(k4!, 14)
        withLinearization(f, (lin) => {
          const sum = lin.jvp(u.map((x, p) => 2 * x - 3 * w[p]!))
          const parts = lin.jvp(u).map((x, i) => 2 * x - 3 * lin.jvp(w)[i]!)
          expect(Dense.relativeError(sum, parts)).toBeLessThan(1e-5)
          const gs = lin.vjp(a.map((x, i) => x + 0.5 * b[i]!))
          const gb = lin.vjp(b)
          expect(Dense.relativeError(gs, lin.vjp(a).map((x, p) => x + 0.5 * gb[p]!))).toBeLessThan(1e-5)
        })
      }))

    it.effect("reads the network at a non-zero offset inside a longer vector", () =>
      Effect.sync(() => {
        for (const sizes of [[3, 6, 5, 4, 2], [4, 1], [3, 7, 2]]) {
          const f = fixture(sizes, 7, 40 + sizes.length)
          const offset = 9
          const long = Key.normals(Key.make(78), offset + f.theta.length + 4).map((z) => 100 * z)
          long.set(f.theta, offset)
          const P = Dense.layoutSize(sizes)
          const v = Key.normals(Key.make(79), P), c = Key.normals(Key.make(80), 7 * sizes[sizes.length - 1]!)
          withLinearization(f, (lin) => {
            expect(Dense.relativeError(lin.outputs, denseOutputs(f))).toBeLessThan(1e-5)
            expect(Dense.relativeError(lin.jvp(v), denseJvp(f, v))).toBeLessThan(1e-4)
            expect(Dense.relativeError(lin.vjp(c), denseVjp(f, c))).toBeLessThan(1e-4)
          }, long, offset)
        }
      }))

    it.effect("leaves the tensor count unchanged after several products and dispose", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        const before = backend.numTensors()
        for (const sizes of [[3, 6, 5, 4, 2], [4, 1], [3, 7, 2]]) {
          const f = fixture(sizes, 7, 3)
          const lin = Mlp.linearize(f.spec, f.theta, f.inputs, 7)
          expect(backend.numTensors()).toBeGreaterThan(before)
          for (let i = 0; i < 3; i++) {
            lin.jvp(Key.normals(Key.make(i), Dense.layoutSize(sizes)))
            lin.vjp(Key.normals(Key.make(10 + i), 7 * sizes[sizes.length - 1]!))
          }
          lin.dispose()
          expect(backend.numTensors()).toBe(before)
        }
      }))
  })

  describe("upload", () => {
    for (const sizes of architectures) {
      it.effect(`forwardToHost equals the oracle for [${sizes.join(", ")}], batch 13 (rel. error ≤ 1e-5)`, () =>
        Effect.sync(() => {
          const f = fixture(sizes, 13, 60 + sizes.length)
          const network = Mlp.upload(f.spec, f.theta)
          const x = Mlp.uploadRows(f.inputs, 13, sizes[0]!)
          try {
            expect(network.spec).toBe(f.spec)
            const out = Mlp.forwardToHost(network, x)
            expect(out.length).toBe(13 * sizes[sizes.length - 1]!)
            expect(Dense.relativeError(out, denseOutputs(f))).toBeLessThan(1e-5)
          } finally {
            x.dispose()
            network.dispose()
          }
        }))
    }

    it.effect("reads the network at a non-zero offset inside a longer vector", () =>
      Effect.sync(() => {
        const f = fixture([3, 6, 5, 4, 2], 7, 61)
        const offset = 13
        const long = Key.normals(Key.make(81), offset + f.theta.length + 2).map((z) => 100 * z)
        long.set(f.theta, offset)
        const network = Mlp.upload(f.spec, long, offset)
        // Float64 host rows are accepted too.
        const x = Mlp.uploadRows(Float64Array.from(f.inputs), 7, 3)
        try {
          expect(Dense.relativeError(Mlp.forwardToHost(network, x), denseOutputs(f))).toBeLessThan(1e-5)
        } finally {
          x.dispose()
          network.dispose()
        }
      }))
  })

  describe("forward", () => {
    it.effect("returns an [N, n_L] tensor equal to the oracle and leaks nothing", () =>
      Effect.gen(function*() {
        const backend = yield* TensorBackend.TensorBackend
        const before = backend.numTensors()
        const f = fixture([4, 8, 8, 1], 7, 62)
        const network = Mlp.upload(f.spec, f.theta)
        const x = Mlp.uploadRows(f.inputs, 7, 4)
        const y = Mlp.forward(network, x)
        expect(y.shape).toEqual([7, 1])
        expect(Dense.relativeError(y.dataSync(), denseOutputs(f))).toBeLessThan(1e-5)
        y.dispose()
        Mlp.forwardToHost(network, x)
        x.dispose()
        network.dispose()
        expect(backend.numTensors()).toBe(before)
      }))
  })
})
