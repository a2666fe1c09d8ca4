import ForgeGGUF

/// The hyperparameters of a decoder-only transformer, read from `{arch}.*` GGUF keys.
public struct ModelConfiguration: Sendable, Equatable {
    public var architecture: String
    public var layerCount: Int
    public var embeddingLength: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDimension: Int
    public var valueLength: Int
    public var rmsEpsilon: Float
    public var ropeFrequencyBase: Float
    public var ropeDimensionCount: Int
    /// Position scale from `rope.scaling.type` = linear (1 / factor); 1 when unscaled.
    public var ropeFrequencyScale: Float
    public var contextLength: Int
    public var vocabularySize: Int
    /// Positions a sliding-window layer attends to (its own and the `window − 1` before it), or
    /// nil when every layer attends to every earlier position.
    public var slidingWindow: Int?
    /// Per layer, whether it uses the sliding window (empty without one).
    public var slidingWindowLayers: [Bool] = []
    /// RoPE base of the sliding-window layers.
    public var slidingWindowRopeBase: Float = 10_000

    /// The window layer `layer` attends within, or nil when it sees every earlier position.
    public func window(layer: Int) -> Int? {
        guard let slidingWindow, layer < slidingWindowLayers.count, slidingWindowLayers[layer] else { return nil }
        return slidingWindow
    }

    /// The RoPE base and position scale of layer `layer` (sliding-window layers are never scaled).
    public func rope(layer: Int) -> (base: Float, scale: Float) {
        window(layer: layer) == nil ? (ropeFrequencyBase, ropeFrequencyScale) : (slidingWindowRopeBase, 1)
    }

    /// Query heads that share one KV head.
    public var groupSize: Int { headCount / kvHeadCount }
    public var queryWidth: Int { headCount * headDimension }
    public var kvWidth: Int { kvHeadCount * headDimension }

    /// Reads and validates the keys every architecture has, for architecture `arch`
    /// (`Architecture.configure` reads the rest, such as sliding windows).
    /// Defaults, as llama.cpp's: head_count_kv = head_count; key/value length = embedding / heads;
    /// rope.dimension_count = key length; freq_base 10000; context 2048; epsilon 1e-5.
    public init(gguf: GGUFFile, architecture arch: String) throws {
        func key(_ suffix: String) -> String { "\(arch).\(suffix)" }
        architecture = arch
        layerCount = try gguf.integer(key("block_count"))
        embeddingLength = try gguf.integer(key("embedding_length"))
        feedForwardLength = try gguf.integer(key("feed_forward_length"))
        headCount = try gguf.integer(key("attention.head_count"))
        kvHeadCount = try gguf.optionalInteger(key("attention.head_count_kv")) ?? headCount
        let derivedHeadLength = headCount > 0 ? embeddingLength / headCount : 0
        headDimension = try gguf.optionalInteger(key("attention.key_length")) ?? derivedHeadLength
        valueLength = try gguf.optionalInteger(key("attention.value_length")) ?? derivedHeadLength
        rmsEpsilon = Float(try gguf.optionalFloat(key("attention.layer_norm_rms_epsilon")) ?? 1e-5)
        ropeFrequencyBase = Float(try gguf.optionalFloat(key("rope.freq_base")) ?? 10_000)
        ropeDimensionCount = try gguf.optionalInteger(key("rope.dimension_count")) ?? headDimension
        contextLength = try gguf.optionalInteger(key("context_length")) ?? 2048
        ropeFrequencyScale = 1
        switch try gguf.optionalString(key("rope.scaling.type")) {
        case nil, "none":
            break
        case "linear":
            let factor = try gguf.optionalFloat(key("rope.scaling.factor")) ?? 1
            guard factor > 0 else { throw ModelError("\(key("rope.scaling.factor")) must be positive, is \(factor)") }
            ropeFrequencyScale = Float(1 / factor)
        case let other?:
            throw ModelError("\(key("rope.scaling.type")) '\(other)' is not supported (none and linear are)")
        }
        if let factor = try gguf.optionalFloat(key("rope.scale_linear")), factor > 0 {
            ropeFrequencyScale = Float(1 / factor)
        }
        let tokens = try gguf.optionalStringArray("tokenizer.ggml.tokens")
        vocabularySize = try gguf.optionalInteger(key("vocab_size")) ?? tokens?.count ?? 0
        try validate()
    }

    public init(
        architecture: String, layerCount: Int, embeddingLength: Int, feedForwardLength: Int, headCount: Int,
        kvHeadCount: Int, headDimension: Int, valueLength: Int, rmsEpsilon: Float, ropeFrequencyBase: Float,
        ropeDimensionCount: Int, ropeFrequencyScale: Float = 1, contextLength: Int, vocabularySize: Int
    ) throws {
        self.architecture = architecture
        self.layerCount = layerCount
        self.embeddingLength = embeddingLength
        self.feedForwardLength = feedForwardLength
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDimension = headDimension
        self.valueLength = valueLength
        self.rmsEpsilon = rmsEpsilon
        self.ropeFrequencyBase = ropeFrequencyBase
        self.ropeDimensionCount = ropeDimensionCount
        self.ropeFrequencyScale = ropeFrequencyScale
        self.contextLength = contextLength
        self.vocabularySize = vocabularySize
        try validate()
    }

    func validate() throws {
        let positive: [(String, Int)] = [
            ("block_count", layerCount), ("embedding_length", embeddingLength),
            ("feed_forward_length", feedForwardLength), ("attention.head_count", headCount),
            ("attention.head_count_kv", kvHeadCount), ("attention.key_length", headDimension),
            ("attention.value_length", valueLength), ("context_length", contextLength), ("vocabulary size", vocabularySize),
        ]
        for (name, value) in positive where value <= 0 {
            throw ModelError("\(architecture).\(name) must be positive, is \(value)")
        }
        guard headCount % kvHeadCount == 0 else {
            throw ModelError("\(architecture): head_count \(headCount) is not a multiple of head_count_kv \(kvHeadCount)")
        }
        guard headDimension == valueLength else {
            throw ModelError("\(architecture): key_length \(headDimension) != value_length \(valueLength) is not supported")
        }
        guard ropeDimensionCount > 0, ropeDimensionCount <= headDimension, ropeDimensionCount % 2 == 0 else {
            throw ModelError("\(architecture).rope.dimension_count \(ropeDimensionCount) must be even and at most the head size \(headDimension)")
        }
        guard rmsEpsilon > 0, rmsEpsilon.isFinite, ropeFrequencyBase > 0, ropeFrequencyBase.isFinite,
              slidingWindowRopeBase > 0, slidingWindowRopeBase.isFinite else {
            throw ModelError("\(architecture): layer_norm_rms_epsilon and rope.freq_base must be positive")
        }
        if let slidingWindow {
            guard slidingWindow > 0, slidingWindowLayers.count == layerCount else {
                throw ModelError("\(architecture).attention.sliding_window must be positive, is \(slidingWindow)")
            }
        }
    }
}
