import Foundation
import Testing
import ForgeGGUF
import ForgeTestSupport
@testable import ForgeCLI

@Suite struct InspectCommandTests {
    /// A tiny model file written with GGUFWriter into a fresh directory.
    private static func writeTinyModel() throws -> (directory: String, path: String) {
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("general.name", .string("tiny \"quoted\" \\ name\twith\u{1}control ✓"))
        writer.set("llama.block_count", .uint32(2))
        writer.set("llama.embedding_length", .uint32(8))
        writer.set("llama.rope.freq_base", .float32(10_000))
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.pre", .string("smollm"))
        writer.set("tokenizer.ggml.tokens", .array(.string(["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + (3..<40).map { "t\($0)" })))
        writer.set("tokenizer.ggml.merges", .array(.string(["t 1", "t 2"])))
        writer.set("tokenizer.ggml.bos_token_id", .uint32(1))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(2))
        writer.set("tokenizer.ggml.add_bos_token", .bool(false))
        writer.set("tokenizer.chat_template", .string("{{ messages }}"))
        writer.set("test.not_a_number", .float32(.nan))
        writer.set("test.nested", .array(.array([.uint8([1, 2]), .string(["a"])])))
        try writer.addTensor(name: "token_embd.weight", type: .q8_0, shape: [32, 40], data: [UInt8](repeating: 0, count: 40 * 34))
        try writer.addTensor(name: "output_norm.weight", shape: [8], floats: [Float](repeating: 1, count: 8))
        try writer.addTensor(name: "blk.0.attn_q.weight", type: .f16, shape: [8, 8], data: [UInt8](repeating: 0, count: 128))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("forge-inspect-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/tiny.gguf"
        try writer.write(to: path)
        return (directory, path)
    }

    private static func inspect(_ arguments: [String]) throws -> String {
        try Inspect.parse(arguments).output()
    }

    @Test func textReportSummarisesTheFile() throws {
        let (directory, path) = try Self.writeTinyModel()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = try Self.inspect([path])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.contains("Architecture: llama, name \"tiny \\\"quoted\\\" \\\\ name\\twith\\u0001control ✓\""))
        #expect(lines.contains("  block_count: 2"))
        #expect(lines.contains("  embedding_length: 8"))
        #expect(lines.contains("  rope.freq_base: 10000.0"))
        #expect(lines.contains("  model gpt2, pre-tokenizer smollm"))
        #expect(lines.contains("  vocabulary 40 tokens, 2 merges"))
        #expect(lines.contains("  BOS 1 \"<|im_start|>\", not added"))
        #expect(lines.contains("  EOS 2 \"<|im_end|>\""))
        #expect(lines.contains("Chat template: present, 14 characters"))
        #expect(lines.contains("Metadata (16 keys):"))
        #expect(lines.contains { $0.hasPrefix("  tokenizer.ggml.tokens = string[40] [\"<|endoftext|>\", \"<|im_start|>\",") && $0.hasSuffix("\"t15\", …]") })
        #expect(lines.contains("  tokenizer.ggml.merges = [\"t 1\", \"t 2\"]"))
        #expect(lines.contains("  test.nested = [[1, 2], [\"a\"]]"))
        #expect(lines.contains("Totals: 3 tensors, 1520 bytes (1.5 KiB), 1352 parameters (1.35K)"))
        #expect(lines.contains("  by type: F16 1, F32 1, Q8_0 1"))
        #expect(!text.contains("Tensors:"))
    }

    @Test func tensorTableListsEveryTensor() throws {
        let (directory, path) = try Self.writeTinyModel()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let text = try Self.inspect([path, "--tensors"])
        let table = text.components(separatedBy: "Tensors:\n")[1].components(separatedBy: "\n\n")[0]
        #expect(table.split(separator: "\n").count == 4)
        let rows = table.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        #expect(rows[0] == ["name", "type", "shape", "bytes"])
        #expect(rows[1] == ["token_embd.weight", "Q8_0", "[32,", "40]", "1360"])
        #expect(rows[2] == ["output_norm.weight", "F32", "[8]", "32"])
        #expect(rows[3] == ["blk.0.attn_q.weight", "F16", "[8,", "8]", "128"])
    }

    @Test func jsonIsOneStableObject() throws {
        let (directory, path) = try Self.writeTinyModel()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let json = try Self.inspect([path, "--json"])
        #expect(try Self.inspect([path, "--json", "--tensors"]) == json)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["metadata", "tensors", "totals"])
        #expect(json.range(of: "\"metadata\"")!.lowerBound < json.range(of: "\"tensors\"")!.lowerBound)
        #expect(json.range(of: "\"tensors\"")!.lowerBound < json.range(of: "\"totals\"")!.lowerBound)

        let file = try GGUFFile(path: path)
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(Set(metadata.keys) == Set(file.keys))
        // Keys appear in file order.
        let positions = file.keys.map { json.range(of: "\"\($0)\":")?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())

        #expect(metadata["general.name"] as? String == "tiny \"quoted\" \\ name\twith\u{1}control ✓")
        #expect(metadata["llama.block_count"] as? Int == 2)
        #expect(metadata["llama.rope.freq_base"] as? Double == 10_000)
        // Float32 values are written in their shortest form, which reads back to the same bits.
        #expect(json.contains("\"llama.attention.layer_norm_rms_epsilon\": 1e-05,"))
        #expect((metadata["llama.attention.layer_norm_rms_epsilon"] as? Double).map(Float.init) == Float(1e-5))
        #expect(metadata["tokenizer.ggml.add_bos_token"] as? Bool == false)
        #expect(metadata["test.not_a_number"] as? String == "nan")
        #expect(metadata["tokenizer.ggml.merges"] as? [String] == ["t 1", "t 2"])
        #expect(json.contains("\"test.nested\": [[1, 2], [\"a\"]]"))
        let tokens = try #require(metadata["tokenizer.ggml.tokens"] as? [String: Any])
        #expect(tokens["type"] as? String == "string")
        #expect(tokens["length"] as? Int == 40)
        #expect(tokens["head"] as? [String] == ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + (3..<16).map { "t\($0)" })
        #expect(json.contains("{\"type\": \"string\", \"length\": 40, \"head\": ["))

        let tensors = try #require(object["tensors"] as? [[String: Any]])
        #expect(tensors.map { $0["name"] as? String } == ["token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight"])
        #expect(tensors.map { $0["type"] as? String } == ["Q8_0", "F32", "F16"])
        #expect(tensors.map { $0["shape"] as? [Int] } == [[32, 40], [8], [8, 8]])
        #expect(tensors.map { $0["bytes"] as? Int } == [1360, 32, 128])
        #expect(tensors.map { $0["offset"] as? Int } == file.tensors.map { file.dataOffset + $0.offset })
        #expect(json.contains("{\"name\": \"token_embd.weight\", \"type\": \"Q8_0\", \"shape\": [32, 40], \"offset\": \(file.dataOffset), \"bytes\": 1360}"))

        let totals = try #require(object["totals"] as? [String: Any])
        #expect(totals["tensors"] as? Int == 3)
        #expect(totals["bytes"] as? Int == 1520)
        #expect(totals["parameters"] as? Int == 1352)
        #expect(totals["types"] as? [String: Int] == ["F16": 1, "F32": 1, "Q8_0": 1])
    }

    @Test func jsonStringEscaping() throws {
        let original = "q\"b\\s/\n\r\t\u{0}\u{1F}\u{7F} é ✓ 🦙 \u{2028}"
        let literal = JSONText.string(original)
        #expect(literal == "\"q\\\"b\\\\s/\\n\\r\\t\\u0000\\u001f\u{7F} é ✓ 🦙 \u{2028}\"")
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(literal)]".utf8)) as? [String]
        #expect(decoded == [original])
    }

    @Test func aMissingFileIsAnError() throws {
        let error = #expect(throws: GGUFError.self) { try Self.inspect(["/nonexistent/model.gguf"]) }
        #expect(error?.description == "cannot read GGUF file: /nonexistent/model.gguf: No such file or directory")
        let exit = #expect(throws: (any Error).self) { try Inspect.parse(["/nonexistent/model.gguf"]).run() }
        #expect(!(exit is GGUFError), "run() reports the error itself and exits non-zero")
    }

    @Test func anInvalidFileIsAnError() throws {
        let (directory, path) = try Self.writeTinyModel()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let truncated = directory + "/truncated.gguf"
        try bytes.prefix(bytes.count - 10).write(to: URL(fileURLWithPath: truncated))
        let error = #expect(throws: GGUFError.self) { try Self.inspect([truncated, "--json"]) }
        #expect(error?.field == "tensor blk.0.attn_q.weight offset")
        let exit = #expect(throws: (any Error).self) { try Inspect.parse([truncated]).run() }
        #expect(!(exit is GGUFError))
    }

    @Test func isASubcommandOfForge() throws {
        let command = try Forge.parseAsRoot(["inspect", "model.gguf", "--json"])
        let inspect = try #require(command as? Inspect)
        #expect(inspect.json)
        #expect(!inspect.tensors)
    }

    @Test(RealModels.required([RealModels.smollm2]))
    func realModelReport() throws {
        let path = try #require(RealModels.path(RealModels.smollm2))
        let text = try Self.inspect([path, "--tensors"])
        #expect(text.contains("Architecture: llama"))
        #expect(text.contains("  block_count: 30"))
        #expect(text.contains("  attention.head_count_kv: 3"))
        #expect(text.contains("  vocabulary 49152 tokens, 48900 merges"))
        #expect(text.contains("  BOS 1 \"<|im_start|>\", not added"))
        #expect(text.contains("  EOS 2 \"<|im_end|>\""))
        #expect(text.contains("Totals: 272 tensors, 96576768 bytes"))
        #expect(text.contains("  by type: F32 61, Q4_1 210, Q8_0 1"))

        let object = try #require(try JSONSerialization.jsonObject(with: Data(Self.inspect([path, "--json"]).utf8)) as? [String: Any])
        let tensors = try #require(object["tensors"] as? [[String: Any]])
        #expect(tensors.count == 272)
        #expect(tensors.first?["offset"] as? Int == 1_785_664)
        let totals = try #require(object["totals"] as? [String: Any])
        #expect(totals["parameters"] as? Int == 134_515_008)
    }
}
