struct Token: Equatable {
    enum Kind: Equatable {
        case text(String)
        case variableBegin, variableEnd, blockBegin, blockEnd
        case name(String)
        case string(String)
        case integer(Int)
        case float(Double)
        case op(String)
        case end
    }

    let kind: Kind
    let line: Int
}

/// Splits a template into text and tag tokens, applying jinja2's whitespace control on the way:
/// `{%-`/`-%}` strip all whitespace on that side, `trim_blocks` drops the first newline after a block or
/// comment tag, `lstrip_blocks` drops spaces and tabs before a block or comment tag that starts its line,
/// and `+` turns the last two off for one tag.
struct Lexer {
    private let source: [Unicode.Scalar]
    private let trimBlocks: Bool
    private let lstripBlocks: Bool
    private var position = 0
    private var line = 1
    private var tokens: [Token] = []

    private enum TagKind { case variable, block, comment }

    init(source: String, trimBlocks: Bool, lstripBlocks: Bool) {
        self.source = Lexer.normalizeNewlines(source)
        self.trimBlocks = trimBlocks
        self.lstripBlocks = lstripBlocks
    }

    /// jinja2 rebuilds the source from `str.splitlines()`, so every line break Python knows becomes `\n`
    /// and one trailing line break disappears (`keep_trailing_newline=False`).
    static func normalizeNewlines(_ source: String) -> [Unicode.Scalar] {
        var result: [Unicode.Scalar] = []
        let scalars = Array(source.unicodeScalars)
        result.reserveCapacity(scalars.count)
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\r":
                result.append("\n")
                if index + 1 < scalars.count, scalars[index + 1] == "\n" { index += 1 }
            case "\n", "\u{0B}", "\u{0C}", "\u{1C}", "\u{1D}", "\u{1E}", "\u{85}", "\u{2028}", "\u{2029}":
                result.append("\n")
            default:
                result.append(scalar)
            }
            index += 1
        }
        if result.last == "\n" { result.removeLast() }
        return result
    }

    mutating func tokenize() throws -> [Token] {
        var lineStarting = true
        while position < source.count {
            guard let (tagStart, kind) = findNextTag(from: position) else {
                emitText(source[position...])
                advanceLines(to: source.count)
                break
            }
            var text = source[position..<tagStart]
            let sign = tagStart + 2 < source.count ? source[tagStart + 2] : " "
            if sign == "-" {
                while let last = text.last, isWhitespace(last) { text.removeLast() }
            } else if sign != "+", lstripBlocks, kind != .variable {
                let lineStart = text.lastIndex(of: "\n").map { $0 + 1 } ?? text.startIndex
                if lineStart > text.startIndex || lineStarting {
                    let tail = text[lineStart...]
                    if !tail.isEmpty, tail.allSatisfy({ isWhitespace($0) }) { text = text[..<lineStart] }
                }
            }
            emitText(text)
            advanceLines(to: tagStart)
            position = tagStart + 2 + (sign == "-" || sign == "+" ? 1 : 0)

            let endConsumedNewline: Bool
            switch kind {
            case .comment:
                endConsumedNewline = try skipComment(startLine: line)
            case .variable:
                tokens.append(Token(kind: .variableBegin, line: line))
                endConsumedNewline = try lexTagBody(kind: .variable)
            case .block:
                if let rawEnd = rawBlockEnd() {
                    advanceLines(to: rawEnd)
                    if source[rawEnd - 3] == "-" {
                        while position < source.count, isWhitespace(source[position]) { advanceLines(to: position + 1) }
                    }
                    endConsumedNewline = try lexRawBody()
                } else {
                    tokens.append(Token(kind: .blockBegin, line: line))
                    endConsumedNewline = try lexTagBody(kind: .block)
                }
            }
            lineStarting = endConsumedNewline
        }
        tokens.append(Token(kind: .end, line: line))
        return tokens
    }

    /// Python's `\s` and `str.strip()` whitespace, which jinja2's whitespace control uses.
    private func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        isPythonWhitespace(scalar)
    }

    private func findNextTag(from start: Int) -> (Int, TagKind)? {
        var index = start
        while index + 1 < source.count {
            if source[index] == "{" {
                switch source[index + 1] {
                case "{": return (index, .variable)
                case "%": return (index, .block)
                case "#": return (index, .comment)
                default: break
                }
            }
            index += 1
        }
        return nil
    }

    private mutating func emitText(_ text: ArraySlice<Unicode.Scalar>) {
        guard !text.isEmpty else { return }
        var string = String.UnicodeScalarView()
        string.append(contentsOf: text)
        tokens.append(Token(kind: .text(String(string)), line: line))
    }

    private mutating func advanceLines(to end: Int) {
        while position < end {
            if source[position] == "\n" { line += 1 }
            position += 1
        }
    }

    private func matches(_ literal: String, at index: Int) -> Bool {
        var cursor = index
        for scalar in literal.unicodeScalars {
            guard cursor < source.count, source[cursor] == scalar else { return false }
            cursor += 1
        }
        return true
    }

    /// After a tag's closing delimiter: `-` eats all following whitespace, otherwise `trim_blocks`
    /// eats one newline after block and comment tags. Returns whether the consumed text ended a line.
    private mutating func finishTag(kind: TagKind, sign: Unicode.Scalar?) -> Bool {
        var consumedNewline = false
        if sign == "-" {
            while position < source.count, isWhitespace(source[position]) {
                consumedNewline = source[position] == "\n"
                if consumedNewline { line += 1 }
                position += 1
            }
        } else if sign != "+", trimBlocks, kind != .variable, position < source.count, source[position] == "\n" {
            line += 1
            position += 1
            consumedNewline = true
        }
        return consumedNewline
    }

    private mutating func skipComment(startLine: Int) throws -> Bool {
        while position + 1 < source.count {
            if source[position] == "#", source[position + 1] == "}" {
                let sign = source[position - 1]
                position += 2
                return finishTag(kind: .comment, sign: sign == "-" || sign == "+" ? sign : nil)
            }
            if source[position] == "\n" { line += 1 }
            position += 1
        }
        throw JinjaError(.syntax, "missing end of comment tag '#}'", line: startLine)
    }

    /// When the block tag just opened is `{% raw %}`, the index just past it.
    private func rawBlockEnd() -> Int? {
        var index = position
        while index < source.count, isWhitespace(source[index]) { index += 1 }
        guard matches("raw", at: index) else { return nil }
        index += 3
        while index < source.count, isWhitespace(source[index]) { index += 1 }
        if matches("-%}", at: index) { return index + 3 }
        if matches("%}", at: index) { return index + 2 }
        return nil
    }

    /// Emits everything up to `{% endraw %}` as text.
    private mutating func lexRawBody() throws -> Bool {
        let startLine = line
        var index = position
        while let (tagStart, kind) = findNextTag(from: index) {
            index = tagStart + 2
            guard kind == .block else { continue }
            var cursor = tagStart + 2
            let sign = cursor < source.count ? source[cursor] : " "
            if sign == "-" || sign == "+" { cursor += 1 }
            while cursor < source.count, isWhitespace(source[cursor]) { cursor += 1 }
            guard matches("endraw", at: cursor) else { continue }
            cursor += 6
            while cursor < source.count, isWhitespace(source[cursor]) { cursor += 1 }
            var endSign: Unicode.Scalar?
            if cursor < source.count, source[cursor] == "-" || source[cursor] == "+" {
                endSign = source[cursor]
                cursor += 1
            }
            guard matches("%}", at: cursor) else { continue }
            var text = source[position..<tagStart]
            if sign == "-" { while let last = text.last, isWhitespace(last) { text.removeLast() } }
            emitText(text)
            advanceLines(to: cursor + 2)
            return finishTag(kind: .block, sign: endSign)
        }
        throw JinjaError(.syntax, "missing '{% endraw %}' for this raw block", line: startLine)
    }

    /// Lexes expression tokens up to the tag's closing delimiter; like jinja2, a delimiter inside open
    /// brackets (`{{ {'a': {'b': 1}} }}`) does not close the tag.
    private mutating func lexTagBody(kind: TagKind) throws -> Bool {
        let startLine = line
        let closer: String = kind == .variable ? "}}" : "%}"
        var openBrackets = 0
        while true {
            while position < source.count, isWhitespace(source[position]) {
                if source[position] == "\n" { line += 1 }
                position += 1
            }
            guard position < source.count else {
                throw JinjaError(.syntax, "missing '\(closer)' to close the tag", line: startLine)
            }
            for sign in ["-", "+", ""] where openBrackets == 0 && matches(sign + closer, at: position) {
                if sign == "+", kind == .variable { continue }
                position += sign.unicodeScalars.count + 2
                tokens.append(Token(kind: kind == .variable ? .variableEnd : .blockEnd, line: line))
                return finishTag(kind: kind, sign: sign.unicodeScalars.first)
            }
            try lexExpressionToken()
            switch tokens.last?.kind {
            case .op("("), .op("["), .op("{"): openBrackets += 1
            case .op(")"), .op("]"), .op("}"): openBrackets = max(0, openBrackets - 1)
            default: break
            }
        }
    }

    private static let operators = [
        "//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}",
        ",", ".", ":", "|", "=", "<", ">", ";",
    ]

    private mutating func lexExpressionToken() throws {
        let scalar = source[position]
        if scalar == "_" || scalar.properties.isAlphabetic {
            let start = position
            while position < source.count,
                source[position] == "_" || source[position].properties.isAlphabetic || source[position].properties.numericType != nil
            {
                position += 1
            }
            tokens.append(Token(kind: .name(string(start..<position)), line: line))
            return
        }
        if ("0"..."9").contains(scalar) {
            try lexNumber()
            return
        }
        if scalar == "'" || scalar == "\"" {
            try lexString(quote: scalar)
            return
        }
        for op in Lexer.operators where matches(op, at: position) {
            position += op.unicodeScalars.count
            tokens.append(Token(kind: .op(op), line: line))
            return
        }
        throw JinjaError(.syntax, "unexpected character '\(Character(scalar))'", line: line)
    }

    private func string(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: source[range])
        return String(view)
    }

    private func isDigit(_ index: Int) -> Bool {
        index < source.count && ("0"..."9").contains(source[index])
    }

    private mutating func skipDigits() {
        while position < source.count, isDigit(position) || (source[position] == "_" && isDigit(position + 1)) {
            position += 1
        }
    }

    /// Integers and floats as jinja2 reads them (`1_000`, `1.5`, `2e3`); `1.` is not a float.
    private mutating func lexNumber() throws {
        let start = position
        skipDigits()
        var isFloat = false
        let afterPreviousDot = start > 0 && source[start - 1] == "."
        if !afterPreviousDot, position < source.count, source[position] == ".", isDigit(position + 1) {
            isFloat = true
            position += 1
            skipDigits()
        }
        if !afterPreviousDot, position < source.count, source[position] == "e" || source[position] == "E" {
            var cursor = position + 1
            if cursor < source.count, source[cursor] == "+" || source[cursor] == "-" { cursor += 1 }
            if isDigit(cursor) {
                isFloat = true
                position = cursor
                skipDigits()
            }
        }
        let text = string(start..<position).replacingOccurrences(of: "_", with: "")
        if isFloat {
            guard let value = Double(text) else { throw JinjaError(.syntax, "invalid number '\(text)'", line: line) }
            tokens.append(Token(kind: .float(value), line: line))
        } else {
            guard let value = Int(text) else { throw JinjaError(.syntax, "integer literal too large: \(text)", line: line) }
            tokens.append(Token(kind: .integer(value), line: line))
        }
    }

    /// String literals decode escapes like Python's `unicode-escape`: unknown escapes keep their backslash.
    private mutating func lexString(quote: Unicode.Scalar) throws {
        let startLine = line
        position += 1
        var result = String.UnicodeScalarView()
        while position < source.count {
            let scalar = source[position]
            if scalar == quote {
                position += 1
                tokens.append(Token(kind: .string(String(result)), line: startLine))
                return
            }
            if scalar == "\n" { line += 1 }
            if scalar == "\\", position + 1 < source.count {
                position += 1
                try appendEscape(to: &result)
                continue
            }
            result.append(scalar)
            position += 1
        }
        throw JinjaError(.syntax, "unterminated string literal", line: startLine)
    }

    private mutating func appendEscape(to result: inout String.UnicodeScalarView) throws {
        let scalar = source[position]
        position += 1
        switch scalar {
        case "n": result.append("\n")
        case "t": result.append("\t")
        case "r": result.append("\r")
        case "\\": result.append("\\")
        case "'": result.append("'")
        case "\"": result.append("\"")
        case "a": result.append("\u{07}")
        case "b": result.append("\u{08}")
        case "f": result.append("\u{0C}")
        case "v": result.append("\u{0B}")
        case "\n": line += 1
        case "0"..."7":
            var value = scalar.value - 48
            var digits = 1
            while digits < 3, position < source.count, ("0"..."7").contains(source[position]) {
                value = value * 8 + source[position].value - 48
                position += 1
                digits += 1
            }
            result.append(Unicode.Scalar(value) ?? "\u{FFFD}")
        case "x", "u", "U":
            let count = scalar == "x" ? 2 : scalar == "u" ? 4 : 8
            guard position + count <= source.count,
                source[position..<position + count].allSatisfy({ $0.properties.isASCIIHexDigit }),
                let value = UInt32(string(position..<position + count), radix: 16),
                let decoded = Unicode.Scalar(value)
            else {
                throw JinjaError(.syntax, "invalid \\\(Character(scalar)) escape in string literal", line: line)
            }
            position += count
            result.append(decoded)
        default:
            result.append("\\")
            result.append(scalar)
        }
    }
}
