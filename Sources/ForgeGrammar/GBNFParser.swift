/// Where something is in GBNF text, 1-based.
struct TextLocation: Sendable, Equatable {
    var line: Int
    var column: Int
}

/// Sorted, disjoint, non-adjacent ranges of Unicode code points.
struct CodePointSet: Hashable, Sendable {
    static let maximum: UInt32 = 0x10FFFF
    private(set) var ranges: [ClosedRange<UInt32>]

    init(_ ranges: [ClosedRange<UInt32>]) {
        var merged: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = merged.last, range.lowerBound <= last.upperBound &+ 1 {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ranges = merged
    }

    static let all = CodePointSet([0...maximum])

    var isEmpty: Bool { ranges.isEmpty }

    func contains(_ codePoint: UInt32) -> Bool { ranges.contains { $0.contains(codePoint) } }

    var complement: CodePointSet {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in ranges {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = range.upperBound &+ 1
            if range.upperBound == CodePointSet.maximum { return CodePointSet(result) }
        }
        result.append(next...CodePointSet.maximum)
        return CodePointSet(result)
    }

    func subtracting(_ other: CodePointSet) -> CodePointSet { intersection(other.complement) }

    func intersection(_ other: CodePointSet) -> CodePointSet {
        var result: [ClosedRange<UInt32>] = []
        for a in ranges {
            for b in other.ranges where a.overlaps(b) {
                result.append(max(a.lowerBound, b.lowerBound)...min(a.upperBound, b.upperBound))
            }
        }
        return CodePointSet(result)
    }
}

/// A GBNF right-hand side, before repetitions and groups become rules of their own.
indirect enum GrammarExpression: Sendable {
    case sequence([GrammarExpression])
    case choice([GrammarExpression])
    /// A string literal as code points (empty: matches nothing at all, the empty string).
    case literal([UInt32])
    case characters(CodePointSet)
    case reference(String, TextLocation)
    /// `maximum` nil: unbounded.
    case repetition(GrammarExpression, minimum: Int, maximum: Int?)
}

struct GrammarRule: Sendable {
    var name: String
    var expression: GrammarExpression
    var location: TextLocation
}

/// Reads llama.cpp's GBNF: `name ::= alternatives` rules, `|`, parentheses, `* + ? {m} {m,}
/// {m,n}`, string literals, character classes (`[a-z]`, `[^...]`), `.`, and `#` comments.
/// A rule may span lines; it ends where the next `name ::=` begins.
struct GBNFParser {
    /// Above this a bounded repetition would compile to an unreasonably large grammar.
    static let maximumRepetition = 10_000

    private let text: [Unicode.Scalar]
    /// Where each line starts in `text`, to turn a position into a line and column.
    private let lineStarts: [Int]
    private var position = 0

    private init(_ source: String) {
        let scalars = Array(source.unicodeScalars)
        text = scalars
        lineStarts = [0] + scalars.indices.filter { scalars[$0] == "\n" }.map { $0 + 1 }
    }

    static func parse(_ source: String) throws -> [GrammarRule] {
        var parser = GBNFParser(source)
        return try parser.parseGrammar()
    }

    private var current: Unicode.Scalar? { position < text.count ? text[position] : nil }

    private func location(at index: Int) -> TextLocation {
        // The last line starting at or before the index (binary search).
        var (low, high) = (0, lineStarts.count - 1)
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= index { low = middle } else { high = middle - 1 }
        }
        return TextLocation(line: low + 1, column: index - lineStarts[low] + 1)
    }

    private func error(_ reason: String, at index: Int? = nil) -> GrammarError {
        let where_ = location(at: index ?? position)
        return .text(reason, line: where_.line, column: where_.column)
    }

