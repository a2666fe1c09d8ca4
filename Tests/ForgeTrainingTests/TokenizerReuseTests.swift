import Foundation
import ForgeGGUF
import ForgeGeneration
import ForgeTestSupport
import Testing
@testable import ForgeCLI
@testable import ForgeTokenizer
@testable import ForgeTraining

/// `forge train --tokenizer MODEL.gguf`: training on a real model's BPE vocabulary, and an
/// export that tokenizes prompts exactly as that model does.
struct TokenizerReuseTests {
    static let lighthouseWords = ["th", "the", " the", "er", "ee", "eep", "ke", "keep", "keeper", " keeper", "in", "ing", "ight", "igh", " l"]
    static let lighthouseMerges: [(String, String)] = [
        ("t", "h"), ("th", "e"), (" ", "the"), ("e", "r"), ("e", "e"), ("ee", "p"), ("k", "eep"), ("keep", "er"),
        (" ", "keeper"), ("i", "n"), ("in", "g"), ("i", "g"), ("ig", "h"), (" ", "l"),
    ]

    /// A byte-level BPE vocabulary in GPT-2's spelling: the 256 bytes, `words` (each reachable by
    /// `merges`), then the control token `<|endoftext|>` as BOS and EOS.
    static func writeBytePairTokenizer(to path: String, words: [String], merges: [(String, String)]) throws -> (bos: Int, size: Int) {
        func spell(_ text: String) -> String {
            String(String.UnicodeScalarView(text.utf8.compactMap { Unicode.Scalar(ByteLevelMapping.characterOfByte[Int($0)]) }))
        }
        let byteTokens = (0..<256).map { byte in
            String(String.UnicodeScalarView([Unicode.Scalar(ByteLevelMapping.characterOfByte[byte])].compactMap { $0 }))
        }
        let tokens = byteTokens + words.map(spell) + ["<|endoftext|>"]
        let types = [Int32](repeating: 1, count: tokens.count - 1) + [3]
        let bos = tokens.count - 1
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.pre", .string("smollm"))
        writer.set("tokenizer.ggml.tokens", .array(.string(tokens)))
        writer.set("tokenizer.ggml.token_type", .array(.int32(types)))
        writer.set("tokenizer.ggml.merges", .array(.string(merges.map { spell($0.0) + " " + spell($0.1) })))
        writer.set("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos)))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(UInt32(bos)))
        writer.set("tokenizer.ggml.add_bos_token", .bool(false))
        writer.set("tokenizer.chat_template", .string("{{ messages }}"))
        try writer.write(to: path)
        return (bos, tokens.count)
    }

    /// Trains a few steps with `--tokenizer`, then checks the export against the source file:
    /// the same tokenizer keys, the same encoding of text, and a model that generates.
    static let shape = ["--layers", "1", "--dim", "16", "--heads", "4", "--kv-heads", "2", "--ffn", "24", "--context", "24", "--val-fraction", "0.1", "--batch", "2", "-t", "2"]

    static func trainAndCheckExport(tokenizerPath: String, sample: String) throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("reused.gguf")
        let data = try Fixture.lighthousePath
        try TrainCommandTests.run(["--data", data, "--out", out, "--tokenizer", tokenizerPath, "--steps", "3"] + shape)

        let source = try GGUFFile(path: tokenizerPath)
        let exported = try GGUFFile(path: out)
        let sourceTokenizer = try Tokenizer(gguf: source)
        for key in source.keys where key.hasPrefix("tokenizer.ggml.") && key != "tokenizer.ggml.add_bos_token" {
            #expect(exported.metadata[key] == source.metadata[key], "\(key) differs")
        }
        #expect(exported.metadata["tokenizer.chat_template"] == nil)
        #expect(try exported.integer("llama.vocab_size") == sourceTokenizer.vocabularySize)
        #expect(exported.tensor(named: "token_embd.weight")?.shape == [16, sourceTokenizer.vocabularySize])

        // Training saw the text as the source tokenizer encodes it.
        let text = try String(contentsOfFile: data, encoding: .utf8)
        let vocabulary = try TrainingVocabulary.reusing(tokenizerAt: tokenizerPath)
        let corpus = try TrainingCorpus.load(path: data, vocabulary: vocabulary, validationFraction: 0.1, contextLength: 24)
        let expectedIDs = sourceTokenizer.encode(text, addSpecial: false, parseSpecial: false)
        #expect((corpus.training + corpus.validation).map(Int.init) == expectedIDs)
        #expect(expectedIDs.count < text.utf8.count && expectedIDs.contains { $0 >= 256 }, "the vocabulary's merges should shorten the text")
        #expect(Int(corpus.beginningOfSequence) == sourceTokenizer.bosTokenID)

        let model = try LanguageModel(path: out)
        #expect(model.tokenizer.encode(sample, addSpecial: false, parseSpecial: false) == sourceTokenizer.encode(sample, addSpecial: false, parseSpecial: false))
        let prompt = model.tokenize(sample)
        #expect(prompt.first == sourceTokenizer.bosTokenID, "generation starts with BOS, as every training window does")
        #expect(Array(prompt.dropFirst()) == sourceTokenizer.encode(sample, addSpecial: false, parseSpecial: true))
        let session = try GenerationSession(model: model, contextSize: 24, threadCount: 2)
        let result = try session.generate(prompt: prompt, parameters: GenerationParameters(maxTokens: 6, sampling: .greedy))
        #expect(!result.outputTokens.isEmpty && result.outputTokens.count <= 6)
        #expect(result.outputTokens.allSatisfy { (0..<sourceTokenizer.vocabularySize).contains($0) })
    }

