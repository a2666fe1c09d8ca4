import Foundation
import ForgeGeneration
import ForgeTokenizer
import Hummingbird

/// Turns the engine's events for one request into OpenAI's response: one JSON object, or
/// server-sent events (a role chunk for chat, content and tool-call chunks, a finish chunk, a
/// usage chunk when asked, then `[DONE]`), all with the same id.
struct CompletionWriter: Sendable {
    let chat: Bool
    let id: String
    let created: Int
    let model: String
    let tokenizer: Tokenizer
    let stream: Bool
    let includeUsage: Bool
    /// Whether the request asked for log-probabilities (else `logprobs` is null).
    let reportsLogprobs: Bool

    private func envelope<Choice>(_ choices: [Choice], usage: Usage? = nil) -> CompletionEnvelope<Choice> {
        let object = chat ? (stream ? "chat.completion.chunk" : "chat.completion") : "text_completion"
        return CompletionEnvelope(id: id, object: object, created: created, model: model, choices: choices, usage: usage)
    }

    /// OpenAI's `finish_reason`. A cancelled request has no reader left; should one remain,
    /// "stop" is OpenAI's closest.
    private func finishReason(_ reason: FinishReason, madeCalls: Bool) -> String {
        if reason == .length { return "length" }
        return madeCalls ? "tool_calls" : "stop"
    }

    // MARK: - One JSON object

    func collect(_ events: AsyncStream<EngineEvent>, request: Request, context: some RequestContext) async throws -> Response {
        var content = ""
        var calls: [ToolCall] = []
        var logprobs: [TokenLogprob] = []
        for await event in events {
            switch event {
            case .piece(let piece):
                for part in piece.parts {
                    switch part {
                    case .content(let text): content += text
                    case .call(let call): calls.append(call)
                    }
                }
                if let logprob = piece.logprob { logprobs.append(logprob) }
            case .failed(let error):
                throw error
            case .finished(let result):
                let finish = finishReason(result.finishReason, madeCalls: !calls.isEmpty)
                if chat {
                    let message = ChatChoice.Message(
                        content: calls.isEmpty || !content.isEmpty ? content : nil,
                        toolCalls: calls.isEmpty ? nil : calls.map(ToolCallEntry.whole))
                    let choice = ChatChoice(
                        message: message, logprobs: reportsLogprobs ? ChatLogprobs(logprobs, tokenizer: tokenizer) : nil, finishReason: finish)
                    return try context.responseEncoder.encode(envelope([choice], usage: Usage(result)), from: request, context: context)
                }
                let choice = TextChoice(
                    text: content, logprobs: reportsLogprobs ? CompletionLogprobs(logprobs, tokenizer: tokenizer, textOffset: 0) : nil,
                    finishReason: finish)
                return try context.responseEncoder.encode(envelope([choice], usage: Usage(result)), from: request, context: context)
            }
        }
        throw APIError.server("generation ended without a result")
    }

    // MARK: - Server-sent events

    func stream(_ events: AsyncStream<EngineEvent>, to writer: inout any ResponseBodyWriter) async throws {
        let encoder = JSONEncoder()
        func send(_ value: some Encodable) async throws {
            try await writer.write(ByteBuffer(string: "data: " + String(decoding: try encoder.encode(value), as: UTF8.self) + "\n\n"))
        }
        /// A content chunk; a token's log-probability rides on its first chunk.
        func sendText(_ text: String, logprob: TokenLogprob?, textOffset: Int) async throws {
            if chat {
                let logprobs = logprob.map { ChatLogprobs([$0], tokenizer: tokenizer) }
                try await send(envelope([ChatChoice(delta: .init(content: text), logprobs: logprobs)]))
            } else {
                let logprobs = logprob.map { CompletionLogprobs([$0], tokenizer: tokenizer, textOffset: textOffset) }
                try await send(envelope([TextChoice(text: text, logprobs: logprobs)]))
            }
        }
        if chat {
            try await send(envelope([ChatChoice(delta: .init(role: "assistant", content: ""))]))
        }
        var textOffset = 0
        var callCount = 0
        for await event in events {
            switch event {
            case .piece(let piece):
                // Held-back text (a partial character, a possible stop string or call) has nothing to show yet.
                var logprob = piece.logprob
                if piece.parts.isEmpty, logprob != nil {
                    try await sendText("", logprob: logprob, textOffset: textOffset)
                }
                for part in piece.parts {
                    switch part {
                    case .content(let text):
                        try await sendText(text, logprob: logprob, textOffset: textOffset)
                        textOffset += text.count
                    case .call(let call):
                        for (position, entry) in ToolCallEntry.streamed(call, index: callCount).enumerated() {
                            let logprobs = position == 0 ? logprob.map { ChatLogprobs([$0], tokenizer: tokenizer) } : nil
                            try await send(envelope([ChatChoice(delta: .init(toolCalls: [entry]), logprobs: logprobs)]))
                        }
                        callCount += 1
                    }
                    logprob = nil
                }
            case .failed(let error):
                try await send(error.body)
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                return
            case .finished(let result):
                let finish = finishReason(result.finishReason, madeCalls: callCount > 0)
                if chat {
                    try await send(envelope([ChatChoice(delta: .init(), finishReason: finish)]))
                } else {
                    try await send(envelope([TextChoice(text: "", finishReason: finish)]))
                }
                if includeUsage {
                    try await send(envelope([TextChoice](), usage: Usage(result)))
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                return
            }
        }
        try await writer.finish(nil)
    }
}
