/// SentencePiece-style BPE of `llama` vocabularies (llama.cpp's `llm_tokenizer_spm_session`): start
/// from UTF-8 characters, repeatedly join the adjacent pair whose joined text is the vocabulary
/// token with the highest score (leftmost on ties), and spell what is left over with `<0xNN>`
/// byte tokens.
struct SentencePieceEncoder: Sendable {
    private let texts: ByteStringTable
    /// The token of each text in `texts` (the last of duplicates, as in llama.cpp).
    private let tokenOfText: [Int32]
    private let scores: [Float]
    private let byteTokens: [Int32]
    private let unknownID: Int32?

    init(vocabulary: Vocabulary) {
        var texts = ByteStringTable(minimumCapacity: vocabulary.count)
        var tokenOfText: [Int32] = []
        for (id, bytes) in vocabulary.textBytes.enumerated() {
            let index = texts.insert(bytes)
            if index == tokenOfText.count { tokenOfText.append(Int32(id)) } else { tokenOfText[index] = Int32(id) }
        }
        let hexDigits = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { byte in
            let spelled: [UInt8] = [0x3C, 0x30, 0x78, hexDigits[byte >> 4], hexDigits[byte & 15], 0x3E]  // <0xNN>
            let index = texts.index(of: spelled) ?? texts.index(of: CollectionOfOne(UInt8(byte)))
            return index.map { tokenOfText[$0] } ?? -1
        }
        self.texts = texts
        self.tokenOfText = tokenOfText
        scores = vocabulary.scores
        unknownID = vocabulary.unknownID
    }

    private func token<Bytes: Collection<UInt8>>(of bytes: Bytes) -> Int32? {
        texts.index(of: bytes).map { tokenOfText[$0] }
    }

    /// Spaces become U+2581 ("▁") before merging, as SentencePiece writes them in its vocabulary.
    static func escapeWhitespace<Bytes: Sequence<UInt8>>(_ text: Bytes, prefixSpace: Bool) -> [UInt8] {
        var escaped: [UInt8] = []
        escaped.reserveCapacity(text.underestimatedCount + 3)
        if prefixSpace { escaped += [0xE2, 0x96, 0x81] }
        for byte in text {
            if byte == 0x20 { escaped += [0xE2, 0x96, 0x81] } else { escaped.append(byte) }
        }
        return escaped
    }

    private struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
    }

    private struct Candidate: PriorityOrdered {
        let left: Int
        let right: Int
        let score: Float
        let size: Int

        /// Highest score first; on equal score, the leftmost pair.
        func precedes(_ other: Candidate) -> Bool {
            score != other.score ? score > other.score : left < other.left
        }
    }

    func encode(_ text: [UInt8], into output: inout [Int]) {
        guard !text.isEmpty else { return }
        var symbols: [Symbol] = []
        var offset = 0
        while offset < text.count {
            let length = min(UnicodeSupport.sequenceLength(leadByte: text[offset]), text.count - offset)
            symbols.append(Symbol(start: offset, length: length, previous: symbols.count - 1, next: -1))
            offset += length
            if offset < text.count { symbols[symbols.count - 1].next = symbols.count }
        }

        var queue = PriorityQueue<Candidate>()
        func tryPair(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let start = symbols[left].start
            let size = symbols[left].length + symbols[right].length
            guard let token = token(of: text[start..<(start + size)]) else { return }
            queue.insert(Candidate(left: left, right: right, score: scores[Int(token)], size: size))
        }
        for index in 1..<symbols.count { tryPair(index - 1, index) }

        while let candidate = queue.popFirst() {
            let left = candidate.left
            let right = candidate.right
            guard symbols[left].length > 0, symbols[right].length > 0,
                  symbols[left].length + symbols[right].length == candidate.size
            else { continue }
            symbols[left].length += symbols[right].length
            symbols[right].length = 0
            symbols[left].next = symbols[right].next
            if symbols[right].next >= 0 { symbols[symbols[right].next].previous = left }
            tryPair(symbols[left].previous, left)
            tryPair(left, symbols[left].next)
        }

        var index = 0
        while index >= 0 {
            let symbol = symbols[index]
            let piece = text[symbol.start..<(symbol.start + symbol.length)]
            if let token = token(of: piece) {
                output.append(Int(token))
            } else {
                // llama.cpp throws when a byte has no token at all; Forge uses the unknown token.
                for byte in piece {
                    let token = byteTokens[Int(byte)]
                    if token >= 0 {
                        output.append(Int(token))
                    } else if let unknownID {
                        output.append(Int(unknownID))
                    }
                }
            }
            index = symbol.next
        }
    }
}
