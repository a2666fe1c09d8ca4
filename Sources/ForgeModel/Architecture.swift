import ForgeGGUF

/// One architecture: the hyperparameters only it has, its layer's tensors and how that layer
/// runs. Each lives in a file of its own (Llama.swift, Qwen2.swift, Qwen3.swift, Gemma3.swift)
/// that composes its layer from the evaluator's operations; what every architecture shares
/// (embedding lookup, final norm, output head, batching) is in Evaluator.swift.
public struct Architecture: Sendable {
    public let name: String
    /// Reads the hyperparameters beyond those every architecture has (sliding windows, …).
    let configure: @Sendable (inout ModelConfiguration, GGUFFile) throws -> Void
    /// Finds layer `index`'s tensors and checks their shapes.
    let loadLayer: @Sendable (TensorLoader, Int, ModelConfiguration) throws -> any TransformerLayer
    /// What the token embeddings are multiplied by before the first layer (nil: nothing).
    let embeddingScale: @Sendable (ModelConfiguration) -> Float?

    init(name: String, configure: @escaping @Sendable (inout ModelConfiguration, GGUFFile) throws -> Void = { _, _ in },
         loadLayer: @escaping @Sendable (TensorLoader, Int, ModelConfiguration) throws -> any TransformerLayer,
         embeddingScale: @escaping @Sendable (ModelConfiguration) -> Float? = { _ in nil }) {
        self.name = name
        self.configure = configure
        self.loadLayer = loadLayer
        self.embeddingScale = embeddingScale
    }

    /// Every architecture Forge runs, by `general.architecture`.
    public static let supported: [String: Architecture] = Dictionary(
        uniqueKeysWithValues: [Llama.architecture, Qwen2.architecture, Qwen3.architecture, Gemma3.architecture].map { ($0.name, $0) })

    /// The architecture a file declares, or a clear error listing the supported ones.
    public static func of(_ gguf: GGUFFile) throws -> Architecture {
        let name = try gguf.string("general.architecture")
        guard let architecture = supported[name] else {
            let known = supported.keys.sorted().joined(separator: ", ")
            throw ModelError("unsupported architecture '\(name)' (supported: \(known))")
        }
        return architecture
    }
}

/// One transformer block: its weights, and its forward pass over a batch.
protocol TransformerLayer: Sendable {
    func forward(_ pass: ForwardPass)
}
