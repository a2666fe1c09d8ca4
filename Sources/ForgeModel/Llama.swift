import ForgeKernels

/// Llama 2, 3, 3.1, 3.2 and the models that share its GGUF layout (Mistral, SmolLM, TinyLlama).
///
/// Per layer: RMSNorm → Q, K, V projections (no biases as published, accepted when present) → RoPE on
/// adjacent pairs (2i, 2i+1), with Llama 3's per-frequency factors from `rope_freqs.weight` when the
/// file has them → grouped-query attention → output projection → residual → RMSNorm → SwiGLU → residual.
/// The output head is `output.weight`, or the token embedding when the model ties them (SmolLM2).
enum Llama {
    static let architecture = Architecture(name: "llama") { loader, index, c in
        try Layer(loader, index, c, ropeStyle: .normal, requiresBiases: false)
    }

    /// Also Qwen2's layer, which differs only in its RoPE pairs and its required biases.
    struct Layer: TransformerLayer, @unchecked Sendable {
        let ropeStyle: RoPEStyle
        let attentionNorm: [Float]                                  // (dim)
        let query, key, value: WeightMatrix                         // (n_head | n_head_kv) * head_dim × dim
        let queryBias, keyBias, valueBias: [Float]?
        let attentionOutput: WeightMatrix                           // dim × n_head * head_dim
        let feedForwardNorm: [Float]                                // (dim)
        let gate, up, down: WeightMatrix                            // ffn × dim, ffn × dim, dim × ffn

        init(_ t: TensorLoader, _ i: Int, _ c: ModelConfiguration, ropeStyle: RoPEStyle, requiresBiases: Bool) throws {
            let p = "blk.\(i).", dim = c.embeddingLength
            self.ropeStyle = ropeStyle
            attentionNorm = try t.vector(p + "attn_norm.weight", count: dim)
            (query, key, value) = try t.attentionProjections(layer: i, c)
            queryBias = try t.optionalVector(p + "attn_q.bias", count: c.queryWidth, required: requiresBiases)
            keyBias = try t.optionalVector(p + "attn_k.bias", count: c.kvWidth, required: requiresBiases)
            valueBias = try t.optionalVector(p + "attn_v.bias", count: c.kvWidth, required: requiresBiases)
            attentionOutput = try t.matrix(p + "attn_output.weight", rows: dim, columns: c.queryWidth)
            feedForwardNorm = try t.vector(p + "ffn_norm.weight", count: dim)
            (gate, up, down) = try t.feedForward(layer: i, c)
        }

        func forward(_ f: ForwardPass) {
            let c = f.evaluator.weights.configuration
            f.norm(f.x, attentionNorm, into: f.normed)
            f.observe("attn_norm", f.normed, width: c.embeddingLength)
            f.linear(query, bias: queryBias, f.normed, into: f.q)
            f.linear(key, bias: keyBias, f.normed, into: f.k)
            f.linear(value, bias: valueBias, f.normed, into: f.v)
            f.ropeQueriesAndKeys(style: ropeStyle)
            f.storeKeysAndValues()
            f.attend(scale: 1 / Float(c.headDimension).squareRoot())
            f.addAttentionOutput(attentionOutput)
            f.addFeedForward(norm: feedForwardNorm, gate: gate, up: up, down: down, activation: .silu)
        }
    }
}