    private static func isNameCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_": true
        default: false
        }
    }

    private mutating func skipSpace() {
        while let scalar = current {
            if scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
                position += 1
            } else if scalar == "#" {
                while let next = current, next != "\n" { position += 1 }
            } else {
                return
            }
        }
    }

    private mutating func parseGrammar() throws -> [GrammarRule] {
        var rules: [GrammarRule] = []
        skipSpace()
        while current != nil {
            let start = position
            guard let name = parseName() else { throw error("expected a rule name") }
            skipSpace()
            guard consume("::=") else { throw error("expected '::=' after the rule name '\(name)'") }
            skipSpace()
            let expression = try parseAlternatives(nested: false)
            rules.append(GrammarRule(name: name, expression: expression, location: location(at: start)))
            skipSpace()
        }
        return rules
    }

    private mutating func parseName() -> String? {
        let start = position
        while let scalar = current, GBNFParser.isNameCharacter(scalar) { position += 1 }
        guard position > start else { return nil }
        var name = ""
        name.unicodeScalars.append(contentsOf: text[start..<position])
        return name
    }

    private mutating func consume(_ literal: String) -> Bool {
        let scalars = Array(literal.unicodeScalars)
        guard position + scalars.count <= text.count, Array(text[position..<position + scalars.count]) == scalars else { return false }
        position += scalars.count
        return true
    }

    /// Whether a `name ::=` starts here: the end of the rule before it.
    private func atRuleStart() -> Bool {
        var probe = self
        guard probe.parseName() != nil else { return false }
        probe.skipSpace()
        return probe.consume("::=")
    }

    private mutating func parseAlternatives(nested: Bool) throws -> GrammarExpression {
        var options = [try parseSequence(nested: nested)]
        while current == "|" {
            position += 1
            skipSpace()
            options.append(try parseSequence(nested: nested))
        }
        return options.count == 1 ? options[0] : .choice(options)
    }

    private mutating func parseSequence(nested: Bool) throws -> GrammarExpression {
        var items: [GrammarExpression] = []
        while let scalar = current, scalar != "|", scalar != ")" {
            if !nested && atRuleStart() { break }
            var item = try parsePrimary()
            skipSpace()
            while let postfix = current, postfix == "*" || postfix == "+" || postfix == "?" || postfix == "{" {
                item = try parsePostfix(item)
                skipSpace()
            }
            items.append(item)
        }
        if current == ")" && !nested { throw error("')' without a matching '('") }
        return items.count == 1 ? items[0] : .sequence(items)
    }

    private mutating func parsePrimary() throws -> GrammarExpression {
        let start = position
        switch current {
        case "\""?:
            position += 1
            var codePoints: [UInt32] = []
            while true {
                guard let scalar = current else { throw error("unterminated string literal", at: start) }
                if scalar == "\"" { break }
                codePoints.append(try parseCharacter())
            }
            position += 1
            return .literal(codePoints)
        case "["?:
            return .characters(try parseClass())
        case "."?:
            position += 1
            return .characters(.all)
        case "("?:
            position += 1
            skipSpace()
            let inner = try parseAlternatives(nested: true)
            guard current == ")" else { throw error("expected ')' to close the group opened", at: start) }
            position += 1
            return inner
        default:
            guard let name = parseName() else {
                if let scalar = current { throw error("unexpected character '\(scalar)'") }
                throw error("unexpected end of the grammar")
            }
            return .reference(name, location(at: start))
        }
    }

    private mutating func parseClass() throws -> CodePointSet {
        let start = position
        position += 1
        let negated = current == "^"
        if negated { position += 1 }
        var ranges: [ClosedRange<UInt32>] = []
        while current != "]" {
            guard current != nil else { throw error("unterminated character class", at: start) }
            let low = try parseCharacter()
            if current == "-", position + 1 < text.count, text[position + 1] != "]" {
                position += 1
                let highStart = position
                let high = try parseCharacter()
                guard low <= high else { throw error("the range ends before it starts", at: highStart) }
                ranges.append(low...high)
            } else {
                ranges.append(low...low)
            }
        }
        position += 1
        guard !ranges.isEmpty else { throw error("empty character class", at: start) }
        let set = CodePointSet(ranges)
        return negated ? set.complement : set
    }

    /// One character of a literal or class, with its escape decoded.
    private mutating func parseCharacter() throws -> UInt32 {
        let start = position
        guard let scalar = current else { throw error("unexpected end of the grammar") }
        position += 1
        guard scalar == "\\" else { return scalar.value }
        guard let escaped = current else { throw error("unterminated escape", at: start) }
        position += 1
        switch escaped {
        case "n": return 0x0A
        case "r": return 0x0D
        case "t": return 0x09
        case "0": return 0
        case "\\", "\"", "'", "[", "]", "-", "^", "/", ".": return escaped.value
        case "x": return try parseHex(digits: 2, escapeStart: start)
        case "u": return try parseHex(digits: 4, escapeStart: start)
        case "U": return try parseHex(digits: 8, escapeStart: start)
        default: throw error("unknown escape '\\\(escaped)'", at: start)
        }
    }

    private mutating func parseHex(digits: Int, escapeStart: Int) throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let scalar = current, let digit = UInt32(String(scalar), radix: 16) else {
                throw error("expected \(digits) hexadecimal digits in the escape", at: escapeStart)
            }
            value = value << 4 | digit
            position += 1
        }
        guard value <= CodePointSet.maximum, !(0xD800...0xDFFF).contains(value) else {
            throw error("the escape is not a Unicode scalar value", at: escapeStart)
        }
        return value
    }

    private mutating func parsePostfix(_ item: GrammarExpression) throws -> GrammarExpression {
        let start = position
        guard let scalar = current else { return item }
        position += 1
        switch scalar {
        case "*": return .repetition(item, minimum: 0, maximum: nil)
        case "+": return .repetition(item, minimum: 1, maximum: nil)
        case "?": return .repetition(item, minimum: 0, maximum: 1)
        default:
            skipSpace()
            let minimum = parseInteger() ?? 0
            skipSpace()
            var maximum: Int? = minimum
            if current == "," {
                position += 1
                skipSpace()
                maximum = parseInteger()
                skipSpace()
            }
            guard current == "}" else { throw error("expected '}' to close the repetition", at: start) }
            position += 1
            if let maximum, maximum < minimum { throw error("the repetition's maximum is below its minimum", at: start) }
            guard max(minimum, maximum ?? 0) <= GBNFParser.maximumRepetition else {
                throw error("repetition counts above \(GBNFParser.maximumRepetition) are not supported", at: start)
            }
            return .repetition(item, minimum: minimum, maximum: maximum)
        }
    }

    private mutating func parseInteger() -> Int? {
        let start = position
        var value = 0
        while let scalar = current, ("0"..."9").contains(scalar) {
            value = min(value * 10 + Int(scalar.value - 48), Int(Int32.max))
            position += 1
        }
        return position > start ? value : nil
    }
}
