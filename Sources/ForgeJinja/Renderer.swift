/// Variables visible at one point of a template; loops, macros and `with` blocks open a child scope,
/// `if` does not, so `set` inside a loop body is forgotten at the next iteration, as in jinja2.
final class Scope {
    private var variables: [String: Value] = [:]
    let parent: Scope?

    init(parent: Scope?) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var scope: Scope? = self
        while let current = scope {
            if let value = current.variables[name] { return value }
            scope = current.parent
        }
        return nil
    }

    func set(_ name: String, _ value: Value) { variables[name] = value }
}

/// Bound arguments of a call: values after the receiver, by position, and by keyword.
struct CallArguments {
    var positional: [Value]
    var keyword: [(name: String, value: Value)]

    /// The argument at `index` or named `name`.
    func value(_ index: Int, _ name: String) -> Value? {
        if index < positional.count { return positional[index] }
        return keyword.first { $0.name == name }?.value
    }
}

/// One rendering of a template: holds the output, the limits' counters and the line being executed.
final class Renderer {
    let options: JinjaOptions
    let globals: Scope
    private var output = ""
    private var producedBytes = 0
    private var iterations = 0
    private var callDepth = 0
    var line = 1

    init(options: JinjaOptions, context: JinjaObject) {
        self.options = options
        globals = Scope(parent: nil)
        for (name, value) in context.pairs { globals.set(name, Value(value)) }
    }

    func render(_ nodes: [Node]) throws -> String {
        _ = try execute(nodes, in: Scope(parent: globals))
        return output
    }

    func error(_ message: String) -> JinjaError {
        JinjaError(.runtime, message, line: line)
    }

    private func emit(_ text: String) throws {
        producedBytes += text.utf8.count
        guard producedBytes <= options.maxOutputBytes else {
            throw error("output exceeds the limit of \(options.maxOutputBytes) bytes")
        }
        output += text
    }

    /// Runs `body` with a fresh output buffer and returns what it produced.
    private func capture(_ body: () throws -> Void) throws -> String {
        let saved = output
        output = ""
        defer { output = saved }
        try body()
        return output
    }

    func countIterations(_ count: Int) throws {
        iterations += count
        guard iterations <= options.maxLoopIterations else {
            throw error("loops exceed the limit of \(options.maxLoopIterations) iterations")
        }
    }

    // MARK: Statements

    private enum Flow { case normal, breakLoop, continueLoop }

    private func execute(_ nodes: [Node], in scope: Scope) throws -> Flow {
        for node in nodes {
            let flow = try execute(node, in: scope)
            if flow != .normal { return flow }
        }
        return .normal
    }

