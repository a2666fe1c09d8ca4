#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeGGUF

/// Text to token ids and back, exactly as llama.cpp (commit 0c1e57098) does it for the vocabulary
/// in a GGUF file: byte-level BPE (`gpt2`) with the pre-tokenizer `tokenizer.ggml.pre` names, or
/// SentencePiece-style BPE (`llama`).
///
/// Immutable after construction; one instance can be used from any number of tasks at once.
public final class Tokenizer: Sendable {
    private let vocabulary: Vocabulary
    private let engine: Engine
    /// What each token contributes to the text when special tokens are shown (llama.cpp's piece cache).
    private let pieces: PackedByteStrings

    private enum Engine: Sendable {
        case bytePair(BytePairEncoder, PreTokenizer)
        case sentencePiece(SentencePieceEncoder)
    }

    public init(gguf: GGUFFile) throws {
        let vocabulary = try Vocabulary(gguf: gguf)
        self.vocabulary = vocabulary
        switch vocabulary.model {
        case .bytePairEncoding:
            engine = .bytePair(BytePairEncoder(vocabulary: vocabulary), PreTokenizer(rules: vocabulary.profile.rules))
        case .sentencePiece:
            engine = .sentencePiece(SentencePieceEncoder(vocabulary: vocabulary))
        }
        pieces = PackedByteStrings(vocabulary.texts.indices.lazy.map { Tokenizer.renderPiece(vocabulary, id: $0) })
    }

    // MARK: Vocabulary facts

    public var vocabularySize: Int { vocabulary.count }
    public var bosTokenID: Int? { vocabulary.bosID.map(Int.init) }
    public var eosTokenID: Int? { vocabulary.eosID.map(Int.init) }
    public var unknownTokenID: Int? { vocabulary.unknownID.map(Int.init) }
    /// From `tokenizer.ggml.add_bos_token`; when absent, llama.cpp's default for the tokenizer type
    /// (true for SentencePiece and the Llama 3 family of pre-tokenizers).
    public var addBOS: Bool { vocabulary.addBOS }
    /// From `tokenizer.ggml.add_eos_token` (false when absent).
    public var addEOS: Bool { vocabulary.addEOS }
    /// EOS and the model's other end tokens (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>`, FIM pad/repo/
    /// separator, …), found by text as llama.cpp does.
    public var endOfGenerationTokenIDs: Set<Int> { vocabulary.endOfGeneration }

    public func isEndOfGeneration(_ id: Int) -> Bool { vocabulary.endOfGeneration.contains(id) }

    /// Whether the token is a control token (including those llama.cpp promotes by their text).
    public func isControl(_ id: Int) -> Bool {
        isValid(id) && vocabulary.attributes[id].contains(.control)
    }

    /// The raw vocabulary string (byte-level BPE spells a space 'Ġ'); empty for ids outside the vocabulary.
    public func tokenPiece(_ id: Int) -> String {
        isValid(id) ? vocabulary.texts[id] : ""
    }

    /// The bytes the token contributes to decoded text, with control tokens rendered as their text;
    /// empty for ids outside the vocabulary and for unused tokens.
    public func tokenBytes(_ id: Int) -> [UInt8] {
        isValid(id) ? Array(pieces[id]) : []
    }

    private func isValid(_ id: Int) -> Bool { id >= 0 && id < vocabulary.count }

    // MARK: Encoding

