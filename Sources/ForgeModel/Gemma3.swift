import ForgeGGUF
import ForgeKernels

/// Gemma 3 (text).
///
/// Embeddings scaled by √dim. Per layer: RMSNorm → Q, K, V projections → QK-norm → RoPE on pairs
/// (i, i + d/2) → queries scaled by 1/√head_dim → attention (multi-query in the small models) →
/// output projection → RMSNorm (post-attention) → residual → RMSNorm → GeGLU (GELU, tanh form)
/// → RMSNorm (post-feed-forward) → residual. Five local layers, which attend within a sliding
/// window and rotate with their own RoPE base, then one global layer, as llama.cpp's default
/// pattern has it. The output head is tied to the token embedding. Norm weights are stored with
/// Gemma's +1 already added by the converter, so they are plain RMSNorm weights here.
enum Gemma3 {
    static let architecture = Architecture(
        name: "gemma3",
        configure: { c, gguf in
            if let softcap = try gguf.optionalFloat("gemma3.final_logit_softcapping"), softcap != 0 {
                throw ModelError("gemma3.final_logit_softcapping \(softcap) is not supported")
            }
            c.slidingWindowRopeBase = Float(try gguf.optionalFloat("gemma3.rope.freq_base_swa") ?? 10_000)
            guard let window = try gguf.optionalInteger("gemma3.attention.sliding_window"), window > 0 else { return }
            c.slidingWindow = window
            if case .array(.bool(let flags))? = gguf.metadata["gemma3.attention.sliding_window_pattern"] {
                c.slidingWindowLayers = flags
            } else {
                let period = try gguf.optionalInteger("gemma3.attention.sliding_window_pattern") ?? 6
                c.slidingWindowLayers = (0..<c.layerCount).map { period == 0 || $0 % period < period - 1 }
            }
        },
        loadLayer: { loader, index, c in try Layer(loader, index, c) },
        embeddingScale: { c in Float(c.embeddingLength).squareRoot() })

    /// The queries are multiplied by 1/√ of this: the head size, except that Gemma 3 27B scales by
    /// its embedding per head (gemma_pytorch's config).
    static func queryScale(_ c: ModelConfiguration) -> Float {
        c.layerCount == 62 ? Float(c.embeddingLength / c.headCount) : Float(c.headDimension)
    }

    struct Layer: TransformerLayer, @unchecked Sendable {
        let attentionNorm: [Float]                      // (dim)
        let query, key, value: WeightMatrix             // (n_head | n_head_kv) * head_dim × dim
        let queryNorm, keyNorm: [Float]                 // (head_dim)
        let attentionOutput: WeightMatrix               // dim × n_head * head_dim
        let postAttentionNorm: [Float]                  // (dim)
        let feedForwardNorm: [Float]                    // (dim)
        let gate, up, down: WeightMatrix                // ffn × dim, ffn × dim, dim × ffn
        let postFeedForwardNorm: [Float]                // (dim)

        init(_ t: TensorLoader, _ i: Int, _ c: ModelConfiguration) throws {
            let p = "blk.\(i).", dim = c.embeddingLength
            attentionNorm = try t.vector(p + "attn_norm.weight", count: dim)
            (query, key, value) = try t.attentionProjections(layer: i, c)
            queryNorm = try t.vector(p + "attn_q_norm.weight", count: c.headDimension)
            keyNorm = try t.vector(p + "attn_k_norm.weight", count: c.headDimension)
            attentionOutput = try t.matrix(p + "attn_output.weight", rows: dim, columns: c.queryWidth)
            postAttentionNorm = try t.vector(p + "post_attention_norm.weight", count: dim)
            feedForwardNorm = try t.vector(p + "ffn_norm.weight", count: dim)
            (gate, up, down) = try t.feedForward(layer: i, c)
            postFeedForwardNorm = try t.vector(p + "post_ffw_norm.weight", count: dim)
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
            f.scale(f.q, by: 1 / Gemma3.queryScale(c).squareRoot(), width: c.queryWidth)
            f.storeKeysAndValues()
            f.attend(scale: 1)
            f.observe("kqv_out", f.attention, width: c.queryWidth)
            f.linear(attentionOutput, f.attention, into: f.normed)
            f.norm(f.normed, postAttentionNorm, into: f.normed)
            f.observe("attn_post_norm", f.normed, width: c.embeddingLength)
            f.add(f.normed, to: f.x)
            f.observe("sa_out", f.x, width: c.embeddingLength)

            f.addFeedForward(norm: feedForwardNorm, gate: gate, up: up, down: down, activation: .geluTanh,
                             postNorm: postFeedForwardNorm)
        }
    }
}
