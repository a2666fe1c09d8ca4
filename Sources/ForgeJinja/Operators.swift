import Foundation

/// Python's arithmetic and comparison semantics: integers stay integers (and overflow is an error rather
/// than a crash), `/` is true division, `//` and `%` floor, `+` concatenates strings and lists only.
extension Renderer {
    func unary(_ op: UnaryOperator, _ value: Value) throws -> Value {
        if case .undefined(let hint) = value { throw error(hint) }
        if let integer = value.integerValue {
            if op == .plus { return .int(integer) }
            let (negated, overflow) = Int(0).subtractingReportingOverflow(integer)
            guard !overflow else { throw error("integer overflow") }
            return .int(negated)
        }
        if case .double(let d) = value { return .double(op == .plus ? d : -d) }
        throw error("bad operand type for unary \(op == .plus ? "+" : "-"): '\(value.typeName)'")
    }

    func binary(_ op: BinaryOperator, _ lhs: Value, _ rhs: Value) throws -> Value {
        if op == .concatenate { return .string(try bounded(lhs.text, rhs.text)) }
        if case .undefined(let hint) = lhs { throw error(hint) }
        if case .undefined(let hint) = rhs { throw error(hint) }
        if op == .modulo, case .string(let format) = lhs { return .string(try percentFormat(format, rhs)) }
        if let a = lhs.integerValue, let b = rhs.integerValue { return try integerArithmetic(op, a, b) }
        if let a = lhs.numericValue, let b = rhs.numericValue { return try floatArithmetic(op, a, b) }
        switch (op, lhs, rhs) {
        case (.add, .string(let a), .string(let b)): return .string(try bounded(a, b))
        case (.add, .list(let a), .list(let b)): return .list(try bounded(a, b))
        case (.add, .tuple(let a), .tuple(let b)): return .tuple(try bounded(a, b))
        case (.add, .string, _):
            throw error("can only concatenate str (not \"\(rhs.typeName)\") to str")
        case (.add, .list, _):
            throw error("can only concatenate list (not \"\(rhs.typeName)\") to list")
        case (.multiply, .string, _), (.multiply, .list, _), (.multiply, .tuple, _):
            if let count = rhs.integerValue { return try repeatSequence(lhs, count) }
        case (.multiply, _, .string), (.multiply, _, .list), (.multiply, _, .tuple):
            if let count = lhs.integerValue { return try repeatSequence(rhs, count) }
        default:
            break
        }
        throw error("unsupported operand type(s) for \(op.rawValue): '\(lhs.typeName)' and '\(rhs.typeName)'")
    }

    /// Concatenation doubles a value per loop iteration at most, which still outgrows memory fast.
    private func bounded(_ a: String, _ b: String) throws -> String {
        guard a.utf8.count + b.utf8.count <= options.maxOutputBytes else {
            throw error("string exceeds the output limit of \(options.maxOutputBytes) bytes")
        }
        return a + b
    }

    private func bounded(_ a: [Value], _ b: [Value]) throws -> [Value] {
        guard a.count + b.count <= options.maxLoopIterations else { throw error("list exceeds \(options.maxLoopIterations) items") }
        return a + b
    }

    private func repeatSequence(_ value: Value, _ count: Int) throws -> Value {
        let times = max(0, count)
        switch value {
        case .string(let s):
            let (total, overflow) = s.utf8.count.multipliedReportingOverflow(by: times)
            guard !overflow, total <= options.maxOutputBytes else { throw error("string repetition exceeds the output limit") }
            return .string(String(repeating: s, count: times))
        case .list(let elements), .tuple(let elements):
            let (total, overflow) = elements.count.multipliedReportingOverflow(by: times)
            guard !overflow, total <= options.maxLoopIterations else { throw error("sequence repetition is too large") }
            let repeated = Array([[Value]](repeating: elements, count: times).joined())
            if case .tuple = value { return .tuple(repeated) }
            return .list(repeated)
        default:
            throw error("can't multiply sequence by non-int")
        }
    }

