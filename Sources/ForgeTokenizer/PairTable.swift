/// An open-addressing hash table from 64-bit keys to 64-bit values, for the merge lookups in the
/// inner loop of BPE (several times faster than `Dictionary`, whose hashing is built to resist
/// attacker-chosen keys, which vocabulary pairs are not).
struct PairTable: Sendable {
    private static let emptyKey = UInt64.max
    private var keys: [UInt64]
    private var values: [UInt64]
    private let mask: Int
    private(set) var count = 0

    // Filled to at most 3/4: at 1/2 the table of a 151,387-merge vocabulary took 8 MB, at 3/4 4 MB.
    init(minimumCapacity: Int) {
        var capacity = 16
        while capacity * 3 < minimumCapacity * 4 { capacity <<= 1 }
        keys = [UInt64](repeating: PairTable.emptyKey, count: capacity)
        values = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// Inserts `value` unless `key` is present already (the first value stays). `key` must not be `UInt64.max`.
    mutating func insertIfAbsent(_ key: UInt64, _ value: UInt64) {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        var index = slot(key)
        while keys[index] != PairTable.emptyKey {
            if keys[index] == key { return }
            index = (index + 1) & mask
        }
        keys[index] = key
        values[index] = value
        count += 1
    }

    @inline(__always) func value(for key: UInt64) -> UInt64? {
        keys.withUnsafeBufferPointer { keys in
            var index = slot(key)
            while true {
                let stored = keys[index]
                if stored == key { return values[index] }
                if stored == PairTable.emptyKey { return nil }
                index = (index + 1) & mask
            }
        }
    }

    private mutating func grow() {
        var larger = PairTable(minimumCapacity: keys.count)
        for (index, key) in keys.enumerated() where key != PairTable.emptyKey {
            larger.insertIfAbsent(key, values[index])
        }
        self = larger
    }
}
