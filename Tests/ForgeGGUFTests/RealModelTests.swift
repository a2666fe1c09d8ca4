import Foundation
import Testing
import ForgeGGUF
import ForgeTestSupport

/// What llama.cpp's gguf-py reported for each file (Fixtures/gguf-metadata.json, copied from
/// ../shared/refs): every key with its value (arrays as type and length), every tensor.
struct ReferenceMetadata: Decodable {
    enum Value: Decodable, Equatable {
        case bool(Bool), integer(Int), number(Double), string(String)
        case array(elementType: String, count: Int)

        init(from decoder: any Decoder) throws {
            if var array = try? decoder.unkeyedContainer() {
                _ = try array.decode(String.self)
                self = .array(elementType: try array.decode(String.self), count: try array.decode(Int.self))
                return
            }
            let single = try decoder.singleValueContainer()
            if let value = try? single.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? single.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? single.decode(Double.self) {
                self = .number(value)
            } else {
                self = .string(try single.decode(String.self))
            }
        }
    }

    struct Tensor: Decodable {
        let name: String
        let type: String
        let ne: [Int]
    }

    struct Entry: Decodable {
        let file_size: Int
        let n_tensors: Int
        let tensor_data_start: Int
        let tensor_data_end: Int
        let tensor_types: [String: Int]
        let kv: [String: Value]
        let tensors: [Tensor]
    }

    static func load() throws -> [String: Entry] {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/gguf-metadata", withExtension: "json"))
        return try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: url))
    }
}

@Suite struct RealModelTests {
    /// Every key and tensor of the reference, with the file's own value for each.
    private func expectMatchesReference(_ fileName: String) throws {
        let path = try #require(RealModels.path(fileName))
        let file = try GGUFFile(path: path)
        let reference = try #require(try ReferenceMetadata.load()[fileName])

        #expect(file.fileSize == reference.file_size)
        var referenceKeys = 0
        for (key, expected) in reference.kv {
            switch key {
            case "GGUF.version": #expect(.integer(file.version) == expected)
            case "GGUF.tensor_count": #expect(.integer(file.tensors.count) == expected)
            case "GGUF.kv_count": #expect(.integer(file.keys.count) == expected)
            default:
                referenceKeys += 1
                let value = try #require(file.metadata[key], "missing \(key)")
                #expect(Self.matches(value, expected), "\(key): \(value) vs \(expected)")
            }
        }
        #expect(file.keys.count == referenceKeys)

        #expect(file.tensors.count == reference.n_tensors)
        #expect(file.tensors.map(\.name) == reference.tensors.map(\.name))
        #expect(file.tensors.map(\.type.name) == reference.tensors.map(\.type))
        #expect(file.tensors.map(\.shape) == reference.tensors.map(\.ne))
        let typeCounts = Dictionary(file.tensors.map { ($0.type.name, 1) }, uniquingKeysWith: +)
        #expect(typeCounts == reference.tensor_types)

        // First and last tensors, by position in the data section.
        let first = try #require(file.tensors.min { $0.offset < $1.offset })
        let last = try #require(file.tensors.max { $0.offset < $1.offset })
        #expect(file.dataOffset == reference.tensor_data_start)
        #expect(file.dataOffset + first.offset == reference.tensor_data_start)
        #expect(file.dataOffset + last.offset + last.byteCount == reference.tensor_data_end)
    }

    private static func matches(_ value: GGUFValue, _ expected: ReferenceMetadata.Value) -> Bool {
        switch (value, expected) {
        case (.bool(let a), .bool(let b)): a == b
        case (.string(let a), .string(let b)): a == b
        case (.float32(let a), .number(let b)): Double(a) == b
        case (.float32(let a), .integer(let b)): Double(a) == Double(b)
        case (.float64(let a), .number(let b)): a == b
        case (.array(let a), .array(let type, let count)): a.elementType.description == type.lowercased() && a.count == count
        case (_, .integer(let b)): value.intValue == b
        default: false
        }
    }

    @Test(.enabled(if: RealModels.path(RealModels.qwen) != nil, "run scripts/fetch-models first"))
    func qwenMatchesTheReference() throws {
        try expectMatchesReference(RealModels.qwen)
    }

    @Test(.enabled(if: RealModels.path(RealModels.smollm2) != nil, "run scripts/fetch-models first"))
    func smollm2MatchesTheReference() throws {
        try expectMatchesReference(RealModels.smollm2)
    }

