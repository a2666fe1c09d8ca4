import Foundation
import ForgeGeneration
import ForgeTestSupport
import Testing
@testable import ForgeCLI

/// `forge generate --json`: one object with llama.cpp-style snake_case keys.
struct GenerateReportTests {
    @Test func theReportHasTheDocumentedKeys() throws {
        let tiny = try TinyModelFile(contextLength: 64, seed: 11, standardDeviation: 0.3, lettersOnly: true)
        let model = try LanguageModel(path: tiny.path)
        let session = try GenerationSession(model: model, contextSize: 64, threadCount: 2)
        let prompt = [256] + Array("say \"hi\"".utf8).map(Int.init)
        let result = try session.generate(prompt: prompt, parameters: GenerationParameters(maxTokens: 5, sampling: .greedy))

        let line = try JSONReport.line(GenerateReport(promptIDs: prompt, result: result, loadSeconds: 0.25))
        #expect(line.hasSuffix("}\n") && !line.dropLast().contains("\n"), "one line")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(Set(report.keys) == ["prompt_ids", "output_ids", "text", "finish_reason", "timings"])
        #expect(report["prompt_ids"] as? [Int] == prompt)
        #expect(report["output_ids"] as? [Int] == result.outputTokens)
        #expect(report["text"] as? String == result.text && report["finish_reason"] as? String == "length")
        let timings = try #require(report["timings"] as? [String: Double])
        #expect(Set(timings.keys) == [
            "load_seconds", "prompt_tokens", "prompt_seconds", "prompt_tokens_per_second", "generated_tokens", "generation_seconds",
            "generation_tokens_per_second",
        ])
        #expect(timings["load_seconds"] == 0.25 && timings["generated_tokens"] == 5 && timings["prompt_tokens"] == Double(prompt.count))
    }
}
