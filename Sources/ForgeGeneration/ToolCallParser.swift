import ForgeJinja

/// A tool call found in a reply.
public struct ToolCall: Sendable, Equatable {
    public var name: String
    /// The arguments object as compact JSON text (OpenAI's `function.arguments`).
    public var arguments: String

    public init(name: String, arguments: String) {
        self.name = name
        self.arguments = arguments
    }
}

/// Splits a reply, as it arrives, into text and tool calls in any of the formats models use:
/// Hermes `<tool_call>{…}</tool_call>` anywhere, Llama 3.x `<|python_tag|>{…}`, a JSON object in a
/// Markdown fence, or a bare JSON object when nothing but calls came before it. A call object is
/// `{"name": <one of the tools>, "arguments" (or "parameters"): {…}}`.
///
/// Text that may be the start of a call is held back until it is one (then it is a `.call`, never
/// content) or cannot be (then it is content), so streamed and whole replies split the same way.
/// Whitespace around calls is dropped, as is whitespace at the end of the reply.
public struct ToolCallParser: Sendable {
    public enum Event: Sendable, Equatable {
        case content(String)
        case call(ToolCall)
    }

    private let names: Set<String>
    /// Undecided bytes: the text from the first place a call may start.
    private var buffer: [UInt8] = []
    /// Whitespace held until text follows it (dropped before a call and at the end).
    private var pendingWhitespace = ""
    /// Whether a call came last, so the whitespace starting the next text is dropped.
    private var afterCall = false
    /// Whether any text other than whitespace and calls was written (a bare JSON call must come first).
    private var wroteText = false

    private static let hermesOpen = Array("<tool_call>".utf8)
    private static let hermesClose = Array("</tool_call>".utf8)
    private static let pythonTag = Array("<|python_tag|>".utf8)
    private static let fence = Array("```".utf8)
    private static let json = Array("json".utf8)
    private static let markers = [hermesOpen, pythonTag, fence]

    public init(toolNames: [String]) {
        names = Set(toolNames)
    }

    public mutating func feed(_ text: String) -> [Event] {
        buffer += Array(text.utf8)
        return process(final: false)
    }

    /// The end of the reply: whatever is still held is a call if it is complete, text otherwise.
    public mutating func finish() -> [Event] {
        defer { pendingWhitespace = "" }
        return process(final: true)
    }

    /// Every event of a whole reply.
    public static func split(_ text: String, toolNames: [String]) -> [Event] {
        var parser = ToolCallParser(toolNames: toolNames)
        return parser.feed(text) + parser.finish()
    }

    // MARK: - Deciding

    private enum Match {
        /// A call taking this many bytes of the buffer.
        case call(ToolCall, length: Int)
        /// Maybe a call: wait for more text.
        case undecided
        /// Not a call: the first `length` bytes are text.
        case text(length: Int)
    }

    private mutating func process(final: Bool) -> [Event] {
        var events: [Event] = []
        while !buffer.isEmpty {
            guard let start = firstPossibleStart() else {
                write(buffer[...], to: &events)
                buffer.removeAll()
                break
            }
            if start > 0 {
                write(buffer[..<start], to: &events)
                buffer.removeFirst(start)
            }
            switch match(final: final) {
            case .call(let call, let length):
                pendingWhitespace = ""
                afterCall = true
                events.append(.call(call))
                buffer.removeFirst(length)
            case .undecided:
                // Never at the end: `match` decides everything when `final` is set.
                return events
            case .text(let length):
                write(buffer[..<length], to: &events)
                buffer.removeFirst(length)
            }
        }
        return events
    }

    /// The first offset where a call could begin: a marker (or the part of one the text ends
    /// with), or a `{` before which nothing but whitespace and calls came.
    private func firstPossibleStart() -> Int? {
        for index in buffer.indices {
            let rest = buffer[index...]
            if Self.markers.contains(where: { rest.starts(with: $0) || $0.starts(with: rest) }) { return index }
            if buffer[index] == UInt8(ascii: "{") && !wroteText && buffer[..<index].allSatisfy(Self.isWhitespace) { return index }
        }
        return nil
    }

    /// Whether the buffer, which starts where a call may, holds one.
    private func match(final: Bool) -> Match {
        let bytes = buffer[...]
        if Self.markers.contains(where: { $0.starts(with: bytes) && bytes.count < $0.count }) {
            return final ? .text(length: bytes.count) : .undecided
        }
        if bytes.starts(with: Self.hermesOpen) {
            return object(after: Self.hermesOpen.count, closing: Self.hermesClose, markerLength: Self.hermesOpen.count, final: final)
        }
        if bytes.starts(with: Self.pythonTag) {
            return object(after: Self.pythonTag.count, closing: nil, markerLength: Self.pythonTag.count, final: final)
        }
        if bytes.starts(with: Self.fence) {
            // ``` or ```json (any case) opens the fence; the object follows.
            let word = bytes.dropFirst(Self.fence.count).prefix { !Self.isWhitespace($0) && $0 != UInt8(ascii: "{") }
            let lowercased = word.map { $0 | 0x20 }
            if Self.fence.count + word.count == bytes.count && Self.json.starts(with: lowercased) {
                return final ? .text(length: Self.fence.count) : .undecided
            }
            guard word.isEmpty || lowercased == Self.json else { return .text(length: Self.fence.count) }
            return object(after: Self.fence.count + word.count, closing: Self.fence, markerLength: Self.fence.count, final: final)
        }
        return object(after: 0, closing: nil, markerLength: 1, final: final)
    }

