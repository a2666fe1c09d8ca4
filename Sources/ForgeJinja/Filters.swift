import Foundation

enum Filters {
    /// Every filter the parser accepts; an unknown name is a syntax error, as in jinja2.
    static let known: Set<String> = [
        "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
        "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max", "min",
        "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort", "string",
        "sum", "title", "tojson", "trim", "unique", "upper", "wordcount",
    ]
}

/// Python's `str.isspace` for one character (Unicode whitespace plus the ASCII separators 0x1C–0x1F).
func isPythonWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    scalar.properties.isWhitespace || (0x1C...0x1F).contains(scalar.value)
}

/// `str.strip(chars)`: whitespace when `characters` is nil.
func pythonStrip(_ string: String, _ characters: String?, leading: Bool, trailing: Bool) -> String {
    let scalars = Array(string.unicodeScalars)
    let set = characters.map { Set($0.unicodeScalars) }
    func strip(_ scalar: Unicode.Scalar) -> Bool { set?.contains(scalar) ?? isPythonWhitespace(scalar) }
    var start = 0, end = scalars.count
    if leading { while start < end, strip(scalars[start]) { start += 1 } }
    if trailing { while end > start, strip(scalars[end - 1]) { end -= 1 } }
    return String(String.UnicodeScalarView(scalars[start..<end]))
}

