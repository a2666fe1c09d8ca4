import Crypto
import Foundation
import Testing
import ForgeGGUF
import ForgeModel
import ForgeTestSupport

/// `forge quantize` output against llama.cpp's quantize tool, tensor by tensor.
@Suite struct QuantizeTests {
    static let variants = [
        "qwen2.5-coder-0.5b-instruct-f16", "qwen2.5-coder-0.5b-instruct-q8_0", "smollm2-135m-instruct-f32",
    ]

    @Test(RealModels.required(ReferenceModels.files(variants)), arguments: variants)
    func everyTensorEqualsLlamaCppConversion(variant: String) throws {
        let reference = try ReferenceData.json("variant-tensor-sha256.json")
        let files = reference["files"] as? [String: [String: [String: String]]] ?? [:]
        let expected = try #require(files[variant + ".gguf"])
        let file = try GGUFFile(path: #require(RealModels.path(variant + ".gguf")))
        #expect(file.tensors.count == expected.count)
        for tensor in file.tensors {
            let entry = try #require(expected[tensor.name], "\(tensor.name) is not in llama.cpp's file")
            #expect(tensor.type.name == entry["type"], "\(tensor.name): \(tensor.type.name) vs \(entry["type"] ?? "?")")
            var hash = SHA256()
            hash.update(bufferPointer: file.data(for: tensor))
            let digest = hash.finalize().map { String(format: "%02x", $0) }.joined()
            #expect(digest == entry["sha256"], "\(variant) \(tensor.name) bytes differ from llama.cpp's")
        }
    }

    @Test func smallModelRoundTripsThroughEveryTarget() throws {
        let model = TinyModel(shape: .init(architecture: "llama", heads: 4, kvHeads: 2), seed: 7)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("quantize-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try model.write(to: directory + "/in.gguf")
        for (type, fileType) in Quantizer.fileTypes {
            let output = directory + "/\(type.name).gguf"
            try Quantizer.quantize(input: directory + "/in.gguf", output: output, to: type)
            let file = try GGUFFile(path: output)
            #expect(try file.integer("general.file_type") == Int(fileType))
            #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == type)
            #expect(file.tensor(named: "blk.0.attn_norm.weight")?.type == .f32)
            #expect(try file.string("general.architecture") == "llama")
            _ = try ModelWeights(gguf: file)
        }
        #expect(throws: ModelError.self) {
            try Quantizer.quantize(input: directory + "/in.gguf", output: directory + "/q4k.gguf", to: .q4_K)
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/q4k.gguf"))
    }
}
