import Foundation
import ForgeJinja
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ForgeServer

/// Every endpoint against the tiny model, in-process.
@Suite struct EndpointTests {
    static let chatBody: JinjaValue = [
        "model": "tiny",
        "messages": [["role": "system", "content": "be brief"], ["role": "user", "content": "hello there"]],
        "temperature": 0, "max_tokens": 12,
    ]

    static func with(_ body: JinjaValue, _ pairs: [(String, JinjaValue)]) -> JinjaValue {
        guard case .object(var object) = body else { return body }
        for (key, value) in pairs { object[key] = value }
        return .object(object)
    }

    @Test func healthModelsAndAlias() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.alias = "tiny-alias" })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let health = try await client.fetch("/health")
            #expect(health.status == .ok)
            #expect(try health.json() == ["status": "ok"])
            let models = try await client.fetch("/v1/models")
            #expect(models.status == .ok)
            let body = try models.json()
            #expect(body["object"]?.stringValue == "list")
            #expect(body["data"]?[0]?["id"]?.stringValue == "tiny-alias")
            #expect(body["data"]?[0]?["meta"]?["n_ctx"]?.intValue == 2048)
            #expect(body["data"]?[0]?["meta"]?["n_vocab"]?.intValue == 258)
            #expect((body["data"]?[0]?["meta"]?["n_params"]?.intValue ?? 0) > 10_000)
        }
    }

    @Test func modelIdDefaultsToTheFileName() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body = try await client.fetch("/v1/models").json()
            #expect(body["data"]?[0]?["id"]?.stringValue == URL(fileURLWithPath: TinyModel.path).lastPathComponent)
        }
    }

    @Test func healthIs503WhileLoading() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        var configuration = tinyConfiguration()
        configuration.beforeLoading = {
            for await _ in gate { break }
        }
        let app = try buildApplication(configuration: configuration)
        try await app.test(.router) { client in
            try expectError(try await client.fetch("/health"), status: .serviceUnavailable, type: "unavailable_error")
            try expectError(try await client.postJSON("/v1/chat/completions", Self.chatBody), status: .serviceUnavailable, type: "unavailable_error")
            open.yield()
            open.finish()
            try await client.waitUntilReady()
        }
    }

    @Test func chatCompletion() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let response = try await client.postJSON("/v1/chat/completions", Self.chatBody)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let body = try response.json()
            #expect(body["object"]?.stringValue == "chat.completion")
            #expect(body["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
            #expect(body["created"]?.intValue != nil)
            #expect(body["choices"]?[0]?["message"]?["role"]?.stringValue == "assistant")
            #expect(body["choices"]?[0]?["message"]?["content"]?.stringValue != nil)
            let finish = body["choices"]?[0]?["finish_reason"]?.stringValue
            let usage = body["usage"]
            let completionTokens = usage?["completion_tokens"]?.intValue ?? -1
            #expect(finish == "length" ? completionTokens == 12 : (finish == "stop" && completionTokens <= 12))

            // The prompt is the chat template's rendering, tokenized with BOS.
            let template = try await client.postJSON("/apply-template", ["messages": Self.chatBody["messages"] ?? .null]).json()
            let prompt = template["prompt"]?.stringValue ?? ""
            #expect(prompt == "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n")
            let tokens = try await client.postJSON("/tokenize", ["content": .string(prompt), "add_special": true]).json()
            #expect(usage?["prompt_tokens"]?.intValue == tokens["tokens"]?.count)
            #expect(usage?["total_tokens"]?.intValue == (usage?["prompt_tokens"]?.intValue ?? 0) + completionTokens)
            #expect(usage?["prompt_tokens_details"]?["cached_tokens"]?.intValue == 0)
        }
    }

    @Test func streamedChatMatchesTheNonStreamedAnswer() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let whole = try await client.postJSON("/v1/chat/completions", Self.chatBody).json()
            let streamed = try await client.postJSON(
                "/v1/chat/completions",
                Self.with(Self.chatBody, [("stream", true), ("stream_options", ["include_usage": true])]))
            #expect(streamed.status == .ok)
            #expect(streamed.headers[.contentType] == "text/event-stream")
            let events = streamed.events
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { try JinjaValue(parsingJSON: $0) }
            #expect(chunks.count >= 4)
            let ids = Set(chunks.compactMap { $0["id"]?.stringValue })
            #expect(ids.count == 1)
            #expect(chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" })
            #expect(chunks.first?["choices"]?[0]?["delta"]?["role"]?.stringValue == "assistant")
            let usageChunk = chunks[chunks.count - 1]
            #expect(usageChunk["choices"] == .array([]))
            for key in ["prompt_tokens", "completion_tokens", "total_tokens"] {
                #expect(usageChunk["usage"]?[key] == whole["usage"]?[key])
            }
            // The second request reuses the first one's cached prompt.
            #expect(usageChunk["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == (whole["usage"]?["prompt_tokens"]?.intValue ?? 0) - 1)
            let finishChunk = chunks[chunks.count - 2]
            #expect(finishChunk["choices"]?[0]?["finish_reason"]?.stringValue == whole["choices"]?[0]?["finish_reason"]?.stringValue)
            let content = chunks.dropFirst().dropLast(2).map { $0["choices"]?[0]?["delta"]?["content"]?.stringValue ?? "" }.joined()
            #expect(content == whole["choices"]?[0]?["message"]?["content"]?.stringValue)
            #expect(chunks.dropFirst().dropLast(2).allSatisfy { $0["choices"]?[0]?["finish_reason"] == .null })
        }
    }

    @Test func streamWithoutUsageEndsWithTheFinishChunk() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let streamed = try await client.postJSON("/v1/chat/completions", Self.with(Self.chatBody, [("stream", true)]))
            let events = streamed.events
            #expect(events.last == "[DONE]")
            let last = try JinjaValue(parsingJSON: events[events.count - 2])
            #expect(last["choices"]?[0]?["finish_reason"]?.stringValue != nil)
            #expect(last["usage"] == nil)
        }
    }

    /// OpenAI writes some absent fields as null and leaves others out; its clients read both ways.
    @Test func nullsAndOmittedFieldsAreOpenAIs() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let whole = try await client.postJSON("/v1/chat/completions", Self.chatBody).json()
            #expect(whole["system_fingerprint"]?.stringValue == "forge")
            let choice = whole["choices"]?[0]
            #expect(choice?["logprobs"] == .null && choice?["index"]?.intValue == 0)
            #expect(choice?["message"]?["tool_calls"] == nil)

            let chunks = try await client.postJSON("/v1/chat/completions", Self.with(Self.chatBody, [("stream", true)]))
                .events.dropLast().map { try JinjaValue(parsingJSON: $0) }
            #expect(chunks.first?["choices"]?[0]?["delta"] == ["role": "assistant", "content": ""])
            for chunk in chunks {
                #expect(chunk["usage"] == nil)
                #expect(chunk["choices"]?[0]?["logprobs"] == .null)
                #expect(chunk["choices"]?[0]?["delta"]?["tool_calls"] == nil)
            }
            #expect(chunks.dropLast().allSatisfy { $0["choices"]?[0]?["finish_reason"] == .null })
            #expect(chunks.last?["choices"]?[0]?["delta"] == .object(JinjaObject()))

            let text = try await client.postJSON("/v1/completions", ["prompt": "ab", "max_tokens": 3, "temperature": 0]).json()
            #expect(text["object"]?.stringValue == "text_completion")
            #expect(text["choices"]?[0]?["logprobs"] == .null && text["choices"]?[0]?["text"]?.stringValue != nil)
        }
    }

    @Test func completionsTakeTextOrTokenIDs() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let text = try await client.postJSON("/v1/completions", ["prompt": "Once upon", "max_tokens": 10, "temperature": 0])
            #expect(text.status == .ok)
            let body = try text.json()
            #expect(body["object"]?.stringValue == "text_completion")
            #expect(body["id"]?.stringValue?.hasPrefix("cmpl-") == true)
            #expect(body["usage"]?["prompt_tokens"]?.intValue == 10)  // BOS + 9 bytes
            let ids: JinjaValue = .array(([256] + Array("Once upon".utf8).map(Int.init)).map { .int($0) })
            let byIDs = try await client.postJSON("/v1/completions", ["prompt": ids, "max_tokens": 10, "temperature": 0]).json()
            #expect(byIDs["choices"]?[0]?["text"] == body["choices"]?[0]?["text"])
            #expect(byIDs["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == 9)

            let streamed = try await client.postJSON("/v1/completions", ["prompt": "Once upon", "max_tokens": 10, "temperature": 0, "stream": true])
            let chunks = try streamed.events.dropLast().map { try JinjaValue(parsingJSON: $0) }
            #expect(streamed.events.last == "[DONE]")
            #expect(chunks.allSatisfy { $0["object"]?.stringValue == "text_completion" })
            #expect(chunks.map { $0["choices"]?[0]?["text"]?.stringValue ?? "" }.joined() == body["choices"]?[0]?["text"]?.stringValue)
            #expect(chunks.last?["choices"]?[0]?["finish_reason"] == body["choices"]?[0]?["finish_reason"])
        }
    }

    @Test func sameSeedSameText() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            func sample(seed: Int) async throws -> String? {
                try await client.postJSON("/v1/completions", ["prompt": "abc", "max_tokens": 24, "temperature": 1.5, "top_k": 0, "top_p": 1, "min_p": 0, "seed": .int(seed)])
                    .json()["choices"]?[0]?["text"]?.stringValue
            }
            let first = try await sample(seed: 7)
            #expect(first != nil)
            #expect(try await sample(seed: 7) == first)
            var others: Set<String?> = []
            for seed in 8..<12 { others.insert(try await sample(seed: seed)) }
            #expect(others.count > 1, "different seeds should give different samples")
        }
    }

    @Test func stopStringsCutTheText() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let request: JinjaValue = ["prompt": "The", "max_tokens": 40, "temperature": 0, "logit_bias": ["257": -100]]
            let full = try await client.postJSON("/v1/completions", request).json()["choices"]?[0]?["text"]?.stringValue ?? ""
            let characters = Array(full)
            try #require(characters.count >= 6, "the tiny model's text: \(full.debugDescription)")
            let stop = String(characters[4...5])
            guard let cut = full.range(of: stop) else { return }
            let expected = String(full[..<cut.lowerBound])
            for stream in [false, true] {
                let response = try await client.postJSON("/v1/completions", Self.with(request, [("stop", .array([.string(stop), "\u{1}never"])), ("stream", .bool(stream))]))
                if stream {
                    let chunks = try response.events.dropLast().map { try JinjaValue(parsingJSON: $0) }
                    #expect(chunks.map { $0["choices"]?[0]?["text"]?.stringValue ?? "" }.joined() == expected)
                    #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
                } else {
                    let body = try response.json()
                    #expect(body["choices"]?[0]?["text"]?.stringValue == expected)
                    #expect(body["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
                }
            }
        }
    }

    @Test func chatLogprobs() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body = try await client.postJSON("/v1/chat/completions", Self.with(Self.chatBody, [("logprobs", true), ("top_logprobs", 3)])).json()
            let content = body["choices"]?[0]?["logprobs"]?["content"]?.arrayValue ?? []
            #expect(content.count == body["usage"]?["completion_tokens"]?.intValue)
            for entry in content {
                let top = entry["top_logprobs"]?.arrayValue ?? []
                #expect(top.count == 3)
                let values = top.compactMap { $0["logprob"]?.doubleValue }
                #expect(values == values.sorted(by: >))
                #expect(values.allSatisfy { $0 <= 0 })
                // Greedy: the chosen token is the most likely one.
                #expect(entry["logprob"]?.doubleValue == values.first)
                #expect(entry["token"]?.stringValue == top.first?["token"]?.stringValue)
                #expect(entry["bytes"]?.arrayValue != nil)
            }
            let streamed = try await client.postJSON("/v1/chat/completions", Self.with(Self.chatBody, [("logprobs", true), ("top_logprobs", 2), ("stream", true)]))
            let chunks = try streamed.events.dropLast().map { try JinjaValue(parsingJSON: $0) }
            let streamedEntries = chunks.flatMap { $0["choices"]?[0]?["logprobs"]?["content"]?.arrayValue ?? [] }
            #expect(streamedEntries.count == content.count)
            #expect(streamedEntries.map { $0["token"] } == content.map { $0["token"] })
            // The second request finds its prompt cached and recomputes only the last prompt token,
            // a one-token batch, whose float products take llama.cpp's decode order (as its server
            // does) where the first request's prompt batch took the batch order: that token's
            // logits and keys may differ in the last bits, so the logprobs agree to rounding.
            let streamedLogprobs = streamedEntries.compactMap { $0["logprob"]?.doubleValue }
            let logprobs = content.compactMap { $0["logprob"]?.doubleValue }
            #expect(streamedLogprobs.count == logprobs.count)
            #expect(zip(streamedLogprobs, logprobs).allSatisfy { abs($0 - $1) < 1e-5 })
            let plain = try await client.postJSON("/v1/chat/completions", Self.chatBody).json()
            #expect(plain["choices"]?[0]?["logprobs"] == .null)
        }
    }

    @Test func completionLogprobsInTheLegacyShape() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body = try await client.postJSON("/v1/completions", ["prompt": "ab", "max_tokens": 5, "temperature": 0, "logprobs": 2]).json()
            let logprobs = body["choices"]?[0]?["logprobs"]
            #expect(logprobs?["tokens"]?.count == body["usage"]?["completion_tokens"]?.intValue)
            #expect(logprobs?["token_logprobs"]?.count == logprobs?["tokens"]?.count)
            #expect(logprobs?["top_logprobs"]?[0]?.objectValue?.count ?? 0 >= 1)
            #expect(logprobs?["text_offset"]?[0]?.intValue == 0)
        }
    }

    @Test func promptPrefixIsReusedFromTheSlot() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.parallel = 1 })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let first = try await client.postJSON("/v1/chat/completions", Self.chatBody).json()
            let second = try await client.postJSON("/v1/chat/completions", Self.chatBody).json()
            let promptTokens = first["usage"]?["prompt_tokens"]?.intValue ?? 0
            #expect(first["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == 0)
            #expect(second["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue == promptTokens - 1)
            #expect(second["choices"]?[0]?["message"] == first["choices"]?[0]?["message"])
        }
    }

    @Test func toolsReachTheTemplate() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let tools: JinjaValue = [["type": "function", "function": ["name": "get_time", "parameters": ["type": "object"]]]]
            let body = try await client.postJSON("/apply-template", ["messages": [["role": "user", "content": [["type": "text", "text": "hi"]]]], "tools": tools]).json()
            let prompt = body["prompt"]?.stringValue ?? ""
            #expect(prompt.contains("<|im_start|>user\nhi<|im_end|>"))
            #expect(prompt.contains("get_time"))
            let chat = try await client.postJSON("/v1/chat/completions", ["messages": [["role": "user", "content": "hi"]], "tools": tools, "max_tokens": 2])
            #expect(chat.status == .ok)
        }
    }

    @Test func tokenizeAndDetokenize() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            #expect(try await client.postJSON("/tokenize", ["content": "hi"]).json() == ["tokens": [104, 105]])
            #expect(try await client.postJSON("/tokenize", ["content": "hi", "add_special": true]).json() == ["tokens": [256, 104, 105]])
            let pieces = try await client.postJSON("/tokenize", ["content": "h", "with_pieces": true]).json()
            #expect(pieces == ["tokens": [["id": 104, "piece": "h"]]])
            #expect(try await client.postJSON("/detokenize", ["tokens": [104, 105]]).json() == ["content": "hi"])
        }
    }

    @Test func metricsWhenEnabled() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.metricsEnabled = true })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            _ = try await client.postJSON("/v1/completions", ["prompt": "ab", "max_tokens": 4, "temperature": 0, "logit_bias": ["257": -100]])
            let response = try await client.fetch("/metrics")
            #expect(response.status == .ok)
            let values = PrometheusValues(response.text)
            #expect(values["forge_requests_total"] == 1)
            #expect(values["forge_generated_tokens_total"] == 4)
            #expect(values["forge_prompt_tokens_total"] == 3)
            #expect(values["forge_slots_busy"] == 0)
            #expect(values["forge_slots_total"] == 2)
            #expect(values["forge_queue_length"] == 0)
            #expect((values["forge_generated_tokens_per_second"] ?? 0) > 0)
        }
        let disabled = try buildApplication(configuration: tinyConfiguration())
        try await disabled.test(.router) { client in
            try await client.waitUntilReady()
            try expectError(try await client.fetch("/metrics"), status: .notImplemented, type: "not_supported_error")
        }
    }
}

/// Prometheus text, name → value.
struct PrometheusValues {
    var values: [String: Double] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
        }
    }

    subscript(name: String) -> Double? { values[name] }
}
