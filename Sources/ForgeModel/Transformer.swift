#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeGGUF
import ForgeKernels

/// A model's weights and configuration, loaded from a GGUF file. Immutable and shared:
/// any number of `Evaluator`s (each with its own buffers) can run it at once.
public final class Transformer: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let architecture: Architecture
    public let file: GGUFFile
    let weights: ModelWeights

    public init(gguf: GGUFFile) throws {
        architecture = try Architecture.of(gguf)
        configuration = try ModelConfiguration(gguf: gguf, architecture: architecture.name)
        weights = try ModelWeights(gguf: gguf, configuration: configuration, architecture: architecture)
        file = gguf
    }

    public var outputIsTied: Bool { weights.outputIsTied }

    /// Parameters in the weight tensors (the tied head counted once).
    public var parameterCount: Int { file.tensorElementCount }
}

/// A batch of tokens to run together: each token's position in its sequence and the KV-cache
/// slot that sequence owns. A prompt is one slot with consecutive positions; a decoding step of
/// several sequences is one token per slot.
public struct Batch: Sendable {
    public var tokens: [Int]
    public var positions: [Int]
    public var slots: [Int]

    public init(tokens: [Int], positions: [Int], slots: [Int]) {
        self.tokens = tokens
        self.positions = positions
        self.slots = slots
    }

    /// Consecutive tokens of one sequence starting at `position`.
    public init(tokens: [Int], startingAt position: Int, slot: Int = 0) {
        self.init(tokens: tokens, positions: Array(position..<position + tokens.count), slots: Array(repeating: slot, count: tokens.count))
    }

    public var count: Int { tokens.count }
}

/// Runs the forward pass. Owns every activation buffer, allocated once for `maxBatchSize`
/// tokens, so nothing allocates per token. Not for concurrent use: one per thread of control.
public final class Evaluator: @unchecked Sendable {
    public let transformer: Transformer
    public let maxBatchSize: Int
    /// Rows of logits one `logits(rows:)` call can return.
    public let maxLogitRows: Int
    let compute: ComputeContext

    private let x: UnsafeMutablePointer<Float>          // (batch, dim) residual stream
    private let normed: UnsafeMutablePointer<Float>     // (batch, dim) normalized input to a projection
    // One allocation holds the queries and after them the stage: the new keys and values (until
    // they are cached), then the attention output (until its projection). The feed-forward
    // chunk's buffers reuse all of it.
    private let q: UnsafeMutablePointer<Float>          // (batch, n_head * head_dim)
    private let k: UnsafeMutablePointer<Float>          // (batch, n_head_kv * head_dim)
    private let v: UnsafeMutablePointer<Float>          // (batch, n_head_kv * head_dim)
    private let attention: UnsafeMutablePointer<Float>  // (batch, n_head * head_dim)
    private let gate: UnsafeMutablePointer<Float>       // (feed-forward chunk, ffn)
    private let up: UnsafeMutablePointer<Float>         // (feed-forward chunk, ffn)
    private let feedForwardOutput: UnsafeMutablePointer<Float> // (feed-forward chunk, dim)
    private let ropeTable: UnsafeMutablePointer<Float>  // (batch, rot_dim) cos/sin pairs
    private let logitBuffer: UnsafeMutablePointer<Float> // (max logit rows, vocab)
    private let allocations: [ZeroedAllocation]          // the buffers above, zero pages until written
    private var evaluatedCount = 0

    /// A tile of query rows that read the same cached K/V rows: `heads` (query heads of one
    /// group) for every token in `tokens` (consecutive tokens of one slot).
    private struct AttentionTile {
        var slot: Int
        var kvHead: Int
        var tokens: Range<Int>
        var heads: Range<Int>
    }
    /// The current batch's attention layout (`planAttention`): rows taken one at a time, tiles,
    /// and the order the pool takes the tiles in.
    private var singleRows: [Int] = []
    /// Whether each of `singleRows` is its sequence's only row in the batch (a decode step).
    private var singleRowIsLone: [Bool] = []
    private var tiles: [AttentionTile] = []
    private var tileOrder: [Int] = []

