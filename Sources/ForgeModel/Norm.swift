/// RMS normalization: y = x / sqrt(mean(x²) + ε) ⊙ weight, row by row. The sum of squares is
/// accumulated in double as llama.cpp does, so the scale matches it to the last bit more often.
extension Evaluator {
    func rmsNorm(_ input: UnsafeMutablePointer<Float>, weight: [Float], into output: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        let epsilon = weights.configuration.rmsEpsilon
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                let src = input + r * width, dst = output + r * width
                var sum: Double = 0
                for i in 0..<width { sum += Double(src[i] * src[i]) }
                let mean = Float(sum / Double(width))
                let scale = 1 / (mean + epsilon).squareRoot()
                for i in 0..<width { dst[i] = (src[i] * scale) * w[i] }
            }
        }
    }
}

extension ForwardPass {
    /// Each token's row of the residual width, normalized into `output` (which may be `input`).
    func norm(_ input: UnsafeMutablePointer<Float>, _ weight: [Float], into output: UnsafeMutablePointer<Float>) {
        let dim = evaluator.weights.configuration.embeddingLength
        evaluator.rmsNorm(input, weight: weight, into: output, rows: tokens, width: dim)
    }

    /// QK-norm: every query and key head normalized on its own, in place, with one weight of
    /// head_dim shared by the heads of each.
    func queryKeyNorm(_ queryWeight: [Float], _ keyWeight: [Float]) {
        let c = evaluator.weights.configuration
        evaluator.rmsNorm(q, weight: queryWeight, into: q, rows: tokens * c.headCount, width: queryWeight.count)
        evaluator.rmsNorm(k, weight: keyWeight, into: k, rows: tokens * c.kvHeadCount, width: keyWeight.count)
        observe("Qcur_normed", q, width: c.queryWidth)
        observe("Kcur_normed", k, width: c.kvWidth)
    }
}