extension Renderer {
    func applyFilter(_ name: String, to value: Value, _ arguments: CallArguments) throws -> Value {
        func argument(_ index: Int, _ name: String) -> Value? { arguments.value(index, name) }
        func stringArgument(_ index: Int, _ name: String) throws -> String? {
            guard let value = argument(index, name), !value.isNone else { return nil }
            guard case .string(let string) = value else { throw error("filter argument '\(name)' must be a string") }
            return string
        }
        func flag(_ index: Int, _ name: String) -> Bool { argument(index, name)?.isTruthy ?? false }
        func elements() throws -> [Value] {
            guard let elements = value.iterationElements() else { throw error("'\(value.typeName)' object is not iterable") }
            return elements
        }

        // jinja2's select/reject/map families yield nothing at all for a falsy input, iterable or not.
        if ["map", "select", "reject", "selectattr", "rejectattr"].contains(name), !value.isTruthy {
            return .generator(Generator([]))
        }

        switch name {
        case "default", "d":
            let fallback = argument(0, "default_value") ?? .string("")
            if value.isUndefined || (flag(1, "boolean") && !value.isTruthy) { return fallback }
            return value
        case "length", "count":
            switch value {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let a), .tuple(let a): return .int(a.count)
            case .dict(let d): return .int(d.count)
            case .namespace(let n): return .int(n.attributes.count)
            case .undefined: return .int(0)
            default: throw error("object of type '\(value.typeName)' has no len()")
            }
        case "trim":
            return .string(pythonStrip(value.text, try stringArgument(0, "chars"), leading: true, trailing: true))
        case "upper": return .string(value.text.uppercased())
        case "lower": return .string(value.text.lowercased())
        case "capitalize": return .string(capitalize(value.text))
        case "title": return .string(titleCase(value.text))
        case "string": return .string(value.text)
        case "safe", "escape", "e":
            return name == "safe" ? value : .string(htmlEscape(value.text))
        case "replace":
            guard let old = argument(0, "old"), let new = argument(1, "new") else { throw error("replace needs two arguments") }
            let count = argument(2, "count")?.integerValue
            return .string(try replace(value.text, old.text, new.text, count: count))
        case "tojson":
            return .string(try toJSON(value, arguments))
        case "items":
            switch value {
            case .undefined: return .generator(Generator([]))
            case .dict(let d): return .generator(Generator(d.pairs.map { .tuple([.string($0.key), $0.value]) }))
            default: throw error("items filter needs a mapping, got \(value.typeName)")
            }
        case "list":
            return .list(try elements())
        case "join":
            var items = try elements()
            if let attribute = argument(1, "attribute") { items = try items.map { try item(attribute, of: $0) } }
            let separator = argument(0, "d")?.text ?? ""
            return .string(items.map(\.text).joined(separator: separator))
        case "first":
            return try elements().first ?? .undefined(hint: "No first item, sequence was empty.")
        case "last":
            if case .generator = value { throw error("'generator' object is not reversible") }
            return try elements().last ?? .undefined(hint: "No last item, sequence was empty.")
        case "reverse":
            switch value {
            case .string(let s): return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed())))
            case .list, .tuple, .dict: return .generator(Generator(try elements().reversed()))
            default: return .list(try elements().reversed())
            }
        case "abs":
            if let i = value.integerValue {
                guard i != Int.min else { throw error("integer overflow") }
                return .int(abs(i))
            }
            if case .double(let d) = value { return .double(abs(d)) }
            throw error("bad operand type for abs(): '\(value.typeName)'")
        case "int", "float":
            if case .undefined(let hint) = value { throw error(hint) }
            if name == "float" { return toFloat(value, fallback: argument(0, "default") ?? .double(0)) }
            return toInt(value, fallback: argument(0, "default") ?? .int(0))
        case "round":
            let precision = argument(0, "precision")?.integerValue ?? 0
            let method = try stringArgument(1, "method") ?? "common"
            if let integer = value.integerValue, method == "common" { return .int(integer) }
            guard let number = value.numericValue else { throw error("round filter needs a number") }
            // Python's round() rounds the exact binary value half-to-even, as C's printf does.
            if method == "common", precision >= 0, precision <= 300, number.isFinite {
                return .double(Double(String(format: "%.\(precision)f", number)) ?? number)
            }
            let scale = pow(10.0, Double(precision))
            let rule: FloatingPointRoundingRule = method == "ceil" ? .up : method == "floor" ? .down : .toNearestOrEven
            return .double((number * scale).rounded(rule) / scale)
        case "attr":
            guard case .string(let attribute) = argument(0, "name") ?? .none else { throw error("attr needs a name") }
            // Python attributes only: a dict's keys are items, not attributes.
            if case .dict = value, !Methods.dict.contains(attribute) {
                return .undefined(hint: "'dict object' has no attribute '\(attribute)'")
            }
            return try self.attribute(attribute, of: value)
        case "map":
            return .generator(Generator(try elements().map { try mapElement($0, arguments) }))
        case "select", "reject":
            let keep = name == "select"
            return .generator(Generator(try elements().filter { try selectTest($0, arguments, offset: 0) == keep }))
        case "selectattr", "rejectattr":
            let keep = name == "selectattr"
            guard let attribute = argument(0, "attribute") else { throw error("\(name) needs an attribute name") }
            return .generator(Generator(try elements().filter { element in
                let field = try attributePath(attribute, of: element)
                return try selectTest(field, arguments, offset: 1) == keep
            }))
        case "unique":
            var seen: [Value] = []
            let caseSensitive = flag(0, "case_sensitive")
            let attribute = argument(1, "attribute")
            var result: [Value] = []
            for element in try elements() {
                var key = try attribute.map { try attributePath($0, of: element) } ?? element
                if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { pythonEquals($0, key) }) {
                    seen.append(key)
                    result.append(element)
                }
            }
            return .generator(Generator(result))
        case "sort":
            return .list(try sorted(try elements(), reverse: flag(0, "reverse"), caseSensitive: flag(1, "case_sensitive"), attribute: argument(2, "attribute")))
        case "dictsort":
            guard case .dict(let dict) = value else { throw error("dictsort needs a mapping") }
            let byValue = try stringArgument(1, "by") == "value"
            let pairs = dict.pairs.map { Value.tuple([.string($0.key), $0.value]) }
            return .list(try sorted(pairs, reverse: flag(2, "reverse"), caseSensitive: flag(0, "case_sensitive"), attribute: .int(byValue ? 1 : 0)))
        case "min", "max":
            let items = try sorted(try elements(), reverse: name == "max", caseSensitive: flag(0, "case_sensitive"), attribute: argument(1, "attribute"))
            return items.first ?? .undefined(hint: "No aggregated item, sequence was empty.")
        case "sum":
            var total = argument(1, "start") ?? .int(0)
            for element in try elements() {
                let term = try argument(0, "attribute").map { try attributePath($0, of: element) } ?? element
                total = try binary(.add, total, term)
            }
            return total
        case "indent":
            guard case .string(let text) = value else { throw error("unsupported operand type(s) for +=: '\(value.typeName)' and 'str'") }
            let width = argument(0, "width") ?? .int(4)
            let prefixLength = width.integerValue ?? width.text.utf8.count
            let lines = text.utf8.count { $0 == UInt8(ascii: "\n") } + 1
            let (added, overflow) = max(0, prefixLength).multipliedReportingOverflow(by: lines)
            guard !overflow, added <= options.maxOutputBytes else { throw error("indented text exceeds the output limit") }
            return .string(indent(text, width: width, first: flag(1, "first"), blank: flag(2, "blank")))
        case "wordcount":
            return .int(value.text.split(whereSeparator: { $0.unicodeScalars.allSatisfy { !$0.properties.isAlphabetic && $0.properties.numericType == nil && $0 != "_" } }).count)
        case "format":
            let values: Value = arguments.positional.count == 1 ? arguments.positional[0] : .tuple(arguments.positional)
            return .string(try percentFormat(value.text, values))
        default:
            throw error("no filter named '\(name)'")
        }
    }

    /// `tojson` as Hugging Face defines it:
    /// `tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)` calling `json.dumps`.
    func toJSON(_ value: Value, _ arguments: CallArguments) throws -> String {
        guard let data = value.jinjaValue() else {
            throw error("Object of type \(value.typeName) is not JSON serializable")
        }
        var indent: Int?
        if let width = arguments.value(1, "indent"), !width.isNone {
            guard let integer = width.integerValue else { throw error("tojson indent must be an integer") }
            guard integer <= 1024 else { throw error("tojson indent \(integer) is too large") }
            indent = integer
        }
        var format = JSONFormat(
            indent: indent, sortKeys: arguments.value(3, "sort_keys")?.isTruthy ?? false,
            ensureASCII: arguments.value(0, "ensure_ascii")?.isTruthy ?? false)
        if let separators = arguments.value(2, "separators"), !separators.isNone {
            guard let pair = separators.iterationElements(), pair.count == 2,
                case .string(let item) = pair[0], case .string(let key) = pair[1]
            else { throw error("tojson separators must be a pair of strings") }
            format.itemSeparator = item
            format.keySeparator = key
        }
        return data.jsonString(format)
    }

    /// `a.b.0` style paths used by `map(attribute=)`, `selectattr`, `sort(attribute=)`.
    func attributePath(_ path: Value, of value: Value) throws -> Value {
        guard case .string(let text) = path else { return try item(path, of: value) }
        var current = value
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            let key: Value = Int(part).map(Value.int) ?? .string(String(part))
            current = try item(key, of: current)
        }
        return current
    }

    private func mapElement(_ element: Value, _ arguments: CallArguments) throws -> Value {
        if let attribute = arguments.keyword.first(where: { $0.name == "attribute" })?.value {
            let result = try attributePath(attribute, of: element)
            if result.isUndefined, let fallback = arguments.keyword.first(where: { $0.name == "default" })?.value { return fallback }
            return result
        }
        guard case .string(let filter) = arguments.positional.first ?? .none, Filters.known.contains(filter) else {
            throw error("map needs a filter name or attribute=")
        }
        return try applyFilter(filter, to: element, CallArguments(positional: Array(arguments.positional.dropFirst()), keyword: arguments.keyword))
    }

    /// The test named at `offset` in a select-style filter's arguments, applied to `value`; truthiness without one.
    private func selectTest(_ value: Value, _ arguments: CallArguments, offset: Int) throws -> Bool {
        guard offset < arguments.positional.count else { return value.isTruthy }
        guard case .string(let test) = arguments.positional[offset], TestFunctions.known.contains(test) else {
            throw error("no test named \(arguments.positional[offset].repr)")
        }
        return try applyTest(test, to: value, CallArguments(positional: Array(arguments.positional.dropFirst(offset + 1)), keyword: []))
    }

    private func sorted(_ items: [Value], reverse: Bool, caseSensitive: Bool, attribute: Value?) throws -> [Value] {
        let keys = try items.map { element -> Value in
            var key = try attribute.map { try attributePath($0, of: element) } ?? element
            if !caseSensitive, case .string(let s) = key { key = .string(s.lowercased()) }
            return key
        }
        var failure: JinjaError?
        let order = Array(items.indices).sorted { a, b in
            do {
                let comparison = try self.order(keys[a], keys[b], .less)
                return reverse ? comparison > 0 : comparison < 0
            } catch let caught as JinjaError {
                failure = caught
                return false
            } catch {
                return false
            }
        }
        if let failure { throw failure }
        return order.map { items[$0] }
    }

    private func toInt(_ value: Value, fallback: Value) -> Value {
        switch value {
        case .int, .bool: return .int(value.integerValue ?? 0)
        case .double(let d): return d.isFinite ? Int(exactly: d.rounded(.towardZero)).map(Value.int) ?? fallback : fallback
        case .string(let s):
            let trimmed = pythonStrip(s, nil, leading: true, trailing: true).replacingOccurrences(of: "_", with: "")
            if let integer = Int(trimmed) { return .int(integer) }
            if let double = Double(trimmed), double.isFinite, let integer = Int(exactly: double.rounded(.towardZero)) { return .int(integer) }
            return fallback
        default: return fallback
        }
    }

    private func toFloat(_ value: Value, fallback: Value) -> Value {
        switch value {
        case .int, .bool, .double: return .double(value.numericValue ?? 0)
        case .string(let s): return Double(pythonStrip(s, nil, leading: true, trailing: true)).map(Value.double) ?? fallback
        default: return fallback
        }
    }

    private func indent(_ text: String, width: Value, first: Bool, blank: Bool) -> String {
        let prefix = width.integerValue.map { String(repeating: " ", count: max(0, $0)) } ?? width.text
        var lines = text.components(separatedBy: "\n")
        for index in lines.indices where (index > 0 || first) && (blank || !lines[index].allSatisfy(\.isWhitespace)) {
            lines[index] = prefix + lines[index]
        }
        return lines.joined(separator: "\n")
    }
}

