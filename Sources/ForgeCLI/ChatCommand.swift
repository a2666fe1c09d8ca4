import ArgumentParser
import Atomics
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
    @OptionGroup public var placement: DeviceOptions
    @OptionGroup public var sampling: SamplingOptions
    @OptionGroup public var constraint: GrammarOptions

    @Option(help: "A system message.")
    public var system: String?

    @Option(name: .customLong("chat-template"), help: "A built-in template for models without one.")
    public var chatTemplate: String?

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "At most this many tokens per answer (-1: no limit).")
    public var count: Int = -1

    public init() {}

    public func run() throws {
        let conversation = try makeConversation()
        if runtime.verbose { Diagnostics.describe(model: conversation.model, session: conversation.session) }
        ChatInterrupt.install()
        let interactive = isatty(0) != 0
        try conversation.run(
            nextLine: {
                if interactive { StandardStreams.write("> ") }
                return readLine()
            },
            generating: ChatInterrupt.setGenerating, interrupted: ChatInterrupt.wasRequested,
            output: StandardStreams.write, errors: StandardStreams.error)
    }

    /// Loads the model and sets up the conversation the options describe.
    func makeConversation() throws -> ChatConversation {
        let model = try LanguageModel(path: modelOptions.resolvedPath())
        let session = try GenerationSession(model: model, contextSize: runtime.contextSize, threadCount: runtime.threads, cacheType: runtime.kvCacheType,
                                            device: try placement.open())
        return ChatConversation(
            session: session, formatter: try PromptFormatter(model: model, builtIn: chatTemplate),
            parameters: GenerationParameters(maxTokens: count < 0 ? nil : count, sampling: try sampling.parameters(), grammar: try constraint.grammar()),
            system: system)
    }
}

/// The conversation behind `forge chat`, apart from the terminal: lines come from a closure and
/// answers go to one, so tests drive it as a user would.
final class ChatConversation {
    let session: GenerationSession
    private let formatter: PromptFormatter
    private let parameters: GenerationParameters
    private let system: String?
    /// The conversation so far, as the chat template sees it.
    private(set) var messages: [(role: String, content: String)]

    init(session: GenerationSession, formatter: PromptFormatter, parameters: GenerationParameters, system: String?) {
        self.session = session
        self.formatter = formatter
        self.parameters = parameters
        self.system = system
        messages = system.map { [("system", $0)] } ?? []
    }

    var model: LanguageModel { session.model }

    /// Answers lines until `nextLine` returns nil (end of input) or the user types /exit.
    /// `generating` is told when an answer starts and ends (Ctrl-C cancels only inside one);
    /// `interrupted`, asked at every token, stops the answer.
    func run(
        nextLine: () -> String?, generating: (Bool) -> Void = { _ in }, interrupted: () -> Bool = { false },
        output: (String) -> Void, errors: (String) -> Void
    ) throws {
        while let line = nextLine() {
            guard try respond(to: line, generating: generating, interrupted: interrupted, output: output, errors: errors) else { return }
        }
    }

    /// Handles one line: a command or a message to answer. Returns false for /exit.
    func respond(
        to line: String, generating: (Bool) -> Void = { _ in }, interrupted: () -> Bool = { false },
        output: (String) -> Void, errors: (String) -> Void
    ) throws -> Bool {
        let input = line.trimmingCharacters(in: .whitespaces)
        switch input {
        case "":
            return true
        case "/exit":
            return false
        case "/reset":
            messages = system.map { [("system", $0)] } ?? []
            session.reset()
            output("(conversation forgotten)\n")
            return true
        default:
            break
        }
        messages.append(("user", input))
        let prompt = model.tokenize(try formatter.render(messages: messages), parseSpecial: true)
        guard prompt.count < session.contextSize else {
            messages.removeLast()
            errors("the conversation is \(prompt.count) tokens, beyond the context of \(session.contextSize); /reset to start again\n")
            return true
        }
        generating(true)
        defer { generating(false) }
        let result = try session.generate(prompt: prompt, parameters: parameters) { piece in
            output(piece.text)
            return !interrupted()
        }
        output(result.finishReason == .cancelled ? " [stopped]\n" : "\n")
        messages.append(("assistant", result.text))
        return true
    }
}

/// Ctrl-C cancels the answer being generated; at the prompt it quits as usual. The signal
/// handler only sets a flag that generation reads at every token: a dispatch source's handler
/// runs on a worker thread, which a loaded machine can starve for seconds while the answer goes on.
enum ChatInterrupt {
    private static let generating = ManagedAtomic(false)
    private static let requested = ManagedAtomic(false)

    static func install() {
        // Both atomics exist before the handler can touch them (a lazy initializer is not signal-safe).
        _ = generating.load(ordering: .relaxed) || requested.load(ordering: .relaxed)
        signal(SIGINT) { _ in
            if ChatInterrupt.generating.load(ordering: .relaxed) {
                ChatInterrupt.requested.store(true, ordering: .relaxed)
            } else {
                var newline = UInt8(ascii: "\n")
                _ = write(STDOUT_FILENO, &newline, 1)
                _exit(0)
            }
        }
    }

    static func setGenerating(_ value: Bool) {
        if value { requested.store(false, ordering: .relaxed) }
        generating.store(value, ordering: .relaxed)
    }

    static func wasRequested() -> Bool { requested.load(ordering: .relaxed) }
}
