import ForgeGGUF
import ForgeKernels

/// One transformer block's weights. Matrices point into the mapped file; the small vectors
/// (norms, biases) are copied to f32 once at load.
struct LayerWeights: @unchecked Sendable {
    let attentionNorm: [Float]          // (dim)
    let query: WeightMatrix             // (n_head * head_dim) × dim
    let key: WeightMatrix               // (n_head_kv * head_dim) × dim
    let value: WeightMatrix             // (n_head_kv * head_dim) × dim
    let queryBias: [Float]?             // (n_head * head_dim)
    let keyBias: [Float]?               // (n_head_kv * head_dim)
    let valueBias: [Float]?             // (n_head_kv * head_dim)
    let attentionOutput: WeightMatrix   // dim × (n_head * head_dim)
    let feedForwardNorm: [Float]        // (dim)
    let gate: WeightMatrix              // ffn × dim
    let up: WeightMatrix                // ffn × dim
    let down: WeightMatrix              // dim × ffn
}

struct ModelWeights: @unchecked Sendable {
    let tokenEmbedding: WeightMatrix    // vocab × dim
    let layers: [LayerWeights]
    let outputNorm: [Float]             // (dim)
    let output: WeightMatrix            // vocab × dim (the token embedding when tied)
    let outputIsTied: Bool
    /// Llama 3 RoPE frequency factors, one per rotated pair.
    let ropeFrequencyFactors: [Float]?

    /// Finds every tensor the architecture needs and checks its shape against the configuration
    /// before anything is computed.
    init(gguf: GGUFFile, configuration c: ModelConfiguration, architecture: Architecture) throws {
        let loader = TensorLoader(gguf: gguf)
        let dim = c.embeddingLength
        tokenEmbedding = try loader.matrix("token_embd.weight", rows: c.vocabularySize, columns: dim)
        outputNorm = try loader.vector("output_norm.weight", count: dim)
        if gguf.tensor(named: "output.weight") != nil {
            output = try loader.matrix("output.weight", rows: c.vocabularySize, columns: dim)
            outputIsTied = false
        } else {
            output = tokenEmbedding
            outputIsTied = true
        }
        if gguf.tensor(named: "rope_freqs.weight") != nil {
            ropeFrequencyFactors = try loader.vector("rope_freqs.weight", count: c.ropeDimensionCount / 2)
        } else {
            ropeFrequencyFactors = nil
        }
        let qWidth = c.queryWidth, kvWidth = c.kvWidth
        layers = try (0..<c.layerCount).map { i in
            let p = "blk.\(i)."
            let query, key, value: WeightMatrix
            if gguf.tensor(named: p + "attn_qkv.weight") != nil {
                let fused = try loader.matrix(p + "attn_qkv.weight", rows: qWidth + 2 * kvWidth, columns: dim)
                query = try fused.rows(0..<qWidth)
                key = try fused.rows(qWidth..<qWidth + kvWidth)
                value = try fused.rows(qWidth + kvWidth..<qWidth + 2 * kvWidth)
            } else {
                query = try loader.matrix(p + "attn_q.weight", rows: qWidth, columns: dim)
                key = try loader.matrix(p + "attn_k.weight", rows: kvWidth, columns: dim)
                value = try loader.matrix(p + "attn_v.weight", rows: kvWidth, columns: dim)
            }
            let biasRequired = architecture.requiresQKVBias
            return LayerWeights(
                attentionNorm: try loader.vector(p + "attn_norm.weight", count: dim),
                query: query, key: key, value: value,
                queryBias: try loader.optionalVector(p + "attn_q.bias", count: qWidth, required: biasRequired),
                keyBias: try loader.optionalVector(p + "attn_k.bias", count: kvWidth, required: biasRequired),
                valueBias: try loader.optionalVector(p + "attn_v.bias", count: kvWidth, required: biasRequired),
                attentionOutput: try loader.matrix(p + "attn_output.weight", rows: dim, columns: qWidth),
                feedForwardNorm: try loader.vector(p + "ffn_norm.weight", count: dim),
                gate: try loader.matrix(p + "ffn_gate.weight", rows: c.feedForwardLength, columns: dim),
                up: try loader.matrix(p + "ffn_up.weight", rows: c.feedForwardLength, columns: dim),
                down: try loader.matrix(p + "ffn_down.weight", rows: dim, columns: c.feedForwardLength)
            )
        }
    }
}

/// Looks tensors up by name and checks their shapes, with errors that name the tensor.
private struct TensorLoader {
    let gguf: GGUFFile

    func tensor(_ name: String) throws -> GGUFTensor {
        guard let tensor = gguf.tensor(named: name) else {
            throw ModelError("missing tensor \(name)")
        }
        return tensor
    }

    func matrix(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        let t = try tensor(name)
        guard t.shape == [columns, rows] else {
            throw ModelError("tensor \(name) has shape \(t.shape), expected [\(columns), \(rows)]")
        }
        do {
            return try WeightMatrix(type: t.type, rows: rows, columns: columns, data: gguf.data(for: t).baseAddress!)
        } catch {
            throw ModelError("tensor \(name): \(error)")
        }
    }

    func vector(_ name: String, count: Int) throws -> [Float] {
        let t = try tensor(name)
        guard t.shape == [count] else {
            throw ModelError("tensor \(name) has shape \(t.shape), expected [\(count)]")
        }
        var values = [Float](repeating: 0, count: count)
        do {
            try values.withUnsafeMutableBufferPointer { out in
                try Quantization.dequantize(t.type, from: gguf.data(for: t).baseAddress!, to: out.baseAddress!, count: count)
            }
        } catch {
            throw ModelError("tensor \(name): \(error)")
        }
        return values
    }

    func optionalVector(_ name: String, count: Int, required: Bool) throws -> [Float]? {
        if gguf.tensor(named: name) == nil && !required { return nil }
        return try vector(name, count: count)
    }
}

extension WeightMatrix {
    /// A view of a contiguous range of rows (used to split a fused QKV matrix).
    func rows(_ range: Range<Int>) throws -> WeightMatrix {
        try WeightMatrix(type: type, rows: range.count, columns: columns, data: data + range.lowerBound * bytesPerRow)
    }
}
