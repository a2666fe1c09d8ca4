/// Why a model could not be loaded or run. Raised before any computation when the file is at fault.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
