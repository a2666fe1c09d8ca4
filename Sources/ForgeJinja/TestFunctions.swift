/// jinja2's tests (`x is defined`), with Python's type model: bools are numbers, strings are iterable.
enum TestFunctions {
    static let known: Set<String> = [
        "defined", "undefined", "none", "boolean", "true", "false", "integer", "float", "number", "string",
        "mapping", "iterable", "sequence", "callable", "sameas", "even", "odd", "divisibleby", "equalto", "eq",
        "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "lessthan", "greaterthan", "in",
        "lower", "upper", "escaped",
    ]
}

extension Renderer {
    func applyTest(_ name: String, to value: Value, _ arguments: CallArguments) throws -> Bool {
        func other() throws -> Value {
            guard let argument = arguments.value(0, "other") ?? arguments.value(0, "value") ?? arguments.value(0, "seq") else {
                throw error("the '\(name)' test needs an argument")
            }
            return argument
        }
        switch name {
        case "defined": return !value.isUndefined
        case "undefined": return value.isUndefined
        case "none": return value.isNone
        case "boolean":
            if case .bool = value { return true }
            return false
        case "true":
            if case .bool(true) = value { return true }
            return false
        case "false":
            if case .bool(false) = value { return true }
            return false
        case "integer":
            if case .int = value { return true }
            return false
        case "float":
            if case .double = value { return true }
            return false
        case "number": return value.numericValue != nil
        case "string":
            if case .string = value { return true }
            return false
        case "mapping":
            if case .dict = value { return true }
            return false
        case "iterable":
            if case .generator = value { return true }
            return value.iterationElements() != nil
        case "sequence":
            switch value {
            case .string, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        case "callable":
            switch value {
            case .macro, .function, .method: return true
            default: return false
            }
        case "sameas":
            let target = try other()
            switch (value, target) {
            case (.none, .none): return true
            case (.bool(let a), .bool(let b)): return a == b
            case (.namespace(let a), .namespace(let b)): return a === b
            case (.macro(let a), .macro(let b)): return a === b
            default: return false
            }
        case "even", "odd":
            let remainder = try binary(.modulo, value, .int(2))
            return pythonEquals(remainder, .int(name == "even" ? 0 : 1))
        case "divisibleby":
            guard let integer = value.integerValue, let divisor = try other().integerValue else {
                throw error("divisibleby needs integers")
            }
            guard divisor != 0 else { throw error("integer division or modulo by zero") }
            return integer % divisor == 0
        case "equalto", "eq", "==": return try compare(.equal, value, other())
        case "ne", "!=": return try compare(.notEqual, value, other())
        case "lt", "<", "lessthan": return try compare(.less, value, other())
        case "le", "<=": return try compare(.lessOrEqual, value, other())
        case "gt", ">", "greaterthan": return try compare(.greater, value, other())
        case "ge", ">=": return try compare(.greaterOrEqual, value, other())
        case "in": return try contains(try other(), value)
        case "lower":
            let s = value.text
            return s.lowercased() == s && s.uppercased() != s
        case "upper":
            let s = value.text
            return s.uppercased() == s && s.lowercased() != s
        case "escaped": return false
        default: throw error("no test named '\(name)'")
        }
    }
}
