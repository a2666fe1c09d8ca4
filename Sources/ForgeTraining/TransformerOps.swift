/// Forward and backward passes of every op, on row-major activations of `positions` rows.
/// Backward passes accumulate (`+=`) into gradient buffers unless documented otherwise, so a
/// gradient reaching a tensor along several paths (residuals, Q/K/V sharing one input) sums up.
enum TransformerOps {
    // MARK: Embedding

    static func embed<T: TrainingScalar>(
        tokens: UnsafePointer<Int32>, positions: Int, table: UnsafePointer<T>, dimension: Int,
        into output: UnsafeMutablePointer<T>
    ) {
        for t in 0..<positions {
            (output + t * dimension).update(from: table + Int(tokens[t]) * dimension, count: dimension)
        }
    }

    static func embedBackward<T: TrainingScalar>(
        tokens: UnsafePointer<Int32>, positions: Int, dimension: Int,
        gradOutput: UnsafePointer<T>, gradTable: UnsafeMutablePointer<T>
    ) {
        for t in 0..<positions {
            accumulate(1, gradOutput + t * dimension, into: gradTable + Int(tokens[t]) * dimension, count: dimension)
        }
    }

    // MARK: RMSNorm: y = x / sqrt(mean(x²) + ε) ⊙ g

    static func rmsNorm<T: TrainingScalar>(
        input: UnsafePointer<T>, gain: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
        inverseRMS: UnsafeMutablePointer<T>, positions: Int, dimension: Int, epsilon: T
    ) {
        for t in 0..<positions {
            let x = input + t * dimension
            let y = output + t * dimension
            let meanSquare = T.dot(x, x, count: dimension) / T(dimension)
            let r = 1 / (meanSquare + epsilon).squareRoot()
            inverseRMS[t] = r
            for i in 0..<dimension { y[i] = x[i] * r * gain[i] }
        }
    }

    static func rmsNormBackward<T: TrainingScalar>(
        input: UnsafePointer<T>, gain: UnsafePointer<T>, inverseRMS: UnsafePointer<T>,
        gradOutput: UnsafePointer<T>, gradInput: UnsafeMutablePointer<T>, gradGain: UnsafeMutablePointer<T>,
        positions: Int, dimension: Int
    ) {
        for t in 0..<positions {
            let x = input + t * dimension
            let dy = gradOutput + t * dimension
            let dx = gradInput + t * dimension
            let r = inverseRMS[t]
            var projection: T = 0
            for i in 0..<dimension {
                gradGain[i] += dy[i] * x[i] * r
                projection += dy[i] * gain[i] * x[i]
            }
            let coefficient = r * r * r * projection / T(dimension)
            for i in 0..<dimension { dx[i] += r * dy[i] * gain[i] - coefficient * x[i] }
        }
    }

    // MARK: Linear: y[t][j] = Σᵢ W[j][i] x[t][i], W stored as `outputs` rows of `inputs`

    static func linear<T: TrainingScalar>(
        input: UnsafePointer<T>, weight: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
        positions: Int, inputs: Int, outputs: Int, accumulating: Bool = false
    ) {
        T.linearForward(input: input, weight: weight, output: output, positions: positions, inputs: inputs, outputs: outputs, accumulating: accumulating)
    }

    static func linearBackward<T: TrainingScalar>(
        input: UnsafePointer<T>, weight: UnsafePointer<T>, gradOutput: UnsafePointer<T>,
        gradInput: UnsafeMutablePointer<T>, gradWeight: UnsafeMutablePointer<T>,
        positions: Int, inputs: Int, outputs: Int
    ) {
        T.linearBackward(input: input, weight: weight, gradOutput: gradOutput, gradInput: gradInput, gradWeight: gradWeight, positions: positions, inputs: inputs, outputs: outputs)
    }

    // MARK: RoPE, NORM style: pairs (2i, 2i+1) of each head turn by pos · base^(-2i/headDim)

    /// Rotates in place; `inverse` turns the other way, which is the backward pass (a rotation's
    /// transpose is its inverse). Tables hold cos and sin at `position * headDimension / 2 + i`.
    static func rope<T: TrainingScalar>(
        _ values: UnsafeMutablePointer<T>, positions: Int, heads: Int, headDimension: Int,
        cosines: UnsafePointer<T>, sines: UnsafePointer<T>, inverse: Bool
    ) {
        let half = headDimension / 2
        let rowLength = heads * headDimension
        for t in 0..<positions {
            for h in 0..<heads {
                let x = values + t * rowLength + h * headDimension
                for i in 0..<half {
                    let c = cosines[t * half + i]
                    let s = inverse ? -sines[t * half + i] : sines[t * half + i]
                    let x0 = x[2 * i]
                    let x1 = x[2 * i + 1]
                    x[2 * i] = x0 * c - x1 * s
                    x[2 * i + 1] = x0 * s + x1 * c
                }
            }
        }
    }

    // MARK: Causal grouped-query attention

