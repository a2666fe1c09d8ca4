/// Pre-tokenization: splitting text into the words byte-level BPE merges within.
///
/// llama.cpp chooses a list of regular expressions by `tokenizer.ggml.pre` and applies them one
/// after another, each splitting every piece the previous ones produced (matches and the gaps
/// between them both become pieces). Each expression is reproduced here by a hand-written matcher
/// with the semantics llama.cpp actually runs: its custom splitters for the GPT-2 and Llama 3
/// expressions, and ECMAScript `std::regex` semantics (leftmost match, first alternative that
/// succeeds, greedy with backtracking) for the others, such as Qwen2's.
struct PreTokenizer: Sendable {
    enum Rule: Sendable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,G}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// with G = `digitGroup` (3 for Llama 3, 1 for Qwen2).
        case llama3(digitGroup: Int)
        /// `\p{N}`
        case singleNumber
        /// `\p{N}+`
        case numberRun
        /// `[0-9][0-9][0-9]`
        case asciiDigitTriple
        /// `[\p{P}\$\+<=>\^~\|]+`
        case punctuationRun
        /// `[\r\n]`
        case lineBreak
        /// `\s?\p{L}+`
        case optionalSpaceLetters
        /// `\s?\p{P}+`
        case optionalSpacePunctuation
        /// `[一-龥ࠀ-一가-퟿]+`
        case cjkRun
        /// DeepSeek LLM's `\s?[A-Za-zµÀ-ÖØ-öø-ƺ…𞤀-𞥃]+` (the cased-letter ranges, listed below).
        case deepSeekCasedLetters
        /// `\s?[!-/:-~！-／：-～‘-‟　-。]+`
        case deepSeekPunctuation
        /// `\s+$`
        case trailingWhitespace
    }

    let rules: [Rule]

    /// The end offsets (exclusive, in code points) of the words of `cpts`, in order.
    func wordEnds(_ cpts: [UInt32]) -> [Int] {
        var ends = cpts.isEmpty ? [] : [cpts.count]
        var next: [Int] = []
        for rule in rules {
            next.removeAll(keepingCapacity: true)
            next.reserveCapacity(ends.count * 2)
            var start = 0
            cpts.withUnsafeBufferPointer { buffer in
                for end in ends {
                    let segment = Segment(cpts: buffer, start: start, end: end)
                    segment.split(by: rule, into: &next)
                    start = end
                }
            }
            swap(&ends, &next)
        }
        return ends
    }
}

/// One piece of text being split; positions outside it read as "no character" (as llama.cpp's
/// `_get_flags` does), so matchers never look across a boundary an earlier rule made.
private struct Segment {
    let cpts: UnsafeBufferPointer<UInt32>
    let start: Int
    let end: Int

    static let outOfRange: UInt32 = 0xFFFF_FFFF

    @inline(__always) func cpt(_ position: Int) -> UInt32 {
        position >= start && position < end ? cpts[position] : Segment.outOfRange
    }

    @inline(__always) func flags(_ position: Int) -> CodepointFlags {
        position >= start && position < end ? UnicodeSupport.flags(cpts[position]) : []
    }

    func split(by rule: PreTokenizer.Rule, into ends: inout [Int]) {
        switch rule {
        case .gpt2: splitGPT2(into: &ends)
        case .llama3(let digitGroup): splitLlama3(digitGroup: digitGroup, into: &ends)
        case .trailingWhitespace: splitTrailingWhitespace(into: &ends)
        default: splitBySearch(rule, into: &ends)
        }
    }

    // MARK: Expressions that match somewhere inside the piece

    /// `std::regex_iterator` semantics: find the leftmost match, emit the gap before it and the
    /// match, continue after the match; the rest is the final gap.
    private func splitBySearch(_ rule: PreTokenizer.Rule, into ends: inout [Int]) {
        var gapStart = start
        var position = start
        while position < end {
            let length = matchLength(rule, at: position)
            if length > 0 {
                if position > gapStart { ends.append(position) }
                position += length
                ends.append(position)
                gapStart = position
            } else {
                position += 1
            }
        }
        if end > gapStart { ends.append(end) }
    }

    private func matchLength(_ rule: PreTokenizer.Rule, at position: Int) -> Int {
        switch rule {
        case .singleNumber:
            return flags(position).isNumber ? 1 : 0
        case .numberRun:
            return run(from: position) { flags($0).isNumber }
        case .asciiDigitTriple:
            for offset in 0..<3 {
                let c = cpt(position + offset)
                guard c >= 0x30 && c <= 0x39 else { return 0 }
            }
            return 3
        case .punctuationRun:
            return run(from: position) { index in
                let c = cpt(index)
                switch c {
                case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
                default: return flags(index).isPunctuation
                }
            }
        case .lineBreak:
            let c = cpt(position)
            return c == 0x0D || c == 0x0A ? 1 : 0
        case .optionalSpaceLetters:
            return optionalWhitespaceThenRun(at: position) { flags($0).isLetter }
        case .optionalSpacePunctuation:
            return optionalWhitespaceThenRun(at: position) { flags($0).isPunctuation }
        case .cjkRun:
            return run(from: position) { Segment.isCJK(wideRegexCharacter($0)) }
        case .deepSeekCasedLetters:
            return optionalWhitespaceThenRun(at: position) { Segment.isDeepSeekCasedLetter(wideRegexCharacter($0)) }
        case .deepSeekPunctuation:
            return optionalWhitespaceThenRun(at: position) { Segment.isDeepSeekPunctuation(wideRegexCharacter($0)) }
        case .gpt2, .llama3, .trailingWhitespace:
            return 0
        }
    }

