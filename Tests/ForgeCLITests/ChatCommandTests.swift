import Foundation
import ForgeGeneration
import ForgeKernels
import ForgeTestSupport
import ForgeTraining
import Testing
@testable import ForgeCLI

/// `forge chat` driven line by line, as a user at the terminal would.
struct ChatCommandTests {
    /// A random byte-vocabulary model whose greedy answers are letters and spaces and never end
    /// early: each answer is exactly `-n` tokens, one character per token.
    static func tinyModel(contextLength: Int = 512) throws -> TinyModelFile {
        try TinyModelFile(contextLength: contextLength, seed: 11, standardDeviation: 0.3, lettersOnly: true)
    }

    static func conversation(_ arguments: [String]) throws -> ChatConversation {
        guard let command = try Forge.parseAsRoot(["chat"] + arguments) as? ChatCommand else {
            throw TrainingError("`chat` did not parse as ChatCommand")
        }
        return try command.makeConversation()
    }

    /// The byte vocabulary's ids for a prompt: BOS, then one id per byte.
    static func byteIDs(_ text: String) -> [Int] { [256] + Array(text.utf8).map(Int.init) }

    @Test func eachTurnRendersTheWholeConversationAndReusesTheCache() throws {
        let tiny = try Self.tinyModel()
        let chat = try Self.conversation(["-m", tiny.path, "--chat-template", "chatml", "--system", "Be brief.", "-n", "6", "--temp", "0", "-t", "2"])
        var lines = ["Hello", "   ", "How are you?"][...]
        var output = ""
        var errors = ""
        try chat.run(nextLine: { lines.popFirst() }, output: { output += $0 }, errors: { errors += $0 })

        #expect(lines.isEmpty && errors.isEmpty)
        let replies = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(replies.count == 3 && replies[2].isEmpty, "two answers, each on its own line: \(output.debugDescription)")
        for reply in replies.prefix(2) {
            #expect(reply.count == 6 && reply.allSatisfy(TinyModelFile.answerAlphabet.contains), "\(reply.debugDescription)")
        }
        #expect(chat.messages.map(\.role) == ["system", "user", "assistant", "user", "assistant"])
        #expect(chat.messages.map(\.content) == ["Be brief.", "Hello", replies[0], "How are you?", replies[1]])

        // The second prompt is the whole conversation in ChatML, the first answer included.
        let firstPrompt = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n"
        let secondPrompt = firstPrompt + replies[0] + "<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n"
        let secondIDs = Self.byteIDs(secondPrompt)
        #expect(Array(chat.session.tokens.prefix(secondIDs.count)) == secondIDs)
        #expect(Array(chat.session.tokens.dropFirst(secondIDs.count)) == Array(replies[1].utf8.dropLast()).map(Int.init))

        // Only the new tokens were evaluated: the first prompt and all of the first answer but
        // its last token (sampled, never fed back) came from the cache.
        let result = try #require(chat.session.lastResult)
        #expect(result.promptTokens == secondIDs.count)
        #expect(result.cachedPromptTokens == Self.byteIDs(firstPrompt).count + replies[0].utf8.count - 1)
    }

    /// A base model (no template in the file, as Gemma 3 270M) is refused, not guessed at.
    @Test func aModelWithoutATemplateIsRefusedClearly() throws {
        let tiny = try Self.tinyModel()
        for arguments in [["chat", "-m", tiny.path], ["generate", "-m", tiny.path, "--chat", "-p", "hi"]] {
            do {
                var command = try Forge.parseAsRoot(arguments)
                try command.run()
                Issue.record("\(arguments[0]) ran without a chat template")
            } catch {
                let message = Forge.message(for: error)
                #expect(message.contains("has no chat template (a base model?)"), "\(message)")
                #expect(message.contains("--chat-template"), "\(message)")
            }
        }
    }

