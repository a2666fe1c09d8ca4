/// Python methods templates call on strings, dicts and lists. The immutable sandbox hides the mutating
/// ones (`append`, `update`, `pop`…), which therefore read as undefined, as in Hugging Face's environment.
enum Methods {
    static let string: Set<String> = [
        "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "replace", "upper", "lower",
        "title", "capitalize", "find", "rfind", "count", "join", "format", "isdigit", "isalpha", "isalnum",
        "isspace", "islower", "isupper", "splitlines", "removeprefix", "removesuffix",
    ]
    static let dict: Set<String> = ["items", "keys", "values", "get", "copy"]
    static let sequence: Set<String> = ["index", "count"]
}

extension Renderer {
    func callMethod(_ name: String, on receiver: Value, _ arguments: CallArguments) throws -> Value {
        func argument(_ index: Int, _ label: String) -> Value? { arguments.value(index, label) }
        func optionalString(_ index: Int, _ label: String) throws -> String? {
            guard let value = argument(index, label), !value.isNone else { return nil }
            guard case .string(let string) = value else { throw error("\(name)() argument must be str or None, not \(value.typeName)") }
            return string
        }
        func requiredString(_ index: Int, _ label: String) throws -> String {
            guard let string = try optionalString(index, label) else { throw error("\(name)() takes a string argument") }
            return string
        }

        switch receiver {
        case .string(let string):
            switch name {
            case "startswith", "endswith":
                let candidates: [Value]
                switch argument(0, "prefix") ?? .none {
                case .tuple(let elements): candidates = elements
                case let single: candidates = [single]
                }
                let scalars = Array(string.unicodeScalars)
                return .bool(try candidates.contains { candidate in
                    guard case .string(let affix) = candidate else {
                        throw error("\(name) first arg must be str or a tuple of str, not \(candidate.typeName)")
                    }
                    let affixScalars = Array(affix.unicodeScalars)
                    return name == "startswith" ? scalars.starts(with: affixScalars) : scalars.reversed().starts(with: affixScalars.reversed())
                })
            case "split", "rsplit":
                let maxSplit = argument(1, "maxsplit")?.integerValue ?? -1
                let parts = try pythonSplit(string, separator: try optionalString(0, "sep"), maxSplit: maxSplit, fromRight: name == "rsplit")
                return .list(parts.map(Value.string))
            case "strip", "lstrip", "rstrip":
                return .string(pythonStrip(string, try optionalString(0, "chars"), leading: name != "rstrip", trailing: name != "lstrip"))
            case "replace":
                return .string(try replace(string, try requiredString(0, "old"), try requiredString(1, "new"), count: argument(2, "count")?.integerValue))
            case "upper": return .string(string.uppercased())
            case "lower": return .string(string.lowercased())
            case "title": return .string(titleCase(string))
            case "capitalize": return .string(capitalize(string))
            case "find", "rfind":
                let needle = Array(try requiredString(0, "sub").unicodeScalars)
                let scalars = Array(string.unicodeScalars)
                guard needle.count <= scalars.count else { return .int(-1) }
                let starts = Array(0...(scalars.count - needle.count))
                let match = (name == "find" ? starts : starts.reversed()).first { scalars[$0..<$0 + needle.count].elementsEqual(needle) }
                return .int(match ?? -1)
            case "count":
                let needle = try requiredString(0, "sub")
                if needle.isEmpty { return .int(string.unicodeScalars.count + 1) }
                return .int(try pythonSplit(string, separator: needle, maxSplit: -1, fromRight: false).count - 1)
            case "join":
                guard let items = argument(0, "iterable")?.iterationElements() else { throw error("can only join an iterable") }
                return .string(try items.map { item in
                    guard case .string(let text) = item else { throw error("sequence item: expected str instance, \(item.typeName) found") }
                    return text
                }.joined(separator: string))
            case "format":
                return .string(try strFormat(string, arguments))
            case "isdigit": return .bool(!string.isEmpty && string.unicodeScalars.allSatisfy { $0.properties.numericType == .decimal || $0.properties.numericType == .digit })
            case "isalpha": return .bool(!string.isEmpty && string.unicodeScalars.allSatisfy(\.properties.isAlphabetic))
            case "isalnum": return .bool(!string.isEmpty && string.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || $0.properties.numericType != nil })
            case "isspace": return .bool(!string.isEmpty && string.unicodeScalars.allSatisfy(isPythonWhitespace))
            case "islower": return .bool(string.lowercased() == string && string.uppercased() != string)
            case "isupper": return .bool(string.uppercased() == string && string.lowercased() != string)
            case "splitlines":
                var lines = string.split(omittingEmptySubsequences: false, whereSeparator: { $0.isNewline }).map(String.init)
                if lines.last == "" { lines.removeLast() }
                return .list(lines.map(Value.string))
            case "removeprefix":
                let prefix = try requiredString(0, "prefix")
                return .string(string.hasPrefix(prefix) ? String(string.dropFirst(prefix.count)) : string)
            case "removesuffix":
                let suffix = try requiredString(0, "suffix")
                return .string(string.hasSuffix(suffix) ? String(string.dropLast(suffix.count)) : string)
            default: break
            }
        case .dict(let dict):
            switch name {
            case "items": return .list(dict.pairs.map { .tuple([.string($0.key), $0.value]) })
            case "keys": return .list(dict.keys.map(Value.string))
            case "values": return .list(dict.pairs.map(\.value))
            case "copy": return receiver
            case "get":
                let fallback = argument(1, "default") ?? .none
                guard case .string(let key) = argument(0, "key") ?? .none else { return fallback }
                return dict[key] ?? fallback
            default: break
            }
        case .list(let elements), .tuple(let elements):
            guard let needle = argument(0, "value") else { throw error("\(name)() takes exactly one argument") }
            switch name {
            case "count": return .int(elements.filter { pythonEquals($0, needle) }.count)
            case "index":
                guard let position = elements.firstIndex(where: { pythonEquals($0, needle) }) else {
                    throw error("\(needle.repr) is not in list")
                }
                return .int(position)
            default: break
            }
        case .loop(let state):
            if name == "cycle" {
                guard !arguments.positional.isEmpty else { throw error("no items for cycling given") }
                return arguments.positional[state.index0 % arguments.positional.count]
            }
        default:
            break
        }
        throw error("'\(receiver.typeName)' object has no method '\(name)'")
    }

    /// `str.split` / `str.rsplit`: runs of whitespace when `separator` is nil, else exact separators.
    func pythonSplit(_ string: String, separator: String?, maxSplit: Int, fromRight: Bool) throws -> [String] {
        let limit = maxSplit < 0 ? Int.max : maxSplit
        var scalars = Array(string.unicodeScalars)
        if fromRight { scalars.reverse() }
        func text(_ slice: ArraySlice<Unicode.Scalar>) -> String {
            String(String.UnicodeScalarView(fromRight ? Array(slice.reversed()) : Array(slice)))
        }
        var parts: [String] = []
        if let separator {
            guard !separator.isEmpty else { throw error("empty separator") }
            var needle = Array(separator.unicodeScalars)
            if fromRight { needle.reverse() }
            var start = 0, index = 0
            while index + needle.count <= scalars.count, parts.count < limit {
                if scalars[index..<index + needle.count].elementsEqual(needle) {
                    parts.append(text(scalars[start..<index]))
                    index += needle.count
                    start = index
                } else {
                    index += 1
                }
            }
            parts.append(text(scalars[start...]))
        } else {
            var index = 0
            while index < scalars.count {
                while index < scalars.count, isPythonWhitespace(scalars[index]) { index += 1 }
                guard index < scalars.count else { break }
                if parts.count == limit {
                    var end = scalars.count
                    while end > index, isPythonWhitespace(scalars[end - 1]) { end -= 1 }
                    parts.append(text(scalars[index..<end]))
                    break
                }
                let start = index
                while index < scalars.count, !isPythonWhitespace(scalars[index]) { index += 1 }
                parts.append(text(scalars[start..<index]))
            }
        }
        return fromRight ? parts.reversed() : parts
    }
}
