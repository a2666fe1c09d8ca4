/// A set of bytes, one bit each.
struct ByteSet: Hashable, Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init() {}

    init(_ range: ClosedRange<UInt8>) {
        insert(range)
    }

    var isEmpty: Bool { words.0 | words.1 | words.2 | words.3 == 0 }

    func contains(_ byte: UInt8) -> Bool {
        let bit = UInt64(1) << UInt64(byte & 63)
        switch byte >> 6 {
        case 0: return words.0 & bit != 0
        case 1: return words.1 & bit != 0
        case 2: return words.2 & bit != 0
        default: return words.3 & bit != 0
        }
    }

    mutating func insert(_ range: ClosedRange<UInt8>) {
        for byte in range {
            let bit = UInt64(1) << UInt64(byte & 63)
            switch byte >> 6 {
            case 0: words.0 |= bit
            case 1: words.1 |= bit
            case 2: words.2 |= bit
            default: words.3 |= bit
            }
        }
    }

    static func == (a: ByteSet, b: ByteSet) -> Bool { a.words == b.words }

    func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }
}

/// A grammar flattened for matching, in llama.cpp's layout: each alternative of each rule is a run
/// of elements ending in `.end`. Terminals match one byte each, so a character outside ASCII is a
/// short sequence of byte sets and a token may stop in the middle of one.
struct GrammarProgram: Sendable {
    enum Element: Equatable, Sendable {
        case end
        /// A byte from `byteSets[index]`.
        case bytes(Int32)
        case rule(Int32)
    }

    /// A position inside a counted repetition: which one, how many copies remain, and where in
    /// the copy's alternative.
    struct RepetitionSlot: Sendable {
        var repetition: Int
        var level: Int
        var offset: Int32
    }

    /// Counted repetitions longer than this become chains whose levels can stand in for each
    /// other (the shortest lookahead a token mask is shared at, see `TokenVocabulary`).
    static let shortestLookahead = 15

    let elements: [Element]
    let byteSets: [ByteSet]
    /// Per rule, where each of its alternatives starts in `elements`.
    let alternativeStarts: [[Int32]]
    let root: Int32
    /// Per counted repetition (`x{m,n}` as a chain of rules, one per number of copies left), the
    /// start of the copy's alternative at each level (index 0: one copy left).
    let repetitions: [[Int32]]
    /// The positions of copies at levels of two and more.
    let repetitionSlots: [Int32: RepetitionSlot]

    /// The same place with at most `lookahead + 1` copies left: each copy takes a byte at least,
    /// so both places accept the same strings of up to `lookahead` bytes.
    func lookaheadEquivalent(_ position: Int32, lookahead: Int) -> Int32 {
        guard let slot = repetitionSlots[position], slot.level > lookahead + 1 else { return position }
        return repetitions[slot.repetition][lookahead] + slot.offset
    }
}

/// The byte sequences whose UTF-8 encodings are exactly a range of code points, as runs of byte
/// ranges (after the splitting regular-expression engines use for UTF-8 automata).
enum UTF8Ranges {
    static let surrogates = CodePointSet([0xD800...0xDFFF])

    /// `range` must hold no surrogate.
    static func sequences(_ range: ClosedRange<UInt32>) -> [[ClosedRange<UInt8>]] {
        var result: [[ClosedRange<UInt8>]] = []
        var pending = [range]
        while let piece = pending.popLast() {
            let (low, high) = (piece.lowerBound, piece.upperBound)
            // Pieces of one encoded length only.
            if let boundary = [UInt32(0x7F), 0x7FF, 0xFFFF].first(where: { low <= $0 && $0 < high }) {
                pending.append((boundary + 1)...high)
                pending.append(low...boundary)
                continue
            }
            let length = encode(low).count
            var split = false
            // Where the tails below a byte are neither all-zero at the start nor all-ones at the
            // end, the piece is not one run of byte ranges: cut it there.
            for trailing in 1..<max(length, 1) {
                let mask: UInt32 = (1 << (6 * UInt32(trailing))) - 1
                guard low & ~mask != high & ~mask else { continue }
                if low & mask != 0 {
                    pending.append(((low | mask) + 1)...high)
                    pending.append(low...(low | mask))
                    split = true
                    break
                }
                if high & mask != mask {
                    pending.append((high & ~mask)...high)
                    pending.append(low...((high & ~mask) - 1))
                    split = true
                    break
                }
            }
            if split { continue }
            result.append(zip(encode(low), encode(high)).map { $0...$1 })
        }
        return result
    }

    static func encode(_ codePoint: UInt32) -> [UInt8] {
        switch codePoint {
        case 0..<0x80:
            return [UInt8(codePoint)]
        case 0x80..<0x800:
            return [UInt8(0xC0 | codePoint >> 6), UInt8(0x80 | codePoint & 0x3F)]
        case 0x800..<0x10000:
            return [UInt8(0xE0 | codePoint >> 12), UInt8(0x80 | codePoint >> 6 & 0x3F), UInt8(0x80 | codePoint & 0x3F)]
        default:
            return [UInt8(0xF0 | codePoint >> 18), UInt8(0x80 | codePoint >> 12 & 0x3F), UInt8(0x80 | codePoint >> 6 & 0x3F),
                    UInt8(0x80 | codePoint & 0x3F)]
        }
    }
}