func capitalize(_ text: String) -> String {
    guard let first = text.unicodeScalars.first else { return text }
    return String(first).uppercased() + String(String.UnicodeScalarView(text.unicodeScalars.dropFirst())).lowercased()
}

/// jinja2's `title`: the text is cut before and after runs of whitespace, `-`, `(`, `{`, `[` and `<`;
/// each piece gets its first character upper-cased and the rest lower-cased.
func titleCase(_ text: String) -> String {
    func isBoundary(_ scalar: Unicode.Scalar) -> Bool {
        isPythonWhitespace(scalar) || scalar == "-" || scalar == "(" || scalar == "{" || scalar == "[" || scalar == "<"
    }
    var result = ""
    var piece = String.UnicodeScalarView()
    func flush() {
        guard let first = piece.first else { return }
        result += String(first).uppercased() + String(String.UnicodeScalarView(piece.dropFirst())).lowercased()
        piece = String.UnicodeScalarView()
    }
    for scalar in text.unicodeScalars {
        if let last = piece.last, isBoundary(last) != isBoundary(scalar) { flush() }
        piece.append(scalar)
    }
    flush()
    return result
}

func htmlEscape(_ text: String) -> String {
    var result = ""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "&": result += "&amp;"
        case "<": result += "&lt;"
        case ">": result += "&gt;"
        case "\"": result += "&#34;"
        case "'": result += "&#39;"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result
}

