import Foundation
import Testing

/// The real models scripts/fetch-models stores, found where `forge` looks: $FORGE_MODELS, or
/// ~/.cache/forge/models. A test that needs some is skipped, with a reason, when one is absent.
public enum RealModels {
    public static let qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    public static let smollm2 = "smollm2-135m-instruct-q4_1.gguf"
    public static let gemma = "gemma-3-270m-q4_k_m.gguf"

    public static var directory: String {
        let configured = ProcessInfo.processInfo.environment["FORGE_MODELS"] ?? ""
        return configured.isEmpty ? NSHomeDirectory() + "/.cache/forge/models" : configured
    }

    /// The path of `file` in the cache, nil when it is not there.
    public static func path(_ file: String) -> String? {
        let path = directory + "/" + file
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }

    /// Runs the test only when every one of `files` is in the cache; otherwise the test is
    /// skipped and the report names the missing files. A fixed argument list under this trait
    /// never shrinks to nothing in silence, as one filtered by presence would.
    public static func required(_ files: [String]) -> ConditionTrait {
        let missing = files.filter { path($0) == nil }
        return .enabled(if: missing.isEmpty, "needs \(missing.joined(separator: ", ")) in \(directory) (scripts/fetch-models)")
    }
}
