/// Why a grammar, a JSON schema or a pattern was refused, with where: a line and column of GBNF
/// text, or a JSON-pointer path into the schema (`#/properties/name/pattern`).
public struct GrammarError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        /// 1-based line and column in GBNF text.
        case text(line: Int, column: Int)
        /// A JSON pointer into the schema; for a pattern, also the 0-based character offset in it.
        case schema(path: String, patternOffset: Int?)
        case none
    }

    public let location: Location
    public let reason: String

    public init(_ reason: String, at location: Location = .none) {
        self.reason = reason
        self.location = location
    }

    static func text(_ reason: String, line: Int, column: Int) -> GrammarError {
        GrammarError(reason, at: .text(line: line, column: column))
    }

    static func schema(_ reason: String, path: String, patternOffset: Int? = nil) -> GrammarError {
        GrammarError(reason, at: .schema(path: path, patternOffset: patternOffset))
    }

    public var description: String {
        switch location {
        case .text(let line, let column): "grammar line \(line), column \(column): \(reason)"
        case .schema(let path, nil): "JSON schema at \(path): \(reason)"
        case .schema(let path, let offset?): "JSON schema at \(path), pattern offset \(offset): \(reason)"
        case .none: "grammar: \(reason)"
        }
    }
}