extension Renderer {
    /// `str.replace` refusing results past the output limit (an empty `old` multiplies the length).
    func replace(_ text: String, _ old: String, _ new: String, count: Int?) throws -> String {
        let textLength = text.unicodeScalars.count
        let worstCase = old.isEmpty ? textLength + 1 : textLength / max(1, old.unicodeScalars.count)
        let (growth, overflow) = worstCase.multipliedReportingOverflow(by: new.utf8.count)
        guard !overflow, growth <= options.maxOutputBytes else {
            throw error("replace() result may exceed the output limit of \(options.maxOutputBytes) bytes")
        }
        return pythonReplace(text, old, new, count: count)
    }
}

/// `str.replace(old, new, count)`; an empty `old` inserts `new` between characters, as Python does.
func pythonReplace(_ text: String, _ old: String, _ new: String, count: Int?) -> String {
    let limit = count.flatMap { $0 < 0 ? nil : $0 } ?? Int.max
    let scalars = Array(text.unicodeScalars)
    let pattern = Array(old.unicodeScalars)
    var result = String.UnicodeScalarView()
    var replaced = 0
    if pattern.isEmpty {
        for scalar in scalars {
            if replaced < limit { result.append(contentsOf: new.unicodeScalars); replaced += 1 }
            result.append(scalar)
        }
        if replaced < limit { result.append(contentsOf: new.unicodeScalars) }
        return String(result)
    }
    var index = 0
    while index < scalars.count {
        if replaced < limit, index + pattern.count <= scalars.count, scalars[index..<index + pattern.count].elementsEqual(pattern) {
            result.append(contentsOf: new.unicodeScalars)
            index += pattern.count
            replaced += 1
        } else {
            result.append(scalars[index])
            index += 1
        }
    }
    return String(result)
}
