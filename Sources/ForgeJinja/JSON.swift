/// JSON parse failure, with the byte offset where the input stopped making sense.
public struct JSONParseError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public let offset: Int
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
}

extension JinjaValue {
    /// Nesting deeper than this is rejected instead of exhausting the stack.
    public static let maxJSONDepth = 512

    /// Parses JSON as Python's `json.loads` does: key order kept, integers stay integers (floats when they
    /// do not fit 64 bits), `NaN`/`Infinity` accepted, a repeated key keeps its first position and last value.
    public init(parsingJSON text: String) throws {
        var parser = JSONParser(bytes: Array(text.utf8))
        self = try parser.parseDocument()
    }

    public init(parsingJSON bytes: [UInt8]) throws {
        var parser = JSONParser(bytes: bytes)
        self = try parser.parseDocument()
    }

    /// `json.dumps(value, ensure_ascii=False)`, or with `indent` as `json.dumps(..., indent=indent)`.
    public func jsonString(indent: Int? = nil) -> String {
        jsonString(JSONFormat(indent: indent))
    }

    public func jsonString(_ format: JSONFormat) -> String {
        var writer = JSONWriter(format: format)
        writer.write(self, level: 0)
        return writer.output
    }
}

/// The options of Python's `json.dumps` that templates pass to `tojson`.
public struct JSONFormat: Sendable, Equatable {
    public var indent: Int?
    /// Between items and between a key and its value; Python's default depends on `indent`.
    public var itemSeparator: String
    public var keySeparator: String
    public var sortKeys: Bool
    public var ensureASCII: Bool

    public init(indent: Int? = nil, itemSeparator: String? = nil, keySeparator: String = ": ", sortKeys: Bool = false, ensureASCII: Bool = false) {
        self.indent = indent
        self.itemSeparator = itemSeparator ?? (indent == nil ? ", " : ",")
        self.keySeparator = keySeparator
        self.sortKeys = sortKeys
        self.ensureASCII = ensureASCII
    }

    /// No spaces at all: OpenAI's wire format and its `function.arguments` strings.
    public static let compact = JSONFormat(itemSeparator: ",", keySeparator: ":")
}

private struct JSONWriter {
    let format: JSONFormat
    var output = ""

    init(format: JSONFormat) { self.format = format }

