import OrderedCollections

/// Data passed into a template: the JSON model, with Python's distinction between integers and floats
/// and with object keys kept in insertion order (Python dicts are ordered, and `tojson` output depends on it).
public enum JinjaValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JinjaValue])
    case object(JinjaObject)

    /// The member named `key` when this is an object.
    public subscript(key: String) -> JinjaValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    public var arrayValue: [JinjaValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    public var objectValue: JinjaObject? {
        if case .object(let object) = self { return object }
        return nil
    }
}

/// A string-keyed dictionary that remembers insertion order.
public struct JinjaObject: Sendable, Equatable {
    private var storage = OrderedDictionary<String, JinjaValue>()

    public init() {}

    public init(_ pairs: [(String, JinjaValue)]) {
        for (key, value) in pairs { self[key] = value }
    }

    public var keys: [String] { Array(storage.keys) }

    public var count: Int { storage.count }

    public var pairs: [(key: String, value: JinjaValue)] { storage.pairs }

    /// Setting an existing key keeps its position; setting `nil` removes it.
    public subscript(key: String) -> JinjaValue? {
        get { storage[key] }
        set { storage[key] = newValue }
    }

    /// Python dict equality: same keys with equal values, order ignored.
    public static func == (lhs: JinjaObject, rhs: JinjaObject) -> Bool {
        lhs.count == rhs.count && lhs.storage.allSatisfy { rhs.storage[$0.key] == $0.value }
    }
}

extension JinjaValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JinjaValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self = .object(JinjaObject(elements)) }
    public init(nilLiteral: ()) { self = .null }
}

extension JinjaObject: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, JinjaValue)...) { self.init(elements) }
}
