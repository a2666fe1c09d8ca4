import Foundation

/// Where Forge keeps model files, and how a command's `-m` argument becomes a file path.
public enum ModelCache {
    /// The model used when a command is given no `-m`.
    public static let defaultModelName = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    public static let environmentVariable = "FORGE_MODELS"

    /// `$FORGE_MODELS`, or `~/.cache/forge/models`.
    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let configured = environment[environmentVariable], !configured.isEmpty {
            return configured
        }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.cache/forge/models"
    }

    /// The path of the model a command should load.
    ///
    /// - `nil`: the default model in the cache.
    /// - an existing file: that file.
    /// - otherwise, when it has no `/`: a file of that name in the cache, with or without `.gguf`,
    ///   or the one cached model whose name starts with it (case-insensitive), e.g. `smollm2`.
    public static func resolve(_ model: String?, directory: String = directory()) throws(HubError) -> String {
        guard let model else {
            let path = directory + "/" + defaultModelName
            guard isRegularFile(path) else { throw .defaultModelMissing(directory: directory) }
            return path
        }
        if isRegularFile(model) { return model }
        let available = models(in: directory)
        guard !model.contains("/"), !model.isEmpty else {
            throw .modelNotFound(name: model, directory: directory, available: available)
        }
        for name in [model, model + ".gguf"] where isRegularFile(directory + "/" + name) {
            return directory + "/" + name
        }
        let prefix = model.lowercased()
        let matches = available.filter { $0.lowercased().hasPrefix(prefix) }
        switch matches.count {
        case 1: return directory + "/" + matches[0]
        case 0: throw .modelNotFound(name: model, directory: directory, available: available)
        default: throw .ambiguousModel(name: model, candidates: matches)
        }
    }

    /// The GGUF file names in the cache, sorted; partial downloads and hidden files are not models.
    public static func models(in directory: String = directory()) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names
            .filter { $0.lowercased().hasSuffix(".gguf") && !$0.hasPrefix(".") && isRegularFile(directory + "/" + $0) }
            .sorted()
    }

    static func isRegularFile(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