    /// A call object after `offset` (whitespace allowed before it), then `closing` when given.
    /// Anything else makes the first `markerLength` bytes text.
    private func object(after offset: Int, closing: [UInt8]?, markerLength: Int, final: Bool) -> Match {
        let notACall = Match.text(length: markerLength)
        let waiting = final ? notACall : .undecided
        var start = offset
        while start < buffer.count && Self.isWhitespace(buffer[start]) { start += 1 }
        guard start < buffer.count else { return waiting }
        guard buffer[start] == UInt8(ascii: "{") else { return notACall }
        guard headerMayName(from: start) else { return notACall }
        guard let end = Self.objectEnd(buffer, from: start) else { return waiting }
        guard let call = call(from: buffer[start..<end]) else { return notACall }
        guard let closing else { return .call(call, length: end) }
        var after = end
        while after < buffer.count && Self.isWhitespace(buffer[after]) { after += 1 }
        let rest = buffer[after...]
        if rest.starts(with: closing) { return .call(call, length: after + closing.count) }
        // The closing tag may still be on its way (or was cut off); a call without one is still a call.
        if closing.starts(with: rest) { return final ? .call(call, length: buffer.count) : .undecided }
        return .call(call, length: end)
    }

    /// Whether the object starting at `start` begins, as far as it goes, `{"name": "<a tool's name>"`.
    private func headerMayName(from start: Int) -> Bool {
        var position = start + 1
        func skipWhitespace() { while position < buffer.count && Self.isWhitespace(buffer[position]) { position += 1 } }
        /// Matches `literal`; nil when the text ends inside it.
        func expect(_ literal: String) -> Bool? {
            for byte in literal.utf8 {
                guard position < buffer.count else { return nil }
                guard buffer[position] == byte else { return false }
                position += 1
            }
            return true
        }
        skipWhitespace()
        guard let key = expect("\"name\"") else { return true }
        guard key else { return false }
        skipWhitespace()
        guard let colon = expect(":") else { return true }
        guard colon else { return false }
        skipWhitespace()
        guard let quote = expect("\"") else { return true }
        guard quote else { return false }
        let nameStart = position
        while position < buffer.count && buffer[position] != UInt8(ascii: "\"") { position += 1 }
        let name = String(decoding: buffer[nameStart..<position], as: UTF8.self)
        if position == buffer.count { return names.contains { $0.hasPrefix(name) } }
        return names.contains(name)
    }

    private func call(from bytes: ArraySlice<UInt8>) -> ToolCall? {
        guard case .object(let object)? = try? JinjaValue(parsingJSON: Array(bytes)),
              case .string(let name)? = object["name"], names.contains(name) else { return nil }
        var arguments = object["arguments"] ?? object["parameters"] ?? .object(JinjaObject())
        // Some models write the arguments as a JSON string, as OpenAI's API carries them.
        if case .string(let text) = arguments {
            guard let parsed = try? JinjaValue(parsingJSON: text) else { return nil }
            arguments = parsed
        }
        guard case .object = arguments else { return nil }
        return ToolCall(name: name, arguments: arguments.jsonString(.compact))
    }

    /// The offset just past the JSON object starting at `start`, or nil when it is not closed yet.
    static func objectEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var depth = 0
        var inString = false
        var escaped = false
        for index in start..<bytes.count {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 { return index + 1 }
            default: break
            }
        }
        return nil
    }

    // MARK: - Text

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Adds text to the events, holding its trailing whitespace until more text follows.
    private mutating func write(_ bytes: ArraySlice<UInt8>, to events: inout [Event]) {
        guard !bytes.isEmpty else { return }
        let trailing = bytes.reversed().prefix(while: Self.isWhitespace).count
        var body = bytes.dropLast(trailing)
        if afterCall {
            body = body.drop(while: Self.isWhitespace)
            if !body.isEmpty { pendingWhitespace = "" }
        }
        if !body.isEmpty {
            afterCall = false
            let text = pendingWhitespace + String(decoding: body, as: UTF8.self)
            if case .content(let previous)? = events.last {
                events[events.count - 1] = .content(previous + text)
            } else {
                events.append(.content(text))
            }
            pendingWhitespace = ""
            wroteText = true
        }
        pendingWhitespace += String(decoding: bytes.suffix(trailing), as: UTF8.self)
    }
}
