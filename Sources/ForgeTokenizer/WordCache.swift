/// The tokens of words already merged during one `encode` call. Text repeats its words, and
/// merging is the expensive part of byte-level BPE, whose result depends only on the word's bytes.
struct WordCache {
    /// Words longer than this are rare and merged every time.
    static let maximumWordLength = 48
    private static let maximumEntries = 1 << 16

    private var slots: [Int32]
    private var mask: Int
    private var hashes: [UInt64] = []
    private var byteRanges: [Range<Int>] = []
    private var tokenRanges: [Range<Int>] = []
    private var bytes: [UInt8] = []
    private(set) var tokens: [Int] = []

    init() {
        slots = [Int32](repeating: -1, count: 1024)
        mask = 1023
    }

    @inline(__always) static func hash(_ word: ArraySlice<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in word { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return hash
    }

    /// Where the cached tokens of `word` are in `tokens`.
    func lookup(_ word: ArraySlice<UInt8>, hash: UInt64) -> Range<Int>? {
        var index = Int(truncatingIfNeeded: hash >> 20) & mask
        while true {
            let entry = Int(slots[index])
            if entry < 0 { return nil }
            if hashes[entry] == hash && bytes[byteRanges[entry]].elementsEqual(word) { return tokenRanges[entry] }
            index = (index + 1) & mask
        }
    }

    mutating func insert(_ word: ArraySlice<UInt8>, hash: UInt64, tokens wordTokens: ArraySlice<Int>) {
        guard hashes.count < WordCache.maximumEntries else { return }
        if (hashes.count + 1) * 2 > slots.count { grow() }
        let entry = hashes.count
        hashes.append(hash)
        byteRanges.append(bytes.count..<(bytes.count + word.count))
        bytes += word
        tokenRanges.append(tokens.count..<(tokens.count + wordTokens.count))
        tokens += wordTokens
        place(entry)
    }

    private mutating func place(_ entry: Int) {
        var index = Int(truncatingIfNeeded: hashes[entry] >> 20) & mask
        while slots[index] >= 0 { index = (index + 1) & mask }
        slots[index] = Int32(entry)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for entry in hashes.indices { place(entry) }
    }
}
