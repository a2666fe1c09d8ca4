/// Matrix products of the linear layers. The generic versions are the reference (and the f64
/// path); `Float` overrides them with register-blocked SIMD kernels, because they are nearly all
/// of a training step's work.
extension TrainingScalar {
    /// Rows of X processed per pass over W: a tile of X stays in L1 while W streams once per tile.
    static var positionTile: Int { 8 }

    public static func linearForward(
        input: UnsafePointer<Self>, weight: UnsafePointer<Self>, output: UnsafeMutablePointer<Self>,
        positions: Int, inputs: Int, outputs: Int, accumulating: Bool
    ) {
        for tileStart in stride(from: 0, to: positions, by: positionTile) {
            let tileEnd = min(tileStart + positionTile, positions)
            for j in 0..<outputs {
                let row = weight + j * inputs
                for t in tileStart..<tileEnd {
                    let value = dot(row, input + t * inputs, count: inputs)
                    output[t * outputs + j] = accumulating ? output[t * outputs + j] + value : value
                }
            }
        }
    }

    /// Adds ∂/∂input into `gradInput` and ∂/∂weight into `gradWeight`.
    public static func linearBackward(
        input: UnsafePointer<Self>, weight: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradInput: UnsafeMutablePointer<Self>, gradWeight: UnsafeMutablePointer<Self>,
        positions: Int, inputs: Int, outputs: Int
    ) {
        for tileStart in stride(from: 0, to: positions, by: positionTile) {
            let tileEnd = min(tileStart + positionTile, positions)
            for j in 0..<outputs {
                let row = weight + j * inputs
                let gradRow = gradWeight + j * inputs
                for t in tileStart..<tileEnd {
                    let dy = gradOutput[t * outputs + j]
                    accumulate(dy, row, into: gradInput + t * inputs, count: inputs)
                    accumulate(dy, input + t * inputs, into: gradRow, count: inputs)
                }
            }
        }
    }
}

extension Float {
    private typealias Vector = SIMD8<Float>
    private static let lanes = 8

    @inline(__always)
    private static func load(_ pointer: UnsafePointer<Float>, _ index: Int) -> Vector {
        UnsafeRawPointer(pointer + index).loadUnaligned(as: Vector.self)
    }

    @inline(__always)
    private static func store(_ value: Vector, _ pointer: UnsafeMutablePointer<Float>, _ index: Int) {
        UnsafeMutableRawPointer(pointer + index).storeBytes(of: value, as: Vector.self)
    }

