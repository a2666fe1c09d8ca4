import ArgumentParser
import Foundation
import ForgeGeneration

/// `forge chat`: a conversation in the terminal. The history stays in the KV cache, so each
/// turn only evaluates its new tokens.
public struct ChatCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with a model in the terminal.",
        discussion: "Type a message and press Enter. /reset forgets the conversation, /exit quits; Ctrl-C stops the current answer.")

    @OptionGroup public var modelOptions: ModelOptions
    @OptionGroup public var runtime: RuntimeOptions
    @OptionGroup public var sampling: SamplingOptions

    @Option(help: "A system message.")
    public var system: String?

    @Option(name: .customLong("chat-template"), help: "A built-in template for models without one.")
    public var chatTemplate: String?

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "At most this many tokens per answer (-1: no limit).")
    public var count: Int = -1

    public init() {}

    public func run() throws {
        let model = try LanguageModel(path: modelOptions.resolvedPath())
        let session = try GenerationSession(model: model, contextSize: runtime.contextSize, threadCount: runtime.threads, cacheType: runtime.kvCacheType)
        if runtime.verbose { Diagnostics.describe(model: model, session: session) }
        let formatter = try PromptFormatter(model: model, builtIn: chatTemplate)
        let parameters = GenerationParameters(maxTokens: count < 0 ? nil : count, sampling: try sampling.parameters())
        let interrupts = InterruptHandler { session.cancel() }
        var messages: [(role: String, content: String)] = system.map { [("system", $0)] } ?? []
        let interactive = isatty(0) != 0

        while true {
            if interactive { StandardStreams.write("> ") }
            interrupts.generating = false
            guard let line = readLine() else { break }
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/exit" { break }
            if input == "/reset" {
                messages = system.map { [("system", $0)] } ?? []
                session.reset()
                StandardStreams.write("(conversation forgotten)\n")
                continue
            }
            messages.append(("user", input))
            let prompt = model.tokenize(try formatter.render(messages: messages), parseSpecial: true)
            guard prompt.count < session.contextSize else {
                messages.removeLast()
                StandardStreams.error("the conversation is \(prompt.count) tokens, beyond the context of \(session.contextSize); /reset to start again\n")
                continue
            }
            interrupts.generating = true
            let result = try session.generate(prompt: prompt, parameters: parameters) { piece in
                StandardStreams.write(piece.text)
                return true
            }
            interrupts.generating = false
            StandardStreams.write(result.finishReason == .cancelled ? " [stopped]\n" : "\n")
            messages.append(("assistant", result.text))
        }
    }
}

/// Ctrl-C cancels the answer being generated; at the prompt it quits as usual.
final class InterruptHandler: @unchecked Sendable {
    private let source: DispatchSourceSignal
    private let lock = NSLock()
    private var _generating = false

    var generating: Bool {
        get { lock.withLock { _generating } }
        set { lock.withLock { _generating = newValue } }
    }

    init(onInterrupt: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { [unowned self] in
            if self.generating {
                onInterrupt()
            } else {
                StandardStreams.write("\n")
                exit(0)
            }
        }
        source.resume()
    }
}