    /// Tokens the feed-forward block takes at a time. Its gate and up activations are the largest
    /// buffers of a batch (2 × n_ff floats a token: 20 MB for a 512-token Qwen2.5-0.5B batch), so
    /// they are held for a chunk of the batch, in the memory the attention has finished with:
    /// `q` and the stage after it hold as many tokens as fit, in multiples of
    /// `feedForwardGrain`, up to `maxFeedForwardChunk` (longer ones measured within noise of it).
    /// Longer chunks reread the feed-forward weights less often, which float weights feel:
    /// SmolLM2 F32 pp512 (Sapphire Rapids, 2 threads) ran 6-7% faster with chunks of 192 tokens
    /// than of 64, 7-10% with 256; quantized files did not move. Chunks start at multiples
    /// of the grain from the batch start and none is shorter than it (unless the batch is), so
    /// every product keeps the kernel and the grouping the whole batch would get (llama.cpp's
    /// Q4_K order in groups of 4 tokens from the batch start, its wide Q6_K tile from 8 tokens,
    /// tinyBLAS from 2), and the results their bits.
    public let feedForwardChunk: Int
    public static let feedForwardGrain = 64
    public static let maxFeedForwardChunk = 256

    /// Sees every named intermediate tensor of `evaluate` (llama.cpp's names: `attn_norm-3`,
    /// `Qcur-3`, `kqv_out-3`, `l_out-3`, `result_norm`, …), row-major over the batch, so a run
    /// can be compared with llama.cpp's layer by layer; the feed-forward ones (`ffn_gate-3`,
    /// `ffn_up-3`, `ffn_swiglu-3`, `ffn_out-3`) arrive once per chunk of tokens, in token order.
    /// Nil in normal use.
    public var tensorObserver: ((String, UnsafeBufferPointer<Float>) -> Void)?

    public convenience init(transformer: Transformer, maxBatchSize: Int = 512, maxLogitRows: Int = 32, threadCount: Int) {
        self.init(transformer: transformer, maxBatchSize: maxBatchSize, maxLogitRows: maxLogitRows,
                  compute: ComputeContext(threadCount: max(1, threadCount)))
    }

    /// As `init(transformer:maxBatchSize:maxLogitRows:threadCount:)` on a given pool and kernel
    /// variant (`forge bench --kernels` measures each).
    public init(transformer: Transformer, maxBatchSize: Int = 512, maxLogitRows: Int = 32, compute: ComputeContext) {
        let c = transformer.configuration
        self.transformer = transformer
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
        ropeTable = buffer(b * c.ropeDimensionCount)
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
        let c = transformer.configuration
        let n = batch.count
        guard n > 0, n <= maxBatchSize else {
            throw ModelError("batch of \(n) tokens (1 to \(maxBatchSize) allowed)")
        }
        guard batch.positions.count == n, batch.slots.count == n else {
            throw ModelError("batch positions and slots must have one entry per token")
        }
        guard cache.layerCount == c.layerCount, cache.rowWidth == c.kvWidth else {
            throw ModelError("KV cache was made for another model")
        }
        for i in 0..<n {
            guard batch.tokens[i] >= 0, batch.tokens[i] < c.vocabularySize else {
                throw ModelError("token id \(batch.tokens[i]) is outside the vocabulary (0..<\(c.vocabularySize))")
            }
            guard batch.positions[i] >= 0, batch.positions[i] < cache.contextSize else {
                throw ModelError("position \(batch.positions[i]) is past the context size \(cache.contextSize)")
            }
            guard batch.slots[i] >= 0, batch.slots[i] < cache.slotCount else {
                throw ModelError("slot \(batch.slots[i]) does not exist (the cache has \(cache.slotCount))")
            }
        }
        evaluatedCount = 0
        let w = transformer.weights
        let dim = c.embeddingLength

        for t in 0..<n {
            let row = w.tokenEmbedding.data + batch.tokens[t] * w.tokenEmbedding.bytesPerRow
            try Quantization.dequantize(w.tokenEmbedding.type, from: row, to: x + t * dim, count: dim)
        }
        fillRoPETable(batch)
        planAttention(batch)

        // The name is built only when someone observes: decode runs this 14 times a layer.
        func observe(_ name: @autoclosure () -> String, _ buffer: UnsafeMutablePointer<Float>, width: Int, rows: Int? = nil) {
            guard let tensorObserver else { return }
            tensorObserver(name(), UnsafeBufferPointer(start: buffer, count: (rows ?? n) * width))
        }
        for (layerIndex, layer) in w.layers.enumerated() {
            rmsNorm(x, weight: layer.attentionNorm, into: normed, rows: n)
            observe("attn_norm-\(layerIndex)", normed, width: dim)
            compute.matmul(layer.query, input: normed, output: q, tokens: n)
            compute.matmul(layer.key, input: normed, output: k, tokens: n)
            compute.matmul(layer.value, input: normed, output: v, tokens: n)
            if let bias = layer.queryBias { addRowwise(bias, to: q, rows: n) }
            if let bias = layer.keyBias { addRowwise(bias, to: k, rows: n) }
            if let bias = layer.valueBias { addRowwise(bias, to: v, rows: n) }
            applyRoPE(q, heads: c.headCount, rows: n)
            applyRoPE(k, heads: c.kvHeadCount, rows: n)
            observe("Qcur-\(layerIndex)", q, width: c.queryWidth)
            observe("Kcur-\(layerIndex)", k, width: c.kvWidth)
            observe("Vcur-\(layerIndex)", v, width: c.kvWidth)
            storeKeysAndValues(batch, layer: layerIndex, cache: cache)
            attend(batch, layer: layerIndex, cache: cache)
            observe("kqv_out-\(layerIndex)", attention, width: c.queryWidth)
            compute.matmul(layer.attentionOutput, input: attention, output: normed, tokens: n)
            observe("attn_out-\(layerIndex)", normed, width: dim)
            add(normed, to: x, count: n * dim)
            observe("ffn_inp-\(layerIndex)", x, width: dim)

            rmsNorm(x, weight: layer.feedForwardNorm, into: normed, rows: n)
            observe("ffn_norm-\(layerIndex)", normed, width: dim)
            var start = 0
            while start < n {
                let remaining = n - start
                var rows = min(remaining, feedForwardChunk)
                if remaining > rows && remaining - rows < Self.feedForwardGrain { rows -= Self.feedForwardGrain }
                let input = normed + start * dim
                compute.matmul(layer.gate, input: input, output: gate, tokens: rows)
                compute.matmul(layer.up, input: input, output: up, tokens: rows)
                observe("ffn_gate-\(layerIndex)", gate, width: c.feedForwardLength, rows: rows)
                observe("ffn_up-\(layerIndex)", up, width: c.feedForwardLength, rows: rows)
                compute.swiGLU(gate: gate, up: up, rows: rows, width: c.feedForwardLength)
                observe("ffn_swiglu-\(layerIndex)", gate, width: c.feedForwardLength, rows: rows)
                compute.matmul(layer.down, input: gate, output: feedForwardOutput, tokens: rows)
                observe("ffn_out-\(layerIndex)", feedForwardOutput, width: dim, rows: rows)
                add(feedForwardOutput, to: x + start * dim, count: rows * dim)
                start += rows
            }
            observe("l_out-\(layerIndex)", x, width: dim)
        }
        rmsNorm(x, weight: w.outputNorm, into: normed, rows: n)
        observe("result_norm", normed, width: dim)
        evaluatedCount = n
    }

