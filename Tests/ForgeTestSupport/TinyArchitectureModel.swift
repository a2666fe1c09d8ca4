import ForgeGGUF
import ForgeKernels

/// A tiny random-weight Qwen3 or Gemma 3 model as Tests/ForgeModelTests/Fixtures/architectures/
/// make-fixtures.py writes it (the same numbers drawn in the same order), for which that
/// directory holds llama.cpp's logits.
public struct TinyArchitectureModel: Sendable, CustomStringConvertible {
    public var name: String
    public var architecture: String
    public var layers: Int
    public var dim: Int
    public var ffn: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var vocab: Int
    public var ropeBase: Float
    public var seed: UInt64
    public var window: Int?
    public var description: String { name }

    // The table of make-fixtures.py.
    public static let fixtures = [
        TinyArchitectureModel(name: "tiny-qwen3", architecture: "qwen3", layers: 2, dim: 32, ffn: 48, heads: 4, kvHeads: 2, headDim: 16,
                              vocab: 258, ropeBase: 1_000_000, seed: 3, window: nil),
        TinyArchitectureModel(name: "tiny-gemma3", architecture: "gemma3", layers: 6, dim: 32, ffn: 48, heads: 4, kvHeads: 1, headDim: 16,
                              vocab: 258, ropeBase: 100_000, seed: 7, window: 4),
    ]

    /// The file make-fixtures.py writes for this model, tensor values drawn in its order.
    public func write(to path: String) throws {
        var random = SplitMix64(seed: seed)
        func uniform() -> Double { Double(random.next() >> 41) / Double(1 << 23) - 0.5 }
        let hd = headDim, q = heads * hd, kv = kvHeads * hd
        var tensors: [(String, [Int], Bool)] = [("token_embd.weight", [dim, vocab], false)]
        for i in 0..<layers {
            let p = "blk.\(i)."
            tensors += [(p + "attn_norm.weight", [dim], true), (p + "attn_q.weight", [dim, q], false),
                        (p + "attn_k.weight", [dim, kv], false), (p + "attn_v.weight", [dim, kv], false),
                        (p + "attn_q_norm.weight", [hd], true), (p + "attn_k_norm.weight", [hd], true),
                        (p + "attn_output.weight", [q, dim], false)]
            if architecture == "gemma3" { tensors.append((p + "post_attention_norm.weight", [dim], true)) }
            tensors += [(p + "ffn_norm.weight", [dim], true), (p + "ffn_gate.weight", [dim, ffn], false),
                        (p + "ffn_up.weight", [dim, ffn], false), (p + "ffn_down.weight", [ffn, dim], false)]
            if architecture == "gemma3" { tensors.append((p + "post_ffw_norm.weight", [dim], true)) }
        }
        tensors.append(("output_norm.weight", [dim], true))

        var writer = GGUFWriter()
        let a = architecture
        writer.set("general.architecture", .string(a))
        writer.set("\(a).block_count", .uint32(UInt32(layers)))
        writer.set("\(a).context_length", .uint32(128))
        writer.set("\(a).embedding_length", .uint32(UInt32(dim)))
        writer.set("\(a).feed_forward_length", .uint32(UInt32(ffn)))
        writer.set("\(a).attention.head_count", .uint32(UInt32(heads)))
        writer.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
        writer.set("\(a).attention.key_length", .uint32(UInt32(hd)))
        writer.set("\(a).attention.value_length", .uint32(UInt32(hd)))
        writer.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        writer.set("\(a).rope.freq_base", .float32(ropeBase))
        if let window = window { writer.set("\(a).attention.sliding_window", .uint32(UInt32(window))) }
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.tokens", .array(.string((0..<vocab).map { "t\($0)" })))
        for (name, shape, isNorm) in tensors {
            let count = shape.reduce(1, *)
            let values = (0..<count).map { _ in Float(isNorm ? 1 + 0.5 * uniform() : 0.5 * uniform()) }
            try writer.addTensor(name: name, shape: shape, floats: values)
        }
        try writer.write(to: path)
    }
}
