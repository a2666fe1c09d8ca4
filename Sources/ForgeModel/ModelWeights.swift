import ForgeGGUF
import ForgeKernels

/// A model's weights and configuration, loaded from a GGUF file. Immutable and shared:
/// any number of `Evaluator`s (each with its own buffers) can run it at once.
public final class ModelWeights: @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let architecture: Architecture
    public let file: GGUFFile
    let tensors: WeightTensors

    public init(gguf: GGUFFile) throws {
        architecture = try Architecture.of(gguf)
        var configuration = try ModelConfiguration(gguf: gguf, architecture: architecture.name)
        try architecture.configure(&configuration, gguf)
        try configuration.validate() // again, with what the architecture added
        self.configuration = configuration
        tensors = try WeightTensors(gguf: gguf, configuration: configuration, architecture: architecture)
        file = gguf
    }

    public var outputIsTied: Bool { tensors.outputIsTied }

    /// Parameters in the weight tensors (the tied head counted once).
    public var parameterCount: Int { file.tensorElementCount }
}
