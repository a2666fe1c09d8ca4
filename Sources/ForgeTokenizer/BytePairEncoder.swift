/// Byte-level BPE merging (llama.cpp's `llm_tokenizer_bpe_session`).
///
/// Everything works on raw bytes: a vocabulary string such as "Ġthe" is stored as the bytes it
/// spells (" the"). Every byte string that can take part in a merge gets a small integer "symbol",
/// so merging compares integers, and a merge is looked up by the pair of symbols it joins.
struct BytePairEncoder: Sendable {
    /// The byte strings of all symbols; a symbol is its number here. The 256 single bytes come first,
    /// so a byte's symbol is the byte's value.
    private let symbols: ByteStringTable
    /// The vocabulary token a symbol spells, or -1.
    private let tokenOfSymbol: [Int32]
    /// (left symbol, right symbol) to (rank, result symbol), both packed in 64 bits.
    private let mergeOfPair: PairTable
    /// Token whose vocabulary text is exactly this one byte (llama.cpp's last-resort lookup).
    private let singleByteTextToken: [Int32]
    private let ignoreMerges: Bool

    init(vocabulary: Vocabulary) {
        // Nearly every merge joins two tokens into a third, so the symbols are about the tokens and
        // the 256 bytes; sizing for the merges as well doubled the index (1 MB for SmolLM2).
        var symbols = ByteStringTable(minimumCapacity: vocabulary.count + 256)
        var tokenOfSymbol: [Int32] = []
        func intern<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int32 {
            let symbol = symbols.insert(bytes)
            if symbol == tokenOfSymbol.count { tokenOfSymbol.append(-1) }
            return Int32(symbol)
        }

        for byte in 0..<256 { _ = intern(CollectionOfOne(UInt8(byte))) }
        for (id, text) in vocabulary.texts.enumerated() {
            guard let bytes = ByteLevelMapping.bytes(ofVocabularyText: text) else { continue }
            tokenOfSymbol[Int(intern(bytes))] = Int32(id)
        }

        var mergeOfPair = PairTable(minimumCapacity: vocabulary.merges.count)
        for (rank, line) in vocabulary.merges.enumerated() {
            let utf8 = Array(line.utf8)
            // llama.cpp splits at the first space after the first byte.
            guard utf8.count > 1, let space = utf8[1...].firstIndex(of: 0x20),
                  let left = ByteLevelMapping.bytes(ofVocabularyText: String(decoding: utf8[..<space], as: UTF8.self)),
                  let right = ByteLevelMapping.bytes(ofVocabularyText: String(decoding: utf8[(space + 1)...], as: UTF8.self)),
                  !left.isEmpty, !right.isEmpty
            else { continue }
            let key = BytePairEncoder.pairKey(intern(left), intern(right))
            if mergeOfPair.value(for: key) == nil {
                mergeOfPair.insertIfAbsent(key, BytePairEncoder.pairKey(Int32(rank), intern(left + right)))
            }
        }

        var singleByteTextToken = [Int32](repeating: -1, count: 256)
        for (id, bytes) in vocabulary.textBytes.enumerated() where bytes.count == 1 {
            singleByteTextToken[Int(bytes[bytes.startIndex])] = Int32(id)
        }

        self.symbols = symbols
        self.tokenOfSymbol = tokenOfSymbol
        self.mergeOfPair = mergeOfPair
        self.singleByteTextToken = singleByteTextToken
        self.ignoreMerges = vocabulary.profile.ignoreMerges
    }

    @inline(__always) private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Appends the tokens of one pre-tokenized word (its raw bytes) to `output`.
    func encode(word: ArraySlice<UInt8>, scratch: inout BytePairScratch, into output: inout [Int]) {
        guard word.count > 1 && word.count <= WordCache.maximumWordLength else {
            merge(word: word, scratch: &scratch, into: &output)
            return
        }
        let hash = WordCache.hash(word)
        if let cached = scratch.cache.lookup(word, hash: hash) {
            output += scratch.cache.tokens[cached]
            return
        }
        let start = output.count
        merge(word: word, scratch: &scratch, into: &output)
        scratch.cache.insert(word, hash: hash, tokens: output[start...])
    }

    private func merge(word: ArraySlice<UInt8>, scratch: inout BytePairScratch, into output: inout [Int]) {
        if ignoreMerges, let symbol = symbols.index(of: word), tokenOfSymbol[symbol] >= 0 {
            output.append(Int(tokenOfSymbol[symbol]))
            return
        }
        guard !word.isEmpty else { return }
        if word.count == 1 {
            appendTokens(ofSymbol: Int32(word[word.startIndex]), into: &output)
            return
        }
        scratch.reset(count: word.count)
        for byte in word { scratch.symbols.append(Int32(byte)) }
        for index in 0..<(word.count - 1) { pushPair(left: index, scratch: &scratch) }

        while let candidate = scratch.queue.popFirst() {
            let left = candidate.left
            let leftSymbol = Int32(truncatingIfNeeded: candidate.pair >> 32)
            let rightSymbol = Int32(truncatingIfNeeded: candidate.pair)
            // Skip pairs a previous merge has changed: a symbol changes whenever it merges.
            let right = Int(scratch.next[left])
            guard scratch.symbols[left] == leftSymbol, right >= 0, scratch.symbols[right] == rightSymbol,
                  let merge = mergeOfPair.value(for: candidate.pair)
            else { continue }
            scratch.symbols[left] = Int32(truncatingIfNeeded: merge)
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
        let pair = BytePairEncoder.pairKey(leftSymbol, rightSymbol)
        guard let merge = mergeOfPair.value(for: pair) else { return }
        scratch.queue.insert(BytePairCandidate(order: (merge >> 32) << 32 | UInt64(left), pair: pair))
    }

    private func appendTokens(ofSymbol symbol: Int32, into output: inout [Int]) {
        let token = tokenOfSymbol[Int(symbol)]
        if token >= 0 {
            output.append(Int(token))
            return
        }
        // llama.cpp looks up every byte of the symbol's byte-level spelling as a one-byte string,
        // which finds only printable ASCII, and drops what it does not find.
        for byte in symbols.bytes(at: Int(symbol)) {
            var spelled: [UInt8] = []
            UnicodeSupport.appendUTF8(ByteLevelMapping.characterOfByte[Int(byte)], to: &spelled)
            for unit in spelled where singleByteTextToken[Int(unit)] >= 0 {
                output.append(Int(singleByteTextToken[Int(unit)]))
            }
        }
    }
}

/// A pair that may merge: 16 bytes, so that the queue of a long word stays small in cache.
struct BytePairCandidate: PriorityOrdered {
    /// Rank in the high 32 bits, left position in the low: lowest rank first, leftmost on ties.
    let order: UInt64
    /// The left and right symbols when the pair was queued.
    let pair: UInt64

    var left: Int { Int(order & 0xFFFF_FFFF) }

    @inline(__always) func precedes(_ other: BytePairCandidate) -> Bool { order < other.order }
}

/// Working memory for merging one word, reused across words and calls.
struct BytePairScratch {
    var symbols: [Int32] = []
    var previous: [Int32] = []
    var next: [Int32] = []
    var queue = PriorityQueue<BytePairCandidate>()
    var cache = WordCache()

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
