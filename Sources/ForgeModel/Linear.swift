import ForgeKernels

extension ForwardPass {
    /// output = input · weightᵀ (+ bias) for every token of the batch.
    func linear(_ weight: WeightMatrix, bias: [Float]? = nil, _ input: UnsafeMutablePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        evaluator.compute.matmul(weight, input: input, output: output, tokens: tokens)
        guard let bias else { return }
        bias.withUnsafeBufferPointer { b in
            for r in 0..<tokens {
                let row = output + r * b.count
                for i in 0..<b.count { row[i] += b[i] }
            }
        }
    }

    /// The residual connection: destination += source over the batch's rows of the residual width.
    func add(_ source: UnsafeMutablePointer<Float>, to destination: UnsafeMutablePointer<Float>) {
        let count = tokens * evaluator.weights.configuration.embeddingLength
        for i in 0..<count { destination[i] += source[i] }
    }

    /// vectors *= factor over `width` values per token (Gemma's query scale, applied before
    /// attention as llama.cpp does, so the attention itself scales by 1).
    func scale(_ vectors: UnsafeMutablePointer<Float>, by factor: Float, width: Int) {
        for i in 0..<tokens * width { vectors[i] *= factor }
    }
}
