import ForgeGGUF
import ForgeKernels

/// The weights every architecture has; each layer's own are its architecture's layer type.
/// Matrices point into the mapped file; the small vectors (norms, biases) are copied to f32 once
/// at load.
struct WeightTensors: @unchecked Sendable {
    let tokenEmbedding: WeightMatrix    // vocab × dim
    let layers: [any TransformerLayer]
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
        layers = try (0..<c.layerCount).map { try architecture.loadLayer(loader, $0, c) }
    }
}

/// Looks tensors up by name and checks their shapes, with errors that name the tensor.
struct TensorLoader {
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

extension TensorLoader {
    /// Layer `index`'s query, key and value projections: separate, or one fused matrix split into
    /// views of its rows.
    func attentionProjections(layer index: Int, _ c: ModelConfiguration) throws -> (WeightMatrix, WeightMatrix, WeightMatrix) {
        let p = "blk.\(index).", dim = c.embeddingLength, qWidth = c.queryWidth, kvWidth = c.kvWidth
        guard gguf.tensor(named: p + "attn_qkv.weight") != nil else {
            return (try matrix(p + "attn_q.weight", rows: qWidth, columns: dim),
                    try matrix(p + "attn_k.weight", rows: kvWidth, columns: dim),
                    try matrix(p + "attn_v.weight", rows: kvWidth, columns: dim))
        }
        let fused = try matrix(p + "attn_qkv.weight", rows: qWidth + 2 * kvWidth, columns: dim)
        func rows(_ range: Range<Int>) throws -> WeightMatrix {
            try WeightMatrix(type: fused.type, rows: range.count, columns: dim, data: fused.data + range.lowerBound * fused.bytesPerRow)
        }
        return (try rows(0..<qWidth), try rows(qWidth..<qWidth + kvWidth), try rows(qWidth + kvWidth..<qWidth + 2 * kvWidth))
    }

    /// Layer `index`'s gated feed-forward matrices: gate and up (ffn × dim), down (dim × ffn).
    func feedForward(layer index: Int, _ c: ModelConfiguration) throws -> (WeightMatrix, WeightMatrix, WeightMatrix) {
        let p = "blk.\(index).", dim = c.embeddingLength, ffn = c.feedForwardLength
        return (try matrix(p + "ffn_gate.weight", rows: ffn, columns: dim),
                try matrix(p + "ffn_up.weight", rows: ffn, columns: dim),
                try matrix(p + "ffn_down.weight", rows: dim, columns: ffn))
    }
}
