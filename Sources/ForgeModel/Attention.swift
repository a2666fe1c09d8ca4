#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeKernels

/// Which query rows attention takes one at a time and which in tiles, worked out once per batch
/// (it is the same for every layer).
///
/// llama.cpp's CPU flash attention takes one of two paths by the number of query rows, and Forge
/// takes the same one so its tokens stay equal to llama.cpp's: under 64 rows (decode, short
/// prompts) one row at a time with Q rounded to f16 and an f16 V accumulator; from 64 rows on,
/// tiles of query rows in f32. Forge decides per run of one sequence's rows rather than per batch,
/// so a request gives the same floats whether or not other sequences share its batch. Tiles need a
/// head size that is a multiple of 16; other head sizes go one row at a time however long the run,
/// which is where Forge leaves llama.cpp's path. Tiles hold all query heads of a group for a run
/// of tokens, so each cached K/V row is read once per tile rather than once per head.
struct AttentionPlan {
    /// `heads` (query heads of one group) for every token in `tokens` (consecutive tokens of one slot).
    struct Tile {
        var slot: Int
        var kvHead: Int
        var tokens: Range<Int>
        var heads: Range<Int>
    }
    var singleRows: [Int] = []
    /// Whether each of `singleRows` is its sequence's only row in the batch (a decode step).
    var singleRowIsLone: [Bool] = []
    var tiles: [Tile] = []
    /// The order the pool takes the tiles in.
    var tileOrder: [Int] = []
}

extension Evaluator {
    /// Lays out `batch` in buffers kept between batches.
    func planAttention(_ batch: Batch, into plan: inout AttentionPlan) {
        let c = weights.configuration
        plan.singleRows.removeAll(keepingCapacity: true)
        plan.singleRowIsLone.removeAll(keepingCapacity: true)
        plan.tiles.removeAll(keepingCapacity: true)
        let tiled = ComputeContext.attentionTilesSupport(headDimension: c.headDimension)
        let headsPerTile = min(c.groupSize, ComputeContext.attentionTileRows)
        let tokensPerTile = max(1, ComputeContext.attentionTileRows / headsPerTile)
        var start = 0
        while start < batch.count {
            var end = start + 1
            while end < batch.count && batch.slots[end] == batch.slots[start] { end += 1 }
            let tileEnd = tiled && end - start >= ComputeContext.attentionTileRows ? end : start
            for first in stride(from: start, to: tileEnd, by: tokensPerTile) {
                let tokens = first..<min(first + tokensPerTile, tileEnd)
                for kvHead in 0..<c.kvHeadCount {
                    for head in stride(from: kvHead * c.groupSize, to: (kvHead + 1) * c.groupSize, by: headsPerTile) {
                        plan.tiles.append(AttentionPlan.Tile(slot: batch.slots[start], kvHead: kvHead, tokens: tokens,
                                                             heads: head..<min(head + headsPerTile, (kvHead + 1) * c.groupSize)))
                    }
                }
            }
            plan.singleRows.append(contentsOf: tileEnd..<end)
            plan.singleRowIsLone.append(contentsOf: repeatElement(end - start == 1, count: end - tileEnd))
            start = end
        }
        // Later tokens see more keys; alternating cheap and dear tiles is meant to even out the
        // contiguous chunks the pool hands to each thread (not measured).
        plan.tileOrder.removeAll(keepingCapacity: true)
        for i in 0..<plan.tiles.count { plan.tileOrder.append(i % 2 == 0 ? i / 2 : plan.tiles.count - 1 - i / 2) }
    }
}

extension ForwardPass {
    /// x += output · attention: the attention half's projection and residual add, where no norm
    /// follows the projection (Llama, Qwen).
    func addAttentionOutput(_ output: WeightMatrix) {
        let c = evaluator.weights.configuration
        observe("kqv_out", attention, width: c.queryWidth)
        linear(output, attention, into: normed)
        observe("attn_out", normed, width: c.embeddingLength)
        add(normed, to: x)
        observe("ffn_inp", x, width: c.embeddingLength)
    }

