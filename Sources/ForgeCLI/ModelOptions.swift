import ArgumentParser
import ForgeGGUF
import ForgeHub

/// The model a command works on: `-m/--model`, a path or a name in the model cache, or the
/// default model (Qwen2.5-Coder-0.5B-Instruct Q4_K_M) in the cache.
public struct ModelOptions: ParsableArguments {
    @Option(name: [.short, .customLong("model")], help: ArgumentHelp(
        "A GGUF file: a path, or a name in the model cache (default: \(ModelCache.defaultModelName)).",
        valueName: "MODEL"))
    public var model: String?

    public init() {}

    /// The model file's path; a missing file is a clear error.
    public func resolvedPath() throws -> String {
        do {
            return try ModelCache.resolve(model)
        } catch {
            throw ValidationError(error.description)
        }
    }

    public func openFile() throws -> GGUFFile {
        try GGUFFile(path: resolvedPath())
    }
}
