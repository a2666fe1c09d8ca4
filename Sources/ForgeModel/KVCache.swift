/// Element type of the KV cache.
public enum KVCacheType: String, Sendable, CaseIterable {
    case f16, f32

    var elementSize: Int { self == .f16 ? 2 : 4 }
}

/// Keys and values of every layer at the model's own KV head count, allocated once.
/// Query heads never get a copy: attention reads a group's shared K/V rows in place.
///
/// A layer that attends to every earlier position keeps `contextSize` rows per slot. A
/// sliding-window layer keeps a ring of `window + maxBatchSize - 1` positions (a batch stores all
/// its keys before its first token attends, and that token still needs the `window - 1` before
/// it), and writes each row twice, at `p mod ring` and `p mod ring + ring`, so every window is one
/// contiguous run of rows and the attention kernels read it as they read a whole context.
/// Layout, row-major: [K or V][layer][slot][row][kv head][head dim].
public final class KVCache: @unchecked Sendable {
    public let type: KVCacheType
    public let layerCount: Int
    public let slotCount: Int
    public let contextSize: Int
    /// The longest batch `evaluate` may store at once when a layer keeps a ring.
    public let maxBatchSize: Int
    /// Elements in one position's row: n_head_kv × head_dim.
    public let rowWidth: Int
    public let byteCount: Int
    /// Per layer: the sliding window, or nil for a layer that sees every earlier position.
    let windows: [Int?]
    /// Per layer: positions its ring holds (nil: not a ring, position p is row p).
    let rings: [Int?]
    /// Per layer: rows per slot, and the offset of its first row within one K or V plane.
    private let rowsPerSlot: [Int]
    private let layerOffsets: [Int]
    private let planeRows: Int
    let storage: UnsafeMutableRawPointer
    private let allocation: ZeroedAllocation

    public init(configuration: ModelConfiguration, contextSize: Int, slotCount: Int = 1, type: KVCacheType = .f16,
                maxBatchSize: Int = 512) throws {
        guard contextSize > 0, slotCount > 0, maxBatchSize > 0 else {
            throw ModelError("context size, slot count and batch size must be positive (got \(contextSize), \(slotCount), \(maxBatchSize))")
        }
        self.type = type
        self.layerCount = configuration.layerCount
        self.slotCount = slotCount
        self.contextSize = contextSize
        self.maxBatchSize = maxBatchSize
        self.rowWidth = configuration.kvWidth
        let windows = (0..<configuration.layerCount).map { configuration.window(layer: $0) }
        let rings = windows.map { window -> Int? in
            guard let window else { return nil }
            let ring = window + maxBatchSize - 1
            return 2 * ring < contextSize ? ring : nil
        }
        let rowsPerSlot = rings.map { ring in ring.map { 2 * $0 } ?? contextSize }
        self.windows = windows
        self.rings = rings
        self.rowsPerSlot = rowsPerSlot
        var offsets: [Int] = [], total = 0
        for rows in rowsPerSlot {
            offsets.append(total)
            total += rows * slotCount
        }
        layerOffsets = offsets
        planeRows = total
        let (elements, overflow) = (2 * rowWidth).multipliedReportingOverflow(by: planeRows)
        guard !overflow, elements <= (1 << 40) / type.elementSize else {
            throw ModelError("a KV cache for \(contextSize) positions × \(slotCount) slots is too large")
        }
        byteCount = elements * type.elementSize
        guard let allocation = ZeroedAllocation(byteCount: byteCount) else {
            throw ModelError("cannot allocate \(byteCount) bytes for a KV cache of \(contextSize) positions × \(slotCount) slots")
        }
        self.allocation = allocation
        storage = allocation.start
    }

    deinit { allocation.release() }

    /// Whether a batch of `count` tokens fits the rings (any batch does without one).
    func accepts(batchOf count: Int) -> Bool {
        count <= maxBatchSize || rings.allSatisfy { $0 == nil }
    }

    /// Bytes between consecutive rows of one slot.
    var rowBytes: Int { rowWidth * type.elementSize }

    /// Row 0 of `slot` in `layer`, for keys or values.
    func base(layer: Int, slot: Int, values: Bool) -> UnsafeMutableRawPointer {
        let plane = values ? planeRows : 0
        return storage + (plane + layerOffsets[layer] + slot * rowsPerSlot[layer]) * rowBytes
    }

    /// The rows position `position` is written to in `layer`: one, or two in a ring.
    func rows(layer: Int, position: Int) -> (Int, Int?) {
        guard let ring = rings[layer] else { return (position, nil) }
        return (position % ring, position % ring + ring)
    }

    /// The first position a token at `position` attends to in `layer`.
    func windowStart(layer: Int, position: Int) -> Int {
        windows[layer].map { max(0, position + 1 - $0) } ?? 0
    }

    /// The position row 0 holds for attention over windows that start at `start` or later: 0, or
    /// in a ring the last multiple of its size at or before `start` (the doubled ring's rows then
    /// hold the positions after it in order, through the window's end). Key tiles and decode
    /// chunks stay aligned to row 0 as llama.cpp aligns them to its cache's first cell.
    func basePosition(layer: Int, start: Int) -> Int {
        rings[layer].map { start - start % $0 } ?? 0
    }

    /// The KV view llama.cpp's decode splits across threads is bounded by this many cells.
    func attentionSpan(layer: Int) -> Int {
        rings[layer].map { $0 + 1 } ?? contextSize
    }

    /// How many of the `common` leading positions a slot shares with a new sequence can be kept,
    /// when the slot's last sequence wrote `written` positions: all of them, unless a ring has
    /// since overwritten a position the new tokens' windows still need; then none.
    public func reusablePrefix(common: Int, written: Int) -> Int {
        for layer in 0..<layerCount {
            guard let ring = rings[layer], let window = windows[layer] else { continue }
            if max(0, common - window + 1) + ring < written { return 0 }
        }
        return common
    }
}