    private func execute(_ node: Node, in scope: Scope) throws -> Flow {
        switch node {
        case .text(let text):
            try emit(text)
        case .output(let expression):
            line = expression.line
            let value = try evaluate(expression, in: scope)
            try emit(value.text)
        case .conditional(let branches, let otherwise):
            for branch in branches {
                line = branch.condition.line
                if try evaluate(branch.condition, in: scope).isTruthy {
                    return try execute(branch.body, in: scope)
                }
            }
            return try execute(otherwise, in: scope)
        case .loop(let loop):
            try executeLoop(loop, in: scope)
        case .assign(let target, let expression, let assignLine):
            line = assignLine
            let value = try evaluate(expression, in: scope)
            line = assignLine
            try assign(value, to: target, in: scope)
        case .assignBlock(let target, let body, let filters, let assignLine):
            var value = Value.string(try capture { _ = try execute(body, in: scope) })
            value = try applyFilters(filters, to: value, in: scope)
            line = assignLine
            try assign(value, to: target, in: scope)
        case .macro(let name, let parameters, let body, _):
            scope.set(name, .macro(Macro(name: name, parameters: parameters, body: body, closure: scope)))
        case .filterBlock(let filters, let body, _):
            let text = try capture { _ = try execute(body, in: scope) }
            try emit(try applyFilters(filters, to: .string(text), in: scope).text)
        case .with(let assignments, let body):
            let inner = Scope(parent: scope)
            for (name, expression) in assignments {
                line = expression.line
                inner.set(name, try evaluate(expression, in: scope))
            }
            return try execute(body, in: inner)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    private func applyFilters(_ filters: [FilterCall], to value: Value, in scope: Scope) throws -> Value {
        var result = value
        for filter in filters {
            line = filter.line
            let arguments = try evaluateArguments(filter.arguments, in: scope)
            result = try applyFilter(filter.name, to: result, arguments)
        }
        return result
    }

    private func assign(_ value: Value, to target: AssignmentTarget, in scope: Scope) throws {
        switch target {
        case .names(let names) where names.count == 1:
            scope.set(names[0], value)
        case .names(let names):
            let elements = try unpack(value, count: names.count)
            for (name, element) in zip(names, elements) { scope.set(name, element) }
        case .attribute(let objectName, let attribute):
            guard case .namespace(let namespace) = scope.lookup(objectName) ?? .none else {
                throw error("cannot assign attribute on non-namespace object")
            }
            namespace.attributes[attribute] = value
        }
    }

    private func unpack(_ value: Value, count: Int) throws -> [Value] {
        guard let elements = value.iterationElements(), !value.isUndefined else {
            throw error("cannot unpack non-iterable \(value.typeName) object")
        }
        guard elements.count == count else {
            throw error(elements.count < count
                ? "not enough values to unpack (expected \(count), got \(elements.count))"
                : "too many values to unpack (expected \(count))")
        }
        return elements
    }

    private func executeLoop(_ loop: Loop, in scope: Scope) throws {
        line = loop.line
        let iterable = try evaluate(loop.iterable, in: scope)
        guard var items = iterable.iterationElements() else {
            throw error("'\(iterable.typeName)' object is not iterable")
        }
        if let condition = loop.condition {
            var kept: [Value] = []
            for item in items {
                try countIterations(1)
                let filterScope = Scope(parent: scope)
                try bind(item, to: loop.targets, in: filterScope)
                line = condition.line
                if try evaluate(condition, in: filterScope).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try execute(loop.otherwise, in: scope)
            return
        }
        let state = LoopState(items: items)
        for (index, item) in items.enumerated() {
            try countIterations(1)
            state.index0 = index
            let iterationScope = Scope(parent: scope)
            iterationScope.set("loop", .loop(state))
            line = loop.line
            try bind(item, to: loop.targets, in: iterationScope)
            if try execute(loop.body, in: iterationScope) == .breakLoop { break }
        }
    }

    private func bind(_ item: Value, to targets: [String], in scope: Scope) throws {
        if targets.count == 1 {
            scope.set(targets[0], item)
        } else {
            for (name, element) in zip(targets, try unpack(item, count: targets.count)) { scope.set(name, element) }
        }
    }

    // MARK: Expressions

    func evaluate(_ expression: Expression, in scope: Scope) throws -> Value {
        switch expression.kind {
        case .literal(let literal):
            switch literal {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .double(let d): return .double(d)
            case .string(let s): return .string(s)
            }
        case .name(let name):
            if let value = scope.lookup(name) { return value }
            if let function = GlobalFunction(rawValue: name) { return .function(function) }
            return .undefined(hint: "'\(name)' is undefined")
        case .list(let elements):
            return try nested(.list(try elements.map { try evaluate($0, in: scope) }))
        case .tuple(let elements):
            return try nested(.tuple(try elements.map { try evaluate($0, in: scope) }))
        case .dict(let pairs):
            var dict = Dict()
            for (keyExpression, valueExpression) in pairs {
                let key = try evaluate(keyExpression, in: scope)
                guard case .string(let keyString) = key else {
                    line = keyExpression.line
                    throw error("dictionary keys must be strings, got \(key.typeName)")
                }
                dict[keyString] = try evaluate(valueExpression, in: scope)
            }
            return try nested(.dict(dict))
        case .attribute(let base, let name):
            let value = try evaluate(base, in: scope)
            line = expression.line
            return try attribute(name, of: value)
        case .item(let base, let keyExpression):
            let value = try evaluate(base, in: scope)
            let key = try evaluate(keyExpression, in: scope)
            line = expression.line
            return try item(key, of: value)
        case .slice(let base, let start, let stop, let step):
            let value = try evaluate(base, in: scope)
            let bounds = try [start, stop, step].map { try $0.map { try evaluate($0, in: scope) } }
            line = expression.line
            return try slice(value, start: bounds[0], stop: bounds[1], step: bounds[2])
        case .call(let callee, let arguments):
            let function = try evaluate(callee, in: scope)
            let values = try evaluateArguments(arguments, in: scope)
            line = expression.line
            return try call(function, values)
        case .filter(let base, let name, let arguments):
            let value = try evaluate(base, in: scope)
            let values = try evaluateArguments(arguments, in: scope)
            line = expression.line
            return try applyFilter(name, to: value, values)
        case .test(let base, let name, let arguments, let negated):
            let value = try evaluate(base, in: scope)
            let values = try evaluateArguments(arguments, in: scope)
            line = expression.line
            let result = try applyTest(name, to: value, values)
            return .bool(result != negated)
        case .unary(let op, let operand):
            let value = try evaluate(operand, in: scope)
            line = expression.line
            return try unary(op, value)
        case .binary(let op, let left, let right):
            let lhs = try evaluate(left, in: scope)
            let rhs = try evaluate(right, in: scope)
            line = expression.line
            return try binary(op, lhs, rhs)
        case .and(let left, let right):
            let lhs = try evaluate(left, in: scope)
            return lhs.isTruthy ? try evaluate(right, in: scope) : lhs
        case .or(let left, let right):
            let lhs = try evaluate(left, in: scope)
            return lhs.isTruthy ? lhs : try evaluate(right, in: scope)
        case .not(let operand):
            return .bool(!(try evaluate(operand, in: scope).isTruthy))
        case .compare(let first, let operations):
            var lhs = try evaluate(first, in: scope)
            for (op, operand) in operations {
                let rhs = try evaluate(operand, in: scope)
                line = expression.line
                guard try compare(op, lhs, rhs) else { return .bool(false) }
                lhs = rhs
            }
            return .bool(true)
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition, in: scope).isTruthy { return try evaluate(then, in: scope) }
            guard let otherwise else { return .undefined(hint: "the inline if expression has no else branch") }
            return try evaluate(otherwise, in: scope)
        }
    }

    /// Containers built in a loop (`{% set x = [x] %}`) could nest deep enough to overflow the stack
    /// of every recursive operation on them; they stop at `Value.maxNesting` levels.
    private func nested(_ container: Value) throws -> Value {
        guard container.nestingDepth(limit: Value.maxNesting) <= Value.maxNesting else {
            throw error("values nest deeper than \(Value.maxNesting) levels")
        }
        return container
    }

    func evaluateArguments(_ arguments: Arguments, in scope: Scope) throws -> CallArguments {
        CallArguments(
            positional: try arguments.positional.map { try evaluate($0, in: scope) },
            keyword: try arguments.keyword.map { ($0.name, try evaluate($0.value, in: scope)) })
    }

    /// jinja2's `getattr`: a Python attribute (a method) first, then the item of that name.
    func attribute(_ name: String, of value: Value) throws -> Value {
        switch value {
        case .undefined(let hint):
            throw error(hint)
        case .dict(let dict):
            if Methods.dict.contains(name) { return .method(receiver: Box(value), name: name) }
            return dict[name] ?? .undefined(hint: "'dict object' has no attribute '\(name)'")
        case .string:
            if Methods.string.contains(name) { return .method(receiver: Box(value), name: name) }
        case .list, .tuple:
            if Methods.sequence.contains(name) { return .method(receiver: Box(value), name: name) }
        case .namespace(let namespace):
            return namespace.attributes[name] ?? .undefined(hint: "'Namespace object' has no attribute '\(name)'")
        case .loop(let state):
            if name == "cycle" { return .method(receiver: Box(value), name: name) }
            if let result = state.attribute(name) { return result }
        default:
            break
        }
        if case .none = value { return .undefined(hint: "'None' has no attribute '\(name)'") }
        return .undefined(hint: "'\(value.typeName) object' has no attribute '\(name)'")
    }

    /// jinja2's `getitem`: the item, else the attribute of that name; a missing item is undefined.
    func item(_ key: Value, of value: Value) throws -> Value {
        switch (value, key) {
        case (.undefined(let hint), _):
            throw error(hint)
        case (.dict(let dict), .string(let name)):
            if let result = dict[name] { return result }
            return .undefined(hint: "'dict object' has no attribute '\(name)'")
        case (.list(let elements), _), (.tuple(let elements), _):
            if let index = key.integerValue {
                let position = index < 0 ? index + elements.count : index
                if elements.indices.contains(position) { return elements[position] }
                return .undefined(hint: "\(value.typeName) object has no element \(key.repr)")
            }
        case (.string(let string), _):
            if let index = key.integerValue {
                let scalars = Array(string.unicodeScalars)
                let position = index < 0 ? index + scalars.count : index
                if scalars.indices.contains(position) { return .string(String(scalars[position])) }
                return .undefined(hint: "str object has no element \(key.repr)")
            }
        default:
            break
        }
        if case .string(let name) = key { return try attribute(name, of: value) }
        return .undefined(hint: "\(value.isNone ? "None" : value.typeName + " object") has no element \(key.repr)")
    }

    private func slice(_ value: Value, start: Value?, stop: Value?, step: Value?) throws -> Value {
        func bound(_ value: Value?) throws -> Int? {
            guard let value, !value.isNone else { return nil }
            guard let integer = value.integerValue else {
                throw error("slice indices must be integers or None, not \(value.typeName)")
            }
            return integer
        }
        let step = try bound(step) ?? 1
        guard step != 0 else { throw error("slice step cannot be zero") }
        let start = try bound(start), stop = try bound(stop)
        func indices(_ count: Int) -> [Int] {
            func adjust(_ index: Int?, _ defaultValue: Int) -> Int {
                guard var index else { return defaultValue }
                if index < 0 {
                    index += count
                    if index < 0 { index = step < 0 ? -1 : 0 }
                } else if index >= count {
                    index = step < 0 ? count - 1 : count
                }
                return index
            }
            var result: [Int] = []
            var position = adjust(start, step < 0 ? count - 1 : 0)
            let end = adjust(stop, step < 0 ? -1 : count)
            while step > 0 ? position < end : position > end {
                result.append(position)
                let (next, overflow) = position.addingReportingOverflow(step)
                if overflow { break }
                position = next
            }
            return result
        }
        switch value {
        case .undefined(let hint): throw error(hint)
        case .list(let elements): return .list(indices(elements.count).map { elements[$0] })
        case .tuple(let elements): return .tuple(indices(elements.count).map { elements[$0] })
        case .string(let string):
            let scalars = Array(string.unicodeScalars)
            var view = String.UnicodeScalarView()
            for index in indices(scalars.count) { view.append(scalars[index]) }
            return .string(String(view))
        default:
            throw error("'\(value.typeName)' object is not subscriptable")
        }
    }

    // MARK: Calls

    func call(_ function: Value, _ arguments: CallArguments) throws -> Value {
        switch function {
        case .undefined(let hint):
            throw error(hint)
        case .macro(let macro):
            return try callMacro(macro, arguments)
        case .function(let global):
            return try callGlobal(global, arguments)
        case .method(let receiver, let name):
            return try callMethod(name, on: receiver.value, arguments)
        default:
            throw error("'\(function.typeName)' object is not callable")
        }
    }

    private func callMacro(_ macro: Macro, _ arguments: CallArguments) throws -> Value {
        guard arguments.positional.count <= macro.parameters.count else {
            throw error("macro '\(macro.name)' takes not more than \(macro.parameters.count) argument(s)")
        }
        for (name, _) in arguments.keyword where !macro.parameters.contains(where: { $0.name == name }) {
            throw error("macro '\(macro.name)' takes no keyword argument '\(name)'")
        }
        try countIterations(1)
        callDepth += 1
        defer { callDepth -= 1 }
        guard callDepth <= options.maxCallDepth else {
            throw error("macro calls nest deeper than \(options.maxCallDepth) levels")
        }
        let scope = Scope(parent: macro.closure)
        for (index, parameter) in macro.parameters.enumerated() {
            if let value = arguments.value(index, parameter.name) {
                scope.set(parameter.name, value)
            } else if let defaultValue = parameter.defaultValue {
                scope.set(parameter.name, try evaluate(defaultValue, in: scope))
            } else {
                scope.set(parameter.name, .undefined(hint: "parameter '\(parameter.name)' was not provided"))
            }
        }
        let callLine = line
        let text = try capture { _ = try execute(macro.body, in: scope) }
        line = callLine
        return .string(text)
    }

    private func callGlobal(_ function: GlobalFunction, _ arguments: CallArguments) throws -> Value {
        switch function {
        case .raiseException:
            let message = arguments.value(0, "message")?.text ?? "raise_exception was called"
            throw JinjaError(.raised, message, line: line)
        case .strftimeNow:
            guard case .string(let format) = arguments.value(0, "format") ?? .none else {
                throw error("strftime_now needs a format string")
            }
            return .string(strftime(format, options.now()))
        case .namespace:
            var attributes = Dict()
            if let initial = arguments.positional.first {
                guard case .dict(let dict) = initial else { throw error("namespace() takes a mapping or keyword arguments") }
                attributes = dict
            }
            for (name, value) in arguments.keyword { attributes[name] = value }
            return .namespace(Namespace(attributes))
        case .dict:
            var dict = Dict()
            for (name, value) in arguments.keyword { dict[name] = value }
            return .dict(dict)
        case .range:
            let bounds = try arguments.positional.map { value in
                guard let integer = value.integerValue else { throw error("range() needs integers, got \(value.typeName)") }
                return integer
            }
            let (start, stop, step): (Int, Int, Int)
            switch bounds.count {
            case 1: (start, stop, step) = (0, bounds[0], 1)
            case 2: (start, stop, step) = (bounds[0], bounds[1], 1)
            case 3: (start, stop, step) = (bounds[0], bounds[1], bounds[2])
            default: throw error("range() takes 1 to 3 arguments")
            }
            guard step != 0 else { throw error("range() arg 3 must not be zero") }
            let (span, overflow) = step > 0 ? stop.subtractingReportingOverflow(start) : start.subtractingReportingOverflow(stop)
            guard !overflow else { throw error("range() bounds are too far apart") }
            let count = span <= 0 ? 0 : Int((UInt(span) - 1) / step.magnitude) + 1
            try countIterations(count)
            return .list((0..<count).map { .int(start + $0 * step) })
        }
    }
}
