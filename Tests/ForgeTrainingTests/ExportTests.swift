import Foundation
import ForgeGGUF
import Testing
@testable import ForgeTraining

struct ExportTests {
    static func trainedTinyModel(tied: Bool = false) throws -> Trainer {
        var configuration = Fixture.tinyConfiguration
        configuration.tiedOutput = tied
        let trainer = try Trainer(configuration: configuration, options: TrainingOptions(batchSize: 2, steps: 3, learningRate: 1e-2), corpus: Fixture.corpus(), threads: 2)
        try trainer.run()
        return trainer
    }

    @Test func writesAStandardLlamaGGUF() throws {
        let directory = try TemporaryDirectory()
        let trainer = try Self.trainedTinyModel()
        let path = directory.file("tiny.gguf")
        try trainer.export(to: path, vocabulary: .bytes, weightType: .f32)
        let file = try GGUFFile(path: path)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.integer("general.file_type") == 0)
        #expect(try file.integer("llama.block_count") == 2)
        #expect(try file.integer("llama.context_length") == 32)
        #expect(try file.integer("llama.embedding_length") == 32)
        #expect(try file.integer("llama.feed_forward_length") == 64)
        #expect(try file.integer("llama.attention.head_count") == 4)
        #expect(try file.integer("llama.attention.head_count_kv") == 2)
        #expect(try file.integer("llama.rope.dimension_count") == 8)
        #expect(try file.float("llama.rope.freq_base") == 10_000)
        #expect(abs(try file.float("llama.attention.layer_norm_rms_epsilon") - 1e-5) < 1e-10)

        #expect(try file.string("tokenizer.ggml.model") == "llama")
        let tokens = try file.stringArray("tokenizer.ggml.tokens")
        #expect(tokens.count == 258)
        #expect(tokens[0x41] == "<0x41>")
        #expect(tokens[0x0A] == "<0x0A>")
        #expect(tokens[0x20] == "\u{2581}")
        #expect(tokens[256] == "<s>" && tokens[257] == "</s>")
        let types = try file.integerArray("tokenizer.ggml.token_type")
        #expect(types[0x41] == 6 && types[0x20] == 1 && types[256] == 3 && types[257] == 3)
        #expect(try file.floatArray("tokenizer.ggml.scores").count == 258)
        #expect(try file.integer("tokenizer.ggml.bos_token_id") == 256)
        #expect(try file.integer("tokenizer.ggml.eos_token_id") == 257)
        #expect(try file.bool("tokenizer.ggml.add_bos_token"))

        #expect(file.tensor(named: "token_embd.weight")?.shape == [32, 258])
        #expect(file.tensor(named: "blk.1.attn_q.weight")?.shape == [32, 32])
        #expect(file.tensor(named: "blk.1.attn_k.weight")?.shape == [32, 16])
        #expect(file.tensor(named: "blk.1.attn_v.weight")?.shape == [32, 16])
        #expect(file.tensor(named: "blk.0.attn_output.weight")?.shape == [32, 32])
        #expect(file.tensor(named: "blk.0.ffn_gate.weight")?.shape == [32, 64])
        #expect(file.tensor(named: "blk.0.ffn_up.weight")?.shape == [32, 64])
        #expect(file.tensor(named: "blk.0.ffn_down.weight")?.shape == [64, 32])
        #expect(file.tensor(named: "blk.0.attn_norm.weight")?.shape == [32])
        #expect(file.tensor(named: "blk.0.ffn_norm.weight")?.shape == [32])
        #expect(file.tensor(named: "output_norm.weight")?.shape == [32])
        #expect(file.tensor(named: "output.weight")?.shape == [32, 258])
        #expect(file.tensors.count == 1 + 2 * 9 + 2)
        #expect(file.tensors.allSatisfy { $0.type == .f32 })

        let (configuration, parameters) = try LlamaGGUF.read(file)
        var expected = trainer.configuration
        expected.rmsNormEpsilon = Double(Float(expected.rmsNormEpsilon))
        #expect(configuration == expected, "GGUF stores the epsilon as f32")
        #expect(parameters == trainer.parameterValues)
    }

    @Test func reloadedModelGivesTheTrainingLogits() throws {
        let directory = try TemporaryDirectory()
        let trainer = try Self.trainedTinyModel(tied: true)
        let path = directory.file("tied.gguf")
        try trainer.export(to: path, vocabulary: .bytes, weightType: .f32)
        let file = try GGUFFile(path: path)
        #expect(file.tensor(named: "output.weight") == nil)
        let (configuration, parameters) = try LlamaGGUF.read(file)
        let tokens = [256] + Array("The keeper".utf8).map(Int.init)
        let expected = try trainer.model.logits(tokens: tokens, parameters: trainer.parameterValues)
        let reloaded = try Transformer<Float>(configuration: configuration).logits(tokens: tokens, parameters: parameters)
        #expect(reloaded == expected)
        #expect(expected.count == tokens.count * 258)
    }

    @Test func f16ExportRoundsMatricesAndKeepsNormsExact() throws {
        let directory = try TemporaryDirectory()
        let trainer = try Self.trainedTinyModel()
        let path = directory.file("half.gguf")
        try trainer.export(to: path, vocabulary: .bytes, weightType: .f16)
        let file = try GGUFFile(path: path)
        #expect(try file.integer("general.file_type") == 1)
        #expect(file.tensor(named: "blk.0.attn_q.weight")?.type == .f16)
        #expect(file.tensor(named: "blk.0.attn_norm.weight")?.type == .f32)
        let (_, parameters) = try LlamaGGUF.read(file)
        let original = trainer.parameterValues
        for entry in trainer.model.layout.entries {
            for i in entry.offset..<(entry.offset + entry.count) {
                let tolerance = entry.isMatrix ? abs(original[i]) * 1e-3 + 1e-7 : 0
                #expect(abs(parameters[i] - original[i]) <= tolerance, "\(entry.name)[\(i - entry.offset)]")
            }
        }
    }

    @Test func logitsRejectBadTokens() throws {
        let trainer = try Self.trainedTinyModel()
        #expect(throws: TrainingError.self) { try trainer.model.logits(tokens: [258], parameters: trainer.parameterValues) }
        #expect(throws: TrainingError.self) { try trainer.model.logits(tokens: [], parameters: trainer.parameterValues) }
        #expect(throws: TrainingError.self) { try trainer.model.logits(tokens: Array(repeating: 1, count: 33), parameters: trainer.parameterValues) }
    }
}
