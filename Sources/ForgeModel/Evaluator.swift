#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeGGUF
import ForgeKernels

/// Runs the forward pass: the steps every architecture shares (checking the batch, the embedding
/// lookup, RoPE tables, attention planning, the final norm, the output head), and in between each
/// layer's own `forward`, which its architecture's file composes from the operations in
/// Norm.swift, Linear.swift, RoPE.swift, Attention.swift and FeedForward.swift. Owns every
/// activation buffer, allocated once for `maxBatchSize` tokens, so nothing allocates per token.
/// Not for concurrent use: one per thread of control.
public final class Evaluator: @unchecked Sendable {
    public let weights: ModelWeights
    public let maxBatchSize: Int
    /// Rows of logits one `logits(rows:)` call can return.
    public let maxLogitRows: Int
    let compute: ComputeContext

    let x: UnsafeMutablePointer<Float>          // (batch, dim) residual stream
    let normed: UnsafeMutablePointer<Float>     // (batch, max(dim, n_head * head_dim)) input to a projection
    // One allocation holds the queries and after them the stage: the new keys and values (until
    // they are cached), then the attention output (until its projection). The feed-forward
    // chunk's buffers reuse all of it.
    let q: UnsafeMutablePointer<Float>          // (batch, n_head * head_dim)
    let k: UnsafeMutablePointer<Float>          // (batch, n_head_kv * head_dim)
    let v: UnsafeMutablePointer<Float>          // (batch, n_head_kv * head_dim)
    let attention: UnsafeMutablePointer<Float>  // (batch, n_head * head_dim)
    let gate: UnsafeMutablePointer<Float>       // (feed-forward chunk, ffn)
    let up: UnsafeMutablePointer<Float>         // (feed-forward chunk, ffn)
    let feedForwardOutput: UnsafeMutablePointer<Float> // (feed-forward chunk, dim)
    /// One cos/sin table per RoPE base and scale the layers use, (batch, rot_dim) each.
    let ropeTables: [RoPETable]
    /// Per layer, the index of its table in `ropeTables`.
    let ropeTableOfLayer: [Int]
    private let logitBuffer: UnsafeMutablePointer<Float> // (max logit rows, vocab)
    private let allocations: [ZeroedAllocation]          // the buffers above, zero pages until written
    private var evaluatedCount = 0
    /// The current batch's attention layout (see Attention.swift).
    var attentionPlan = AttentionPlan()

    /// Tokens the feed-forward block takes at a time. Its gate and up activations are the largest
    /// buffers of a batch (2 × n_ff floats a token), so they are held for a chunk of the batch, in
    /// the memory the attention has finished with: `q` and the stage after it hold as many tokens
    /// as fit, in multiples of `feedForwardGrain`, up to `maxFeedForwardChunk`. Longer chunks
    /// reread the feed-forward weights less often, which float weights feel (docs/benchmark-history.md).
    /// Chunks start at multiples of the grain from the batch start and none is shorter than it
    /// (unless the batch is), so every product keeps the kernel and the grouping the whole batch
    /// would get (llama.cpp's Q4_K order in groups of 4 tokens from the batch start, its wide Q6_K
    /// tile from 8 tokens, tinyBLAS from 2), and the results their bits.
    public let feedForwardChunk: Int
    public static let feedForwardGrain = 64
    public static let maxFeedForwardChunk = 256

    /// Sees every named intermediate tensor of `evaluate` (llama.cpp's names: `attn_norm-3`,
    /// `Qcur-3`, `kqv_out-3`, `l_out-3`, `result_norm`, …), row-major over the batch, so a run
    /// can be compared with llama.cpp's layer by layer; the feed-forward ones (`ffn_gate-3`,
    /// `ffn_up-3`, `ffn_swiglu-3`, `ffn_out-3`) arrive once per chunk of tokens, in token order.
    /// Nil in normal use.
    public var tensorObserver: ((String, UnsafeBufferPointer<Float>) -> Void)?

    public convenience init(weights: ModelWeights, maxBatchSize: Int = 512, maxLogitRows: Int = 32, threadCount: Int) {
        self.init(weights: weights, maxBatchSize: maxBatchSize, maxLogitRows: maxLogitRows,
                  compute: ComputeContext(threadCount: max(1, threadCount)))
    }

