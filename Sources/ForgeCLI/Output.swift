import Foundation
import ForgeGeneration
import ForgeJinja

/// Unbuffered writes to stdout and stderr, so streamed text appears as it is produced.
enum StandardStreams {
    static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// The `--json` reports the CLI prints: one compact object per line, keys in snake_case and
/// sorted so runs compare (an acronym like `promptIDs` needs its key spelled out).
enum JSONReport {
    static func line(_ report: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
    }
}

/// JSON string literals for `forge inspect --json`, which keeps the file's key order.
enum JSONText {
    /// A JSON string literal as Python's `json.dumps(ensure_ascii=False)` writes it.
    static func string(_ value: String) -> String {
        JinjaValue.string(value).jsonString()
    }
}

/// What `--verbose` and the end-of-run statistics print on stderr.
enum Diagnostics {
    static func describe(model: LanguageModel, session: GenerationSession) {
        let c = model.configuration
        StandardStreams.error("""
            model: \(model.path)
            architecture \(c.architecture): \(c.layerCount) layers, embedding \(c.embeddingLength), FFN \(c.feedForwardLength), \
            \(c.headCount) query heads / \(c.kvHeadCount) KV heads, head dim \(c.headDimension), vocabulary \(c.vocabularySize)
            runs on: \(session.evaluator.summary)

            """)
    }

    static func timings(_ result: GenerationResult, loadSeconds: Double) -> String {
        func rate(_ n: Int, _ s: Double) -> String { String(format: "%.2f", s > 0 ? Double(n) / s : 0) }
        let evaluated = result.promptTokens - result.cachedPromptTokens
        return """
            load: \(String(format: "%.3f", loadSeconds)) s
            prompt: \(result.promptTokens) tokens (\(evaluated) evaluated) in \(String(format: "%.3f", result.promptSeconds)) s, \(rate(evaluated, result.promptSeconds)) tokens/s
            generated: \(result.outputTokens.count) tokens in \(String(format: "%.3f", result.generationSeconds)) s, \(rate(result.outputTokens.count, result.generationSeconds)) tokens/s (\(result.finishReason.rawValue))

            """
    }
}
