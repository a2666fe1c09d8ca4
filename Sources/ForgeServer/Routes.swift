import Foundation
import ForgeGeneration
import ForgeJinja
import ForgeTokenizer
import Hummingbird

/// The endpoints: OpenAI's chat, completions and models, and llama-server's health, tokenize,
/// detokenize, apply-template and metrics.
struct Routes: Sendable {
    let state: ServerState

    func register(on router: Router<BasicRequestContext>) {
        router.get("/health") { _, _ in try health() }
        router.get("/v1/health") { _, _ in try health() }
        router.get("/v1/models") { _, _ in try models() }
        router.get("/models") { _, _ in try models() }
        router.post("/v1/chat/completions") { request, context in try await generate(request, context: context, chat: true) }
        router.post("/chat/completions") { request, context in try await generate(request, context: context, chat: true) }
        router.post("/v1/completions") { request, context in try await generate(request, context: context, chat: false) }
        router.post("/completions") { request, context in try await generate(request, context: context, chat: false) }
        router.post("/tokenize") { request, _ in try await tokenize(request) }
        router.post("/detokenize") { request, _ in try await detokenize(request) }
        router.post("/apply-template") { request, _ in try await applyTemplate(request) }
        router.get("/metrics") { _, _ in try metrics() }
    }

    private func health() throws -> Response {
        _ = try state.ready()
        return jsonResponse(["status": "ok"])
    }

    private func models() throws -> ModelList {
        let loaded = try state.ready()
        let c = loaded.model.configuration
        let meta = ModelList.Model.Meta(
            vocabularySize: c.vocabularySize, trainingContextLength: loaded.model.trainingContextLength,
            contextLength: loaded.engine.slotContextSize, embeddingLength: c.embeddingLength,
            parameterCount: loaded.model.weights.parameterCount, byteCount: loaded.model.file.tensorByteCount)
        return ModelList(data: [ModelList.Model(id: loaded.name, created: OpenAIIdentifier.now, meta: meta)])
    }

