import OrderedCollections

/// A runtime value while rendering: the data of `JinjaValue` plus what only exists inside a template
/// (undefined, namespaces, macros, callables, the loop object). Semantics follow Python and jinja2.
enum Value {
    /// `hint` is jinja2's message for the error raised when the value is used strictly.
    case undefined(hint: String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([Value])
    case tuple([Value])
    case dict(Dict)
    /// What `select`, `map`, `items`, `reverse`… return in jinja2: a one-shot iterator, always truthy.
    case generator(Generator)
    case namespace(Namespace)
    case macro(Macro)
    case function(GlobalFunction)
    case method(receiver: Box, name: String)
    case loop(LoopState)

    init(_ value: JinjaValue) {
        switch value {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(a.map(Value.init))
        case .object(let o):
            var dict = Dict()
            for (key, value) in o.pairs { dict[key] = Value(value) }
            self = .dict(dict)
        }
    }

    var isUndefined: Bool {
        if case .undefined = self { return true }
        return false
    }

    var isNone: Bool {
        if case .none = self { return true }
        return false
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .int(let i): i != 0
        case .double(let d): d != 0
        case .string(let s): !s.isEmpty
        case .list(let a), .tuple(let a): !a.isEmpty
        case .dict(let d): d.count > 0
        case .generator, .namespace, .macro, .function, .method, .loop: true
        }
    }

    /// Python's type name, as error messages show it.
    var typeName: String {
        switch self {
        case .undefined: "Undefined"
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .double: "float"
        case .string: "str"
        case .list: "list"
        case .tuple: "tuple"
        case .dict: "dict"
        case .generator: "generator"
        case .namespace: "Namespace"
        case .macro: "Macro"
        case .function, .method: "builtin_function_or_method"
        case .loop: "LoopContext"
        }
    }

    static let maxNesting = 600

    /// How deep containers nest inside this value, counting stops past `limit`.
    func nestingDepth(limit: Int) -> Int {
        guard limit >= 0 else { return 1 }
        switch self {
        case .list(let a), .tuple(let a): return 1 + (a.lazy.map { $0.nestingDepth(limit: limit - 1) }.max() ?? 0)
        case .dict(let d): return 1 + (d.pairs.lazy.map { $0.value.nestingDepth(limit: limit - 1) }.max() ?? 0)
        default: return 0
        }
    }

    /// `str(value)` as jinja2 prints it.
    var text: String {
        switch self {
        case .undefined: ""
        case .string(let s): s
        default: repr
        }
    }

    /// Python `repr(value)`.
    var repr: String { repr(depth: 0) }

    /// A namespace can hold itself, so printing stops descending at `maxNesting` levels.
    private func repr(depth: Int) -> String {
        guard depth <= Value.maxNesting else { return "..." }
        return switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): String(i)
        case .double(let d): pythonFloatRepr(d)
        case .string(let s): pythonStringRepr(s)
        case .list(let a): "[" + a.map { $0.repr(depth: depth + 1) }.joined(separator: ", ") + "]"
        case .tuple(let a):
            a.count == 1 ? "(\(a[0].repr(depth: depth + 1)),)" : "(" + a.map { $0.repr(depth: depth + 1) }.joined(separator: ", ") + ")"
        case .dict(let d):
            "{" + d.pairs.map { pythonStringRepr($0.key) + ": " + $0.value.repr(depth: depth + 1) }.joined(separator: ", ") + "}"
        case .generator: "<generator object>"
        case .namespace(let n): "<Namespace " + Value.dict(n.attributes).repr(depth: depth + 1) + ">"
        case .macro(let m): "<Macro '\(m.name)'>"
        case .function(let f): "<built-in function \(f.rawValue)>"
        case .method(_, let name): "<built-in method \(name)>"
        case .loop: "<LoopContext>"
        }
    }

    /// Elements when iterated, as Python iterates them (dicts give keys, strings give characters);
    /// iterating a generator exhausts it.
    func iterationElements() -> [Value]? {
        switch self {
        case .undefined: []
        case .list(let a), .tuple(let a): a
        case .generator(let g): g.drain()
        case .dict(let d): d.keys.map(Value.string)
        case .string(let s): s.unicodeScalars.map { .string(String($0)) }
        case .namespace(let n): n.attributes.keys.map(Value.string)
        default: nil
        }
    }

    /// The number as a Double when this is int, float or bool (Python bools are ints).
    var numericValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    /// The integer when this is int or bool.
    var integerValue: Int? {
        switch self {
        case .int(let i): i
        case .bool(let b): b ? 1 : 0
        default: nil
        }
    }

    /// Back to plain data for `tojson` and for the caller; nil for values JSON cannot hold.
    func jinjaValue() -> JinjaValue? {
        switch self {
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let a), .tuple(let a):
            var result: [JinjaValue] = []
            result.reserveCapacity(a.count)
            for element in a {
                guard let converted = element.jinjaValue() else { return nil }
                result.append(converted)
            }
            return .array(result)
        case .dict(let d):
            var object = JinjaObject()
            for (key, value) in d.pairs {
                guard let converted = value.jinjaValue() else { return nil }
                object[key] = converted
            }
            return .object(object)
        default: return nil
        }
    }
}

