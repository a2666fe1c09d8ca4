import ArgumentParser
import Foundation
import ForgeGeneration

/// `forge perplexity`: llama.cpp's perplexity method and output, so figures compare directly.
public struct PerplexityCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Measure perplexity on a text file (llama.cpp's method).",
        discussion: "Non-overlapping chunks of -c tokens, each scored on its second half.")

    @OptionGroup public var modelOptions: ModelOptions
    @OptionGroup public var placement: DeviceOptions

    @Option(name: .customShort("f"), help: ArgumentHelp("The text file.", valueName: "FILE"))
    public var file: String

    @Option(name: [.customShort("c"), .customLong("ctx-size")], help: "Chunk size in tokens.")
    public var contextSize: Int = 512

    @Option(name: [.short, .customLong("threads")], help: "Threads.")
    public var threads: Int = 2

    @Flag(help: "Print {\"ppl\", \"ppl_stderr\", \"chunks\"} instead of llama.cpp's lines.")
    public var json = false

    public init() {}

    public func validate() throws {
        if contextSize < 4 { throw ValidationError("-c must be at least 4") }
        if threads < 1 { throw ValidationError("--threads must be positive") }
    }

    public func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
        let model = try LanguageModel(path: modelOptions.resolvedPath())
        guard contextSize <= model.trainingContextLength else {
            throw ValidationError("-c \(contextSize) exceeds the model's training context \(model.trainingContextLength)")
        }
        let tokens = model.tokenizer.encode([UInt8](data), addSpecial: true, parseSpecial: false)
        if !json {
            StandardStreams.error("perplexity: \(tokens.count) tokens, \(tokens.count / contextSize) chunks of \(contextSize)\n")
        }
        let result = try Perplexity.evaluate(model: model, tokens: tokens, contextSize: contextSize, threadCount: threads,
                                             device: try placement.open()) { chunk, running in
            if !json { StandardStreams.write("[\(chunk)]\(String(format: "%.4f", running)),") }
        }
        if json {
            StandardStreams.write("{\"ppl\":\(result.perplexity),\"ppl_stderr\":\(result.standardError),\"chunks\":\(result.chunks)}\n")
        } else {
            StandardStreams.write("\nFinal estimate: PPL = \(String(format: "%.4f", result.perplexity)) +/- \(String(format: "%.5f", result.standardError))\n")
        }
    }
}
