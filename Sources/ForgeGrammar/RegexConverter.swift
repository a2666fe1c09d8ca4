/// Converts a JSON-schema `pattern` to GBNF for the inside of a JSON string. The subset: literal
/// characters and escapes, classes (`[a-z]`, `[^...]`, `\d \w \s` and their negations), `.`,
/// groups (`(...)`, `(?:...)`, named), alternation, quantifiers `* + ? {m} {m,} {m,n}` (lazy and
/// possessive forms match the same strings), and the anchors `^` and `$` at the ends of the
/// top-level alternatives. A pattern is a search, as JSON Schema says: an unanchored side may
/// have any text. Characters a JSON string must escape are matched in their escaped form.
struct RegexConverter {
    private let pattern: [Unicode.Scalar]
    private var position = 0
    private let path: String
    /// The rule for any character of a JSON string (for the unanchored sides).
    private let anyCharacter: String

    static func convert(_ pattern: String, path: String, anyCharacter: String) throws -> String {
        var converter = RegexConverter(pattern: Array(pattern.unicodeScalars), path: path, anyCharacter: anyCharacter)
        let body = try converter.parseAlternation(topLevel: true)
        if converter.position < converter.pattern.count { throw converter.error("')' without a matching '('") }
        return body
    }

    private init(pattern: [Unicode.Scalar], path: String, anyCharacter: String) {
        self.pattern = pattern
        self.path = path
        self.anyCharacter = anyCharacter
    }

    private var current: Unicode.Scalar? { position < pattern.count ? pattern[position] : nil }

    private func error(_ reason: String, at offset: Int? = nil) -> GrammarError {
        GrammarError.schema(reason, path: path, patternOffset: offset ?? position)
    }

