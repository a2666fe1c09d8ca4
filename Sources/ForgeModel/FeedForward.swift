import ForgeKernels

/// The activation of a gated feed-forward block: act(gate) ⊙ up.
enum GatedActivation {
    /// SwiGLU (Llama, Qwen).
    case silu
    /// GeGLU with the tanh approximation of GELU (Gemma), as llama.cpp's CPU backend computes it.
    case geluTanh
}

extension ForwardPass {
    /// The pre-norm feed-forward half of a layer: x += feedForward(norm(x)), as `feedForward`.
    func addFeedForward(norm weight: [Float], gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix,
                        activation: GatedActivation, postNorm: [Float]? = nil) {
        let width = evaluator.weights.configuration.embeddingLength
        norm(x, weight, into: normed)
        observe("ffn_norm", normed, width: width)
        feedForward(gate: gate, up: up, down: down, activation: activation, postNorm: postNorm, normed)
        observe("l_out", x, width: width)
    }

    /// x += down(act(gate · input) ⊙ (up · input)), normalized by `postNorm` before the residual
    /// add when given (Gemma). Runs `evaluator.feedForwardChunk` tokens at a time (see there).
    func feedForward(gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix, activation: GatedActivation,
                     postNorm: [Float]? = nil, _ input: UnsafeMutablePointer<Float>) {
        let e = evaluator, c = e.weights.configuration
        let dim = c.embeddingLength, width = c.feedForwardLength
        var start = 0
        while start < tokens {
            let remaining = tokens - start
            var rows = min(remaining, e.feedForwardChunk)
            if remaining > rows && remaining - rows < Evaluator.feedForwardGrain { rows -= Evaluator.feedForwardGrain }
            let chunkInput = input + start * dim
            e.compute.matmul(gate, input: chunkInput, output: e.gate, tokens: rows)
            e.compute.matmul(up, input: chunkInput, output: e.up, tokens: rows)
            observe("ffn_gate", e.gate, width: width, rows: rows)
            observe("ffn_up", e.up, width: width, rows: rows)
            switch activation {
            case .silu:
                e.compute.swiGLU(gate: e.gate, up: e.up, rows: rows, width: width)
                observe("ffn_swiglu", e.gate, width: width, rows: rows)
            case .geluTanh:
                e.compute.geGLU(gate: e.gate, up: e.up, rows: rows, width: width)
                observe("ffn_geglu", e.gate, width: width, rows: rows)
            }
            e.compute.matmul(down, input: e.gate, output: e.feedForwardOutput, tokens: rows)
            observe("ffn_out", e.feedForwardOutput, width: dim, rows: rows)
            if let postNorm {
                e.rmsNorm(e.feedForwardOutput, weight: postNorm, into: e.feedForwardOutput, rows: rows, width: dim)
                observe("ffn_post_norm", e.feedForwardOutput, width: dim, rows: rows)
            }
            let residual = x + start * dim
            for i in 0..<rows * dim { residual[i] += e.feedForwardOutput[i] }
            start += rows
        }
    }
}
