import CForgeKernels
import ForgeGGUF

/// A weight matrix used in place: `rows` rows of `columns` values each, every row a whole number
/// of blocks of `type`, rows stored one after another (GGUF shape [columns, rows]).
public struct WeightMatrix: @unchecked Sendable {
    public let type: GGMLType
    /// Output features (GGUF shape[1]).
    public let rows: Int
    /// Row length (GGUF shape[0]).
    public let columns: Int
    /// The first row; usually inside the memory-mapped model file, which must outlive the matrix.
    public let data: UnsafeRawPointer
    public let bytesPerRow: Int

    /// Throws when the kernels cannot multiply with `type` or a row is not a whole number of blocks.
    public init(type: GGMLType, rows: Int, columns: Int, data: UnsafeRawPointer) throws {
        guard forge_activation_type(type.rawValue) >= 0 else {
            throw KernelError.unsupportedType(type, operation: "matrix multiplication")
        }
        guard rows >= 0, columns > 0 else { throw KernelError.invalidShape(rows: rows, columns: columns) }
        guard let bytesPerRow = type.byteCount(elements: columns) else {
            throw KernelError.partialBlock(type, count: columns)
        }
        guard !rows.multipliedReportingOverflow(by: bytesPerRow).overflow else {
            throw KernelError.invalidShape(rows: rows, columns: columns)
        }
        self.type = type
        self.rows = rows
        self.columns = columns
        self.data = data
        self.bytesPerRow = bytesPerRow
    }
}
