import ForgeGeneration
import ForgeJinja
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
    let options: GenerationOptions
    /// The functions whose calls are parsed out of the reply; empty when none are.
    let toolNames: [String]

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

    private func finishReason(_ reason: FinishReason, madeCalls: Bool) -> JinjaValue {
        // A cancelled request has no reader left; should one remain, "stop" is OpenAI's closest.
        if reason == .length { return "length" }
        return madeCalls ? "tool_calls" : "stop"
    }

    private func toolParser() -> ToolCallParser? {
        toolNames.isEmpty ? nil : ToolCallParser(toolNames: toolNames)
    }

    /// One entry of `tool_calls`; streamed, the first chunk of a call carries its id and name and
    /// the second its arguments, as OpenAI sends them.
    private func toolCall(_ call: ToolCall, index: Int, id: String?, arguments: String) -> JinjaValue {
        var function: JinjaObject = [:]
        var object: JinjaObject = [:]
        if options.stream { object["index"] = .int(index) }
        if let id {
            object["id"] = .string(id)
            object["type"] = "function"
            function["name"] = .string(call.name)
        }
        function["arguments"] = .string(arguments)
        object["function"] = .object(function)
        return .object(object)
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
        var content = text
        var calls: [ToolCall] = []
        if !toolNames.isEmpty {
            content = ""
            for event in ToolCallParser.split(text, toolNames: toolNames) {
                switch event {
                case .content(let piece): content += piece
                case .call(let call): calls.append(call)
                }
            }
        }
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
            // OpenAI sends a null content beside calls when the model wrote nothing else.
            var message: JinjaObject = ["role": "assistant", "content": calls.isEmpty || !content.isEmpty ? .string(content) : .null]
            if !calls.isEmpty {
                message["tool_calls"] = .array(calls.enumerated().map { index, call in
                    toolCall(call, index: index, id: OpenAIResponse.identifier("call_"), arguments: call.arguments)
                })
            }
            choice["message"] = .object(message)
        } else {
            choice["text"] = .string(content)
        }
        choice["logprobs"] = logprobValue
        choice["finish_reason"] = finishReason(summary.finishReason, madeCalls: !calls.isEmpty)
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
        var parser = toolParser()
        var callCount = 0
        /// Sends what a piece of the reply completes; a token's log-probability rides on its first chunk.
        func write(_ piece: String, logprob: TokenLogprob?, parsed: [ToolCallParser.Event]?) async throws {
            guard let parsed else {
                // Held-back text (a partial character, a possible stop string) has nothing to show yet.
                if piece.isEmpty && logprob == nil { return }
                try await send(envelope(choices: [deltaChoice(text: piece, logprob: logprob, textOffset: textOffset)]))
                textOffset += piece.count
                return
            }
            var logprob = logprob
            if parsed.isEmpty, logprob != nil {
                try await send(envelope(choices: [deltaChoice(text: "", logprob: logprob, textOffset: textOffset)]))
            }
            for event in parsed {
                switch event {
                case .content(let text):
                    try await send(envelope(choices: [deltaChoice(text: text, logprob: logprob, textOffset: textOffset)]))
                    textOffset += text.count
                case .call(let call):
                    let opening = toolCall(call, index: callCount, id: OpenAIResponse.identifier("call_"), arguments: "")
                    try await send(envelope(choices: [toolCallChoice(opening, logprob: logprob)]))
                    let arguments = toolCall(call, index: callCount, id: nil, arguments: call.arguments)
                    try await send(envelope(choices: [toolCallChoice(arguments, logprob: nil)]))
                    callCount += 1
                }
                logprob = nil
            }
        }
        for await event in events {
            switch event {
            case .token(_, let piece, let logprob):
                try await write(piece, logprob: logprob, parsed: parser?.feed(piece))
            case .failed(let error):
                try await send(error.json)
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                return
            case .finished(let summary):
                if let tail = parser?.finish() { try await write("", logprob: nil, parsed: tail) }
                var last: JinjaObject = ["index": 0]
                if chat { last["delta"] = .object(JinjaObject()) } else { last["text"] = "" }
                last["logprobs"] = .null
                last["finish_reason"] = finishReason(summary.finishReason, madeCalls: callCount > 0)
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

    private func toolCallChoice(_ call: JinjaValue, logprob: TokenLogprob?) -> JinjaValue {
        [
            "index": 0, "delta": ["tool_calls": [call]],
            "logprobs": logprob.map { ["content": [OpenAIResponse.chatLogprob(tokenizer, $0)]] } ?? .null,
            "finish_reason": .null,
        ]
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
