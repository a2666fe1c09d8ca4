/// The shape of a `llama`-architecture transformer: RMSNorm, SwiGLU, RoPE in NORM style
/// (adjacent pairs), no biases, grouped-query attention, tied or separate output matrix.
public struct TransformerConfiguration: Equatable, Sendable {
    public var vocabularySize: Int
    public var layerCount: Int
    public var embeddingLength: Int
    public var headCount: Int
    /// Equal to `headCount` for MHA, 1 for MQA, a divisor in between for GQA.
    public var keyValueHeadCount: Int
    public var feedForwardLength: Int
    public var contextLength: Int
    public var ropeFrequencyBase: Double
    public var rmsNormEpsilon: Double
    /// When true the output projection reuses the token embedding matrix.
    public var tiedOutput: Bool

    public init(
        vocabularySize: Int, layerCount: Int = 4, embeddingLength: Int = 256, headCount: Int = 8,
        keyValueHeadCount: Int = 2, feedForwardLength: Int = 768, contextLength: Int = 256,
        ropeFrequencyBase: Double = 10_000, rmsNormEpsilon: Double = 1e-5, tiedOutput: Bool = false
    ) {
        self.vocabularySize = vocabularySize
        self.layerCount = layerCount
        self.embeddingLength = embeddingLength
        self.headCount = headCount
        self.keyValueHeadCount = keyValueHeadCount
        self.feedForwardLength = feedForwardLength
        self.contextLength = contextLength
        self.ropeFrequencyBase = ropeFrequencyBase
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedOutput = tiedOutput
    }

    public var headDimension: Int { embeddingLength / headCount }
    public var keyValueDimension: Int { keyValueHeadCount * headDimension }
    /// Bytes of K and V cached per token at inference, all layers, in F16 (llama.cpp's default cache type).
    public var keyValueCacheBytesPerToken: Int { 2 * layerCount * keyValueDimension * 2 }

    /// Throws a clear error for every shape the model cannot have.
    public func validate() throws {
        let positive: [(String, Int)] = [
            ("vocabulary size", vocabularySize), ("layers", layerCount), ("dim", embeddingLength),
            ("heads", headCount), ("kv-heads", keyValueHeadCount), ("ffn", feedForwardLength),
            ("context", contextLength),
        ]
        for (name, value) in positive where value < 1 {
            throw TrainingError("\(name) must be at least 1, got \(value)")
        }
        // Bounds far above any CPU-trainable model, low enough that no size computed from them overflows.
        let limits: [(String, Int, Int)] = [
            ("vocabulary size", vocabularySize, 1 << 20), ("layers", layerCount, 1 << 10), ("dim", embeddingLength, 1 << 16),
            ("ffn", feedForwardLength, 1 << 18), ("context", contextLength, 1 << 16),
        ]
        for (name, value, limit) in limits where value > limit {
            throw TrainingError("\(name) \(value) is larger than the supported \(limit)")
        }
        guard embeddingLength % headCount == 0 else {
            throw TrainingError("dim \(embeddingLength) is not divisible by heads \(headCount)")
        }
        guard headDimension % 2 == 0 else {
            throw TrainingError("head dimension dim/heads = \(headDimension) must be even for RoPE")
        }
        guard headCount % keyValueHeadCount == 0 else {
            throw TrainingError("heads \(headCount) is not divisible by kv-heads \(keyValueHeadCount)")
        }
        guard ropeFrequencyBase > 0, rmsNormEpsilon > 0 else {
            throw TrainingError("RoPE base and RMSNorm epsilon must be positive")
        }
    }
}

/// Where each named tensor lives in the flat parameter vector. Matrices are stored as ggml
/// stores them: `shape[0]` is the input dimension and the contiguous row length.
public struct ParameterLayout: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        /// GGUF order: `shape[0]` is the row length.
        public let shape: [Int]
        public let offset: Int
        public var count: Int { shape.reduce(1, *) }
        /// Norm gains are vectors and take no weight decay; matrices do.
        public var isMatrix: Bool { shape.count == 2 }
    }

    struct LayerOffsets: Sendable {
        let attentionNorm, query, key, value, attentionOutput, feedForwardNorm, gate, up, down: Int
    }

    public let entries: [Entry]
    public let count: Int
    let tokenEmbedding: Int
    let layers: [LayerOffsets]
    let outputNorm: Int
    let output: Int

    public init(_ configuration: TransformerConfiguration) {
        var entries: [Entry] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int]) -> Int {
            let start = offset
            entries.append(Entry(name: name, shape: shape, offset: start))
            offset += shape.reduce(1, *)
            return start
        }
        let dim = configuration.embeddingLength
        let kvDim = configuration.keyValueDimension
        let ffn = configuration.feedForwardLength
        tokenEmbedding = add("token_embd.weight", [dim, configuration.vocabularySize])
        layers = (0..<configuration.layerCount).map { layer in
            LayerOffsets(
                attentionNorm: add("blk.\(layer).attn_norm.weight", [dim]),
                query: add("blk.\(layer).attn_q.weight", [dim, dim]),
                key: add("blk.\(layer).attn_k.weight", [dim, kvDim]),
                value: add("blk.\(layer).attn_v.weight", [dim, kvDim]),
                attentionOutput: add("blk.\(layer).attn_output.weight", [dim, dim]),
                feedForwardNorm: add("blk.\(layer).ffn_norm.weight", [dim]),
                gate: add("blk.\(layer).ffn_gate.weight", [dim, ffn]),
                up: add("blk.\(layer).ffn_up.weight", [dim, ffn]),
                down: add("blk.\(layer).ffn_down.weight", [ffn, dim]))
        }
        outputNorm = add("output_norm.weight", [dim])
        output = configuration.tiedOutput ? tokenEmbedding : add("output.weight", [dim, configuration.vocabularySize])
        self.entries = entries
        self.count = offset
    }

    public func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }
}
