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

    func int(_ key: String) throws -> Int? {
        switch value(key) {
        case nil: return nil
        case .int(let n): return n
        case .double(let d) where d == d.rounded() && abs(d) < 1e15: return Int(d)
        default: throw wrongType(key, "an integer")
        }
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let n = try int(key) else { return nil }
        guard range.contains(n) else { throw APIError.invalidRequest("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), is \(n)") }
        return n
    }

    func number(_ key: String) throws -> Double? {
        switch value(key) {
        case nil: return nil
        case .int(let n): return Double(n)
        case .double(let d): return d
        default: throw wrongType(key, "a number")
        }
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let x = try number(key) else { return nil }
        guard range.contains(x) else { throw APIError.invalidRequest("'\(key)' must be between \(range.lowerBound) and \(range.upperBound), is \(x)") }
        return x
    }

    func bool(_ key: String) throws -> Bool? {
        switch value(key) {
        case nil: return nil
        case .bool(let b): return b
        default: throw wrongType(key, "true or false")
        }
    }

    func string(_ key: String) throws -> String? {
        switch value(key) {
        case nil: return nil
        case .string(let s): return s
        default: throw wrongType(key, "a string")
        }
    }

    func array(_ key: String) throws -> [JinjaValue]? {
        switch value(key) {
        case nil: return nil
        case .array(let a): return a
        default: throw wrongType(key, "an array")
        }
    }

    func nested(_ key: String) throws -> RequestFields? {
        switch value(key) {
        case nil: return nil
        case .object(let o): return RequestFields(object: o)
        default: throw wrongType(key, "an object")
        }
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