    @Test func handBuiltBytePairVocabulary() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bpe.gguf")
        let (bos, size) = try Self.writeBytePairTokenizer(to: path, words: Self.lighthouseWords, merges: Self.lighthouseMerges)
        let vocabulary = try TrainingVocabulary.reusing(tokenizerAt: path)
        #expect(vocabulary.size == size && vocabulary.beginningOfSequence == bos && vocabulary.endOfSequence == bos)
        let keeper = 256 + (try #require(Self.lighthouseWords.firstIndex(of: " keeper")))
        let the = 256 + (try #require(Self.lighthouseWords.firstIndex(of: "the")))
        #expect(try vocabulary.encode(Array("the keeper".utf8)) == [Int32(the), Int32(keeper)])
        try Self.trainAndCheckExport(tokenizerPath: path, sample: "The keeper of the lighthouse")
    }

    @Test(RealModels.required([RealModels.smollm2]))
    func smolLM2Vocabulary() throws {
        try Self.trainAndCheckExport(tokenizerPath: #require(RealModels.path(RealModels.smollm2)), sample: "The keeper didn't count 12 steps")
    }

    @Test func aTokenizerFileThatIsNotAGGUFIsRejectedBeforeTraining() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        TrainCommandTests.expectRejection(
            ["--data", try Fixture.lighthousePath, "--out", out, "--tokenizer", try Fixture.lighthousePath] + TrainCommandTests.tinyModel,
            mentioning: "is not a readable GGUF file", out: out)
        TrainCommandTests.expectRejection(
            ["--data", try Fixture.lighthousePath, "--out", out, "--tokenizer", directory.file("absent.gguf")] + TrainCommandTests.tinyModel,
            mentioning: "is not a readable GGUF file", out: out)
    }

    @Test func aGGUFWithoutATokenizerIsRejectedBeforeTraining() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        try writer.write(to: directory.file("bare.gguf"))
        TrainCommandTests.expectRejection(
            ["--data", try Fixture.lighthousePath, "--out", out, "--tokenizer", directory.file("bare.gguf")] + TrainCommandTests.tinyModel,
            mentioning: "has no usable tokenizer: tokenizer: the GGUF file has no 'tokenizer.ggml.model'", out: out)
    }

    @Test func resumingWithoutTheTokenizerIsRejected() throws {
        let directory = try TemporaryDirectory()
        let tokenizer = directory.file("bpe.gguf")
        _ = try Self.writeBytePairTokenizer(to: tokenizer, words: Self.lighthouseWords, merges: Self.lighthouseMerges)
        let data = try Fixture.lighthousePath
        try TrainCommandTests.run(["--data", data, "--out", directory.file("a.gguf"), "--tokenizer", tokenizer, "--steps", "1", "--checkpoint-every", "1"] + TrainCommandTests.tinyModel)
        let out = directory.file("b.gguf")
        TrainCommandTests.expectRejection(
            ["--data", data, "--out", out, "--resume", directory.file("a.gguf.ckpt"), "--steps", "2"],
            mentioning: "resume with the --tokenizer of the original run", out: out)
        try TrainCommandTests.run(["--data", data, "--out", out, "--resume", directory.file("a.gguf.ckpt"), "--tokenizer", tokenizer, "--steps", "2", "-t", "2"])
        #expect(try LlamaGGUF.read(GGUFFile(path: out)).configuration.vocabularySize == TrainingVocabulary.reusing(tokenizerAt: tokenizer).size)
    }
}