    /// Writes the batch's new keys and values (`k`, `v`) into this layer's cache rows.
    func storeKeysAndValues() {
        let width = cache.rowWidth
        for t in 0..<tokens {
            let keyBase = cache.base(layer: layer, slot: batch.slots[t], values: false)
            let valueBase = cache.base(layer: layer, slot: batch.slots[t], values: true)
            func store(row: Int) {
                let keyRow = keyBase + row * cache.rowBytes, valueRow = valueBase + row * cache.rowBytes
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
            let (row, mirror) = cache.rows(layer: layer, position: batch.positions[t])
            store(row: row)
            if let mirror { store(row: mirror) }
        }
    }

    /// Grouped-query attention of `q` over this layer's cache into `attention`: query head h reads
    /// KV head h / (n_head / n_head_kv) straight from the cache, the positions its token sees
    /// (causal, and within the layer's sliding window), scores multiplied by `scale`.
    func attend(scale: Float) {
        let c = evaluator.weights.configuration
        let plan = evaluator.attentionPlan
        if !plan.tiles.isEmpty { attendInTiles(plan, scale: scale) }
        if plan.singleRows.isEmpty { return }
        let rows = plan.singleRows, lone = plan.singleRowIsLone
        let headDim = c.headDimension, heads = c.headCount, group = c.groupSize, kvHeads = c.kvHeadCount
        let compute = evaluator.compute, threads = compute.threadCount
        let q = self.q, attention = self.attention, batch = self.batch, cache = self.cache, layer = self.layer
        compute.parallelFor(rows.count * kvHeads) { range in
            for item in range {
                let t = rows[item / kvHeads], kvHead = item % kvHeads
                let position = batch.positions[t], start = cache.windowStart(layer: layer, position: position)
                let basePosition = cache.basePosition(layer: layer, start: start)
                let length = position + 1 - basePosition, firstRow = start - basePosition
                let offset = kvHead * headDim * cache.type.elementSize
                let keys = cache.base(layer: layer, slot: batch.slots[t], values: false) + offset
                let values = cache.base(layer: layer, slot: batch.slots[t], values: true) + offset
                let first = (t * heads + kvHead * group) * headDim
                switch cache.type {
                case .f16:
                    // A sequence's lone row is split as llama.cpp splits a one-row batch, whatever its neighbours.
                    let span = cache.attentionSpan(layer: layer)
                    let chunk = lone[item / kvHeads]
                        ? ComputeContext.decodeChunk(length: length, contextSize: span, threadCount: threads) : length
                    compute.attendGroup(queries: q + first, outputs: attention + first, heads: group, keys: keys, values: values,
                                        rowBytes: cache.rowBytes, length: length, first: firstRow, chunk: chunk,
                                        headDimension: headDim, scale: scale)
                case .f32:
                    let skipped = firstRow * cache.rowBytes
                    for h in 0..<group {
                        singlePrecisionAttention(query: q + first + h * headDim, keys: keys + skipped, values: values + skipped,
                                                 rowBytes: cache.rowBytes, length: length - firstRow, headDim: headDim, scale: scale,
                                                 output: attention + first + h * headDim)
                    }
                }
            }
        }
    }

    private func attendInTiles(_ plan: AttentionPlan, scale: Float) {
        let c = evaluator.weights.configuration
        let headDim = c.headDimension, heads = c.headCount
        let tileRows = ComputeContext.attentionTileRows
        let tiles = plan.tiles, order = plan.tileOrder
        let element: AttentionElement = cache.type == .f16 ? .f16 : .f32
        let compute = evaluator.compute
        let q = self.q, attention = self.attention, batch = self.batch, cache = self.cache, layer = self.layer
        compute.parallelFor(tiles.count) { range in
            withUnsafeTemporaryAllocation(of: AttentionTileRow.self, capacity: tileRows) { rows in
                for item in range {
                    let tile = tiles[order[item]]
                    // The tile's rows share row 0; each sees its own window from there.
                    let earliest = cache.windowStart(layer: layer, position: batch.positions[tile.tokens.lowerBound])
                    let basePosition = cache.basePosition(layer: layer, start: earliest)
                    var count = 0
                    for t in tile.tokens {
                        let position = batch.positions[t]
                        let first = cache.windowStart(layer: layer, position: position) - basePosition
                        for h in tile.heads {
                            let offset = (t * heads + h) * headDim
                            rows[count] = AttentionTileRow(query: q + offset, output: attention + offset,
                                                           length: position + 1 - basePosition, first: first)
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

/// Attention of one query head over one KV head's f32 cached rows, for rows taken one at a time
/// (f16 caches and tiled runs go through the kernels of ComputeContext, in llama.cpp's order):
/// online softmax, one pass over the keys and values, everything in f32.
private func singlePrecisionAttention(
    query: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, rowBytes: Int,
    length: Int, headDim: Int, scale: Float, output: UnsafeMutablePointer<Float>
) {
    for d in 0..<headDim { output[d] = 0 }
    var maximum = -Float.infinity, sum: Float = 0
    for j in 0..<length {
        let key = (keys + j * rowBytes).assumingMemoryBound(to: Float.self)
        let value = (values + j * rowBytes).assumingMemoryBound(to: Float.self)
        var score: Float = 0
        for d in 0..<headDim { score += query[d] * key[d] }
        score *= scale
        var rescale: Float = 1, weight: Float = 1
        if score > maximum {
            rescale = expf(maximum - score)
            maximum = score
            for d in 0..<headDim { output[d] *= rescale }
        } else {
            weight = expf(score - maximum)
        }
        for d in 0..<headDim { output[d] += value[d] * weight }
        sum = sum * rescale + weight
    }
    let inverse = sum == 0 ? 0 : 1 / sum
    for d in 0..<headDim { output[d] *= inverse }
}