    /// Query head `h` reads key/value head `h / (heads / keyValueHeads)`, as ggml broadcasts.
    /// `probabilities` receives the softmax rows, `[head][t][u]` with `positions` columns.
    static func attention<T: TrainingScalar>(
        query: UnsafePointer<T>, key: UnsafePointer<T>, value: UnsafePointer<T>,
        probabilities: UnsafeMutablePointer<T>, output: UnsafeMutablePointer<T>,
        positions: Int, heads: Int, keyValueHeads: Int, headDimension: Int
    ) {
        let queryRow = heads * headDimension
        let keyRow = keyValueHeads * headDimension
        let group = heads / keyValueHeads
        let scale = 1 / T(headDimension).squareRoot()
        for h in 0..<heads {
            let kvOffset = (h / group) * headDimension
            for t in 0..<positions {
                let q = query + t * queryRow + h * headDimension
                let row = probabilities + (h * positions + t) * positions
                var maximum = -T.infinity
                for u in 0...t {
                    let score = T.dot(q, key + u * keyRow + kvOffset, count: headDimension) * scale
                    row[u] = score
                    maximum = max(maximum, score)
                }
                var total: T = 0
                for u in 0...t {
                    row[u] = T.exponential(row[u] - maximum)
                    total += row[u]
                }
                let out = output + t * queryRow + h * headDimension
                out.update(repeating: 0, count: headDimension)
                for u in 0...t {
                    row[u] /= total
                    accumulate(row[u], value + u * keyRow + kvOffset, into: out, count: headDimension)
                }
                for u in (t + 1)..<positions { row[u] = 0 }
            }
        }
    }

    /// `scratch` needs `positions` elements.
    static func attentionBackward<T: TrainingScalar>(
        query: UnsafePointer<T>, key: UnsafePointer<T>, value: UnsafePointer<T>,
        probabilities: UnsafePointer<T>, gradOutput: UnsafePointer<T>,
        gradQuery: UnsafeMutablePointer<T>, gradKey: UnsafeMutablePointer<T>, gradValue: UnsafeMutablePointer<T>,
        scratch: UnsafeMutablePointer<T>, positions: Int, heads: Int, keyValueHeads: Int, headDimension: Int
    ) {
        let queryRow = heads * headDimension
        let keyRow = keyValueHeads * headDimension
        let group = heads / keyValueHeads
        let scale = 1 / T(headDimension).squareRoot()
        for h in 0..<heads {
            let kvOffset = (h / group) * headDimension
            for t in 0..<positions {
                let row = probabilities + (h * positions + t) * positions
                let dOut = gradOutput + t * queryRow + h * headDimension
                var weighted: T = 0
                for u in 0...t {
                    let v = value + u * keyRow + kvOffset
                    scratch[u] = T.dot(dOut, v, count: headDimension)
                    weighted += row[u] * scratch[u]
                    accumulate(row[u], dOut, into: gradValue + u * keyRow + kvOffset, count: headDimension)
                }
                let q = query + t * queryRow + h * headDimension
                let dq = gradQuery + t * queryRow + h * headDimension
                for u in 0...t {
                    let dScore = row[u] * (scratch[u] - weighted) * scale
                    accumulate(dScore, key + u * keyRow + kvOffset, into: dq, count: headDimension)
                    accumulate(dScore, q, into: gradKey + u * keyRow + kvOffset, count: headDimension)
                }
            }
        }
    }

    // MARK: SwiGLU: y = silu(gate) ⊙ up

    static func swiGLU<T: TrainingScalar>(
        gate: UnsafePointer<T>, up: UnsafePointer<T>, output: UnsafeMutablePointer<T>, count: Int
    ) {
        for i in 0..<count {
            let g = gate[i]
            output[i] = g / (1 + T.exponential(-g)) * up[i]
        }
    }

    /// Overwrites `gradGate` and `gradUp`.
    static func swiGLUBackward<T: TrainingScalar>(
        gate: UnsafePointer<T>, up: UnsafePointer<T>, gradOutput: UnsafePointer<T>,
        gradGate: UnsafeMutablePointer<T>, gradUp: UnsafeMutablePointer<T>, count: Int
    ) {
        for i in 0..<count {
            let g = gate[i]
            let sigmoid = 1 / (1 + T.exponential(-g))
            let silu = g * sigmoid
            gradUp[i] = gradOutput[i] * silu
            gradGate[i] = gradOutput[i] * up[i] * sigmoid * (1 + g * (1 - sigmoid))
        }
    }

    // MARK: Cross-entropy of the next token

    /// Returns the summed loss over positions; when `gradient` is given, overwrites it with
    /// `scale · (softmax(logits) - onehot(target))`.
    static func crossEntropy<T: TrainingScalar>(
        logits: UnsafePointer<T>, targets: UnsafePointer<Int32>, positions: Int, vocabularySize: Int,
        gradient: UnsafeMutablePointer<T>?, scale: T
    ) -> T {
        var loss: T = 0
        for t in 0..<positions {
            let row = logits + t * vocabularySize
            var maximum = -T.infinity
            for i in 0..<vocabularySize { maximum = max(maximum, row[i]) }
            var total: T = 0
            for i in 0..<vocabularySize { total += T.exponential(row[i] - maximum) }
            let logTotal = T.logarithm(total) + maximum
            let target = Int(targets[t])
            loss += logTotal - row[target]
            if let gradient {
                let gradRow = gradient + t * vocabularySize
                for i in 0..<vocabularySize { gradRow[i] = scale * T.exponential(row[i] - logTotal) }
                gradRow[target] -= scale
            }
        }
        return loss
    }
}
