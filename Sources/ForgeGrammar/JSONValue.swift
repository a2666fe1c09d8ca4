/// A parsed JSON document that keeps the order of object members (a schema's property order is
/// the order the grammar asks for them) and numbers as written.
enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// The number's text as it appears in the document.
    case number(String)
    case string(String)
    case array([JSONValue])
    case object([Member])

    struct Member: Equatable, Sendable {
        var key: String
        var value: JSONValue
    }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    func has(_ key: String) -> Bool { self[key] != nil }

    var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Compact JSON text, the form a `const` or `enum` value must be written in.
    var serialized: String {
        switch self {
        case .null: "null"
        case .bool(let value): value ? "true" : "false"
        case .number(let text): text
        case .string(let text): JSONValue.quoted(text)
        case .array(let items): "[" + items.map(\.serialized).joined(separator: ",") + "]"
        case .object(let members): "{" + members.map { JSONValue.quoted($0.key) + ":" + $0.value.serialized }.joined(separator: ",") + "}"
        }
    }

    static func quoted(_ text: String) -> String {
        doubleQuoted(text) { value in
            let hex = String(value, radix: 16)
            return switch value {
            case 0x08: "\\b"
            case 0x0C: "\\f"
            default: "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
    }

    /// The number as an integer when it is one (`3`, `3.0`, `3e2`), else nil.
    var integerValue: Int64? {
        guard case .number(let text) = self else { return nil }
        if let value = Int64(text) { return value }
        guard let value = Double(text), value == value.rounded(), abs(value) < 9.2e18 else { return nil }
        return Int64(value)
    }

    var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes.
struct JSONParser {
    private let bytes: [UInt8]
    private var position = 0
    private static let maximumDepth = 512

    static func parse(_ text: String) throws -> JSONValue {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipSpace()
        let value = try parser.parseValue(depth: 0)
        parser.skipSpace()
        guard parser.position == parser.bytes.count else { throw parser.error("unexpected text after the JSON value") }
        return value
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private func error(_ reason: String) -> GrammarError {
        var line = 1
        var column = 1
        for byte in bytes[..<min(position, bytes.count)] {
            if byte == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
        }
        return GrammarError.schema("invalid JSON at line \(line), column \(column): \(reason)", path: "#")
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func expect(_ literal: String) throws {
        for byte in literal.utf8 {
            guard current == byte else { throw error("expected '\(literal)'") }
            position += 1
        }
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard depth < JSONParser.maximumDepth else { throw error("nested too deeply") }
        switch current {
        case UInt8(ascii: "{")?:
            position += 1
            var members: [JSONValue.Member] = []
            skipSpace()
            if current == UInt8(ascii: "}") {
                position += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw error("expected a member name in quotes") }
                let key = try parseString()
                skipSpace()
                try expect(":")
                skipSpace()
                members.append(JSONValue.Member(key: key, value: try parseValue(depth: depth + 1)))
                skipSpace()
                if current == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect("}")
                return .object(members)
            }
        case UInt8(ascii: "[")?:
            position += 1
            var items: [JSONValue] = []
            skipSpace()
            if current == UInt8(ascii: "]") {
                position += 1
                return .array(items)
            }
            while true {
                skipSpace()
                items.append(try parseValue(depth: depth + 1))
                skipSpace()
                if current == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                try expect("]")
                return .array(items)
            }
        case UInt8(ascii: "\"")?:
            return .string(try parseString())
        case UInt8(ascii: "t")?:
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f")?:
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n")?:
            try expect("null")
            return .null
        case let byte? where byte == UInt8(ascii: "-") || (0x30...0x39).contains(byte):
            return try parseNumber()
        case nil:
            throw error("unexpected end of the text")
        default:
            throw error("unexpected character")
        }
    }

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        func digits() -> Int {
            let from = position
            while let byte = current, (0x30...0x39).contains(byte) { position += 1 }
            return position - from
        }
        if current == UInt8(ascii: "-") { position += 1 }
        if current == UInt8(ascii: "0") {
            position += 1
        } else {
            guard digits() > 0 else { throw error("expected a digit") }
        }
        if current == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw error("expected a digit after the decimal point") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("expected a digit in the exponent") }
        }
        return .number(String(decoding: bytes[start..<position], as: UTF8.self))
    }

    private mutating func parseString() throws -> String {
        position += 1
        var scalars = String.UnicodeScalarView()
        var runStart = position
        func flushRun() {
            scalars.append(contentsOf: String(decoding: bytes[runStart..<position], as: UTF8.self).unicodeScalars)
        }
        while true {
            guard let byte = current else { throw error("unterminated string") }
            if byte == UInt8(ascii: "\"") {
                flushRun()
                position += 1
                return String(scalars)
            }
            guard byte >= 0x20 else { throw error("control character in a string") }
            guard byte == UInt8(ascii: "\\") else {
                position += 1
                continue
            }
            flushRun()
            position += 1
            guard let escaped = current else { throw error("unterminated escape") }
            position += 1
            switch escaped {
            case UInt8(ascii: "\""): scalars.append("\"")
            case UInt8(ascii: "\\"): scalars.append("\\")
            case UInt8(ascii: "/"): scalars.append("/")
            case UInt8(ascii: "b"): scalars.append("\u{08}")
            case UInt8(ascii: "f"): scalars.append("\u{0C}")
            case UInt8(ascii: "n"): scalars.append("\n")
            case UInt8(ascii: "r"): scalars.append("\r")
            case UInt8(ascii: "t"): scalars.append("\t")
            case UInt8(ascii: "u"):
                var value = try parseHex4()
                if (0xD800...0xDBFF).contains(value), current == UInt8(ascii: "\\"), position + 1 < bytes.count,
                   bytes[position + 1] == UInt8(ascii: "u") {
                    position += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid surrogate pair") }
                    value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(value) else { throw error("invalid \\u escape") }
                scalars.append(scalar)
            default:
                throw error("invalid escape")
            }
            runStart = position
        }
    }

    private mutating func parseHex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = UInt32(String(UnicodeScalar(byte)), radix: 16) else {
                throw error("expected four hexadecimal digits")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }
}

/// `text` in double quotes, with quote, backslash, newline, return and tab escaped as JSON and GBNF
/// both write them; the other control characters (and whatever else `isControl` admits) are spelled by
/// `escape`, since the two languages differ there.
func doubleQuoted(_ text: String, isControl: (UInt32) -> Bool = { $0 < 0x20 }, escape: (UInt32) -> String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        case "\t": result += "\\t"
        case _ where isControl(scalar.value): result += escape(scalar.value)
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}
