import ForgeGGUF

/// What distinguishes one supported architecture from another. The forward pass is shared
/// (Transformer.swift); each architecture's file says how its GGUF is laid out and run.
public struct Architecture: Sendable {
    public let name: String
    public let ropeStyle: RoPEStyle
    /// Architectures whose converters always write Q/K/V biases require them; others accept them.
    public let requiresQKVBias: Bool

    /// Every architecture Forge runs, by `general.architecture`.
    public static let supported: [String: Architecture] = [
        Llama.architecture.name: Llama.architecture,
        Qwen2.architecture.name: Qwen2.architecture,
    ]

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
