import ForgeVulkan

/// A model's forward pass together with the KV cache it writes: what generation, perplexity, the
/// benchmark and the server run, on the CPU (`CPUModelEvaluator`) or a Vulkan device
/// (`VulkanEvaluator`). The cache has `slotCount` slots of `contextSize` positions; a batch names
/// each token's slot and position. Not for concurrent use.
public protocol ModelEvaluator: AnyObject, Sendable {
    var weights: ModelWeights { get }
    /// Tokens one `evaluate` takes.
    var maxBatchSize: Int { get }
    /// Rows of logits one `logits(rows:)` call can return.
    var maxLogitRows: Int { get }
    /// Positions each slot of the cache holds.
    var contextSize: Int { get }
    var slotCount: Int { get }
    /// Where it runs and what its cache takes, in words (`--verbose`).
    var summary: String { get }

    /// Runs `batch` through every layer, writing its keys and values into the cache; checks the
    /// batch first.
    func evaluate(_ batch: Batch) throws
    /// Logits for rows `rows` of the last evaluated batch, row after row (`rows.count × vocab`).
    /// The buffer is overwritten by the next call.
    func logits(rows: Range<Int>) throws -> UnsafeBufferPointer<Float>
    /// How many of the `common` leading positions a slot shares with a new sequence can be kept,
    /// when the slot's last sequence wrote `written` positions.
    func reusablePrefix(common: Int, written: Int) -> Int
}

extension ModelEvaluator {
    /// Logits of one row of the last evaluated batch.
    public func logits(row: Int) throws -> UnsafeBufferPointer<Float> {
        try logits(rows: row..<row + 1)
    }
}

/// The CPU backend: an `Evaluator` and its `KVCache`.
public final class CPUModelEvaluator: ModelEvaluator {
    public let evaluator: Evaluator
    public let cache: KVCache

    public init(evaluator: Evaluator, cache: KVCache) {
        self.evaluator = evaluator
        self.cache = cache
    }

    public var weights: ModelWeights { evaluator.weights }
    public var maxBatchSize: Int { evaluator.maxBatchSize }
    public var maxLogitRows: Int { evaluator.maxLogitRows }
    public var contextSize: Int { cache.contextSize }
    public var slotCount: Int { cache.slotCount }

    public var summary: String {
        "CPU, \(evaluator.threadCount) threads; KV cache \(cache.type.rawValue), \(cache.slotCount) × \(cache.contextSize) positions, "
            + "\(String(format: "%.2f", Double(cache.byteCount) / 1_048_576)) MiB"
    }

    public func evaluate(_ batch: Batch) throws { try evaluator.evaluate(batch, cache: cache) }
    public func logits(rows: Range<Int>) throws -> UnsafeBufferPointer<Float> { try evaluator.logits(rows: rows) }
    public func reusablePrefix(common: Int, written: Int) -> Int { cache.reusablePrefix(common: common, written: written) }
}

/// Where a model runs.
public enum ComputeDevice: Sendable {
    /// Forge's CPU kernels.
    case cpu
    case vulkan(VulkanDevice)

    /// The model's forward pass here, with a cache of `slotCount` slots of `contextSize`
    /// positions; `threadCount` is the CPU's. On a Vulkan device, checks that the device runs the
    /// model and that it fits before uploading anything.
    public func makeEvaluator(weights: ModelWeights, contextSize: Int, slotCount: Int = 1, maxBatchSize: Int,
                              maxLogitRows: Int = 32, cacheType: KVCacheType = .f16, threadCount: Int) throws -> any ModelEvaluator {
        switch self {
        case .cpu:
            let cache = try KVCache(configuration: weights.configuration, contextSize: contextSize, slotCount: slotCount, type: cacheType,
                                    maxBatchSize: maxBatchSize)
            return CPUModelEvaluator(evaluator: Evaluator(weights: weights, maxBatchSize: maxBatchSize, maxLogitRows: maxLogitRows,
                                                          threadCount: threadCount),
                                     cache: cache)
        case .vulkan(let device):
            guard cacheType == .f16 else { throw ModelError("the Vulkan backend keeps its KV cache in f16, not \(cacheType.rawValue)") }
            return try VulkanEvaluator(weights: weights, device: device, contextSize: contextSize, slotCount: slotCount,
                                       maxBatchSize: maxBatchSize, maxLogitRows: maxLogitRows)
        }
    }
}
