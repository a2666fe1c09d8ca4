import ArgumentParser
import Foundation
import ForgeGeneration
import ForgeJinja
import ForgeKernels
import ForgeTokenizer

/// `forge generate`: continue a prompt, streaming the text as it is produced.
public struct GenerateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate text from a prompt.",
        discussion: """
            Special-token text in the prompt (<|im_start|>, …) is parsed as special tokens, as llama.cpp \
            does; --no-special turns that off. --chat wraps the prompt in the model's chat template. \
            Statistics go to stderr; --json prints one JSON object at the end instead of streaming.
            """)

    @OptionGroup public var modelOptions: ModelOptions
    @OptionGroup public var runtime: RuntimeOptions
    @OptionGroup public var placement: DeviceOptions
    @OptionGroup public var sampling: SamplingOptions
    @OptionGroup public var constraint: GrammarOptions

    @Option(name: [.short, .customLong("prompt")], help: "The prompt.")
    public var prompt: String?

    @Option(name: .customShort("f"), help: ArgumentHelp("Read the prompt from this file, byte for byte.", valueName: "FILE"))
    public var file: String?

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Tokens to generate (-1: until an end token or the end of the context).")
    public var count: Int = -1

    @Flag(help: "Wrap the prompt in the model's chat template as a user message.")
    public var chat = false

    @Option(help: "A system message for --chat.")
    public var system: String?

    @Option(name: .customLong("chat-template"), help: "A built-in template for models without one (chatml, llama3, mistral, …).")
    public var chatTemplate: String?

    @Flag(name: .customLong("no-special"), help: "Tokenize special-token text in the prompt as plain text.")
    public var noSpecial = false

    @Option(name: .customLong("stop"), help: "Stop when this text appears (repeatable); it is not printed.")
    public var stop: [String] = []

    @Flag(help: "Print one JSON object at the end: prompt_ids, output_ids, text, finish_reason, timings.")
    public var json = false

    public init() {}

    public func validate() throws {
        if (prompt == nil) == (file == nil) { throw ValidationError("give either -p PROMPT or -f FILE") }
        if count < -1 { throw ValidationError("-n must be -1 or more") }
        if system != nil && !chat { throw ValidationError("--system needs --chat") }
    }

    public func run() throws {
        let loadStart = ContinuousClock.now
        let model = try LanguageModel(path: modelOptions.resolvedPath())
        let loadSeconds = seconds(since: loadStart)
        let session = try GenerationSession(model: model, contextSize: runtime.contextSize, threadCount: runtime.threads, cacheType: runtime.kvCacheType,
                                            device: try placement.open())
        if runtime.verbose { Diagnostics.describe(model: model, session: session) }

        var text = try readPrompt()
        if chat {
            var messages: [(String, String)] = []
            if let system { messages.append(("system", system)) }
            messages.append(("user", text))
            text = try PromptFormatter(model: model, builtIn: chatTemplate).render(messages: messages)
        }
        let promptIDs = model.tokenize(text, parseSpecial: !noSpecial)
        var parameters = GenerationParameters(
            maxTokens: count < 0 ? nil : count, sampling: try sampling.parameters(), stopStrings: stop, grammar: try constraint.grammar())
        parameters.showSpecialTokens = false
        let result = try session.generate(prompt: promptIDs, parameters: parameters) { piece in
            if !json { StandardStreams.write(piece.text) }
            return true
        }
        if json {
            StandardStreams.write(try JSONReport.line(GenerateReport(promptIDs: promptIDs, result: result, loadSeconds: loadSeconds)))
        } else {
            StandardStreams.write("\n")
            StandardStreams.error(Diagnostics.timings(result, loadSeconds: loadSeconds))
        }
    }

    private func readPrompt() throws -> String {
        if let prompt { return prompt }
        guard let file, let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file ?? "")")
        }
        return String(decoding: data, as: UTF8.self)
    }
}

func seconds(since start: ContinuousClock.Instant) -> Double {
    (ContinuousClock.now - start).inSeconds
}

/// Renders conversations with the model's template, or a named built-in one.
struct PromptFormatter {
    let model: LanguageModel
    let template: ChatTemplate

    init(model: LanguageModel, builtIn: String?) throws {
        self.model = model
        if let builtIn {
            template = try ChatTemplate(builtIn: builtIn)
        } else if let own = model.chatTemplate {
            template = own
        } else {
            throw GenerationError.invalidParameter("""
                \(URL(fileURLWithPath: model.path).lastPathComponent) has no chat template (a base model?): prompt it with \
                `forge generate` without --chat, or choose a template with --chat-template (\(ChatTemplate.builtInNames.joined(separator: ", ")))
                """)
        }
    }

    func render(messages: [(role: String, content: String)], addGenerationPrompt: Bool = true) throws -> String {
        let list = JinjaValue.array(messages.map { message in
            var object = JinjaObject()
            object["role"] = .string(message.role)
            object["content"] = .string(message.content)
            return .object(object)
        })
        return try model.renderConversation(template, messages: list, addGenerationPrompt: addGenerationPrompt)
    }
}

/// The `--json` report of `forge generate`.
struct GenerateReport: Encodable {
    struct Timings: Encodable {
        var loadSeconds: Double
        var promptTokens: Int
        var promptSeconds: Double
        var promptTokensPerSecond: Double
        var generatedTokens: Int
        var generationSeconds: Double
        var generationTokensPerSecond: Double
    }

    var promptIDs: [Int]
    var outputIDs: [Int]
    var text: String
    var finishReason: String
    var timings: Timings

    init(promptIDs: [Int], result: GenerationResult, loadSeconds: Double) {
        func rate(_ n: Int, _ s: Double) -> Double { s > 0 ? Double(n) / s : 0 }
        self.promptIDs = promptIDs
        outputIDs = result.outputTokens
        text = result.text
        finishReason = result.finishReason.rawValue
        timings = Timings(
            loadSeconds: loadSeconds, promptTokens: promptIDs.count, promptSeconds: result.promptSeconds,
            promptTokensPerSecond: rate(promptIDs.count, result.promptSeconds), generatedTokens: result.outputTokens.count,
            generationSeconds: result.generationSeconds, generationTokensPerSecond: rate(result.outputTokens.count, result.generationSeconds))
    }

    enum CodingKeys: String, CodingKey {
        case promptIDs = "prompt_ids", outputIDs = "output_ids", text, finishReason, timings
    }
}
