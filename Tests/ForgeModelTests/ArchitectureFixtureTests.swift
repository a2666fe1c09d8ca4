import Foundation
import Testing
import ForgeGGUF
import ForgeKernels
import ForgeModel

/// Tiny random-weight Qwen3 and Gemma 3 models against llama.cpp's logits for them
/// (Fixtures/architectures: make-fixtures.py wrote the same files, drawing the same numbers, and
/// ran llama.cpp on them). Gemma's window of 4 positions is shorter than the prompt, and its cache
/// keeps a ring for the local layers that the 20 positions wrap.
@Suite struct ArchitectureFixtureTests {
    struct Model: Sendable, CustomStringConvertible {
        var name: String
        var architecture: String
        var layers: Int
        var dim: Int
        var ffn: Int
        var heads: Int
        var kvHeads: Int
        var headDim: Int
        var vocab: Int
        var ropeBase: Float
        var seed: UInt64
        var window: Int?
        var description: String { name }
    }

    // The table of make-fixtures.py.
    static let models = [
        Model(name: "tiny-qwen3", architecture: "qwen3", layers: 2, dim: 32, ffn: 48, heads: 4, kvHeads: 2, headDim: 16,
              vocab: 258, ropeBase: 1_000_000, seed: 3, window: nil),
        Model(name: "tiny-gemma3", architecture: "gemma3", layers: 6, dim: 32, ffn: 48, heads: 4, kvHeads: 1, headDim: 16,
              vocab: 258, ropeBase: 100_000, seed: 7, window: 4),
    ]

    @Test(arguments: models)
    func logitsMatchLlamaCpp(model: Model) throws {
        let index = try ReferenceData.json("architectures/fixtures.json")
        let tokens = try #require(index["tokens"] as? [Int])
        let batch = try #require(index["batch"] as? Int)
        let contextSize = try #require(index["n_ctx"] as? Int)
        let expected = try ReferenceData.floats("architectures/\(model.name).f32")
        try #require(expected.count == tokens.count * model.vocab)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(model.name)-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Self.write(model, to: path)
        let weights = try ModelWeights(gguf: GGUFFile(path: path))
        #expect(weights.architecture.name == model.architecture)
        #expect(weights.configuration.headDimension == model.headDim)
        let evaluator = Evaluator(weights: weights, maxBatchSize: batch, maxLogitRows: batch, threadCount: 2)
        let cache = try KVCache(configuration: weights.configuration, contextSize: contextSize, maxBatchSize: batch)
        var logits: [Float] = []
        try evaluator.evaluate(Batch(tokens: Array(tokens[..<batch]), startingAt: 0), cache: cache)
        logits += try evaluator.logits(rows: 0..<batch)
        for position in batch..<tokens.count {
            try evaluator.evaluate(Batch(tokens: [tokens[position]], startingAt: position), cache: cache)
            logits += try evaluator.logits(row: 0)
        }
        for row in 0..<tokens.count {
            let range = row * model.vocab..<(row + 1) * model.vocab
            let error = zip(logits[range], expected[range]).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let size = expected[range].reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect((error / size).squareRoot() < 1e-4, "\(model) row \(row): relative L2 \((error / size).squareRoot())")
        }
    }