    /// Token ids of `text`. `addSpecial` adds BOS/EOS as the model asks (`addBOS`, `addEOS`);
    /// `parseSpecial` matches control-token text such as `<|im_start|>` as single tokens (without it
    /// that text is tokenized as plain text; user-defined tokens are matched either way, as in llama.cpp).
    public func encode(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        var text = text
        return text.withUTF8 { encode(bytes: $0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// Token ids of arbitrary bytes. Invalid UTF-8 is handled as llama.cpp does: each byte that does
    /// not start a complete sequence is tokenized as U+FFFD (byte-level BPE), or spelled with byte
    /// tokens (SentencePiece).
    public func encode(_ bytes: [UInt8], addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        bytes.withUnsafeBufferPointer { encode(bytes: $0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    private func encode(bytes: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int] {
        var output: [Int] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial, vocabulary.addBOS, let bos = vocabulary.bosID { output.append(Int(bos)) }
        let fragments = partition(bytes, parseSpecial: parseSpecial)
        switch engine {
        case .bytePair(let encoder, let preTokenizer):
            var codepoints: [UInt32] = []
            var wordBytes: [UInt8] = []
            var scratch = BytePairScratch()
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(Int(id))
                case .text(let range):
                    UnicodeSupport.decodeCodepoints(UnsafeBufferPointer(rebasing: bytes[range]), into: &codepoints)
                    var start = 0
                    for end in preTokenizer.wordEnds(codepoints) {
                        wordBytes.removeAll(keepingCapacity: true)
                        for index in start..<end { UnicodeSupport.appendUTF8(codepoints[index], to: &wordBytes) }
                        encoder.encode(word: wordBytes[...], scratch: &scratch, into: &output)
                        start = end
                    }
                }
            }
        case .sentencePiece(let encoder):
            var previousWasSpecial = true
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(Int(id))
                    previousWasSpecial = true
                case .text(let range):
                    let prefixSpace = vocabulary.addSpacePrefix && previousWasSpecial
                    encoder.encode(SentencePieceEncoder.escapeWhitespace(bytes[range], prefixSpace: prefixSpace), into: &output)
                    previousWasSpecial = false
                }
            }
        }
        if addSpecial, vocabulary.addEOS, let eos = vocabulary.eosID { output.append(Int(eos)) }
        return output
    }

    private enum Fragment {
        case token(Int32)
        case text(Range<Int>)
    }

    /// llama.cpp's `tokenizer_st_partition`: special tokens, longest first, cut every occurrence of
    /// their text out of the remaining text fragments.
    private func partition(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        var next: [Fragment] = []
        for id in vocabulary.specialTokensByLength {
            let attributes = vocabulary.attributes[Int(id)]
            if !parseSpecial && !attributes.isDisjoint(with: [.control, .unknown]) { continue }
            let pattern = vocabulary.textBytes[Int(id)]
            next.removeAll(keepingCapacity: true)
            var changed = false
            for fragment in fragments {
                guard case .text(let range) = fragment else {
                    next.append(fragment)
                    continue
                }
                var cursor = range.lowerBound
                while let match = Tokenizer.find(pattern, in: bytes, from: cursor, to: range.upperBound) {
                    changed = true
                    var leftEnd = match
                    if attributes.contains(.leftStrip) {
                        while leftEnd > cursor && Tokenizer.isASCIISpace(bytes[leftEnd - 1]) { leftEnd -= 1 }
                    }
                    if leftEnd > cursor { next.append(.text(cursor..<leftEnd)) }
                    next.append(.token(id))
                    cursor = match + pattern.count
                    if attributes.contains(.rightStrip) {
                        while cursor < range.upperBound && Tokenizer.isASCIISpace(bytes[cursor]) { cursor += 1 }
                    }
                }
                if cursor < range.upperBound { next.append(.text(cursor..<range.upperBound)) }
            }
            if changed { swap(&fragments, &next) }
        }
        return fragments
    }

    /// C's `isspace` in the "C" locale, which llama.cpp uses to strip around special tokens.
    private static func isASCIISpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }

    private static func find(_ pattern: ArraySlice<UInt8>, in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        guard let base = bytes.baseAddress, !pattern.isEmpty else { return nil }
        let lastStart = end - pattern.count
        var position = start
        return pattern.withUnsafeBufferPointer { needle -> Int? in
            guard let needleBase = needle.baseAddress else { return nil }
            while position <= lastStart {
                guard let hit = memchr(base + position, Int32(needle[0]), lastStart - position + 1) else { return nil }
                let index = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if memcmp(base + index, needleBase, needle.count) == 0 { return index }
                position = index + 1
            }
            return nil
        }
    }

    // MARK: Decoding

    /// The text of `ids` as llama.cpp's `llama_detokenize(…, remove_special: false, unparse_special:
    /// showSpecial)` gives it, including its space clean-up for vocabularies that ask for it. Control
    /// and unknown tokens are shown only with `showSpecial`. Ids outside the vocabulary contribute no
    /// text (use `decodeChecked` to have them rejected). Bytes that are not valid UTF-8 become U+FFFD.
    public func decode(_ ids: [Int], showSpecial: Bool) -> String {
        String(decoding: decodeBytes(ids, showSpecial: showSpecial), as: UTF8.self)
    }

    /// Like `decode`, but an id outside the vocabulary is an error.
    public func decodeChecked(_ ids: [Int], showSpecial: Bool) throws -> String {
        if let bad = ids.first(where: { !isValid($0) }) {
            throw TokenizerError.tokenOutOfRange(id: bad, vocabularySize: vocabulary.count)
        }
        return decode(ids, showSpecial: showSpecial)
    }

    /// The raw bytes of `decode` (before UTF-8 validation).
    public func decodeBytes(_ ids: [Int], showSpecial: Bool) -> [UInt8] {
        var text: [UInt8] = []
        var isFirst = true
        for id in ids {
            appendText(of: id, showSpecial: showSpecial, isFirst: isFirst, to: &text)
            isFirst = false
        }
        if vocabulary.profile.cleanSpaces { Tokenizer.cleanUpSpaces(&text) }
        return text
    }

    /// Appends what one token shows: nothing for hidden control/unknown tokens and invalid ids; the
    /// first token loses one leading space when the vocabulary adds a space prefix when encoding.
    func appendText(of id: Int, showSpecial: Bool, isFirst: Bool, to text: inout [UInt8]) {
        guard isValid(id) else { return }
        if !showSpecial && !vocabulary.attributes[id].isDisjoint(with: [.control, .unknown]) { return }
        let piece = pieces[id]
        if isFirst && vocabulary.addSpacePrefix && piece.first == 0x20 {
            text += piece.dropFirst()
        } else {
            text += piece
        }
    }

    private static func renderPiece(_ vocabulary: Vocabulary, id: Int) -> [UInt8] {
        let attributes = vocabulary.attributes[id]
        let text = vocabulary.texts[id]
        if !attributes.isDisjoint(with: [.unknown, .control, .userDefined]) { return Array(vocabulary.textBytes[id]) }
        switch vocabulary.model {
        case .bytePairEncoding:
            guard attributes.contains(.normal) else { return [] }
            return byteLevelDecode(text)
        case .sentencePiece:
            if attributes.contains(.normal) {
                return Array(text.replacing("\u{2581}", with: " ").utf8)
            }
            if attributes.contains(.byte) { return [byteTokenValue(vocabulary.textBytes[id])] }
            return []
        }
    }

    /// llama.cpp's `llama_decode_text`, including its marker for characters outside the byte mapping.
    private static func byteLevelDecode(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        for scalar in text.unicodeScalars {
            if let byte = ByteLevelMapping.byte(ofCharacter: scalar.value) {
                bytes.append(byte)
            } else {
                var utf8: [UInt8] = []
                UnicodeSupport.appendUTF8(scalar.value, to: &utf8)
                let hex = utf8.map { byte in
                    let digits = Array("0123456789abcdef".utf8)
                    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 15)]], as: UTF8.self)
                }.joined()
                bytes += Array("[UNK_BYTE_0x\(hex)\(text)]".utf8)
            }
        }
        return bytes
    }

    /// The byte a `<0xNN>` token stands for (the two characters after `<0x`, read as `strtol` does).
    private static func byteTokenValue(_ text: ArraySlice<UInt8>) -> UInt8 {
        var value = 0
        for character in text.dropFirst(3).prefix(2) {
            guard let digit = hexDigitValue(character) else { break }
            value = value * 16 + digit
        }
        return UInt8(value)
    }

    private static func hexDigitValue(_ character: UInt8) -> Int? {
        switch character {
        case 0x30...0x39: Int(character - 0x30)
        case 0x41...0x46: Int(character - 0x41 + 10)
        case 0x61...0x66: Int(character - 0x61 + 10)
        default: nil
        }
    }

    /// llama.cpp's `clean_spaces` passes over the detokenized bytes, reproduced in place as written
    /// there (including that a removed space is read as NUL by the next character's check).
    static func cleanUpSpaces(_ text: inout [UInt8]) {
        let space: UInt8 = 0x20
        let apostrophe: UInt8 = 0x27
        // " ?", " !", " .", " ," lose the space.
        let total1 = text.count
        var total = total1 > 0 ? 1 : 0
        var index = 1
        while index < total1 {
            let x = text[index]
            if text[index - 1] == space, x == 0x3F || x == 0x21 || x == 0x2E || x == 0x2C { total -= 1 }
            text[total] = x
            total += 1
            index += 1
        }
        // " ' " becomes "'".
        let total2 = total
        total = total2 > 0 ? 1 : 0
        index = 1
        while index < total2 {
            let x = text[index]
            if x == apostrophe && index + 1 < total2 && text[index - 1] == space && text[index + 1] == space {
                total -= 1
                index += 1
                text[index] = 0
            }
            text[total] = x
            total += 1
            index += 1
        }
        // " 's", " 'm", " 're", " 've" lose the space.
        let total3 = total
        total = total3 > 0 ? 1 : 0
        index = 1
        while index < total3 {
            let x = text[index]
            if text[index - 1] == space && x == apostrophe && index + 1 < total3 {
                let next = text[index + 1]
                if next == 0x73 || next == 0x6D {
                    total -= 1
                } else if index + 2 < total3 {
                    let after = text[index + 2]
                    if (next == 0x72 && after == 0x65) || (next == 0x76 && after == 0x65) { total -= 1 }
                }
            }
            text[total] = x
            total += 1
            index += 1
        }
        text.removeSubrange(total...)
    }
}
