import ForgeKernels

/// Qwen3 (dense).
///
/// Per layer: RMSNorm → Q, K, V projections (no biases) → each query and key head RMS-normalized
/// on its own (QK-norm, one weight of head_dim for all heads) → RoPE on pairs (i, i + d/2) →
/// grouped-query attention → output projection → residual → RMSNorm → SwiGLU → residual. The head
/// dimension comes from `attention.key_length`, not embedding / heads.
enum Qwen3 {
    static let architecture = Architecture(name: "qwen3") { loader, index, c in try Layer(loader, index, c) }

    struct Layer: TransformerLayer, @unchecked Sendable {
        let attentionNorm: [Float]                      // (dim)
        let query, key, value: WeightMatrix             // (n_head | n_head_kv) * head_dim × dim
        let queryNorm, keyNorm: [Float]                 // (head_dim)
        let attentionOutput: WeightMatrix               // dim × n_head * head_dim
        let feedForwardNorm: [Float]                    // (dim)
        let gate, up, down: WeightMatrix                // ffn × dim, ffn × dim, dim × ffn

        init(_ t: TensorLoader, _ i: Int, _ c: ModelConfiguration) throws {
            let p = "blk.\(i).", dim = c.embeddingLength
            attentionNorm = try t.vector(p + "attn_norm.weight", count: dim)
            (query, key, value) = try t.attentionProjections(layer: i, c)
            queryNorm = try t.vector(p + "attn_q_norm.weight", count: c.headDimension)
            keyNorm = try t.vector(p + "attn_k_norm.weight", count: c.headDimension)
            attentionOutput = try t.matrix(p + "attn_output.weight", rows: dim, columns: c.queryWidth)
            feedForwardNorm = try t.vector(p + "ffn_norm.weight", count: dim)
            (gate, up, down) = try t.feedForward(layer: i, c)
        }

        func forward(_ f: ForwardPass) {
            let c = f.evaluator.weights.configuration
            f.norm(f.x, attentionNorm, into: f.normed)
            f.observe("attn_norm", f.normed, width: c.embeddingLength)
            f.linear(query, f.normed, into: f.q)
            f.linear(key, f.normed, into: f.k)
            f.linear(value, f.normed, into: f.v)
            f.queryKeyNorm(queryNorm, keyNorm)
            f.ropeQueriesAndKeys(style: .neox)
            f.storeKeysAndValues()
            f.attend(scale: 1 / Float(c.headDimension).squareRoot())
            f.addAttentionOutput(attentionOutput)
            f.addFeedForward(norm: feedForwardNorm, gate: gate, up: up, down: down, activation: .silu)
        }
    }
}