    @Test(.enabled(if: RealModels.path(RealModels.qwen) != nil, "run scripts/fetch-models first"))
    func qwenKeyValues() throws {
        let file = try GGUFFile(path: RealModels.path(RealModels.qwen) ?? "")
        #expect(try file.string("general.architecture") == "qwen2")
        #expect(try file.integer("qwen2.block_count") == 24)
        #expect(try file.integer("qwen2.embedding_length") == 896)
        #expect(try file.integer("qwen2.feed_forward_length") == 4864)
        #expect(try file.integer("qwen2.attention.head_count") == 14)
        #expect(try file.integer("qwen2.attention.head_count_kv") == 2)
        #expect(try file.float("qwen2.rope.freq_base") == 1_000_000)
        #expect(try file.integer("qwen2.context_length") == 32768)
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 151_936)
        #expect(try file.stringArray("tokenizer.ggml.merges").count == 151_387)
        #expect(try file.string("tokenizer.ggml.pre") == "qwen2")
        #expect(try file.integer("tokenizer.ggml.bos_token_id") == 151_643)
        #expect(try file.integer("tokenizer.ggml.eos_token_id") == 151_645)
        #expect(try file.stringArray("tokenizer.ggml.tokens")[151_645] == "<|im_end|>")
        #expect(file.tensors.count == 291)
        #expect(file.tensor(named: "output.weight")?.type == .q8_0)
        #expect(file.tensor(named: "token_embd.weight")?.shape == [896, 151_936])
        #expect(file.tensor(named: "token_embd.weight")?.type == .q5_0)
        #expect(file.tensor(named: "blk.0.attn_q.bias")?.shape == [896])
        #expect(file.tensor(named: "blk.0.attn_k.bias")?.shape == [128])
        // The first tensor in the data section starts it; the last ends the file.
        #expect(file.tensors.first?.name == "output.weight")
        #expect(file.tensors.first?.offset == 0)
        #expect(file.dataOffset == 5_947_776)
        let last = try #require(file.tensors.last)
        #expect(last.name == "output_norm.weight")
        #expect(file.dataOffset + last.offset + last.byteCount == 491_400_064)
    }

    @Test(.enabled(if: RealModels.path(RealModels.smollm2) != nil, "run scripts/fetch-models first"))
    func smollm2KeyValues() throws {
        let file = try GGUFFile(path: RealModels.path(RealModels.smollm2) ?? "")
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.integer("llama.block_count") == 30)
        #expect(try file.integer("llama.embedding_length") == 576)
        #expect(try file.integer("llama.feed_forward_length") == 1536)
        #expect(try file.integer("llama.attention.head_count") == 9)
        #expect(try file.integer("llama.attention.head_count_kv") == 3)
        #expect(try file.float("llama.rope.freq_base") == 100_000)
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 49_152)
        #expect(try file.stringArray("tokenizer.ggml.merges").count == 48_900)
        #expect(try file.string("tokenizer.ggml.pre") == "smollm")
        #expect(try file.integer("tokenizer.ggml.bos_token_id") == 1)
        #expect(try file.integer("tokenizer.ggml.eos_token_id") == 2)
        #expect(file.tensors.count == 272)
        #expect(file.tensor(named: "output.weight") == nil)
        #expect(file.tensor(named: "token_embd.weight")?.type == .q8_0)
        #expect(file.tensor(named: "blk.0.ffn_down.weight")?.type == .q4_1)
        #expect(file.tensors.first?.name == "token_embd.weight")
        #expect(file.tensors.first?.offset == 0)
        #expect(file.dataOffset == 1_785_664)
        let last = try #require(file.tensors.last)
        #expect(file.dataOffset + last.offset + last.byteCount == 98_362_432)
    }

    @Test(.enabled(if: RealModels.path(RealModels.smollm2) != nil, "run scripts/fetch-models first"))
    func truncatedDownloadIsRejected() throws {
        let path = try #require(RealModels.path(RealModels.smollm2))
        let whole = try GGUFFile(path: path)
        let truncated = Array(whole.bytes.prefix(whole.fileSize - 1))
        let error = #expect(throws: GGUFError.self) { try GGUFFile(bytes: truncated) }
        #expect(error?.reason.contains("truncated download") == true)
    }
}
