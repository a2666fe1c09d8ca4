import Foundation
import Testing
import ForgeGGUF
import ForgeModel

/// Tiny random-weight models written with the GGUF writer, run by Forge and by a plain f64
/// reference written here from the definition: MHA, GQA with non-power-of-two ratios, MQA,
/// both RoPE styles, with and without biases, tied and untied output heads.
@Suite struct TinyModelTests {
    struct Shape: Sendable, CustomStringConvertible {
        var architecture: String
        var heads: Int
        var kvHeads: Int
        var headDim = 8
        var biases = false
        var tied = false
        var description: String { "\(architecture) \(heads):\(kvHeads) biases=\(biases) tied=\(tied)" }
    }

    static let shapes: [Shape] = [
        Shape(architecture: "llama", heads: 4, kvHeads: 4),
        Shape(architecture: "llama", heads: 9, kvHeads: 3, tied: true),
        Shape(architecture: "llama", heads: 4, kvHeads: 1, biases: true),
        Shape(architecture: "qwen2", heads: 14, kvHeads: 2, biases: true),
        Shape(architecture: "qwen2", heads: 9, kvHeads: 3, biases: true, tied: true),
        Shape(architecture: "qwen2", heads: 6, kvHeads: 1, biases: true),
    ]

    @Test(arguments: shapes)
    func matchesFloat64Reference(shape: Shape) throws {
        let model = TinyModel(shape: shape, seed: UInt64(shape.heads * 31 + shape.kvHeads))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        let weights = try ModelWeights(gguf: GGUFFile(path: path))
        #expect(weights.configuration.groupSize == shape.heads / shape.kvHeads)
        #expect(weights.outputIsTied == shape.tied)

        let tokens = [3, 17, 5, 29, 11, 2, 23]
        let expected = model.referenceLogits(tokens: tokens)
        for cacheType in KVCacheType.allCases {
            let evaluator = Evaluator(weights: weights, threadCount: 2)
            let cache = try KVCache(configuration: weights.configuration, contextSize: 16, type: cacheType)
            // The prompt in one batch, then one token at a time through the cache.
            try evaluator.evaluate(Batch(tokens: Array(tokens[..<4]), startingAt: 0), cache: cache)
            var logits = [[Float]]()
            for row in 0..<4 { logits.append(Array(try evaluator.logits(row: row))) }
            for position in 4..<tokens.count {
                try evaluator.evaluate(Batch(tokens: [tokens[position]], startingAt: position), cache: cache)
                logits.append(Array(try evaluator.logits(row: 0)))
            }
            // An f16 cache rounds K, V, Q and the attention accumulator to 11 bits.
            let tolerance = cacheType == .f32 ? 1e-5 : 3e-3
            for (position, row) in logits.enumerated() {
                let scale = expected[position].map(abs).max() ?? 1
                let error = zip(row, expected[position]).map { abs(Double($0) - $1) }.max() ?? .infinity
                #expect(error / scale < tolerance, "\(shape) \(cacheType) position \(position): max error \(error) of \(scale)")
            }
        }
    }

    /// A batch longer than the evaluator's feed-forward chunk C runs that block in chunks: C, C
    /// and 69 tokens for a batch of 2C + 69, and C − 64 then 98 for a batch of C + 34 (a full
    /// chunk would leave fewer than a grain). Every logit must keep the bits of the same tokens
    /// run as batches small enough for one chunk each.
    @Test func feedForwardChunksKeepEveryBit() throws {
        let model = TinyModel(shape: Shape(architecture: "qwen2", heads: 9, kvHeads: 3, biases: true), seed: 5)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiny-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        let weights = try ModelWeights(gguf: GGUFFile(path: path))
        let chunked = Evaluator(weights: weights, maxBatchSize: 2 * Evaluator.maxFeedForwardChunk + 69, maxLogitRows: 1, threadCount: 2)
        let chunk = chunked.feedForwardChunk
        #expect(chunk >= 2 * Evaluator.feedForwardGrain && chunk % Evaluator.feedForwardGrain == 0)
        let count = 2 * chunk + 69
        let tokens = (0..<count).map { ($0 * 7 + 3) % model.vocab }
        func logits(batches: [Range<Int>], evaluator: Evaluator) throws -> [[Float]] {
            let cache = try KVCache(configuration: weights.configuration, contextSize: count)
            var rows: [[Float]] = []
            for batch in batches {
                try evaluator.evaluate(Batch(tokens: Array(tokens[batch]), startingAt: batch.lowerBound), cache: cache)
                for row in 0..<batch.count { rows.append(Array(try evaluator.logits(row: row))) }
            }
            return rows
        }
        let small = Evaluator(weights: weights, maxBatchSize: 100, maxLogitRows: 1, threadCount: 2)
        #expect(small.feedForwardChunk == 100)
        let oneChunkEach = try logits(batches: stride(from: 0, to: count, by: 100).map { $0..<min($0 + 100, count) }, evaluator: small)
        let whole = try logits(batches: [0..<count], evaluator: chunked)
        let uneven = try logits(batches: [0..<chunk + 34, chunk + 34..<count], evaluator: chunked)
        for position in 0..<count {
            #expect(whole[position].map(\.bitPattern) == oneChunkEach[position].map(\.bitPattern), "position \(position)")
            #expect(uneven[position].map(\.bitPattern) == oneChunkEach[position].map(\.bitPattern), "position \(position)")
        }
    }

