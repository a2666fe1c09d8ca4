/// Recursive-descent parser with jinja2's grammar and operator precedence. Filters bind tighter than
/// arithmetic (`a + b | trim` is `a + (b | trim)`), `not` binds looser than comparisons.
struct Parser {
    private let tokens: [Token]
    private var index = 0
    private var depth = 0
    private var loopDepth = 0
    private let maxDepth: Int

    init(tokens: [Token], maxDepth: Int) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    mutating func parseTemplate() throws -> [Node] {
        let (nodes, _) = try parseNodes(until: [], opener: nil)
        return nodes
    }

    // MARK: Token helpers

    private var current: Token { tokens[min(index, tokens.count - 1)] }

    private func peek(_ offset: Int = 1) -> Token { tokens[min(index + offset, tokens.count - 1)] }

    private mutating func advance() -> Token {
        let token = current
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func isName(_ name: String, _ token: Token? = nil) -> Bool {
        (token ?? current).kind == .name(name)
    }

    private func isOp(_ op: String, _ token: Token? = nil) -> Bool {
        (token ?? current).kind == .op(op)
    }

    private func fail(_ message: String, line: Int? = nil) -> JinjaError {
        JinjaError(.syntax, message, line: line ?? current.line)
    }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .text: "text"
        case .variableBegin: "'{{'"
        case .variableEnd: "'}}'"
        case .blockBegin: "'{%'"
        case .blockEnd: "'%}'"
        case .name(let name): "'\(name)'"
        case .string(let string): "string \(pythonStringRepr(string))"
        case .integer(let value): "\(value)"
        case .float(let value): "\(value)"
        case .op(let op): "'\(op)'"
        case .end: "end of template"
        }
    }

    private mutating func expectOp(_ op: String) throws {
        guard isOp(op) else { throw fail("expected '\(op)', got \(describe(current))") }
        _ = advance()
    }

    private mutating func expectName() throws -> String {
        guard case .name(let name) = current.kind else { throw fail("expected a name, got \(describe(current))") }
        _ = advance()
        return name
    }

    private mutating func expectKeyword(_ keyword: String) throws {
        guard isName(keyword) else { throw fail("expected '\(keyword)', got \(describe(current))") }
        _ = advance()
    }

    private mutating func expectBlockEnd(_ tag: String) throws {
        guard current.kind == .blockEnd else {
            throw fail("expected '%}' to end the '\(tag)' tag, got \(describe(current))")
        }
        _ = advance()
    }

    private mutating func enter() throws {
        depth += 1
        guard depth <= maxDepth else { throw fail("template nests deeper than \(maxDepth) levels") }
    }

    // MARK: Statements

    /// Parses until a block tag named in `terminators`; returns the nodes and that name (consumed, with
    /// the rest of its tag left to the caller).
    private mutating func parseNodes(until terminators: Set<String>, opener: (name: String, line: Int)?) throws -> ([Node], String?) {
        try enter()
        defer { depth -= 1 }
        var nodes: [Node] = []
        while true {
            let token = current
            switch token.kind {
            case .text(let text):
                _ = advance()
                nodes.append(.text(text))
            case .variableBegin:
                _ = advance()
                let expression = try parseTuple()
                guard current.kind == .variableEnd else {
                    throw fail("expected '}}' to end the expression, got \(describe(current))")
                }
                _ = advance()
                nodes.append(.output(expression))
            case .blockBegin:
                _ = advance()
                guard case .name(let name) = current.kind else {
                    throw fail("expected a tag name after '{%', got \(describe(current))")
                }
                if terminators.contains(name) {
                    _ = advance()
                    return (nodes, name)
                }
                nodes.append(try parseStatement(name))
            case .end:
                if let opener {
                    let expected = terminators.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw fail("unexpected end of template: the '\(opener.name)' tag at line \(opener.line) needs \(expected)", line: opener.line)
                }
                return (nodes, nil)
            default:
                throw fail("unexpected \(describe(token))")
            }
        }
    }

    private mutating func parseStatement(_ name: String) throws -> Node {
        let line = current.line
        _ = advance()
        switch name {
        case "if": return try parseIf(line: line)
        case "for": return try parseFor(line: line)
        case "set": return try parseSet(line: line)
        case "macro": return try parseMacro(line: line)
        case "filter":
            let filters = try parseFilterChain(first: true)
            try expectBlockEnd(name)
            let (body, _) = try parseNodes(until: ["endfilter"], opener: (name, line))
            try expectBlockEnd("endfilter")
            return .filterBlock(filters: filters, body: body, line: line)
        case "with": return try parseWith(line: line)
        case "generation":
            // Hugging Face's assistant-mask extension; for rendering it is transparent.
            try expectBlockEnd(name)
            let (body, _) = try parseNodes(until: ["endgeneration"], opener: (name, line))
            try expectBlockEnd("endgeneration")
            return .with(assignments: [], body: body)
        case "break", "continue":
            guard loopDepth > 0 else { throw fail("'\(name)' outside of a for loop", line: line) }
            try expectBlockEnd(name)
            return name == "break" ? .breakLoop(line: line) : .continueLoop(line: line)
        case "include", "import", "from", "extends", "block", "call":
            throw fail("the '\(name)' tag is not supported in chat templates", line: line)
        default:
            throw fail("unknown tag '\(name)'", line: line)
        }
    }

    private mutating func parseIf(line: Int) throws -> Node {
        var branches: [(condition: Expression, body: [Node])] = []
        var condition = try parseTuple()
        while true {
            try expectBlockEnd("if")
            let (body, terminator) = try parseNodes(until: ["elif", "else", "endif"], opener: ("if", line))
            branches.append((condition, body))
            switch terminator {
            case "elif":
                condition = try parseTuple()
            case "else":
                try expectBlockEnd("else")
                let (otherwise, _) = try parseNodes(until: ["endif"], opener: ("if", line))
                try expectBlockEnd("endif")
                return .conditional(branches: branches, otherwise: otherwise)
            default:
                try expectBlockEnd("endif")
                return .conditional(branches: branches, otherwise: [])
            }
        }
    }

    private mutating func parseFor(line: Int) throws -> Node {
        var targets: [String] = []
        let parenthesized = isOp("(")
        if parenthesized { _ = advance() }
        repeat {
            if !targets.isEmpty { _ = advance() }
            targets.append(try expectName())
        } while isOp(",")
        if parenthesized { try expectOp(")") }
        try expectKeyword("in")
        let iterable = try parseTuple(withCondition: false)
        var condition: Expression?
        if isName("if") {
            _ = advance()
            condition = try parseExpression()
        }
        if isName("recursive") { throw fail("recursive for loops are not supported") }
        try expectBlockEnd("for")
        loopDepth += 1
        let (body, terminator) = try parseNodes(until: ["else", "endfor"], opener: ("for", line))
        loopDepth -= 1
        var otherwise: [Node] = []
        if terminator == "else" {
            try expectBlockEnd("else")
            (otherwise, _) = try parseNodes(until: ["endfor"], opener: ("for", line))
        }
        try expectBlockEnd("endfor")
        return .loop(Loop(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise, line: line))
    }

    private mutating func parseAssignmentTarget() throws -> AssignmentTarget {
        let first = try expectName()
        if isOp(".") {
            _ = advance()
            return .attribute(object: first, attribute: try expectName())
        }
        var names = [first]
        while isOp(",") {
            _ = advance()
            names.append(try expectName())
        }
        return .names(names)
    }

    private mutating func parseSet(line: Int) throws -> Node {
        let target = try parseAssignmentTarget()
        if isOp("=") {
            _ = advance()
            let value = try parseTuple()
            try expectBlockEnd("set")
            return .assign(target, value, line: line)
        }
        let filters = isOp("|") ? try parseFilterChain(first: false) : []
        try expectBlockEnd("set")
        let (body, _) = try parseNodes(until: ["endset"], opener: ("set", line))
        try expectBlockEnd("endset")
        return .assignBlock(target, body: body, filters: filters, line: line)
    }

    private mutating func parseMacro(line: Int) throws -> Node {
        let name = try expectName()
        try expectOp("(")
        var parameters: [(name: String, defaultValue: Expression?)] = []
        while !isOp(")") {
            if !parameters.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let parameter = try expectName()
            var defaultValue: Expression?
            if isOp("=") {
                _ = advance()
                defaultValue = try parseExpression()
            } else if parameters.last?.defaultValue != nil {
                throw fail("non-default argument '\(parameter)' follows default argument")
            }
            parameters.append((parameter, defaultValue))
        }
        _ = advance()
        try expectBlockEnd("macro")
        let outerLoopDepth = loopDepth
        loopDepth = 0
        let (body, _) = try parseNodes(until: ["endmacro"], opener: ("macro", line))
        loopDepth = outerLoopDepth
        try expectBlockEnd("endmacro")
        return .macro(name: name, parameters: parameters, body: body, line: line)
    }

    private mutating func parseWith(line: Int) throws -> Node {
        var assignments: [(name: String, value: Expression)] = []
        while current.kind != .blockEnd {
            if !assignments.isEmpty { try expectOp(",") }
            let name = try expectName()
            try expectOp("=")
            assignments.append((name, try parseExpression()))
        }
        try expectBlockEnd("with")
        let (body, _) = try parseNodes(until: ["endwith"], opener: ("with", line))
        try expectBlockEnd("endwith")
        return .with(assignments: assignments, body: body)
    }

    /// `name(args) | name ...` as in `{% filter %}` and `{% set x | filter %}`.
    private mutating func parseFilterChain(first: Bool) throws -> [FilterCall] {
        var filters: [FilterCall] = []
        var needsPipe = !first
        while needsPipe ? isOp("|") : true {
            if needsPipe { _ = advance() }
            let line = current.line
            let name = try parseFilterName()
            let arguments = isOp("(") ? try parseCallArguments() : Arguments()
            filters.append(FilterCall(name: name, arguments: arguments, line: line))
            needsPipe = true
        }
        return filters
    }

    private mutating func parseFilterName() throws -> String {
        let name = try expectName()
        guard Filters.known.contains(name) else { throw fail("no filter named '\(name)'") }
        return name
    }

    // MARK: Expressions

    /// An expression, or several separated by commas forming a tuple.
    private mutating func parseTuple(withCondition: Bool = true) throws -> Expression {
        let line = current.line
        let first = withCondition ? try parseExpression() : try parseOr()
        guard isOp(",") else { return first }
        var elements = [first]
        while isOp(",") {
            _ = advance()
            if isExpressionEnd() { break }
            elements.append(withCondition ? try parseExpression() : try parseOr())
        }
        return Expression(.tuple(elements), line: line)
    }

    private func isExpressionEnd() -> Bool {
        switch current.kind {
        case .variableEnd, .blockEnd, .end: true
        case .op(let op): op == ")" || op == "]" || op == "}"
        case .name(let name): name == "if" || name == "in"
        default: false
        }
    }

    private mutating func parseExpression() throws -> Expression {
        try enter()
        defer { depth -= 1 }
        var expression = try parseOr()
        while isName("if") {
            let line = current.line
            _ = advance()
            let condition = try parseOr()
            var otherwise: Expression?
            if isName("else") {
                _ = advance()
                otherwise = try parseExpression()
            }
            expression = Expression(.conditional(condition: condition, then: expression, otherwise: otherwise), line: line)
        }
        return expression
    }

    private mutating func parseOr() throws -> Expression {
        var left = try parseAnd()
        while isName("or") {
            let line = advance().line
            left = Expression(.or(left, try parseAnd()), line: line)
        }
        return left
    }

    private mutating func parseAnd() throws -> Expression {
        var left = try parseNot()
        while isName("and") {
            let line = advance().line
            left = Expression(.and(left, try parseNot()), line: line)
        }
        return left
    }

    private mutating func parseNot() throws -> Expression {
        if isName("not") {
            try enter()
            defer { depth -= 1 }
            let line = advance().line
            return Expression(.not(try parseNot()), line: line)
        }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expression {
        let line = current.line
        let left = try parseMath1()
        var operations: [(ComparisonOperator, Expression)] = []
        while true {
            if case .op(let op) = current.kind, let comparison = ComparisonOperator(rawValue: op), comparison != .contains {
                _ = advance()
                operations.append((comparison, try parseMath1()))
            } else if isName("in") {
                _ = advance()
                operations.append((.contains, try parseMath1()))
            } else if isName("not"), isName("in", peek()) {
                _ = advance()
                _ = advance()
                operations.append((.notContains, try parseMath1()))
            } else {
                break
            }
        }
        return operations.isEmpty ? left : Expression(.compare(left, operations), line: line)
    }

    private mutating func parseBinary(_ operators: [BinaryOperator], next: (inout Parser) throws -> Expression) throws -> Expression {
        var left = try next(&self)
        while case .op(let op) = current.kind, let binary = BinaryOperator(rawValue: op), operators.contains(binary) {
            let line = advance().line
            left = Expression(.binary(binary, left, try next(&self)), line: line)
        }
        return left
    }

    private mutating func parseMath1() throws -> Expression {
        try parseBinary([.add, .subtract]) { try $0.parseConcat() }
    }

    private mutating func parseConcat() throws -> Expression {
        try parseBinary([.concatenate]) { try $0.parseMath2() }
    }

    private mutating func parseMath2() throws -> Expression {
        try parseBinary([.multiply, .divide, .floorDivide, .modulo]) { try $0.parsePower() }
    }

    private mutating func parsePower() throws -> Expression {
        try parseBinary([.power]) { try $0.parseUnary() }
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expression {
        try enter()
        defer { depth -= 1 }
        let line = current.line
        var expression: Expression
        if isOp("-") {
            _ = advance()
            expression = Expression(.unary(.negate, try parseUnary(withFilter: false)), line: line)
        } else if isOp("+") {
            _ = advance()
            expression = Expression(.unary(.plus, try parseUnary(withFilter: false)), line: line)
        } else {
            expression = try parsePrimary()
        }
        expression = try parsePostfix(expression)
        if withFilter { expression = try parseFilterExpression(expression) }
        return expression
    }

    private mutating func parsePrimary() throws -> Expression {
        let token = current
        let line = token.line
        switch token.kind {
        case .name(let name):
            _ = advance()
            switch name {
            case "true", "True": return Expression(.literal(.bool(true)), line: line)
            case "false", "False": return Expression(.literal(.bool(false)), line: line)
            case "none", "None": return Expression(.literal(.none), line: line)
            default: return Expression(.name(name), line: line)
            }
        case .string(var string):
            _ = advance()
            while case .string(let next) = current.kind {
                string += next
                _ = advance()
            }
            return Expression(.literal(.string(string)), line: line)
        case .integer(let value):
            _ = advance()
            return Expression(.literal(.int(value)), line: line)
        case .float(let value):
            _ = advance()
            return Expression(.literal(.double(value)), line: line)
        case .op("("):
            _ = advance()
            if isOp(")") {
                _ = advance()
                return Expression(.tuple([]), line: line)
            }
            let inner = try parseTuple()
            try expectOp(")")
            return inner
        case .op("["):
            _ = advance()
            var elements: [Expression] = []
            while !isOp("]") {
                if !elements.isEmpty { try expectOp(",") }
                if isOp("]") { break }
                elements.append(try parseExpression())
            }
            _ = advance()
            return Expression(.list(elements), line: line)
        case .op("{"):
            _ = advance()
            var pairs: [(key: Expression, value: Expression)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(",") }
                if isOp("}") { break }
                let key = try parseExpression()
                try expectOp(":")
                pairs.append((key, try parseExpression()))
            }
            _ = advance()
            return Expression(.dict(pairs), line: line)
        default:
            throw fail("unexpected \(describe(token)) in expression")
        }
    }

    private mutating func parsePostfix(_ base: Expression) throws -> Expression {
        var expression = base
        while true {
            let line = current.line
            if isOp(".") {
                _ = advance()
                switch current.kind {
                case .name(let name):
                    _ = advance()
                    expression = Expression(.attribute(expression, name), line: line)
                case .integer(let value):
                    _ = advance()
                    expression = Expression(.item(expression, Expression(.literal(.int(value)), line: line)), line: line)
                default:
                    throw fail("expected an attribute name after '.', got \(describe(current))")
                }
            } else if isOp("[") {
                _ = advance()
                expression = try parseSubscript(expression, line: line)
            } else if isOp("(") {
                expression = Expression(.call(expression, try parseCallArguments()), line: line)
            } else {
                return expression
            }
        }
    }

    private mutating func parseSubscript(_ base: Expression, line: Int) throws -> Expression {
        var parts: [Expression?] = [nil]
        var isSlice = false
        if !isOp(":") { parts[0] = try parseExpression() }
        while isOp(":") {
            isSlice = true
            _ = advance()
            guard parts.count < 3 else { throw fail("a slice has at most three parts") }
            parts.append(isOp(":") || isOp("]") ? nil : try parseExpression())
        }
        try expectOp("]")
        if isSlice {
            return Expression(.slice(base, start: parts[0], stop: parts.count > 1 ? parts[1] : nil, step: parts.count > 2 ? parts[2] : nil), line: line)
        }
        guard let key = parts[0] else { throw fail("empty subscript") }
        return Expression(.item(base, key), line: line)
    }

    private mutating func parseCallArguments() throws -> Arguments {
        try expectOp("(")
        var arguments = Arguments()
        var first = true
        while !isOp(")") {
            if !first { try expectOp(",") }
            first = false
            if isOp(")") { break }
            if case .name(let name) = current.kind, isOp("=", peek()) {
                _ = advance()
                _ = advance()
                arguments.keyword.append((name, try parseExpression()))
            } else {
                guard arguments.keyword.isEmpty else { throw fail("positional argument follows keyword argument") }
                arguments.positional.append(try parseExpression())
            }
        }
        _ = advance()
        return arguments
    }

    private mutating func parseFilterExpression(_ base: Expression) throws -> Expression {
        var expression = base
        while true {
            let line = current.line
            if isOp("|") {
                _ = advance()
                let name = try parseFilterName()
                let arguments = isOp("(") ? try parseCallArguments() : Arguments()
                expression = Expression(.filter(expression, name: name, arguments), line: line)
            } else if isName("is") {
                _ = advance()
                var negated = false
                if isName("not") {
                    _ = advance()
                    negated = true
                }
                let name = try expectName()
                guard TestFunctions.known.contains(name) else { throw fail("no test named '\(name)'") }
                var arguments = Arguments()
                if isOp("(") {
                    arguments = try parseCallArguments()
                } else if isName("is") {
                    throw fail("you cannot chain multiple tests with 'is'")
                } else if startsTestArgument() {
                    arguments.positional = [try parsePostfix(try parsePrimary())]
                }
                expression = Expression(.test(expression, name: name, arguments, negated: negated), line: line)
            } else if isOp("(") {
                expression = Expression(.call(expression, try parseCallArguments()), line: line)
            } else {
                return expression
            }
        }
    }

    /// jinja2 takes one bare argument after a test name (`x is divisibleby 3`) unless the next word
    /// continues the surrounding expression.
    private func startsTestArgument() -> Bool {
        switch current.kind {
        case .name(let name): !["else", "or", "and"].contains(name)
        case .string, .integer, .float: true
        case .op(let op): op == "[" || op == "{"
        default: false
        }
    }
}
