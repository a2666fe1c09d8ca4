import ForgeGeneration
import ForgeJinja
import ForgeTokenizer
import Hummingbird

/// Turns the engine's events for one request into OpenAI's response: one JSON object, or
/// server-sent events (a role chunk for chat, content chunks, a finish chunk, a usage chunk when
/// asked, then `[DONE]`), all with the same id.
struct CompletionWriter: Sendable {
    let chat: Bool
    let id: String
    let created: Int
    let model: String
    let tokenizer: Tokenizer
    let options: GenerationOptions

    private var objectName: String {
        switch (chat, options.stream) {
        case (true, true): "chat.completion.chunk"
        case (true, false): "chat.completion"
        case (false, _): "text_completion"
        }
    }

    private func envelope(choices: [JinjaValue], usage: JinjaValue? = nil) -> JinjaValue {
        var object: JinjaObject = [
            "id": .string(id), "object": .string(objectName), "created": .int(created), "model": .string(model),
            "system_fingerprint": "forge",
            "choices": .array(choices),
        ]
        if let usage { object["usage"] = usage }
        return .object(object)
    }

    private func finishReason(_ reason: FinishReason) -> JinjaValue {
        // A cancelled request has no reader left; should one remain, "stop" is OpenAI's closest.
        .string(reason == .length ? "length" : "stop")
    }

    // MARK: - One JSON object

    func collect(_ events: AsyncStream<EngineEvent>) async throws -> Response {
        var text = ""
        var logprobs: [TokenLogprob] = []
        for await event in events {
            switch event {
            case .token(_, let piece, let logprob):
                text += piece
                if let logprob { logprobs.append(logprob) }
            case .failed(let error):
                throw error
            case .finished(let summary):
                return jsonResponse(envelope(choices: [choice(text: text, logprobs: logprobs, summary: summary)], usage: OpenAIResponse.usage(summary)))
            }
        }
        throw APIError.server("generation ended without a result")
    }

    private func choice(text: String, logprobs: [TokenLogprob], summary: CompletionSummary) -> JinjaValue {
        var choice: JinjaObject = ["index": 0]
        let logprobValue: JinjaValue
        if options.topLogprobs == nil {
            logprobValue = .null
        } else if chat {
            logprobValue = ["content": .array(logprobs.map { OpenAIResponse.chatLogprob(tokenizer, $0) })]
        } else {
            logprobValue = OpenAIResponse.completionLogprobs(tokenizer, logprobs, textOffset: 0)
        }
        if chat {
            choice["message"] = ["role": "assistant", "content": .string(text)]
        } else {
            choice["text"] = .string(text)
        }
        choice["logprobs"] = logprobValue
        choice["finish_reason"] = finishReason(summary.finishReason)
        return .object(choice)
    }

    // MARK: - Server-sent events

    func stream(_ events: AsyncStream<EngineEvent>, to writer: inout any ResponseBodyWriter) async throws {
        func send(_ value: JinjaValue) async throws {
            try await writer.write(ByteBuffer(string: "data: " + value.jsonString(compactJSON) + "\n\n"))
        }
        if chat {
            try await send(envelope(choices: [["index": 0, "delta": ["role": "assistant", "content": ""], "logprobs": .null, "finish_reason": .null]]))
        }
        var textOffset = 0
        for await event in events {
            switch event {
            case .token(_, let piece, let logprob):
                // Held-back text (a partial character, a possible stop string) has nothing to show yet.
                if piece.isEmpty && logprob == nil { continue }
                try await send(envelope(choices: [deltaChoice(text: piece, logprob: logprob, textOffset: textOffset)]))
                textOffset += piece.count
            case .failed(let error):
                try await send(error.json)
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                return
            case .finished(let summary):
                var last: JinjaObject = ["index": 0]
                if chat { last["delta"] = .object(JinjaObject()) } else { last["text"] = "" }
                last["logprobs"] = .null
                last["finish_reason"] = finishReason(summary.finishReason)
                try await send(envelope(choices: [.object(last)]))
                if options.includeUsage {
                    try await send(envelope(choices: [], usage: OpenAIResponse.usage(summary)))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                return
            }
        }
        try await writer.finish(nil)
    }

    private func deltaChoice(text: String, logprob: TokenLogprob?, textOffset: Int) -> JinjaValue {
        var choice: JinjaObject = ["index": 0]
        if chat {
            choice["delta"] = ["content": .string(text)]
        } else {
            choice["text"] = .string(text)
        }
        switch (logprob, chat) {
        case (let logprob?, true): choice["logprobs"] = ["content": [OpenAIResponse.chatLogprob(tokenizer, logprob)]]
        case (let logprob?, false): choice["logprobs"] = OpenAIResponse.completionLogprobs(tokenizer, [logprob], textOffset: textOffset)
        case (nil, _): choice["logprobs"] = .null
        }
        choice["finish_reason"] = .null
        return .object(choice)
    }
}