    @Test func gqaCacheHoldsOnlyKVHeads() throws {
        let configuration = try ModelConfiguration(
            architecture: "qwen2", layerCount: 24, embeddingLength: 896, feedForwardLength: 4864, headCount: 14,
            kvHeadCount: 2, headDimension: 64, valueLength: 64, rmsEpsilon: 1e-6, ropeFrequencyBase: 1e6,
            ropeDimensionCount: 64, contextLength: 32768, vocabularySize: 151_936)
        let cache = try KVCache(configuration: configuration, contextSize: 4096)
        #expect(cache.byteCount == 2 * 24 * 4096 * 2 * 64 * 2)
        #expect(cache.byteCount == 48 << 20)
        #expect(cache.rowWidth == 2 * 64)
    }

    @Test func badFilesAreRejectedBeforeComputing() throws {
        let shape = Shape(architecture: "llama", heads: 4, kvHeads: 2)
        func rejects(_ expectation: String, _ edit: (inout TinyModel) -> Void) throws {
            var model = TinyModel(shape: shape, seed: 1)
            edit(&model)
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            try model.write(to: path)
            do {
                _ = try ModelWeights(gguf: GGUFFile(path: path))
                Issue.record("expected an error mentioning \(expectation)")
            } catch {
                #expect("\(error)".contains(expectation), "\(error)")
            }
        }
        try rejects("missing tensor blk.1.ffn_up.weight") { $0.tensors.removeValue(forKey: "blk.1.ffn_up.weight") }
        try rejects("blk.0.attn_k.weight has shape") {
            $0.tensors["blk.0.attn_k.weight"] = TinyModel.Tensor(shape: [32, 8], values: Array(repeating: 0.1, count: 256))
        }
        try rejects("unsupported architecture 'mamba'") { $0.architectureOverride = "mamba" }
        try rejects("not a multiple of head_count_kv") { $0.kvHeadOverride = 3 }
    }
}

/// A small random model and its f64 reference forward pass.
struct TinyModel {
    struct Tensor {
        var shape: [Int]
        var values: [Float]
    }

    let shape: TinyModelTests.Shape
    let dim: Int
    let ffn = 32
    let vocab = 32
    let layers = 2
    let ropeBase: Float = 10_000
    var tensors: [String: Tensor] = [:]
    var architectureOverride: String?
    var kvHeadOverride: Int?

