import ArgumentParser
import Foundation
import ForgeGGUF

/// The model a command works on: `-m/--model PATH`, or the default model in the model cache.
public struct ModelOptions: ParsableArguments {
    @Option(name: [.short, .customLong("model")], help: ArgumentHelp(
        "Path to a GGUF model file (default: the Qwen2.5-Coder-0.5B-Instruct Q4_K_M file in the model cache).",
        valueName: "PATH"))
    public var model: String?

    public init() {}

    /// The models directory: $FORGE_MODELS, or ~/.cache/forge/models.
    public static var cacheDirectory: String {
        ProcessInfo.processInfo.environment["FORGE_MODELS"] ?? NSHomeDirectory() + "/.cache/forge/models"
    }

    public static let defaultModelFile = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"

    /// The model file's path; a missing file is a clear error.
    public func resolvedPath() throws -> String {
        let path = model ?? ModelOptions.cacheDirectory + "/" + ModelOptions.defaultModelFile
        guard FileManager.default.fileExists(atPath: path) else {
            if model == nil {
                throw ValidationError("no model given and the default model \(path) is absent (run scripts/fetch-models, or pass -m PATH)")
            }
            throw ValidationError("model file \(path) does not exist")
        }
        return path
    }

    public func openFile() throws -> GGUFFile {
        try GGUFFile(path: resolvedPath())
    }
}
