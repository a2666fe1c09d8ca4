import Foundation
import ForgeGGUF

/// Reference data from llama.cpp (commit 0c1e57098), copied from ../shared/refs into Fixtures.
enum ReferenceData {
    static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(name)
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(name))
        return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
    }

    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: url(name))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// The real models the references cover, by reference name: the file name without `.gguf`.
enum ReferenceModels {
    static let all = [
        "qwen2.5-coder-0.5b-instruct-q4_k_m", "qwen2.5-coder-0.5b-instruct-q8_0", "qwen2.5-coder-0.5b-instruct-f16",
        "smollm2-135m-instruct-q4_1", "smollm2-135m-instruct-f32",
    ]

    /// Its references are greedy continuations and perplexities only.
    static let gemma = "gemma-3-270m-q4_k_m"

    static func files(_ names: [String]) -> [String] { names.map { $0 + ".gguf" } }
}
