import Foundation
import Testing
import ForgeGeneration
import ForgeTestSupport

/// Perplexity on the GPL-3 text with 512-token chunks, against llama.cpp's figure for each file.
@Suite struct PerplexityTests {
    @Test(RealModels.required(ReferenceModels.files(ReferenceModels.all)), arguments: ReferenceModels.all)
    func perplexityWithinOnePercentOfLlamaCpp(model: String) throws {
        let reference = try ReferenceData.json("perplexity.json")
        let results = reference["results"] as? [String: [String: Any]] ?? [:]
        let expected = try #require(results[model]?["ppl"] as? Double)
        let language = try LanguageModel(path: #require(RealModels.path(model + ".gguf")))
        let text = try Data(contentsOf: ReferenceData.url("gpl-3.txt"))
        let tokens = language.tokenizer.encode([UInt8](text), addSpecial: true, parseSpecial: false)
        let result = try Perplexity.evaluate(model: language, tokens: tokens, contextSize: 512)
        print("perplexity \(model): \(result.perplexity) (llama.cpp \(expected)), \(result.chunks) chunks")
        #expect(result.chunks == results[model]?["n_chunks"] as? Int)
        #expect(abs(result.perplexity / expected - 1) < 0.01, "\(model): \(result.perplexity) vs llama.cpp \(expected)")
    }

    /// Gemma 3 at 512 and at 2048 tokens a chunk: the second makes its sliding-window layers
    /// leave out keys more than 512 positions back.
    @Test(RealModels.required([RealModels.gemma]), arguments: [512, 2048])
    func gemmaPerplexityWithinOnePercentOfLlamaCpp(contextSize: Int) throws {
        let reference = try ReferenceData.json("perplexity-gemma.json")
        let results = reference["results"] as? [String: [String: [String: Any]]] ?? [:]
        let expected = try #require(results[ReferenceModels.gemma]?["c\(contextSize)"])
        let language = try LanguageModel(path: #require(RealModels.path(RealModels.gemma)))
        let text = try Data(contentsOf: ReferenceData.url("gpl-3.txt"))
        let tokens = language.tokenizer.encode([UInt8](text), addSpecial: true, parseSpecial: false)
        let result = try Perplexity.evaluate(model: language, tokens: tokens, contextSize: contextSize)
        let ppl = try #require(expected["ppl"] as? Double)
        print("perplexity \(ReferenceModels.gemma) -c \(contextSize): \(result.perplexity) (llama.cpp \(ppl)), \(result.chunks) chunks")
        #expect(result.chunks == expected["chunks"] as? Int)
        #expect(abs(result.perplexity / ppl - 1) < 0.01, "-c \(contextSize): \(result.perplexity) vs llama.cpp \(ppl)")
    }
}
