import Foundation
import Testing
import ForgeGeneration

/// Perplexity on the GPL-3 text with 512-token chunks, against llama.cpp's figure for each file.
@Suite struct PerplexityTests {
    @Test(arguments: RealModels.all.filter { RealModels.path($0 + ".gguf") != nil })
    func perplexityWithinOnePercentOfLlamaCpp(model: String) throws {
        let reference = try ReferenceData.json("perplexity.json")
        let results = reference["results"] as? [String: [String: Any]] ?? [:]
        let expected = try #require(results[model]?["ppl"] as? Double)
        let language = try LanguageModel(path: RealModels.path(model + ".gguf")!)
        let text = try Data(contentsOf: ReferenceData.url("gpl-3.txt"))
        let tokens = language.tokenizer.encode([UInt8](text), addSpecial: true, parseSpecial: false)
        let result = try Perplexity.evaluate(model: language, tokens: tokens, contextSize: 512)
        print("perplexity \(model): \(result.perplexity) (llama.cpp \(expected)), \(result.chunks) chunks")
        #expect(result.chunks == results[model]?["n_chunks"] as? Int)
        #expect(abs(result.perplexity / expected - 1) < 0.01, "\(model): \(result.perplexity) vs llama.cpp \(expected)")
    }
}