    /// Logits for rows `rows` of the last evaluated batch, row after row (`rows.count × vocab`).
    /// The buffer is overwritten by the next call.
    public func logits(rows: Range<Int>) throws -> UnsafeBufferPointer<Float> {
        guard rows.lowerBound >= 0, rows.upperBound <= evaluatedCount, !rows.isEmpty, rows.count <= maxLogitRows else {
            throw ModelError("logit rows \(rows) not available (last batch had \(evaluatedCount) tokens, at most \(maxLogitRows) rows per call)")
        }
        let c = transformer.configuration
        compute.matmul(transformer.weights.output, input: normed + rows.lowerBound * c.embeddingLength, output: logitBuffer, tokens: rows.count)
        return UnsafeBufferPointer(start: logitBuffer, count: rows.count * c.vocabularySize)
    }

    /// Logits of one row of the last evaluated batch.
    public func logits(row: Int) throws -> UnsafeBufferPointer<Float> {
        try logits(rows: row..<row + 1)
    }

    // MARK: - Operations

    /// y = x / sqrt(mean(x²) + ε) ⊙ weight, row by row. The sum of squares is accumulated in
    /// double as llama.cpp does, so the scale matches it to the last bit more often.
    private func rmsNorm(_ input: UnsafeMutablePointer<Float>, weight: [Float], into output: UnsafeMutablePointer<Float>, rows: Int) {
        let dim = transformer.configuration.embeddingLength
        let epsilon = transformer.configuration.rmsEpsilon
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                let src = input + r * dim, dst = output + r * dim
                var sum: Double = 0
                for i in 0..<dim { sum += Double(src[i] * src[i]) }
                let mean = Float(sum / Double(dim))
                let scale = 1 / (mean + epsilon).squareRoot()
                for i in 0..<dim { dst[i] = (src[i] * scale) * w[i] }
            }
        }
    }

    private func addRowwise(_ bias: [Float], to matrix: UnsafeMutablePointer<Float>, rows: Int) {
        bias.withUnsafeBufferPointer { b in
            for r in 0..<rows {
                let row = matrix + r * b.count
                for i in 0..<b.count { row[i] += b[i] }
            }
        }
    }

    private func add(_ source: UnsafeMutablePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { destination[i] += source[i] }
    }

    /// cos/sin of every rotated pair for every token, computed as ggml does: θ starts at the
    /// position and is multiplied by base^(-2/d) per pair, in f32, so the angles match it exactly.
    private func fillRoPETable(_ batch: Batch) {
        let c = transformer.configuration
        let rotated = c.ropeDimensionCount
        let thetaScale = powf(c.ropeFrequencyBase, -2 / Float(rotated))
        let factors = transformer.weights.ropeFrequencyFactors
        for t in 0..<batch.count {
            let table = ropeTable + t * rotated
            var theta = Float(batch.positions[t])
            for pair in 0..<rotated / 2 {
                let factor = factors?[pair] ?? 1
                let angle = c.ropeFrequencyScale * (theta / factor)
                table[2 * pair] = cosf(angle)
                table[2 * pair + 1] = sinf(angle)
                theta *= thetaScale
            }
        }
    }

    private func applyRoPE(_ vectors: UnsafeMutablePointer<Float>, heads: Int, rows: Int) {
        let c = transformer.configuration
        let headDim = c.keyLength, rotated = c.ropeDimensionCount
        let adjacentPairs = transformer.architecture.ropeStyle == .normal
        for t in 0..<rows {
            let table = ropeTable + t * rotated
            for h in 0..<heads {
                let head = vectors + (t * heads + h) * headDim
                for pair in 0..<rotated / 2 {
                    let cosine = table[2 * pair], sine = table[2 * pair + 1]
                    let (i, j) = adjacentPairs ? (2 * pair, 2 * pair + 1) : (pair, pair + rotated / 2)
                    let x0 = head[i], x1 = head[j]
                    // llama.cpp's compiler fuses the first product of each line: x0·cos − x1·sin
                    // is fma(x0, cos, −x1·sin), x0·sin + x1·cos is fma(x0, sin, x1·cos).
                    head[i] = (-(x1 * sine)).addingProduct(x0, cosine)
                    head[j] = (x1 * cosine).addingProduct(x0, sine)
                }
            }
        }
    }

    private func storeKeysAndValues(_ batch: Batch, layer: Int, cache: KVCache) {
        let width = cache.rowWidth
        for t in 0..<batch.count {
            let offset = batch.positions[t] * cache.rowBytes
            let keyRow = cache.base(layer: layer, slot: batch.slots[t], values: false) + offset
            let valueRow = cache.base(layer: layer, slot: batch.slots[t], values: true) + offset
            switch cache.type {
            case .f16:
                let kd = keyRow.assumingMemoryBound(to: Float16.self), vd = valueRow.assumingMemoryBound(to: Float16.self)
                for i in 0..<width {
                    kd[i] = Float16(k[t * width + i])
                    vd[i] = Float16(v[t * width + i])
                }
            case .f32:
                keyRow.assumingMemoryBound(to: Float.self).update(from: k + t * width, count: width)
                valueRow.assumingMemoryBound(to: Float.self).update(from: v + t * width, count: width)
            }
        }
    }

    /// Which query rows attention takes one at a time and which in tiles, worked out once per
    /// batch (it is the same for every layer) into buffers kept between batches.
    ///
    /// llama.cpp's CPU flash attention takes one of two paths by the number of query rows, and
    /// Forge takes the same one so its tokens stay equal to llama.cpp's: under 64 rows (decode,
    /// short prompts) one row at a time with Q rounded to f16 and an f16 V accumulator; from 64 rows
    /// on, tiles of query rows in f32. Forge decides per run of one sequence's rows rather than per
    /// batch, so a request gives the same floats whether or not other sequences share its batch.
    /// Tiles need a head size that is a multiple of 16; other head sizes go one row at a time
    /// however long the run, which is where Forge leaves llama.cpp's path.
    /// Tiles hold all query heads of a group for a run of tokens, so each cached K/V row is read
    /// once per tile rather than once per head.
    private func planAttention(_ batch: Batch) {
        let c = transformer.configuration
        singleRows.removeAll(keepingCapacity: true)
        singleRowIsLone.removeAll(keepingCapacity: true)
        tiles.removeAll(keepingCapacity: true)
        let tiled = ComputeContext.attentionTilesSupport(headDimension: c.keyLength)
        let headsPerTile = min(c.groupSize, ComputeContext.attentionTileRows)
        let tokensPerTile = max(1, ComputeContext.attentionTileRows / headsPerTile)
        var start = 0
        while start < batch.count {
            var end = start + 1
            while end < batch.count && batch.slots[end] == batch.slots[start] { end += 1 }
            if tiled && end - start >= ComputeContext.attentionTileRows {
                for first in stride(from: start, to: end, by: tokensPerTile) {
                    let tokens = first..<min(first + tokensPerTile, end)
                    for kvHead in 0..<c.kvHeadCount {
                        for head in stride(from: kvHead * c.groupSize, to: (kvHead + 1) * c.groupSize, by: headsPerTile) {
                            tiles.append(AttentionTile(slot: batch.slots[start], kvHead: kvHead, tokens: tokens,
                                                       heads: head..<min(head + headsPerTile, (kvHead + 1) * c.groupSize)))
                        }
                    }
                }
            } else {
                singleRows.append(contentsOf: start..<end)
                singleRowIsLone.append(contentsOf: repeatElement(end - start == 1, count: end - start))
            }
            start = end
        }
        // Later tokens see more keys; alternating cheap and dear tiles is meant to even out the
        // contiguous chunks the pool hands to each thread (not measured).
        tileOrder.removeAll(keepingCapacity: true)
        for i in 0..<tiles.count { tileOrder.append(i % 2 == 0 ? i / 2 : tiles.count - 1 - i / 2) }
    }

    /// Grouped-query attention as `planAttention` laid it out: query head h reads KV head
    /// h / (n_head / n_head_kv) straight from the cache, positions 0...p of its own slot (causal).
    private func attend(_ batch: Batch, layer: Int, cache: KVCache) {
        let c = transformer.configuration
        let headDim = c.keyLength
        let scale = 1 / Float(headDim).squareRoot()
        if !tiles.isEmpty { attendInTiles(batch, layer: layer, cache: cache, scale: scale) }
        if singleRows.isEmpty { return }
        let rows = singleRows, lone = singleRowIsLone
        let heads = c.headCount, group = c.groupSize, kvHeads = c.kvHeadCount
        let threads = compute.threadCount
        compute.parallelFor(rows.count * kvHeads) { range in
            for item in range {
                let t = rows[item / kvHeads], kvHead = item % kvHeads
                let keys = cache.base(layer: layer, slot: batch.slots[t], values: false) + kvHead * headDim * cache.type.elementSize
                let values = cache.base(layer: layer, slot: batch.slots[t], values: true) + kvHead * headDim * cache.type.elementSize
                let first = (t * heads + kvHead * group) * headDim
                let length = batch.positions[t] + 1
                switch cache.type {
                case .f16:
                    // A sequence's lone row is split as llama.cpp splits a one-row batch, whatever its neighbours.
                    let chunk = lone[item / kvHeads]
                        ? ComputeContext.decodeChunk(length: length, contextSize: cache.contextSize, threadCount: threads) : length
                    compute.attendGroup(queries: q + first, outputs: attention + first, heads: group, keys: keys, values: values,
                                        rowBytes: cache.rowBytes, length: length, chunk: chunk, headDimension: headDim, scale: scale)
                case .f32:
                    for h in 0..<group {
                        Attention.singlePrecision(query: q + first + h * headDim, keys: keys, values: values, rowBytes: cache.rowBytes,
                                                  length: length, headDim: headDim, scale: scale, output: attention + first + h * headDim)
                    }
                }
            }
        }
    }

    private func attendInTiles(_ batch: Batch, layer: Int, cache: KVCache, scale: Float) {
        let c = transformer.configuration
        let headDim = c.keyLength, heads = c.headCount
        let tileRows = ComputeContext.attentionTileRows
        let tiles = tiles, order = tileOrder
        let element: AttentionElement = cache.type == .f16 ? .f16 : .f32
        compute.parallelFor(tiles.count) { range in
            withUnsafeTemporaryAllocation(of: AttentionTileRow.self, capacity: tileRows) { rows in
                for item in range {
                    let tile = tiles[order[item]]
                    var count = 0
                    for t in tile.tokens {
                        for h in tile.heads {
                            let offset = (t * heads + h) * headDim
                            rows[count] = AttentionTileRow(query: q + offset, output: attention + offset, length: batch.positions[t] + 1)
                            count += 1
                        }
                    }
                    let kvOffset = tile.kvHead * headDim * cache.type.elementSize
                    compute.attendTile(UnsafeBufferPointer(rebasing: rows[0..<count]), element: element,
                                       keys: cache.base(layer: layer, slot: tile.slot, values: false) + kvOffset,
                                       values: cache.base(layer: layer, slot: tile.slot, values: true) + kvOffset,
                                       rowBytes: cache.rowBytes, headDimension: headDim, scale: scale)
                }
            }
        }
    }
}