    /// As `init(weights:maxBatchSize:maxLogitRows:threadCount:)` on a given pool and kernel
    /// variant (`forge bench --kernels` measures each).
    public init(weights: ModelWeights, maxBatchSize: Int = 512, maxLogitRows: Int = 32, compute: ComputeContext) {
        let c = weights.configuration
        self.weights = weights
        self.maxBatchSize = max(1, maxBatchSize)
        self.maxLogitRows = max(1, maxLogitRows)
        self.compute = compute
        let b = self.maxBatchSize
        var allocations: [ZeroedAllocation] = []
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            guard let allocation = ZeroedAllocation(byteCount: count * MemoryLayout<Float>.stride) else {
                fatalError("cannot allocate \(count) floats for the evaluator's buffers")
            }
            allocations.append(allocation)
            return allocation.start.bindMemory(to: Float.self, capacity: count)
        }
        x = buffer(b * c.embeddingLength)
        normed = buffer(b * max(c.embeddingLength, c.queryWidth))
        let feedForwardWidth = 2 * c.feedForwardLength + c.embeddingLength
        let stageCount = max(2 * b * c.kvWidth, b * c.queryWidth, min(b, 2 * Self.feedForwardGrain) * feedForwardWidth)
        q = buffer(b * c.queryWidth + stageCount)
        k = q + b * c.queryWidth
        v = k + b * c.kvWidth
        attention = k
        let fitting = (b * c.queryWidth + stageCount) / feedForwardWidth
        feedForwardChunk = fitting >= b ? min(b, Self.maxFeedForwardChunk)
                                        : min(fitting - fitting % Self.feedForwardGrain, Self.maxFeedForwardChunk)
        gate = q
        up = gate + feedForwardChunk * c.feedForwardLength
        feedForwardOutput = up + feedForwardChunk * c.feedForwardLength
        var tables: [RoPETable] = []
        ropeTableOfLayer = (0..<c.layerCount).map { layer in
            let (base, scale) = c.rope(layer: layer)
            if let index = tables.firstIndex(where: { $0.base == base && $0.scale == scale }) { return index }
            tables.append(RoPETable(base: base, scale: scale, values: buffer(b * c.ropeDimensionCount)))
            return tables.count - 1
        }
        ropeTables = tables
        logitBuffer = buffer(self.maxLogitRows * c.vocabularySize)
        self.allocations = allocations
    }

    deinit {
        for allocation in allocations { allocation.release() }
    }

    public var threadCount: Int { compute.threadCount }

    /// Runs `batch` through every layer, writing its keys and values into `cache`, and leaves the
    /// final normalized hidden states for `logits(rows:)`. Checks the batch before computing.
    public func evaluate(_ batch: Batch, cache: KVCache) throws {
        let c = weights.configuration
        let n = batch.count
        guard n > 0, n <= maxBatchSize else {
            throw ModelError("batch of \(n) tokens (1 to \(maxBatchSize) allowed)")
        }
        guard cache.accepts(batchOf: n) else {
            throw ModelError("batch of \(n) tokens is longer than the \(cache.maxBatchSize) the KV cache's sliding-window rings were made for")
        }
        guard cache.layerCount == c.layerCount, cache.rowWidth == c.kvWidth,
              (0..<c.layerCount).allSatisfy({ cache.windows[$0] == c.window(layer: $0) }) else {
            throw ModelError("KV cache was made for another model")
        }
        try batch.check(vocabularySize: c.vocabularySize, contextSize: cache.contextSize, slotCount: cache.slotCount)
        evaluatedCount = 0
        let w = weights.tensors
        let dim = c.embeddingLength

        for t in 0..<n {
            let row = w.tokenEmbedding.data + batch.tokens[t] * w.tokenEmbedding.bytesPerRow
            try Quantization.dequantize(w.tokenEmbedding.type, from: row, to: x + t * dim, count: dim)
        }
        if let scale = weights.architecture.embeddingScale(c) {
            for i in 0..<n * dim { x[i] *= scale }
        }
        for table in ropeTables { fillRoPETable(table, batch) }
        planAttention(batch, into: &attentionPlan)

        for (index, layer) in w.layers.enumerated() {
            layer.forward(ForwardPass(evaluator: self, batch: batch, cache: cache, layer: index))
        }
        rmsNorm(x, weight: w.outputNorm, into: normed, rows: n, width: dim)
        if let tensorObserver { tensorObserver("result_norm", UnsafeBufferPointer(start: normed, count: n * dim)) }
        evaluatedCount = n
    }

    /// Logits for rows `rows` of the last evaluated batch, row after row (`rows.count × vocab`).
    /// The buffer is overwritten by the next call.
    public func logits(rows: Range<Int>) throws -> UnsafeBufferPointer<Float> {
        guard rows.lowerBound >= 0, rows.upperBound <= evaluatedCount, !rows.isEmpty, rows.count <= maxLogitRows else {
            throw ModelError("logit rows \(rows) not available (last batch had \(evaluatedCount) tokens, at most \(maxLogitRows) rows per call)")
        }
        let c = weights.configuration
        compute.matmul(weights.tensors.output, input: normed + rows.lowerBound * c.embeddingLength, output: logitBuffer, tokens: rows.count)
        return UnsafeBufferPointer(start: logitBuffer, count: rows.count * c.vocabularySize)
    }

    /// Logits of one row of the last evaluated batch.
    public func logits(row: Int) throws -> UnsafeBufferPointer<Float> {
        try logits(rows: row..<row + 1)
    }
}

/// What one layer's forward pass works on: the evaluator's buffers for the current batch, the
/// cache and the layer's index. An architecture's layer composes its `forward` from the
/// operations defined on it.
struct ForwardPass {
    let evaluator: Evaluator
    let batch: Batch
    let cache: KVCache
    let layer: Int

    var tokens: Int { batch.count }
    var x: UnsafeMutablePointer<Float> { evaluator.x }
    var normed: UnsafeMutablePointer<Float> { evaluator.normed }
    var q: UnsafeMutablePointer<Float> { evaluator.q }
    var k: UnsafeMutablePointer<Float> { evaluator.k }
    var v: UnsafeMutablePointer<Float> { evaluator.v }
    var attention: UnsafeMutablePointer<Float> { evaluator.attention }

    /// Shows `rows` (default: the batch) rows of `width` values to the tensor observer as
    /// llama.cpp names them, `name-layer`. The name is built only when someone observes.
    func observe(_ name: @autoclosure () -> String, _ buffer: UnsafeMutablePointer<Float>, width: Int, rows: Int? = nil) {
        guard let observer = evaluator.tensorObserver else { return }
        observer("\(name())-\(layer)", UnsafeBufferPointer(start: buffer, count: (rows ?? tokens) * width))
    }
}