    /// Expressions without Unicode classes run in llama.cpp on code points where every non-ASCII
    /// whitespace was replaced by U+000B, so such characters never match a literal range.
    @inline(__always) private func wideRegexCharacter(_ position: Int) -> UInt32 {
        let c = cpt(position)
        return c > 0x7F && c != Segment.outOfRange && UnicodeSupport.isWhitespace(c) ? 0x0B : c
    }

    @inline(__always) private func run(from position: Int, while predicate: (Int) -> Bool) -> Int {
        var index = position
        while index < end && predicate(index) { index += 1 }
        return index - position
    }

    /// `\s?X+`: the optional whitespace is taken when X follows it, else X+ must start here.
    private func optionalWhitespaceThenRun(at position: Int, _ predicate: (Int) -> Bool) -> Int {
        if flags(position).isWhitespace {
            let tail = run(from: position + 1, while: predicate)
            if tail > 0 { return 1 + tail }
        }
        return run(from: position, while: predicate)
    }

    /// `\s+$`: only the whitespace that runs to the end of the piece matches.
    private func splitTrailingWhitespace(into ends: inout [Int]) {
        var trailingStart = end
        while trailingStart > start && flags(trailingStart - 1).isWhitespace { trailingStart -= 1 }
        if trailingStart > start && trailingStart < end { ends.append(trailingStart) }
        if end > start { ends.append(end) }
    }

    // MARK: Expressions that match at every position

    private func isContractionLetter(_ c: UInt32, caseInsensitive: Bool) -> UInt32? {
        guard c != Segment.outOfRange else { return nil }
        if caseInsensitive, c >= 0x41 && c <= 0x5A { return c + 0x20 }
        return c
    }

    /// The length of `'s|'t|'re|'ve|'m|'ll|'d` at `position`, or 0.
    private func contractionLength(at position: Int, caseInsensitive: Bool) -> Int {
        guard cpt(position) == 0x27, position + 1 < end,
              let next = isContractionLetter(cpt(position + 1), caseInsensitive: caseInsensitive) else { return 0 }
        switch next {
        case 0x73, 0x74, 0x6D, 0x64: return 2  // s t m d
        default: break
        }
        guard position + 2 < end, let after = isContractionLetter(cpt(position + 2), caseInsensitive: caseInsensitive) else {
            return 0
        }
        switch (next, after) {
        case (0x72, 0x65), (0x76, 0x65), (0x6C, 0x6C): return 3  // re ve ll
        default: return 0
        }
    }

    /// The whitespace-only alternatives: `\s*[\r\n]+` (when `lineBreaks`), `\s+(?!\S)`, `\s+`, and
    /// a single character when nothing matches.
    private func whitespaceEnd(at position: Int, lineBreaks: Bool) -> Int {
        var count = 0
        var lastLineBreakEnd = 0
        while flags(position + count).isWhitespace {
            let c = cpt(position + count)
            if c == 0x0D || c == 0x0A { lastLineBreakEnd = position + count + 1 }
            count += 1
        }
        if lineBreaks && lastLineBreakEnd > 0 { return lastLineBreakEnd }
        if count > 1 && position + count < end { return position + count - 1 }
        if count > 0 { return position + count }
        return position + 1
    }

    private func splitGPT2(into ends: inout [Int]) {
        var position = start
        while position < end {
            let contraction = contractionLength(at: position, caseInsensitive: false)
            if contraction > 0 {
                position += contraction
                ends.append(position)
                continue
            }
            let c = cpt(position)
            let classified = c == 0x20 ? flags(position + 1) : flags(position)
            let matchesClass: ((CodepointFlags) -> Bool)?
            if classified.isLetter {
                matchesClass = { $0.isLetter }
            } else if classified.isNumber {
                matchesClass = { $0.isNumber }
            } else if classified.isOther {
                matchesClass = { $0.isOther }
            } else {
                matchesClass = nil
            }
            if let matchesClass {
                if c == 0x20 { position += 1 }
                while matchesClass(flags(position)) { position += 1 }
            } else {
                position = whitespaceEnd(at: position, lineBreaks: false)
            }
            ends.append(position)
        }
    }

