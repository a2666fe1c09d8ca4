/// Why a GGUF file was rejected, or why a metadata value could not be used.
/// `field` names what was being read; `offset` is the byte offset in the file where it starts.
/// A file that cannot be opened at all has the field `file` and no offset.
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
        if field == "file" {
            return "cannot read GGUF file: \(reason)"
        }
        return "GGUF metadata: \(field): \(reason)"
    }
}