    private func integerArithmetic(_ op: BinaryOperator, _ a: Int, _ b: Int) throws -> Value {
        func checked(_ result: (partialValue: Int, overflow: Bool)) throws -> Value {
            guard !result.overflow else { throw error("integer overflow") }
            return .int(result.partialValue)
        }
        switch op {
        case .add: return try checked(a.addingReportingOverflow(b))
        case .subtract: return try checked(a.subtractingReportingOverflow(b))
        case .multiply: return try checked(a.multipliedReportingOverflow(by: b))
        case .divide:
            guard b != 0 else { throw error("division by zero") }
            return .double(Double(a) / Double(b))
        case .floorDivide, .modulo:
            guard b != 0 else { throw error("integer division or modulo by zero") }
            let (quotient, overflow) = a.dividedReportingOverflow(by: b)
            guard !overflow else { throw error("integer overflow") }
            var remainder = a - quotient * b
            var floored = quotient
            if remainder != 0, (remainder < 0) != (b < 0) {
                remainder += b
                floored -= 1
            }
            return .int(op == .modulo ? remainder : floored)
        case .power:
            guard b >= 0 else { return .double(pow(Double(a), Double(b))) }
            var result = 1, base = a, exponent = b
            while exponent > 0 {
                if exponent & 1 == 1 {
                    let (product, overflow) = result.multipliedReportingOverflow(by: base)
                    guard !overflow else { throw error("integer overflow") }
                    result = product
                }
                exponent >>= 1
                if exponent > 0 {
                    let (square, overflow) = base.multipliedReportingOverflow(by: base)
                    guard !overflow else { throw error("integer overflow") }
                    base = square
                }
            }
            return .int(result)
        case .concatenate:
            return .string(String(a) + String(b))
        }
    }

    private func floatArithmetic(_ op: BinaryOperator, _ a: Double, _ b: Double) throws -> Value {
        switch op {
        case .add: return .double(a + b)
        case .subtract: return .double(a - b)
        case .multiply: return .double(a * b)
        case .divide:
            guard b != 0 else { throw error("float division by zero") }
            return .double(a / b)
        case .floorDivide:
            guard b != 0 else { throw error("float floor division by zero") }
            return .double((a / b).rounded(.down))
        case .modulo:
            guard b != 0 else { throw error("float modulo") }
            var remainder = fmod(a, b)
            if remainder != 0, (remainder < 0) != (b < 0) { remainder += b }
            // Python gives a zero remainder the divisor's sign.
            return .double(remainder == 0 ? (b < 0 ? -0.0 : 0.0) : remainder)
        case .power:
            return .double(pow(a, b))
        case .concatenate:
            return .string(pythonFloatRepr(a) + pythonFloatRepr(b))
        }
    }

    func compare(_ op: ComparisonOperator, _ lhs: Value, _ rhs: Value) throws -> Bool {
        switch op {
        case .equal: return pythonEquals(lhs, rhs)
        case .notEqual: return !pythonEquals(lhs, rhs)
        case .contains: return try contains(rhs, lhs)
        case .notContains: return try !contains(rhs, lhs)
        case .less: return try order(lhs, rhs, op) < 0
        case .lessOrEqual: return try order(lhs, rhs, op) <= 0
        case .greater: return try order(lhs, rhs, op) > 0
        case .greaterOrEqual: return try order(lhs, rhs, op) >= 0
        }
    }

    /// Python's `needle in container`.
    func contains(_ container: Value, _ needle: Value) throws -> Bool {
        switch container {
        case .string(let haystack):
            guard case .string(let part) = needle else {
                throw error("'in <string>' requires string as left operand, not \(needle.typeName)")
            }
            return part.isEmpty || haystack.unicodeScalars.firstRange(of: part.unicodeScalars) != nil
        case .list(let elements), .tuple(let elements):
            return elements.contains { pythonEquals($0, needle) }
        case .generator(let generator):
            return generator.drain().contains { pythonEquals($0, needle) }
        case .dict(let dict):
            guard case .string(let key) = needle else { return false }
            return dict[key] != nil
        case .undefined:
            return false
        default:
            throw error("argument of type '\(container.typeName)' is not iterable")
        }
    }

    /// -1, 0 or 1 as Python orders the two values; an error for types Python cannot order.
    func order(_ lhs: Value, _ rhs: Value, _ op: ComparisonOperator) throws -> Int {
        if case .undefined(let hint) = lhs { throw error(hint) }
        if case .undefined(let hint) = rhs { throw error(hint) }
        if let a = lhs.integerValue, let b = rhs.integerValue { return a < b ? -1 : a == b ? 0 : 1 }
        if let a = lhs.numericValue, let b = rhs.numericValue { return a < b ? -1 : a == b ? 0 : 1 }
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)):
            return compareScalars(a, b)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
            for (x, y) in zip(a, b) where !pythonEquals(x, y) { return try order(x, y, op) }
            return a.count < b.count ? -1 : a.count == b.count ? 0 : 1
        default:
            throw error("'\(op.rawValue)' not supported between instances of '\(lhs.typeName)' and '\(rhs.typeName)'")
        }
    }
}

/// Python orders strings by code point.
func compareScalars(_ a: String, _ b: String) -> Int {
    var left = a.unicodeScalars.makeIterator(), right = b.unicodeScalars.makeIterator()
    while true {
        switch (left.next(), right.next()) {
        case (nil, nil): return 0
        case (nil, _): return -1
        case (_, nil): return 1
        case (let x?, let y?): if x != y { return x.value < y.value ? -1 : 1 }
        }
    }
}
