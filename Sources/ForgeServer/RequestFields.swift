import ForgeJinja

/// Typed access to a JSON request object: a field of the wrong type is a 400 naming the field;
/// unknown fields are ignored, as OpenAI's clients expect.
struct RequestFields {
    let object: JinjaObject

    init(body: [UInt8]) throws {
        let value: JinjaValue
        do {
            value = try JinjaValue(parsingJSON: body)
        } catch let error as JSONParseError {
            throw APIError.invalidRequest("the body is not valid JSON: \(error.description)")
        }
        guard case .object(let object) = value else { throw APIError.invalidRequest("the body must be a JSON object") }
        self.object = object
    }

    init(object: JinjaObject) {
        self.object = object
    }

    /// The value of `key`, treating an explicit null as absent.
    func value(_ key: String) -> JinjaValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func wrongType(_ key: String, _ expected: String) -> APIError {
        .invalidRequest("'\(key)' must be \(expected)")
    }

    /// The value of `key` as `extract` reads it; nil when absent, a 400 naming `expected` when of another type.
    private func typed<Value>(_ key: String, _ expected: String, _ extract: (JinjaValue) -> Value?) throws -> Value? {
        guard let value = value(key) else { return nil }
        guard let typed = extract(value) else { throw wrongType(key, expected) }
        return typed
    }

    /// `value` when it lies in `range`, else a 400 naming the field and the range.
    private func checked<Value: Comparable>(_ key: String, _ value: Value?, in range: ClosedRange<Value>) throws -> Value? {
        guard let value, !range.contains(value) else { return value }
        throw APIError.invalidRequest("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), is \(value)")
    }

    func int(_ key: String) throws -> Int? {
        try typed(key, "an integer") { value in
            switch value {
            case .int(let n): n
            case .double(let d) where d == d.rounded() && abs(d) < 1e15: Int(d)
            default: nil
            }
        }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        try checked(key, int(key), in: range)
    }

    func number(_ key: String) throws -> Double? {
        try typed(key, "a number") { value in
            switch value {
            case .int(let n): Double(n)
            case .double(let d): d
            default: nil
            }
        }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        try checked(key, number(key), in: range)
    }

    func bool(_ key: String) throws -> Bool? {
        try typed(key, "true or false") { value in
            if case .bool(let b) = value { b } else { nil }
        }
    }

    func string(_ key: String) throws -> String? {
        try typed(key, "a string", \.stringValue)
    }

    func array(_ key: String) throws -> [JinjaValue]? {
        try typed(key, "an array", \.arrayValue)
    }

    func nested(_ key: String) throws -> RequestFields? {
        try typed(key, "an object") { $0.objectValue.map(RequestFields.init(object:)) }
    }

    /// An array of integers (token ids).
    func integers(_ key: String) throws -> [Int]? {
        guard let list = try array(key) else { return nil }
        return try list.map { element in
            guard case .int(let n) = element else { throw wrongType(key, "an array of integers") }
            return n
        }
    }

    /// `stop`: a string or an array of strings.
    func strings(_ key: String) throws -> [String] {
        switch value(key) {
        case nil: return []
        case .string(let s): return [s]
        case .array(let list):
            return try list.map { element in
                guard case .string(let s) = element else { throw wrongType(key, "a string or an array of strings") }
                return s
            }
        default: throw wrongType(key, "a string or an array of strings")
        }
    }
}
