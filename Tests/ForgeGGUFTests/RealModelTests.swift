import Foundation
import Testing
import ForgeGGUF

/// The real models from scripts/fetch-models, in $FORGE_MODELS or ~/.cache/forge/models.
enum RealModels {
    static var directory: String {
        ProcessInfo.processInfo.environment["FORGE_MODELS"] ?? NSHomeDirectory() + "/.cache/forge/models"
    }
    static func path(_ file: String) -> String? {
        let path = directory + "/" + file
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
    static let qwen = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    static let smollm2 = "smollm2-135m-instruct-q4_1.gguf"
}

@Suite struct RealModelTests {
    @Test(.enabled(if: RealModels.path(RealModels.qwen) != nil, "run scripts/fetch-models first"))
    func qwenParses() throws {
        let file = try GGUFFile(path: RealModels.path(RealModels.qwen)!)
        #expect(try file.string("general.architecture") == "qwen2")
        #expect(try file.integer("qwen2.block_count") == 24)
        #expect(try file.integer("qwen2.embedding_length") == 896)
        #expect(try file.integer("qwen2.feed_forward_length") == 4864)
        #expect(try file.integer("qwen2.attention.head_count") == 14)
        #expect(try file.integer("qwen2.attention.head_count_kv") == 2)
        #expect(try file.float("qwen2.rope.freq_base") == 1_000_000)
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 151_936)
        #expect(try file.stringArray("tokenizer.ggml.merges").count == 151_387)
        #expect(try file.string("tokenizer.ggml.pre") == "qwen2")
        #expect(file.tensor(named: "output.weight")?.type == .q8_0)
        #expect(file.tensor(named: "token_embd.weight")?.shape == [896, 151_936])
    }

    @Test(.enabled(if: RealModels.path(RealModels.smollm2) != nil, "run scripts/fetch-models first"))
    func smollm2Parses() throws {
        let file = try GGUFFile(path: RealModels.path(RealModels.smollm2)!)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.integer("llama.block_count") == 30)
        #expect(try file.integer("llama.attention.head_count") == 9)
        #expect(try file.integer("llama.attention.head_count_kv") == 3)
        #expect(try file.float("llama.rope.freq_base") == 100_000)
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 49_152)
        #expect(file.tensor(named: "output.weight") == nil)
        #expect(file.tensor(named: "token_embd.weight")?.type == .q8_0)
    }
}
