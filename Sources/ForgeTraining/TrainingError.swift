/// Why training could not start or continue; every case names the input at fault.
public struct TrainingError: Error, CustomStringConvertible, Equatable, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