    private mutating func parseAlternation(topLevel: Bool) throws -> String {
        var options: [String] = []
        while true {
            var anchoredStart = false
            var anchoredEnd = false
            if topLevel && current == "^" {
                anchoredStart = true
                position += 1
            }
            var items: [String] = []
            while let scalar = current, scalar != "|", scalar != ")" {
                if scalar == "$" {
                    let next = position + 1 < pattern.count ? pattern[position + 1] : nil
                    guard topLevel, next == nil || next == "|" else { throw error("'$' is supported only at the end of the pattern") }
                    anchoredEnd = true
                    position += 1
                    break
                }
                if scalar == "^" { throw error("'^' is supported only at the start of the pattern") }
                items.append(try parseQuantifiers(try parseAtom()))
            }
            if topLevel {
                if !anchoredStart { items.insert(anyCharacter + "*", at: 0) }
                if !anchoredEnd { items.append(anyCharacter + "*") }
            }
            options.append(items.isEmpty ? #""""# : items.joined(separator: " "))
            guard current == "|" else { break }
            position += 1
        }
        return options.count == 1 ? options[0] : "(" + options.joined(separator: " | ") + ")"
    }

    private mutating func parseAtom() throws -> String {
        let start = position
        guard let scalar = current else { throw error("unexpected end of the pattern") }
        position += 1
        switch scalar {
        case "(":
            if current == "?" {
                position += 1
                switch current {
                case ":"?:
                    position += 1
                case "P"?, "<"?:
                    if current == "P" { position += 1 }
                    guard current == "<", position + 1 < pattern.count, pattern[position + 1] != "=", pattern[position + 1] != "!" else {
                        throw error("lookaround is not supported", at: start)
                    }
                    while let name = current, name != ">" { position += 1 }
                    guard current == ">" else { throw error("unterminated group name", at: start) }
                    position += 1
                default:
                    throw error("lookaround and inline flags are not supported", at: start)
                }
            }
            let inner = try parseAlternation(topLevel: false)
            guard current == ")" else { throw error("unterminated group", at: start) }
            position += 1
            return "(" + inner + ")"
        case "[":
            return try jsonCharacters(try parseClass(start: start), at: start)
        case ".":
            return try jsonCharacters(CodePointSet.all.subtracting(CodePointSet([0x0A...0x0A])), at: start)
        case "\\":
            return try jsonCharacters(try parseEscape(start: start, inClass: false), at: start)
        case "*", "+", "?":
            throw error("'\(scalar)' has nothing to repeat", at: start)
        default:
            return try jsonCharacters(CodePointSet([scalar.value...scalar.value]), at: start)
        }
    }

    private mutating func parseQuantifiers(_ atom: String) throws -> String {
        var result = atom
        while let scalar = current {
            let start = position
            var minimum = 0
            var maximum: Int?
            switch scalar {
            case "*":
                position += 1
            case "+":
                position += 1
                minimum = 1
            case "?":
                position += 1
                maximum = 1
            case "{":
                guard let (low, high) = parseBraces() else { return result }
                (minimum, maximum) = (low, high)
                if let high, high < minimum { throw error("the repetition's maximum is below its minimum", at: start) }
                guard max(minimum, maximum ?? 0) <= GBNFParser.maximumRepetition else {
                    throw error("repetition counts above \(GBNFParser.maximumRepetition) are not supported", at: start)
                }
            default:
                return result
            }
            // Lazy and possessive quantifiers accept the same strings.
            if current == "?" || current == "+" { position += 1 }
            result = "(" + JSONSchemaConverter.repeated(result, minimum: minimum, maximum: maximum) + ")"
        }
        return result
    }

    /// `{m}`, `{m,}` or `{m,n}`; nil (and nothing consumed) when the brace is a literal.
    private mutating func parseBraces() -> (Int, Int?)? {
        var probe = position + 1
        func number() -> Int? {
            let from = probe
            var value = 0
            while probe < pattern.count, ("0"..."9").contains(pattern[probe]) {
                value = min(value * 10 + Int(pattern[probe].value - 48), Int(Int32.max))
                probe += 1
            }
            return probe > from ? value : nil
        }
        guard let minimum = number() else { return nil }
        var maximum: Int? = minimum
        if probe < pattern.count, pattern[probe] == "," {
            probe += 1
            maximum = number()
        }
        guard probe < pattern.count, pattern[probe] == "}" else { return nil }
        position = probe + 1
        return (minimum, maximum)
    }

    private mutating func parseClass(start: Int) throws -> CodePointSet {
        let negated = current == "^"
        if negated { position += 1 }
        var set: [ClosedRange<UInt32>] = []
        var first = true
        while true {
            guard let scalar = current else { throw error("unterminated character class", at: start) }
            if scalar == "]" && !first { break }
            first = false
            let itemStart = position
            position += 1
            let item = scalar == "\\" ? try parseEscape(start: itemStart, inClass: true) : CodePointSet([scalar.value...scalar.value])
            // A range needs single characters on both sides; `-` elsewhere is literal.
            if item.ranges.count == 1, item.ranges[0].count == 1, current == "-", position + 1 < pattern.count, pattern[position + 1] != "]" {
                position += 1
                let highStart = position
                guard let highScalar = current else { throw error("unterminated character class", at: start) }
                position += 1
                let high = highScalar == "\\" ? try parseEscape(start: highStart, inClass: true) : CodePointSet([highScalar.value...highScalar.value])
                guard high.ranges.count == 1, high.ranges[0].count == 1, item.ranges[0].lowerBound <= high.ranges[0].lowerBound else {
                    throw error("invalid range in the character class", at: itemStart)
                }
                set.append(item.ranges[0].lowerBound...high.ranges[0].lowerBound)
            } else {
                set += item.ranges
            }
        }
        position += 1
        let result = CodePointSet(set)
        return negated ? result.complement : result
    }

    private static let digits = CodePointSet([0x30...0x39])
    private static let wordCharacters = CodePointSet([0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A])
    private static let spaces = CodePointSet([0x09...0x0D, 0x20...0x20])

    /// The characters of the escape starting at `start` (its backslash already consumed).
    private mutating func parseEscape(start: Int, inClass: Bool) throws -> CodePointSet {
        guard let scalar = current else { throw error("the pattern ends with a lone backslash", at: start) }
        position += 1
        func single(_ value: UInt32) -> CodePointSet { CodePointSet([value...value]) }
        switch scalar {
        case "d": return RegexConverter.digits
        case "D": return RegexConverter.digits.complement
        case "w": return RegexConverter.wordCharacters
        case "W": return RegexConverter.wordCharacters.complement
        case "s": return RegexConverter.spaces
        case "S": return RegexConverter.spaces.complement
        case "n": return single(0x0A)
        case "r": return single(0x0D)
        case "t": return single(0x09)
        case "f": return single(0x0C)
        case "v": return single(0x0B)
        case "0": return single(0)
        case "b" where inClass: return single(0x08)
        case "x", "u":
            let count = scalar == "x" ? 2 : 4
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = current.flatMap({ UInt32(String($0), radix: 16) }) else {
                    throw error("expected \(count) hexadecimal digits after '\\\(scalar)'", at: start)
                }
                value = value << 4 | digit
                position += 1
            }
            return single(value)
        case "1"..."9":
            throw error("backreferences are not supported", at: start)
        case "b", "B", "A", "z", "Z", "G":
            throw error("'\\\(scalar)' (an assertion) is not supported", at: start)
        case "p", "P":
            throw error("Unicode property classes are not supported", at: start)
        case _ where ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar):
            throw error("unknown escape '\\\(scalar)'", at: start)
        default:
            return single(scalar.value)
        }
    }

    /// GBNF for one character of `set` as it appears inside a JSON string: the characters JSON
    /// escapes in their escaped form, control characters other than those left out.
    private func jsonCharacters(_ set: CodePointSet, at offset: Int) throws -> String {
        let mustEscape = CodePointSet([0x00...0x1F, 0x22...0x22, 0x5C...0x5C, 0x7F...0x7F])
        let raw = set.subtracting(mustEscape).subtracting(UTF8Ranges.surrogates)
        var parts = raw.isEmpty ? [] : [JSONSchemaConverter.characterClass(raw)]
        let escapes: [(UInt32, String)] = [
            (0x22, #"\""#), (0x5C, #"\\"#), (0x0A, #"\n"#), (0x0D, #"\r"#), (0x09, #"\t"#), (0x08, #"\b"#), (0x0C, #"\f"#),
        ]
        for (character, escaped) in escapes where set.contains(character) {
            parts.append(JSONSchemaConverter.literal(escaped))
        }
        guard !parts.isEmpty else { throw error("this matches no character a JSON string can hold", at: offset) }
        return parts.count == 1 ? parts[0] : "(" + parts.joined(separator: " | ") + ")"
    }
}