    private func readFields(_ request: Request) async throws -> RequestFields {
        let limit = state.configuration.maxBodyBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw APIError.bodyTooLarge(limit: limit)
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: limit)
        }
        return try RequestFields(body: Array(buffer.readableBytesView))
    }

    // MARK: - Generation

    private func renderChat(_ fields: RequestFields, tools: ToolRequest?, _ loaded: ServerState.LoadedModel) throws -> String {
        let messages = loaded.toolTemplate.messages(try ChatMessages.validated(fields), tools: tools)
        do {
            return try loaded.model.renderConversation(loaded.template, messages: .array(messages), tools: tools?.definitions)
        } catch {
            throw APIError.invalidRequest("the chat template failed: \(error)")
        }
    }

    private func completionPrompt(_ fields: RequestFields, _ loaded: ServerState.LoadedModel) throws -> [Int] {
        switch fields.value("prompt") {
        case .string(let text)?:
            return loaded.model.tokenize(text)
        case .array(let items)?:
            if items.count == 1, case .string(let text) = items[0] {
                return loaded.model.tokenize(text)
            }
            guard let ids = try? fields.integers("prompt") else {
                throw APIError.invalidRequest("'prompt' must be a string or an array of token ids (one prompt per request)")
            }
            return ids
        case nil:
            throw APIError.invalidRequest("'prompt' is required")
        default:
            throw APIError.invalidRequest("'prompt' must be a string or an array of token ids")
        }
    }

    private func generate(_ request: Request, context: BasicRequestContext, chat: Bool) async throws -> Response {
        let loaded = try state.ready()
        let fields = try await readFields(request)
        let options = try GenerationOptions(fields, chat: chat, vocabularySize: loaded.model.configuration.vocabularySize)
        var parameters = options.parameters
        let tools = chat ? try ToolRequest(fields) : nil
        parameters.toolNames = tools?.parsedNames ?? []
        parameters.grammar = try ReplyGrammar.make(
            ReplyConstraint.parse(fields), tools: tools, format: loaded.toolTemplate.format, cache: loaded.grammars)
        let prompt = chat ? loaded.model.tokenize(try renderChat(fields, tools: tools, loaded)) : try completionPrompt(fields, loaded)
        let stream = try loaded.engine.submit(EngineRequest(prompt: prompt, parameters: parameters))
        let response = CompletionWriter(
            chat: chat, id: OpenAIIdentifier.make(chat ? "chatcmpl-" : "cmpl-"), created: OpenAIIdentifier.now,
            model: loaded.name, tokenizer: loaded.model.tokenizer, stream: options.stream, includeUsage: options.includeUsage,
            reportsLogprobs: parameters.topLogprobs != nil)
        if options.stream {
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
                body: ResponseBody { writer in
                    defer { stream.cancel() }
                    try await response.stream(stream.events, to: &writer)
                })
        }
        defer { stream.cancel() }
        return try await response.collect(stream.events, request: request, context: context)
    }

    // MARK: - Tokens and templates

    private func tokenize(_ request: Request) async throws -> TokenizeResponse {
        let loaded = try state.ready()
        let fields = try await readFields(request)
        guard let content = try fields.string("content") else { throw APIError.invalidRequest("'content' is required (a string)") }
        let tokenizer = loaded.model.tokenizer
        let ids = tokenizer.encode(
            content, addSpecial: try fields.bool("add_special") ?? false, parseSpecial: try fields.bool("parse_special") ?? true)
        guard try fields.bool("with_pieces") ?? false else {
            return TokenizeResponse(tokens: ids.map { .id($0) })
        }
        return TokenizeResponse(tokens: ids.map { id in
            let bytes = tokenizer.decodeBytes([id], showSpecial: true)
            return .piece(id: id, text: String(bytes: bytes, encoding: .utf8), bytes: bytes)
        })
    }

    private func detokenize(_ request: Request) async throws -> DetokenizeResponse {
        let loaded = try state.ready()
        let fields = try await readFields(request)
        let ids = try fields.integers("tokens") ?? []
        do {
            return DetokenizeResponse(content: try loaded.model.tokenizer.decodeChecked(ids, showSpecial: true))
        } catch {
            throw APIError.invalidRequest("\(error)")
        }
    }

    private func applyTemplate(_ request: Request) async throws -> ApplyTemplateResponse {
        let loaded = try state.ready()
        let fields = try await readFields(request)
        return ApplyTemplateResponse(prompt: try renderChat(fields, tools: try ToolRequest(fields), loaded))
    }

    // MARK: - Metrics

    private func metrics() throws -> Response {
        guard state.configuration.metricsEnabled else {
            throw APIError(status: .notImplemented, type: "not_supported_error", message: "This server does not support metrics endpoint. Start it with `--metrics`")
        }
        let m = try state.ready().engine.snapshot
        let rate = m.decodeSeconds > 0 ? Double(m.generatedTokensTotal) / m.decodeSeconds : 0
        var lines: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            lines += ["# HELP forge_\(name) \(help)", "# TYPE forge_\(name) \(type)", "forge_\(name) \(value)"]
        }
        metric("requests_total", "counter", "Requests completed.", "\(m.requestsTotal)")
        metric("prompt_tokens_total", "counter", "Prompt tokens evaluated (cached prefixes excluded).", "\(m.promptTokensTotal)")
        metric("generated_tokens_total", "counter", "Tokens generated.", "\(m.generatedTokensTotal)")
        metric("generated_tokens_per_second", "gauge", "Generated tokens per second of decoding time, all slots together.", String(format: "%.3f", rate))
        metric("slots_busy", "gauge", "Slots with a request in progress.", "\(m.busySlots)")
        metric("slots_total", "gauge", "Slots (parallel sequences).", "\(m.slotCount)")
        metric("queue_length", "gauge", "Requests waiting for a slot.", "\(m.queueLength)")
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: lines.joined(separator: "\n") + "\n")))
    }
}
