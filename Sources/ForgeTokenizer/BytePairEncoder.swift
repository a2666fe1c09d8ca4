/// Byte-level BPE merging (llama.cpp's `llm_tokenizer_bpe_session`).
///
/// Everything works on raw bytes: a vocabulary string such as "Ġthe" is stored as the bytes it
/// spells (" the"). Every byte string that can take part in a merge gets a small integer "symbol",
/// so merging compares integers, and a merge is looked up by the pair of symbols it joins.
struct BytePairEncoder: Sendable {
    private struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    /// Symbol of every single byte (all 256 are interned, whether or not a token spells them).
    private let byteSymbols: [Int32]
    private let symbolBytes: [[UInt8]]
    /// The vocabulary token a symbol spells, or -1.
    private let tokenOfSymbol: [Int32]
    private let symbolOfBytes: [ArraySlice<UInt8>: Int32]
    private let mergeOfPair: [UInt64: Merge]
    /// Token whose vocabulary text is exactly this one byte (llama.cpp's last-resort lookup).
    private let singleByteTextToken: [Int32]
    private let ignoreMerges: Bool

    init(vocabulary: Vocabulary) {
        var symbolOfBytes: [ArraySlice<UInt8>: Int32] = [:]
        var symbolBytes: [[UInt8]] = []
        var tokenOfSymbol: [Int32] = []
        symbolOfBytes.reserveCapacity(vocabulary.count + vocabulary.merges.count + 256)

        func intern(_ bytes: [UInt8]) -> Int32 {
            if let symbol = symbolOfBytes[bytes[...]] { return symbol }
            let symbol = Int32(symbolBytes.count)
            symbolOfBytes[bytes[...]] = symbol
            symbolBytes.append(bytes)
            tokenOfSymbol.append(-1)
            return symbol
        }

        let byteSymbols = (0..<256).map { intern([UInt8($0)]) }
        for (id, text) in vocabulary.texts.enumerated() {
            guard let bytes = ByteLevelMapping.bytes(ofVocabularyText: text) else { continue }
            tokenOfSymbol[Int(intern(bytes))] = Int32(id)
        }

        var mergeOfPair: [UInt64: Merge] = [:]
        mergeOfPair.reserveCapacity(vocabulary.merges.count)
        for (rank, line) in vocabulary.merges.enumerated() {
            let utf8 = Array(line.utf8)
            // llama.cpp splits at the first space after the first byte.
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20),
                  let left = ByteLevelMapping.bytes(ofVocabularyText: String(decoding: utf8[..<space], as: UTF8.self)),
                  let right = ByteLevelMapping.bytes(ofVocabularyText: String(decoding: utf8[(space + 1)...], as: UTF8.self)),
                  !left.isEmpty, !right.isEmpty
            else { continue }
            let key = BytePairEncoder.pairKey(intern(left), intern(right))
            if mergeOfPair[key] == nil {
                mergeOfPair[key] = Merge(rank: Int32(rank), result: intern(left + right))
            }
        }

        var singleByteTextToken = [Int32](repeating: -1, count: 256)
        for (id, bytes) in vocabulary.textBytes.enumerated() where bytes.count == 1 {
            singleByteTextToken[Int(bytes[0])] = Int32(id)
        }

        self.byteSymbols = byteSymbols
        self.symbolBytes = symbolBytes
        self.tokenOfSymbol = tokenOfSymbol
        self.symbolOfBytes = symbolOfBytes
        self.mergeOfPair = mergeOfPair
        self.singleByteTextToken = singleByteTextToken
        self.ignoreMerges = vocabulary.profile.ignoreMerges
    }

    @inline(__always) private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the tokens of one pre-tokenized word (its raw bytes) to `output`.
    func encode(word: ArraySlice<UInt8>, scratch: inout BytePairScratch, into output: inout [Int]) {
        if ignoreMerges, let symbol = symbolOfBytes[word], tokenOfSymbol[Int(symbol)] >= 0 {
            output.append(Int(tokenOfSymbol[Int(symbol)]))
            return
        }
        if word.count == 1 {
            appendTokens(ofSymbol: byteSymbols[Int(word[word.startIndex])], into: &output)
            return
        }
        scratch.reset(count: word.count)
        for byte in word { scratch.symbols.append(byteSymbols[Int(byte)]) }
        for index in 0..<(word.count - 1) { pushPair(left: index, scratch: &scratch) }

        while let candidate = scratch.queue.popFirst() {
            let left = Int(candidate.left)
            let right = Int(candidate.right)
            // Skip pairs a previous merge has changed.
            guard scratch.symbols[left] == candidate.leftSymbol, scratch.next[left] == candidate.right,
                  scratch.symbols[right] == candidate.rightSymbol
            else { continue }
            scratch.symbols[left] = candidate.result
            scratch.symbols[right] = -1
            let after = scratch.next[right]
            scratch.next[left] = after
            if after >= 0 { scratch.previous[Int(after)] = Int32(left) }
            let before = scratch.previous[left]
            if before >= 0 { pushPair(left: Int(before), scratch: &scratch) }
            if after >= 0 { pushPair(left: left, scratch: &scratch) }
        }

        var index = 0
        while index >= 0 {
            appendTokens(ofSymbol: scratch.symbols[index], into: &output)
            index = Int(scratch.next[index])
        }
    }

    @inline(__always) private func pushPair(left: Int, scratch: inout BytePairScratch) {
        let right = Int(scratch.next[left])
        let leftSymbol = scratch.symbols[left]
        let rightSymbol = scratch.symbols[right]
        guard let merge = mergeOfPair[BytePairEncoder.pairKey(leftSymbol, rightSymbol)] else { return }
        scratch.queue.insert(BytePairCandidate(
            rank: merge.rank, left: Int32(left), right: Int32(right),
            leftSymbol: leftSymbol, rightSymbol: rightSymbol, result: merge.result))
    }

    private func appendTokens(ofSymbol symbol: Int32, into output: inout [Int]) {
        let token = tokenOfSymbol[Int(symbol)]
        if token >= 0 {
            output.append(Int(token))
            return
        }
        // llama.cpp looks up every byte of the symbol's byte-level spelling as a one-byte string,
        // which finds only printable ASCII, and drops what it does not find.
        for byte in symbolBytes[Int(symbol)] {
            var spelled: [UInt8] = []
            UnicodeSupport.appendUTF8(ByteLevelMapping.characterOfByte[Int(byte)], to: &spelled)
            for unit in spelled where singleByteTextToken[Int(unit)] >= 0 {
                output.append(Int(singleByteTextToken[Int(unit)]))
            }
        }
    }
}

struct BytePairCandidate: PriorityOrdered {
    let rank: Int32
    let left: Int32
    let right: Int32
    let leftSymbol: Int32
    let rightSymbol: Int32
    let result: Int32

    /// Lowest rank first; on equal rank, the leftmost pair.
    @inline(__always) func precedes(_ other: BytePairCandidate) -> Bool {
        rank != other.rank ? rank < other.rank : left < other.left
    }
}

/// Working memory for merging one word, reused across words and calls.
struct BytePairScratch {
    var symbols: [Int32] = []
    var previous: [Int32] = []
    var next: [Int32] = []
    var queue = PriorityQueue<BytePairCandidate>()

    mutating func reset(count: Int) {
        symbols.removeAll(keepingCapacity: true)
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        queue.removeAll()
        for index in 0..<count {
            previous.append(Int32(index - 1))
            next.append(index + 1 < count ? Int32(index + 1) : -1)
        }
    }
}