    @Test func resetForgetsTheConversation() throws {
        let tiny = try Self.tinyModel()
        let chat = try Self.conversation(["-m", tiny.path, "--chat-template", "chatml", "-n", "4", "--temp", "0", "-t", "2"])
        var lines = ["Hello", "/reset", "Hi"][...]
        var output = ""
        try chat.run(nextLine: { lines.popFirst() }, output: { output += $0 }, errors: { _ in })
        #expect(output.contains("(conversation forgotten)\n"))
        #expect(chat.messages.map(\.role) == ["user", "assistant"])
        #expect(chat.messages.first?.content == "Hi")
        let prompt = Self.byteIDs("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        #expect(Array(chat.session.tokens.prefix(prompt.count)) == prompt)
        #expect(chat.session.lastResult?.cachedPromptTokens == 0)
    }

    @Test func exitStopsReadingAndEndOfInputEndsCleanly() throws {
        let tiny = try Self.tinyModel()
        let chat = try Self.conversation(["-m", tiny.path, "--chat-template", "chatml", "-n", "4", "--temp", "0", "-t", "2"])
        var lines = ["/exit", "Hello"][...]
        var output = ""
        try chat.run(nextLine: { lines.popFirst() }, output: { output += $0 }, errors: { _ in })
        #expect(lines == ["Hello"])
        #expect(output.isEmpty && chat.messages.isEmpty)

        var nothing = [String]()[...]
        try chat.run(nextLine: { nothing.popFirst() }, output: { output += $0 }, errors: { _ in })
        #expect(output.isEmpty && chat.session.lastResult == nil)
    }

    @Test func aConversationBeyondTheContextIsRefusedWithoutEndingTheChat() throws {
        let tiny = try Self.tinyModel()
        let chat = try Self.conversation(["-m", tiny.path, "--chat-template", "chatml", "-n", "4", "--temp", "0", "-c", "64", "-t", "2"])
        var lines = [String(repeating: "long ", count: 20), "Hi"][...]
        var output = ""
        var errors = ""
        try chat.run(nextLine: { lines.popFirst() }, output: { output += $0 }, errors: { errors += $0 })
        #expect(errors.contains("beyond the context of 64"))
        #expect(chat.messages.map(\.content).first == "Hi")
        #expect(output.count == 5)
    }

    /// An interruption stops the answer at the token it is seen, marks it, and the next line is
    /// answered in full.
    @Test func anInterruptedAnswerStopsThereAndTheNextIsWhole() throws {
        let tiny = try Self.tinyModel()
        let chat = try Self.conversation(["-m", tiny.path, "--chat-template", "chatml", "-n", "30", "--temp", "0", "-t", "2"])
        var lines = ["Hello", "Hi"][...]
        var output = ""
        var pieces = 0
        var answering = false
        try chat.run(
            nextLine: { lines.popFirst() },
            generating: { answering = $0; pieces = 0 },
            interrupted: {
                pieces += 1
                return answering && lines.count == 1 && pieces == 4
            },
            output: { output += $0 }, errors: { _ in })
        let replies = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        try #require(replies.count == 3, "\(output.debugDescription)")
        #expect(replies[0].hasSuffix(" [stopped]") && replies[0].count == 4 + " [stopped]".count, "\(replies[0].debugDescription)")
        #expect(replies[1].count == 30)
        #expect(chat.messages.map(\.role) == ["user", "assistant", "user", "assistant"])
    }

    /// The built binary with its real standard input: a reply per line, and a clean exit at end of input.
    @Test(.enabled(if: forgeBinary != nil, "needs the forge executable beside the test bundle (swift build builds it)"))
    func theBinaryAnswersLinesFromStandardInputAndExitsAtEndOfInput() throws {
        let tiny = try Self.tinyModel()
        let process = Process()
        process.executableURL = Self.forgeBinary
        process.arguments = ["chat", "-m", tiny.path, "--chat-template", "chatml", "-n", "5", "--temp", "0", "-t", "1"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data("Hello\nHow are you?\n".utf8))
        try input.fileHandleForWriting.close()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        let replies = printed.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(replies.count == 3 && replies[0].count == 5 && replies[1].count == 5 && replies[2].isEmpty, "\(printed.debugDescription)")
    }

    /// Ctrl-C during an answer stops that answer, not the chat: the next line is answered and
    /// end of input still exits cleanly.
    @Test(.enabled(if: forgeBinary != nil, "needs the forge executable beside the test bundle (swift build builds it)"))
    func interruptStopsTheAnswerButNotTheChat() throws {
        let tiny = try Self.tinyModel(contextLength: 4096)
        let process = Process()
        process.executableURL = Self.forgeBinary
        process.arguments = ["chat", "-m", tiny.path, "--chat-template", "chatml", "--temp", "0", "-t", "1"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data("Hello\n".utf8))
        // An answer that could run to the end of a 4096-token context has started.
        var printed = Data()
        while printed.isEmpty {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += chunk
        }
        kill(process.processIdentifier, SIGINT)
        while !String(decoding: printed, as: UTF8.self).contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += chunk
        }
        let firstAnswer = String(decoding: printed, as: UTF8.self)
        #expect(firstAnswer.hasSuffix(" [stopped]\n"), "\(firstAnswer.suffix(80).debugDescription)")
        #expect(firstAnswer.count < 4000)

        try input.fileHandleForWriting.write(contentsOf: Data("Hi\n".utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// A child that exits early must make writes to its input fail, not kill the test process.
    static let forgeBinary: URL? = {
        signal(SIGPIPE, SIG_IGN)
        let candidate = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("forge")
        return FileManager.default.isExecutableFile(atPath: candidate.path) ? candidate : nil
    }()

    @Test(RealModels.required([RealModels.smollm2]))
    func smolLM2KeepsTheConversationInItsOwnTemplate() throws {
        let chat = try Self.conversation(["-m", try #require(RealModels.path(RealModels.smollm2)), "-n", "8", "--temp", "0", "-c", "512", "-t", "2"])
        var lines = ["What is the capital of France?", "And of Italy?"][...]
        var output = ""
        try chat.run(nextLine: { lines.popFirst() }, output: { output += $0 }, errors: { _ in })
        #expect(chat.messages.map(\.role) == ["user", "assistant", "user", "assistant"])
        #expect(chat.messages.filter { $0.role == "assistant" }.allSatisfy { !$0.content.isEmpty })
        #expect(output.split(separator: "\n").count >= 2)
        let formatter = try PromptFormatter(model: chat.model, builtIn: nil)
        let secondPrompt = chat.model.tokenize(try formatter.render(messages: Array(chat.messages.prefix(3))), parseSpecial: true)
        #expect(Array(chat.session.tokens.prefix(secondPrompt.count)) == secondPrompt)
        #expect(try #require(chat.session.lastResult).cachedPromptTokens > secondPrompt.count / 2)
    }
}
