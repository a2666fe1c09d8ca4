/// Element type of the KV cache.
public enum KVCacheType: String, Sendable, CaseIterable {
    case f16, f32

    var elementSize: Int { self == .f16 ? 2 : 4 }
}

/// Keys and values of every layer at the model's own KV head count:
/// `2 × n_layer × n_slot × n_ctx × n_head_kv × head_dim` elements, allocated once.
/// Query heads never get a copy: attention reads a group's shared K/V rows in place.
/// Layout, row-major: [K or V][layer][slot][position][kv head][head dim].
public final class KVCache: @unchecked Sendable {
    public let type: KVCacheType
    public let layerCount: Int
    public let slotCount: Int
    public let contextSize: Int
    /// Elements in one position's row: n_head_kv × head_dim.
    public let rowWidth: Int
    public let byteCount: Int
    let storage: UnsafeMutableRawPointer
    private let allocation: ZeroedAllocation

    public init(configuration: ModelConfiguration, contextSize: Int, slotCount: Int = 1, type: KVCacheType = .f16) throws {
        guard contextSize > 0, slotCount > 0 else {
            throw ModelError("context size and slot count must be positive (got \(contextSize), \(slotCount))")
        }
        self.type = type
        self.layerCount = configuration.layerCount
        self.slotCount = slotCount
        self.contextSize = contextSize
        self.rowWidth = configuration.kvWidth
        let (elements, overflow) = (2 * layerCount * slotCount * rowWidth).multipliedReportingOverflow(by: contextSize)
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

    /// Bytes between consecutive positions of one slot.
    var rowBytes: Int { rowWidth * type.elementSize }

    /// Start of position 0 of `slot` in `layer`, for keys or values.
    func base(layer: Int, slot: Int, values: Bool) -> UnsafeMutableRawPointer {
        let planes = (values ? layerCount : 0) + layer
        return storage + ((planes * slotCount + slot) * contextSize) * rowBytes
    }
}
