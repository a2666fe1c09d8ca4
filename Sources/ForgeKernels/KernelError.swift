import ForgeGGUF

/// Why a kernel refused its input.
public enum KernelError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kernels cannot compute with (or encode to, or decode from) this type.
    case unsupportedType(GGMLType, operation: String)
    /// A value count or row length that is not a whole number of the type's blocks.
    case partialBlock(GGMLType, count: Int)
    /// A matrix shape that is negative or too large to address.
    case invalidShape(rows: Int, columns: Int)
    /// The requested kernel variant needs instructions this CPU (or build) lacks.
    case unsupportedVariant(KernelVariant)

    public var description: String {
        switch self {
        case .unsupportedType(let type, let operation):
            "\(operation) is not supported for tensor type \(type)"
        case .partialBlock(let type, let count):
            "\(count) values are not a whole number of \(type) blocks of \(type.blockSize)"
        case .invalidShape(let rows, let columns):
            "invalid matrix shape \(rows) × \(columns)"
        case .unsupportedVariant(let variant):
            "the \(variant) kernels need instructions this CPU does not have"
        }
    }
}
