/// Why a GGUF file was rejected, or why a metadata value could not be used.
/// `field` names what was being read; `offset` is the byte offset in the file where it starts.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    public let field: String
    public let offset: Int?
    public let reason: String

    public init(field: String, offset: Int?, reason: String) {
        self.field = field
        self.offset = offset
        self.reason = reason
    }

    public var description: String {
        if let offset {
            return "invalid GGUF: \(field) at byte \(offset): \(reason)"
        }
        return "GGUF metadata: \(field): \(reason)"
    }
}