    /// Four positions at a time share each load of a weight row.
    public static func linearForward(
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        positions: Int, inputs: Int, outputs: Int, accumulating: Bool
    ) {
        let vectorEnd = inputs - inputs % lanes
        var t = 0
        while t + 4 <= positions {
            let x0 = input + t * inputs, x1 = x0 + inputs, x2 = x1 + inputs, x3 = x2 + inputs
            for j in 0..<outputs {
                let row = weight + j * inputs
                var a0 = Vector(), a1 = Vector(), a2 = Vector(), a3 = Vector()
                var i = 0
                while i < vectorEnd {
                    let w = load(row, i)
                    a0.addProduct(w, load(x0, i))
                    a1.addProduct(w, load(x1, i))
                    a2.addProduct(w, load(x2, i))
                    a3.addProduct(w, load(x3, i))
                    i += lanes
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while i < inputs {
                    s0 += row[i] * x0[i]
                    s1 += row[i] * x1[i]
                    s2 += row[i] * x2[i]
                    s3 += row[i] * x3[i]
                    i += 1
                }
                let y = output + t * outputs + j
                if accumulating {
                    y[0] += s0; y[outputs] += s1; y[2 * outputs] += s2; y[3 * outputs] += s3
                } else {
                    y[0] = s0; y[outputs] = s1; y[2 * outputs] = s2; y[3 * outputs] = s3
                }
            }
            t += 4
        }
        while t < positions {
            let x = input + t * inputs
            for j in 0..<outputs {
                let value = dot(weight + j * inputs, x, count: inputs)
                output[t * outputs + j] = accumulating ? output[t * outputs + j] + value : value
            }
            t += 1
        }
    }

    /// Four positions by four outputs at a time: each block reads four weight rows, four input
    /// rows and four gradient rows once, and does sixteen multiply-adds per lane.
    public static func linearBackward(
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>, gradOutput: UnsafePointer<Float>,
        gradInput: UnsafeMutablePointer<Float>, gradWeight: UnsafeMutablePointer<Float>,
        positions: Int, inputs: Int, outputs: Int
    ) {
        let vectorEnd = inputs - inputs % lanes
        var t = 0
        while t + 4 <= positions {
            let x0 = input + t * inputs, x1 = x0 + inputs, x2 = x1 + inputs, x3 = x2 + inputs
            let dx0 = gradInput + t * inputs, dx1 = dx0 + inputs, dx2 = dx1 + inputs, dx3 = dx2 + inputs
            let dy = gradOutput + t * outputs
            var j = 0
            while j + 4 <= outputs {
                let w0 = weight + j * inputs, w1 = w0 + inputs, w2 = w1 + inputs, w3 = w2 + inputs
                let dw0 = gradWeight + j * inputs, dw1 = dw0 + inputs, dw2 = dw1 + inputs, dw3 = dw2 + inputs
                // g[p][q]: ∂L/∂y at position t+p, output j+q.
                let g00 = dy[j], g01 = dy[j + 1], g02 = dy[j + 2], g03 = dy[j + 3]
                let g10 = dy[outputs + j], g11 = dy[outputs + j + 1], g12 = dy[outputs + j + 2], g13 = dy[outputs + j + 3]
                let g20 = dy[2 * outputs + j], g21 = dy[2 * outputs + j + 1], g22 = dy[2 * outputs + j + 2], g23 = dy[2 * outputs + j + 3]
                let g30 = dy[3 * outputs + j], g31 = dy[3 * outputs + j + 1], g32 = dy[3 * outputs + j + 2], g33 = dy[3 * outputs + j + 3]
                var i = 0
                while i < vectorEnd {
                    let r0 = load(w0, i), r1 = load(w1, i), r2 = load(w2, i), r3 = load(w3, i)
                    let v0 = load(x0, i), v1 = load(x1, i), v2 = load(x2, i), v3 = load(x3, i)
                    var d = load(dx0, i)
                    d.addProduct(r0, Vector(repeating: g00)); d.addProduct(r1, Vector(repeating: g01))
                    d.addProduct(r2, Vector(repeating: g02)); d.addProduct(r3, Vector(repeating: g03))
                    store(d, dx0, i)
                    d = load(dx1, i)
                    d.addProduct(r0, Vector(repeating: g10)); d.addProduct(r1, Vector(repeating: g11))
                    d.addProduct(r2, Vector(repeating: g12)); d.addProduct(r3, Vector(repeating: g13))
                    store(d, dx1, i)
                    d = load(dx2, i)
                    d.addProduct(r0, Vector(repeating: g20)); d.addProduct(r1, Vector(repeating: g21))
                    d.addProduct(r2, Vector(repeating: g22)); d.addProduct(r3, Vector(repeating: g23))
                    store(d, dx2, i)
                    d = load(dx3, i)
                    d.addProduct(r0, Vector(repeating: g30)); d.addProduct(r1, Vector(repeating: g31))
                    d.addProduct(r2, Vector(repeating: g32)); d.addProduct(r3, Vector(repeating: g33))
                    store(d, dx3, i)
                    var e = load(dw0, i)
                    e.addProduct(v0, Vector(repeating: g00)); e.addProduct(v1, Vector(repeating: g10))
                    e.addProduct(v2, Vector(repeating: g20)); e.addProduct(v3, Vector(repeating: g30))
                    store(e, dw0, i)
                    e = load(dw1, i)
                    e.addProduct(v0, Vector(repeating: g01)); e.addProduct(v1, Vector(repeating: g11))
                    e.addProduct(v2, Vector(repeating: g21)); e.addProduct(v3, Vector(repeating: g31))
                    store(e, dw1, i)
                    e = load(dw2, i)
                    e.addProduct(v0, Vector(repeating: g02)); e.addProduct(v1, Vector(repeating: g12))
                    e.addProduct(v2, Vector(repeating: g22)); e.addProduct(v3, Vector(repeating: g32))
                    store(e, dw2, i)
                    e = load(dw3, i)
                    e.addProduct(v0, Vector(repeating: g03)); e.addProduct(v1, Vector(repeating: g13))
                    e.addProduct(v2, Vector(repeating: g23)); e.addProduct(v3, Vector(repeating: g33))
                    store(e, dw3, i)
                    i += lanes
                }
                while i < inputs {
                    dx0[i] += g00 * w0[i] + g01 * w1[i] + g02 * w2[i] + g03 * w3[i]
                    dx1[i] += g10 * w0[i] + g11 * w1[i] + g12 * w2[i] + g13 * w3[i]
                    dx2[i] += g20 * w0[i] + g21 * w1[i] + g22 * w2[i] + g23 * w3[i]
                    dx3[i] += g30 * w0[i] + g31 * w1[i] + g32 * w2[i] + g33 * w3[i]
                    dw0[i] += g00 * x0[i] + g10 * x1[i] + g20 * x2[i] + g30 * x3[i]
                    dw1[i] += g01 * x0[i] + g11 * x1[i] + g21 * x2[i] + g31 * x3[i]
                    dw2[i] += g02 * x0[i] + g12 * x1[i] + g22 * x2[i] + g32 * x3[i]
                    dw3[i] += g03 * x0[i] + g13 * x1[i] + g23 * x2[i] + g33 * x3[i]
                    i += 1
                }
                j += 4
            }
            while j < outputs {
                for p in 0..<4 {
                    let g = dy[p * outputs + j]
                    accumulate(g, weight + j * inputs, into: gradInput + (t + p) * inputs, count: inputs)
                    accumulate(g, input + (t + p) * inputs, into: gradWeight + j * inputs, count: inputs)
                }
                j += 1
            }
            t += 4
        }
        while t < positions {
            for j in 0..<outputs {
                let g = gradOutput[t * outputs + j]
                accumulate(g, weight + j * inputs, into: gradInput + t * inputs, count: inputs)
                accumulate(g, input + t * inputs, into: gradWeight + j * inputs, count: inputs)
            }
            t += 1
        }
    }
}