    private func splitLlama3(digitGroup: Int, into ends: inout [Int]) {
        var position = start
        while position < end {
            let contraction = contractionLength(at: position, caseInsensitive: true)
            if contraction > 0 {
                position += contraction
                ends.append(position)
                continue
            }
            let c = cpt(position)
            let currentFlags = flags(position)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == 0x0D || c == 0x0A || currentFlags.isNumber), currentFlags.isLetter || flags(position + 1).isLetter {
                position += 1
                while flags(position).isLetter { position += 1 }
                ends.append(position)
                continue
            }
            // \p{N}{1,G}
            if currentFlags.isNumber {
                var groupStart = position
                while flags(position).isNumber {
                    position += 1
                    if position - groupStart >= digitGroup {
                        ends.append(position)
                        groupStart = position
                    }
                }
                if position > groupStart { ends.append(position) }
                continue
            }
            // " ?[^\s\p{L}\p{N}]+[\r\n]*"; a lone space at the very end also lands here, as in llama.cpp
            let classified = c == 0x20 ? flags(position + 1) : currentFlags
            if !classified.isWhitespace && !classified.isLetter && !classified.isNumber && !currentFlags.isEmpty {
                if c == 0x20 { position += 1 }
                while flags(position).isOther { position += 1 }
                while cpt(position) == 0x0D || cpt(position) == 0x0A { position += 1 }
                ends.append(position)
                continue
            }
            position = whitespaceEnd(at: position, lineBreaks: true)
            ends.append(position)
        }
    }

    // MARK: Literal character classes of the DeepSeek expressions

    static func isCJK(_ c: UInt32) -> Bool {
        (0x4E00...0x9FA5).contains(c) || (0x0800...0x4E00).contains(c) || (0xAC00...0xD7FF).contains(c)
    }

    static func isDeepSeekPunctuation(_ c: UInt32) -> Bool {
        (0x21...0x2F).contains(c) || (0x3A...0x7E).contains(c) || (0xFF01...0xFF0F).contains(c)
            || (0xFF1A...0xFF5E).contains(c) || (0x2018...0x201F).contains(c) || (0x3000...0x3002).contains(c)
    }

    static func isDeepSeekCasedLetter(_ c: UInt32) -> Bool {
        var low = 0
        var high = deepSeekCasedLetterRanges.count
        while low < high {
            let middle = (low + high) / 2
            let range = deepSeekCasedLetterRanges[middle]
            if c < range.lowerBound {
                high = middle
            } else if c > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }

    /// The ranges of DeepSeek LLM's letter class, in ascending order.
    static let deepSeekCasedLetterRanges: [ClosedRange<UInt32>] = [
        0x41...0x5A, 0x61...0x7A, 0xB5...0xB5, 0xC0...0xD6, 0xD8...0xF6, 0xF8...0x1BA, 0x1BC...0x1BF,
        0x1C4...0x293, 0x295...0x2AF, 0x370...0x373, 0x376...0x377, 0x37B...0x37D, 0x37F...0x37F,
        0x386...0x386, 0x388...0x38A, 0x38C...0x38C, 0x38E...0x3A1, 0x3A3...0x3F5, 0x3F7...0x481,
        0x48A...0x52F, 0x531...0x556, 0x10A0...0x10C5, 0x13A0...0x13F5, 0x13F8...0x13FD, 0x1C90...0x1CBA,
        0x1CBD...0x1CBF, 0x1D00...0x1D2B, 0x1D6B...0x1D77, 0x1D79...0x1D9A, 0x1E00...0x1F15,
        0x1F18...0x1F1D, 0x1F20...0x1F45, 0x1F48...0x1F4D, 0x1F50...0x1F57, 0x1F59...0x1F59,
        0x1F5B...0x1F5B, 0x1F5D...0x1F5D, 0x1F5F...0x1F7D, 0x1F80...0x1FB4, 0x1FB6...0x1FBC,
        0x1FBE...0x1FBE, 0x1FC2...0x1FC4, 0x1FC6...0x1FCC, 0x1FD0...0x1FD3, 0x1FD6...0x1FDB,
        0x1FE0...0x1FEC, 0x1FF2...0x1FF4, 0x1FF6...0x1FFC, 0x2102...0x2102, 0x2107...0x2107,
        0x210A...0x2113, 0x2115...0x2115, 0x2119...0x211D, 0x2124...0x2124, 0x2126...0x2126,
        0x2128...0x2128, 0x212A...0x212D, 0x212F...0x2134, 0x2139...0x2139, 0x213C...0x213F,
        0x2145...0x2149, 0x214E...0x214E, 0x2183...0x2184, 0x2C00...0x2C7B, 0x2C7E...0x2CE4,
        0x2CEB...0x2CEE, 0x2CF2...0x2CF3, 0xA640...0xA66D, 0xA680...0xA69B, 0xA722...0xA76F,
        0xA771...0xA787, 0xA78B...0xA78E, 0xAB70...0xABBF, 0xFB00...0xFB06, 0xFB13...0xFB17,
        0xFF21...0xFF3A, 0xFF41...0xFF5A, 0x10400...0x1044F, 0x104B0...0x104D3, 0x104D8...0x104FB,
        0x10C80...0x10CB2, 0x10CC0...0x10CF2, 0x118A0...0x118DF, 0x1E900...0x1E943,
    ]
}