    init(shape: TinyModelTests.Shape, seed: UInt64) {
        self.shape = shape
        dim = shape.heads * shape.headDim
        var state = seed
        func random(_ count: Int, scale: Float = 0.3) -> [Float] {
            (0..<count).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
            }
        }
        let q = shape.heads * shape.headDim, kv = shape.kvHeads * shape.headDim
        tensors["token_embd.weight"] = Tensor(shape: [dim, vocab], values: random(dim * vocab, scale: 1))
        tensors["output_norm.weight"] = Tensor(shape: [dim], values: random(dim).map { 1 + $0 })
        if !shape.tied { tensors["output.weight"] = Tensor(shape: [dim, vocab], values: random(dim * vocab)) }
        for l in 0..<layers {
            let p = "blk.\(l)."
            tensors[p + "attn_norm.weight"] = Tensor(shape: [dim], values: random(dim).map { 1 + $0 })
            tensors[p + "attn_q.weight"] = Tensor(shape: [dim, q], values: random(dim * q))
            tensors[p + "attn_k.weight"] = Tensor(shape: [dim, kv], values: random(dim * kv))
            tensors[p + "attn_v.weight"] = Tensor(shape: [dim, kv], values: random(dim * kv))
            if shape.biases {
                tensors[p + "attn_q.bias"] = Tensor(shape: [q], values: random(q))
                tensors[p + "attn_k.bias"] = Tensor(shape: [kv], values: random(kv))
                tensors[p + "attn_v.bias"] = Tensor(shape: [kv], values: random(kv))
            }
            tensors[p + "attn_output.weight"] = Tensor(shape: [q, dim], values: random(q * dim))
            tensors[p + "ffn_norm.weight"] = Tensor(shape: [dim], values: random(dim).map { 1 + $0 })
            tensors[p + "ffn_gate.weight"] = Tensor(shape: [dim, ffn], values: random(dim * ffn))
            tensors[p + "ffn_up.weight"] = Tensor(shape: [dim, ffn], values: random(dim * ffn))
            tensors[p + "ffn_down.weight"] = Tensor(shape: [ffn, dim], values: random(ffn * dim))
        }
    }

    func write(to path: String) throws {
        var writer = GGUFWriter()
        let arch = architectureOverride ?? shape.architecture
        writer.set("general.architecture", .string(arch))
        writer.set("\(arch).block_count", .uint32(UInt32(layers)))
        writer.set("\(arch).context_length", .uint32(64))
        writer.set("\(arch).embedding_length", .uint32(UInt32(dim)))
        writer.set("\(arch).feed_forward_length", .uint32(UInt32(ffn)))
        writer.set("\(arch).attention.head_count", .uint32(UInt32(shape.heads)))
        writer.set("\(arch).attention.head_count_kv", .uint32(UInt32(kvHeadOverride ?? shape.kvHeads)))
        writer.set("\(arch).attention.layer_norm_rms_epsilon", .float32(1e-5))
        writer.set("\(arch).rope.freq_base", .float32(ropeBase))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.tokens", .array(.string((0..<vocab).map { "t\($0)" })))
        for name in tensors.keys.sorted() {
            let tensor = tensors[name]!
            try writer.addTensor(name: name, shape: tensor.shape, floats: tensor.values)
        }
        try writer.write(to: path)
    }

    /// Logits at every position, computed in f64 straight from the definition.
    func referenceLogits(tokens: [Int]) -> [[Double]] {
        let hd = shape.headDim, group = shape.heads / shape.kvHeads
        func t(_ name: String) -> [Double] { tensors[name]!.values.map(Double.init) }
        func matvec(_ w: [Double], _ x: [Double], rows: Int) -> [Double] {
            (0..<rows).map { r in (0..<x.count).reduce(0) { $0 + w[r * x.count + $1] * x[$1] } }
        }
        func norm(_ x: [Double], _ w: [Double]) -> [Double] {
            let scale = 1 / ((x.reduce(0) { $0 + $1 * $1 } / Double(x.count)) + 1e-5).squareRoot()
            return zip(x, w).map { $0 * scale * $1 }
        }
        func rope(_ v: inout [Double], heads: Int, position: Int) {
            for h in 0..<heads {
                for i in 0..<hd / 2 {
                    let theta = Double(position) * pow(Double(ropeBase), -2 * Double(i) / Double(hd))
                    let (a, b) = shape.architecture == "llama" ? (h * hd + 2 * i, h * hd + 2 * i + 1) : (h * hd + i, h * hd + i + hd / 2)
                    let x0 = v[a], x1 = v[b]
                    v[a] = x0 * cos(theta) - x1 * sin(theta)
                    v[b] = x0 * sin(theta) + x1 * cos(theta)
                }
            }
        }
        var keys = [[[Double]]](repeating: [], count: layers), values = keys
        var out: [[Double]] = []
        for (position, token) in tokens.enumerated() {
            let embedding = t("token_embd.weight")
            var x = Array(embedding[token * dim..<(token + 1) * dim])
            for l in 0..<layers {
                let p = "blk.\(l)."
                let h = norm(x, t(p + "attn_norm.weight"))
                var q = matvec(t(p + "attn_q.weight"), h, rows: shape.heads * hd)
                var k = matvec(t(p + "attn_k.weight"), h, rows: shape.kvHeads * hd)
                var v = matvec(t(p + "attn_v.weight"), h, rows: shape.kvHeads * hd)
                if shape.biases {
                    q = zip(q, t(p + "attn_q.bias")).map(+)
                    k = zip(k, t(p + "attn_k.bias")).map(+)
                    v = zip(v, t(p + "attn_v.bias")).map(+)
                }
                rope(&q, heads: shape.heads, position: position)
                rope(&k, heads: shape.kvHeads, position: position)
                keys[l].append(k)
                values[l].append(v)
                var attention = [Double](repeating: 0, count: shape.heads * hd)
                for head in 0..<shape.heads {
                    let kvHead = head / group
                    let scores = keys[l].map { key in
                        (0..<hd).reduce(0) { $0 + q[head * hd + $1] * key[kvHead * hd + $1] } / Double(hd).squareRoot()
                    }
                    let maximum = scores.max()!
                    let weights = scores.map { exp($0 - maximum) }
                    let total = weights.reduce(0, +)
                    for (j, weight) in weights.enumerated() {
                        for d in 0..<hd { attention[head * hd + d] += weight / total * values[l][j][kvHead * hd + d] }
                    }
                }
                x = zip(x, matvec(t(p + "attn_output.weight"), attention, rows: dim)).map(+)
                let f = norm(x, t(p + "ffn_norm.weight"))
                let gate = matvec(t(p + "ffn_gate.weight"), f, rows: ffn)
                let up = matvec(t(p + "ffn_up.weight"), f, rows: ffn)
                let hidden = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                x = zip(x, matvec(t(p + "ffn_down.weight"), hidden, rows: dim)).map(+)
            }
            let final = norm(x, t("output_norm.weight"))
            out.append(matvec(shape.tied ? t("token_embd.weight") : t("output.weight"), final, rows: vocab))
        }
        return out
    }
}
