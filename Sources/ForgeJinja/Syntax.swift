/// An expression with the template line it starts on.
final class Expression: Sendable {
    let kind: Kind
    let line: Int

    init(_ kind: Kind, line: Int) {
        self.kind = kind
        self.line = line
    }

    enum Kind: Sendable {
        case literal(LiteralValue)
        case name(String)
        case list([Expression])
        case tuple([Expression])
        case dict([(key: Expression, value: Expression)])
        case attribute(Expression, String)
        case item(Expression, Expression)
        case slice(Expression, start: Expression?, stop: Expression?, step: Expression?)
        case call(Expression, Arguments)
        case filter(Expression, name: String, Arguments)
        case test(Expression, name: String, Arguments, negated: Bool)
        case unary(UnaryOperator, Expression)
        case binary(BinaryOperator, Expression, Expression)
        case and(Expression, Expression)
        case or(Expression, Expression)
        case not(Expression)
        case compare(Expression, [(ComparisonOperator, Expression)])
        case conditional(condition: Expression, then: Expression, otherwise: Expression?)
    }
}

enum LiteralValue: Sendable {
    case none, bool(Bool), int(Int), double(Double), string(String)
}

struct Arguments: Sendable {
    var positional: [Expression] = []
    var keyword: [(name: String, value: Expression)] = []
}

enum UnaryOperator: Sendable { case negate, plus }

enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", floorDivide = "//", modulo = "%"
    case power = "**", concatenate = "~"
}

enum ComparisonOperator: String, Sendable {
    case equal = "==", notEqual = "!=", less = "<", lessOrEqual = "<=", greater = ">", greaterOrEqual = ">="
    case contains = "in", notContains = "not in"
}

/// Where `{% set %}` stores: plain names (several unpack a sequence) or a namespace attribute.
enum AssignmentTarget: Sendable {
    case names([String])
    case attribute(object: String, attribute: String)
}

/// A statement of the template.
indirect enum Node: Sendable {
    case text(String)
    case output(Expression)
    case conditional(branches: [(condition: Expression, body: [Node])], otherwise: [Node])
    case loop(Loop)
    case assign(AssignmentTarget, Expression, line: Int)
    case assignBlock(AssignmentTarget, body: [Node], filters: [FilterCall], line: Int)
    case macro(name: String, parameters: [(name: String, defaultValue: Expression?)], body: [Node], line: Int)
    case filterBlock(filters: [FilterCall], body: [Node], line: Int)
    case with(assignments: [(name: String, value: Expression)], body: [Node])
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}

struct Loop: Sendable {
    let targets: [String]
    let iterable: Expression
    let condition: Expression?
    let body: [Node]
    let otherwise: [Node]
    let line: Int
}

struct FilterCall: Sendable {
    let name: String
    let arguments: Arguments
    let line: Int
}