/// Python `==` between values.
func pythonEquals(_ lhs: Value, _ rhs: Value) -> Bool {
    switch (lhs, rhs) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
    case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
        return a.count == b.count && zip(a, b).allSatisfy { pythonEquals($0, $1) }
    case (.dict(let a), .dict(let b)):
        guard a.count == b.count else { return false }
        return a.pairs.allSatisfy { pair in b[pair.key].map { pythonEquals(pair.value, $0) } ?? false }
    case (.namespace(let a), .namespace(let b)): return a === b
    case (.generator(let a), .generator(let b)): return a === b
    case (.macro(let a), .macro(let b)): return a === b
    case (.function(let a), .function(let b)): return a == b
    default:
        if let a = lhs.integerValue, let b = rhs.integerValue { return a == b }
        if let a = lhs.numericValue, let b = rhs.numericValue { return a == b }
        return false
    }
}

/// An insertion-ordered dictionary with string keys, as Python dicts behave.
typealias Dict = OrderedDictionary<String, Value>

extension OrderedDictionary {
    var pairs: [(key: Key, value: Value)] { Array(elements) }
}

/// `namespace()`: the one mutable object templates have, so it is a reference.
final class Namespace {
    var attributes: Dict
    init(_ attributes: Dict) { self.attributes = attributes }
}

/// The remaining items of a jinja2 generator; each consumer takes what is left.
final class Generator {
    private var remaining: [Value]
    init(_ items: [Value]) { remaining = items }

    func drain() -> [Value] {
        defer { remaining = [] }
        return remaining
    }
}

/// A reference holder so the recursive enum can carry a method's receiver.
final class Box {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// The `loop` variable of a for loop.
final class LoopState {
    let items: [Value]
    var index0 = 0

    init(items: [Value]) { self.items = items }

    func attribute(_ name: String) -> Value? {
        let length = items.count
        switch name {
        case "index0": return .int(index0)
        case "index": return .int(index0 + 1)
        case "revindex": return .int(length - index0)
        case "revindex0": return .int(length - index0 - 1)
        case "first": return .bool(index0 == 0)
        case "last": return .bool(index0 == length - 1)
        case "length": return .int(length)
        // Only recursive loops, which Forge does not support, nest depth.
        case "depth0": return .int(0)
        case "depth": return .int(1)
        case "previtem": return index0 > 0 ? items[index0 - 1] : .undefined(hint: "there is no previous item")
        case "nextitem": return index0 + 1 < length ? items[index0 + 1] : .undefined(hint: "there is no next item")
        default: return nil
        }
    }
}

/// A `{% macro %}`: parameters with optional defaults, a body, and the scope it was defined in.
final class Macro {
    let name: String
    let parameters: [(name: String, defaultValue: Expression?)]
    let body: [Node]
    let closure: Scope

    init(name: String, parameters: [(name: String, defaultValue: Expression?)], body: [Node], closure: Scope) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.closure = closure
    }
}

/// Functions available to every template.
enum GlobalFunction: String {
    case raiseException = "raise_exception"
    case strftimeNow = "strftime_now"
    case namespace
    case range
    case dict
}

/// Python's repr of a float, which is the shortest round-tripping form, as Swift's description is.
func pythonFloatRepr(_ value: Double) -> String {
    if value.isNaN { return "nan" }
    if value.isInfinite { return value < 0 ? "-inf" : "inf" }
    return value.description
}

/// Python's `repr(str)`: single quotes unless the string holds a single quote and no double quote.
func pythonStringRepr(_ string: String) -> String {
    let quote: Unicode.Scalar = string.contains("'") && !string.contains("\"") ? "\"" : "'"
    var result = String(Character(quote))
    for scalar in string.unicodeScalars {
        switch scalar {
        case quote, "\\": result.unicodeScalars.append("\\"); result.unicodeScalars.append(scalar)
        case "\t": result += "\\t"
        case "\n": result += "\\n"
        case "\r": result += "\\r"
        default:
            if isPythonPrintable(scalar) {
                result.unicodeScalars.append(scalar)
            } else if scalar.value < 0x100 {
                result += "\\x" + hex(scalar.value, digits: 2)
            } else if scalar.value < 0x10000 {
                result += "\\u" + hex(scalar.value, digits: 4)
            } else {
                result += "\\U" + hex(scalar.value, digits: 8)
            }
        }
    }
    result.unicodeScalars.append(quote)
    return result
}

/// Python's `str.isprintable` for one character: not a control, format, surrogate, private-use,
/// unassigned or separator character, except the ASCII space.
func isPythonPrintable(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == " " { return true }
    switch scalar.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned,
        .spaceSeparator, .lineSeparator, .paragraphSeparator:
        return false
    default:
        return true
    }
}

func hex(_ value: UInt32, digits: Int) -> String {
    let text = String(value, radix: 16)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
}
