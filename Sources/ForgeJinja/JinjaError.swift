/// Any failure of a template: while parsing it, while rendering it, or raised by the template itself.
public struct JinjaError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The template source is malformed.
        case syntax
        /// An operation failed while rendering (wrong types, undefined values used strictly, limits).
        case runtime
        /// The template called `raise_exception(message)`.
        case raised
    }

    public let kind: Kind
    public let message: String
    /// 1-based line of the template where the failure happened.
    public let line: Int

    public init(_ kind: Kind, _ message: String, line: Int) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        switch kind {
        case .syntax: "template syntax error at line \(line): \(message)"
        case .runtime: "template error at line \(line): \(message)"
        case .raised: "template raised an exception at line \(line): \(message)"
        }
    }
}