    mutating func write(_ value: JinjaValue, level: Int) {
        switch value {
        case .null: output += "null"
        case .bool(let b): output += b ? "true" : "false"
        case .int(let i): output += String(i)
        case .double(let d):
            if d.isNaN {
                output += "NaN"
            } else if d.isInfinite {
                output += d < 0 ? "-Infinity" : "Infinity"
            } else {
                output += pythonFloatRepr(d)
            }
        case .string(let s): writeString(s)
        case .array(let elements):
            guard !elements.isEmpty else { output += "[]"; return }
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += format.itemSeparator }
                writeNewline(level: level + 1)
                write(element, level: level + 1)
            }
            writeNewline(level: level)
            output += "]"
        case .object(let object):
            guard object.count > 0 else { output += "{}"; return }
            output += "{"
            var pairs = object.pairs
            if format.sortKeys { pairs.sort { compareScalars($0.key, $1.key) < 0 } }
            for (index, pair) in pairs.enumerated() {
                if index > 0 { output += format.itemSeparator }
                writeNewline(level: level + 1)
                writeString(pair.key)
                output += format.keySeparator
                write(pair.value, level: level + 1)
            }
            writeNewline(level: level)
            output += "}"
        }
    }

    mutating func writeNewline(level: Int) {
        guard let indent = format.indent else { return }
        output += "\n"
        output += String(repeating: " ", count: max(0, indent) * level)
    }

    /// Python's JSON string escaping: quote, backslash and C0 controls, and everything past ASCII
    /// (as UTF-16 escapes) when `ensure_ascii` is on.
    mutating func writeString(_ string: String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            default:
                if scalar.value < 0x20 || (format.ensureASCII && scalar.value > 0x7E) {
                    for unit in String(scalar).utf16 { output += "\\u" + hex(UInt32(unit), digits: 4) }
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        output += "\""
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    var position = 0
    var depth = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    mutating func parseDocument() throws -> JinjaValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { position = 3 }
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw error("extra data after the value") }
        return value
    }

    func error(_ message: String) -> JSONParseError {
        JSONParseError(message: message, offset: position)
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[position]) { position += 1 }
    }

    mutating func consume(_ literal: String) -> Bool {
        let literalBytes = Array(literal.utf8)
        guard bytes[position...].starts(with: literalBytes) else { return false }
        position += literalBytes.count
        return true
    }

    mutating func parseValue() throws -> JinjaValue {
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of input") }
        switch bytes[position] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        default:
            if consume("null") { return .null }
            if consume("true") { return .bool(true) }
            if consume("false") { return .bool(false) }
            if consume("NaN") { return .double(.nan) }
            if consume("Infinity") { return .double(.infinity) }
            if consume("-Infinity") { return .double(-.infinity) }
            return try parseNumber()
        }
    }

    mutating func enterContainer() throws {
        depth += 1
        guard depth <= JinjaValue.maxJSONDepth else { throw error("nesting deeper than \(JinjaValue.maxJSONDepth)") }
        position += 1
    }

    mutating func parseObject() throws -> JinjaValue {
        try enterContainer()
        defer { depth -= 1 }
        var object = JinjaObject()
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else {
                throw error("expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
            position += 1
            object[key] = try parseValue()
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated object") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "}") {
                position += 1
                return .object(object)
            } else {
                throw error("expected ',' or '}'")
            }
        }
    }

    mutating func parseArray() throws -> JinjaValue {
        try enterContainer()
        defer { depth -= 1 }
        var elements: [JinjaValue] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            elements.append(try parseValue())
            skipWhitespace()
            guard position < bytes.count else { throw error("unterminated array") }
            if bytes[position] == UInt8(ascii: ",") {
                position += 1
            } else if bytes[position] == UInt8(ascii: "]") {
                position += 1
                return .array(elements)
            } else {
                throw error("expected ',' or ']'")
            }
        }
    }

    mutating func parseNumber() throws -> JinjaValue {
        let start = position
        var isFloat = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let integerStart = position
        while position < bytes.count, isDigit(bytes[position]) { position += 1 }
        let integerDigits = position - integerStart
        guard integerDigits > 0 else { position = start; throw error("unexpected character") }
        guard integerDigits == 1 || bytes[integerStart] != UInt8(ascii: "0") else {
            throw error("leading zero in a number")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isFloat = true
            position += 1
            let fractionStart = position
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            guard position > fractionStart else { throw error("expected digits after '.'") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isFloat = true
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            let exponentStart = position
            while position < bytes.count, isDigit(bytes[position]) { position += 1 }
            guard position > exponentStart else { throw error("expected exponent digits") }
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        if !isFloat, let integer = Int(text) { return .int(integer) }
        guard let double = Double(text) else { throw error("number out of range") }
        return .double(double)
    }

    mutating func parseString() throws -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flushRun(_ end: Int) throws {
            guard runStart < end else { return }
            guard let run = String(validating: bytes[runStart..<end], as: UTF8.self) else {
                throw error("invalid UTF-8 in string")
            }
            scalars.append(contentsOf: run.unicodeScalars)
        }
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                try flushRun(position)
                position += 1
                return String(scalars)
            }
            if byte < 0x20 { throw error("control character in string") }
            if byte == UInt8(ascii: "\\") {
                try flushRun(position)
                position += 1
                scalars.append(try parseEscape())
                runStart = position
                continue
            }
            position += 1
        }
        throw error("unterminated string")
    }

    mutating func parseEscape() throws -> Unicode.Scalar {
        guard position < bytes.count else { throw error("unterminated escape") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let high = try parseHex4()
            if (0xD800..<0xDC00).contains(high), bytes[position...].starts(with: Array("\\u".utf8)) {
                let save = position
                position += 2
                let low = try parseHex4()
                if (0xDC00..<0xE000).contains(low) {
                    return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)) ?? "\u{FFFD}"
                }
                position = save
            }
            // A lone surrogate cannot live in a Swift string; U+FFFD stands in for it.
            return Unicode.Scalar(high) ?? "\u{FFFD}"
        default:
            position -= 1
            throw error("invalid escape")
        }
    }

    mutating func parseHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw error("invalid \\u escape") }
        position += 4
        return value
    }

    func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
