import ArgumentParser
import ForgeGGUF
import ForgeModel

/// `forge quantize`: convert a model's matrices to another weight type.
public struct QuantizeCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Convert a GGUF model to F32, F16, BF16 or Q8_0.",
        discussion: "Matrices become TYPE, vectors keep their type, metadata is carried over; the output is written atomically.")

    @Argument(help: "The input GGUF file.") public var input: String
    @Argument(help: "The output GGUF file.") public var output: String
    @Argument(help: "The target type: F32, F16, BF16 or Q8_0.") public var type: String

    public init() {}

    public func run() throws {
        guard let target = GGMLType(name: type), Quantizer.fileTypes[target] != nil else {
            throw ValidationError("unknown target type '\(type)' (F32, F16, BF16, Q8_0)")
        }
        try Quantizer.quantize(input: input, output: output, to: target)
    }
}
