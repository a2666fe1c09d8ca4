import ArgumentParser
import Foundation
import ForgeGeneration

/// `forge logits`: the logits at the last prompt position, to check against references.
public struct LogitsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print the logits at the last prompt position.")

    @OptionGroup public var modelOptions: ModelOptions
    @OptionGroup public var runtime: RuntimeOptions
    @OptionGroup public var placement: DeviceOptions

    @Option(name: [.short, .customLong("prompt")], help: "The prompt (special-token text is parsed).")
    public var prompt: String?

    @Option(name: .customShort("f"), help: ArgumentHelp("Read the prompt from this file, byte for byte.", valueName: "FILE"))
    public var file: String?

    @Option(help: "How many of the highest logits to print.")
    public var top: Int = 20

    @Flag(help: "Print one JSON object: prompt_ids and the top logits.")
    public var json = false

    @Option(help: ArgumentHelp("Write the whole logit vector as raw little-endian float32.", valueName: "FILE.f32"))
    public var out: String?

    public init() {}

    public func validate() throws {
        if (prompt == nil) == (file == nil) { throw ValidationError("give either -p PROMPT or -f FILE") }
        if top < 0 { throw ValidationError("--top must be 0 or more") }
    }

    public func run() throws {
        let model = try LanguageModel(path: modelOptions.resolvedPath())
        let session = try GenerationSession(model: model, contextSize: runtime.contextSize, threadCount: runtime.threads, cacheType: runtime.kvCacheType,
                                            device: try placement.open())
        let text: String
        if let prompt {
            text = prompt
        } else if let file, let data = FileManager.default.contents(atPath: file) {
            text = String(decoding: data, as: UTF8.self)
        } else {
            throw ValidationError("cannot read \(file ?? "")")
        }
        let ids = model.tokenize(text)
        try session.ingest(ids)
        let logits = Array(try session.currentLogits())
        if let out {
            let data = logits.withUnsafeBytes { Data($0) }
            guard FileManager.default.createFile(atPath: out, contents: data) else {
                throw ValidationError("cannot write \(out)")
            }
        }
        let best = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }.prefix(top)
        if json {
            let top = best.map { LogitsReport.Entry(id: $0, logit: logits[$0], piece: model.tokenizer.tokenPiece($0)) }
            StandardStreams.write(try JSONReport.line(LogitsReport(promptIDs: ids, vocabularySize: logits.count, top: top)))
        } else {
            for id in best {
                StandardStreams.write("\(id)\t\(String(format: "%.6f", logits[id]))\t\(model.tokenizer.tokenPiece(id))\n")
            }
        }
    }
}

/// The `--json` report of `forge logits`: the prompt's ids and the best next tokens.
struct LogitsReport: Encodable {
    struct Entry: Encodable {
        var id: Int
        var logit: Float
        var piece: String
    }

    var promptIDs: [Int]
    var vocabularySize: Int
    var top: [Entry]

    enum CodingKeys: String, CodingKey {
        case promptIDs = "prompt_ids", vocabularySize = "n_vocab", top
    }
}