    /// A Gemma 3 270M cache for 32k positions holds every position for its 3 global layers and a
    /// ring of window + batch − 1 positions, written twice, for its 15 local layers.
    @Test func slidingWindowLayersKeepOnlyTheirRing() throws {
        var configuration = try ModelConfiguration(
            architecture: "gemma3", layerCount: 18, embeddingLength: 640, feedForwardLength: 2048, headCount: 4,
            kvHeadCount: 1, headDimension: 256, valueLength: 256, rmsEpsilon: 1e-6, ropeFrequencyBase: 1e6,
            ropeDimensionCount: 256, contextLength: 32768, vocabularySize: 262_144)
        configuration.slidingWindow = 512
        configuration.slidingWindowLayers = (0..<18).map { $0 % 6 < 5 }
        let cache = try KVCache(configuration: configuration, contextSize: 32768, maxBatchSize: 512)
        let rowBytes = 256 * 2
        #expect(cache.byteCount == 2 * (3 * 32768 + 15 * 2 * (512 + 511)) * rowBytes)
        let full = try KVCache(configuration: configuration, contextSize: 1024, maxBatchSize: 512)
        #expect(full.byteCount == 2 * 18 * 1024 * rowBytes, "a context no longer than the ring needs no ring")
        // A new sequence keeps a shared prefix only while the ring still holds the window before it.
        #expect(cache.reusablePrefix(common: 600, written: 900) == 600)
        #expect(cache.reusablePrefix(common: 600, written: 1200) == 0)
        #expect(cache.reusablePrefix(common: 2000, written: 2500) == 2000)
        #expect(full.reusablePrefix(common: 600, written: 1024) == 600)
    }

    /// The file make-fixtures.py writes for `model`, tensor values drawn in its order.
    static func write(_ model: Model, to path: String) throws {
        var random = SplitMix64(seed: model.seed)
        func uniform() -> Double { Double(random.next() >> 41) / Double(1 << 23) - 0.5 }
        let dim = model.dim, hd = model.headDim, q = model.heads * hd, kv = model.kvHeads * hd
        var tensors: [(String, [Int], Bool)] = [("token_embd.weight", [dim, model.vocab], false)]
        for i in 0..<model.layers {
            let p = "blk.\(i)."
            tensors += [(p + "attn_norm.weight", [dim], true), (p + "attn_q.weight", [dim, q], false),
                        (p + "attn_k.weight", [dim, kv], false), (p + "attn_v.weight", [dim, kv], false),
                        (p + "attn_q_norm.weight", [hd], true), (p + "attn_k_norm.weight", [hd], true),
                        (p + "attn_output.weight", [q, dim], false)]
            if model.architecture == "gemma3" { tensors.append((p + "post_attention_norm.weight", [dim], true)) }
            tensors += [(p + "ffn_norm.weight", [dim], true), (p + "ffn_gate.weight", [dim, model.ffn], false),
                        (p + "ffn_up.weight", [dim, model.ffn], false), (p + "ffn_down.weight", [model.ffn, dim], false)]
            if model.architecture == "gemma3" { tensors.append((p + "post_ffw_norm.weight", [dim], true)) }
        }
        tensors.append(("output_norm.weight", [dim], true))

        var writer = GGUFWriter()
        let a = model.architecture
        writer.set("general.architecture", .string(a))
        writer.set("\(a).block_count", .uint32(UInt32(model.layers)))
        writer.set("\(a).context_length", .uint32(128))
        writer.set("\(a).embedding_length", .uint32(UInt32(dim)))
        writer.set("\(a).feed_forward_length", .uint32(UInt32(model.ffn)))
        writer.set("\(a).attention.head_count", .uint32(UInt32(model.heads)))
        writer.set("\(a).attention.head_count_kv", .uint32(UInt32(model.kvHeads)))
        writer.set("\(a).attention.key_length", .uint32(UInt32(hd)))
        writer.set("\(a).attention.value_length", .uint32(UInt32(hd)))
        writer.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
        writer.set("\(a).rope.freq_base", .float32(model.ropeBase))
        if let window = model.window { writer.set("\(a).attention.sliding_window", .uint32(UInt32(window))) }
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.tokens", .array(.string((0..<model.vocab).map { "t\($0)" })))
        for (name, shape, isNorm) in tensors {
            let count = shape.reduce(1, *)
            let values = (0..<count).map { _ in Float(isNorm ? 1 + 0.5 * uniform() : 0.5 * uniform()) }
            try writer.addTensor(name: name, shape: shape, floats: values)
        }
        try writer.write(to: path)
    }
}
