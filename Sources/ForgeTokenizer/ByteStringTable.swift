/// A set of byte strings, each numbered in insertion order, stored in one buffer with an
/// open-addressing index: building it for a 150,000-token vocabulary and its merges is several
/// times faster than a `Dictionary` keyed by arrays.
struct ByteStringTable: Sendable {
    private var storage: [UInt8] = []
    private var starts: [Int] = [0]
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int

    var count: Int { hashes.count }

    init(minimumCapacity: Int) {
        var capacity = 16
        while capacity < minimumCapacity * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
    }

    @inline(__always) private static func hash<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    @inline(__always) private func slot(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> 24) & mask }

    func bytes(at index: Int) -> ArraySlice<UInt8> { storage[starts[index]..<starts[index + 1]] }

    /// The number of `bytes`, if present.
    func index<Bytes: Collection<UInt8>>(of bytes: Bytes) -> Int? {
        let hash = ByteStringTable.hash(bytes)
        var position = slot(hash)
        while true {
            let entry = Int(slots[position])
            if entry < 0 { return nil }
            if hashes[entry] == hash && storage[starts[entry]..<starts[entry + 1]].elementsEqual(bytes) { return entry }
            position = (position + 1) & mask
        }
    }

    /// The number of `bytes`, adding them if absent.
    mutating func insert<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int {
        if let existing = index(of: bytes) { return existing }
        if (count + 1) * 2 > slots.count { grow() }
        let entry = count
        hashes.append(ByteStringTable.hash(bytes))
        storage.append(contentsOf: bytes)
        starts.append(storage.count)
        place(entry)
        return entry
    }

    private mutating func place(_ entry: Int) {
        var position = slot(hashes[entry])
        while slots[position] >= 0 { position = (position + 1) & mask }
        slots[position] = Int32(entry)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for entry in 0..<count { place(entry) }
    }
}
