#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How RoPE pairs the dimensions it rotates.
public enum RoPEStyle: Sendable {
    /// Adjacent pairs (2i, 2i+1): llama.cpp's LLAMA_ROPE_TYPE_NORM (Llama, Mistral, SmolLM).
    case normal
    /// Pairs offset by half the rotary dimension (i, i + d/2): LLAMA_ROPE_TYPE_NEOX (Qwen, Gemma).
    case neox
}

/// cos/sin of every rotated pair for every token of a batch, for one RoPE base and position scale.
struct RoPETable {
    let base: Float
    let scale: Float
    let values: UnsafeMutablePointer<Float>
}

extension Evaluator {
    /// Fills `table` for the batch as ggml computes the angles: θ starts at the position and is
    /// multiplied by base^(-2/d) per pair, in f32, so they match it exactly.
    func fillRoPETable(_ table: RoPETable, _ batch: Batch) {
        let c = weights.configuration
        let rotated = c.ropeDimensionCount
        let thetaScale = powf(table.base, -2 / Float(rotated))
        let factors = weights.tensors.ropeFrequencyFactors
        for t in 0..<batch.count {
            let row = table.values + t * rotated
            var theta = Float(batch.positions[t])
            for pair in 0..<rotated / 2 {
                let factor = factors?[pair] ?? 1
                let angle = table.scale * (theta / factor)
                row[2 * pair] = cosf(angle)
                row[2 * pair + 1] = sinf(angle)
                theta *= thetaScale
            }
        }
    }
}

extension ForwardPass {
    /// Rotates the queries and keys by their tokens' positions, and shows Q, K and V as they go
    /// into the cache and attention.
    func ropeQueriesAndKeys(style: RoPEStyle) {
        let c = evaluator.weights.configuration
        rope(q, heads: c.headCount, style: style)
        rope(k, heads: c.kvHeadCount, style: style)
        observe("Qcur", q, width: c.queryWidth)
        observe("Kcur", k, width: c.kvWidth)
        observe("Vcur", v, width: c.kvWidth)
    }

    /// Rotates the first rope-dimension values of each of `heads` heads per token by the token's
    /// position, with this layer's base and scale.
    private func rope(_ vectors: UnsafeMutablePointer<Float>, heads: Int, style: RoPEStyle) {
        let c = evaluator.weights.configuration
        let headDim = c.headDimension, rotated = c.ropeDimensionCount
        let table = evaluator.ropeTables[evaluator.ropeTableOfLayer[layer]]
        for t in 0..<tokens {
            let angles = table.values + t * rotated
            for h in 0..<heads {
                let head = vectors + (t * heads + h) * headDim
                for pair in 0..<rotated / 2 {
                    let cosine = angles[2 * pair], sine = angles[2 * pair + 1]
                    let (i, j) = style == .normal ? (2 * pair, 2 * pair + 1) : (pair, pair + rotated / 2)
                    let x0 = head[i], x1 = head[j]
                    // llama.cpp's compiler fuses the first product of each line: x0·cos − x1·sin
                    // is fma(x0, cos, −x1·sin), x0·sin + x1·cos is fma(x0, sin, x1·cos).
                    head[i] = (-(x1 * sine)).addingProduct(x0, cosine)
                    head[j] = (x1 * cosine).addingProduct(x0, sine)
                }
            }
        }
    }
}
