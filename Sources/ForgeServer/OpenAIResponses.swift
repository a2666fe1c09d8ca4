import Foundation
import ForgeGeneration
import ForgeTokenizer
import Hummingbird

// The JSON bodies the server sends, in OpenAI's shapes and field names (and llama-server's where
// OpenAI has none). An optional field is left out when nil, as OpenAI does, except where it writes
// an explicit null (`@ExplicitNull`).

/// An optional field written as `null` when absent (`finish_reason` of a chunk, `logprobs` not asked for).
@propertyWrapper
struct ExplicitNull<Value: Encodable & Sendable>: Encodable, Sendable {
    var wrappedValue: Value?

    init(wrappedValue: Value?) {
        self.wrappedValue = wrappedValue
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(wrappedValue)
    }
}

/// The envelope of every completion response and stream chunk: `chat.completion`,
/// `chat.completion.chunk` or `text_completion`, with the same id in every chunk of a stream.
struct CompletionEnvelope<Choice: Encodable & Sendable>: ResponseEncodable, Sendable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var systemFingerprint = "forge"
    var choices: [Choice]
    /// Only in a whole response and in the last chunk of a stream that asked for it.
    var usage: Usage?

    enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
        case systemFingerprint = "system_fingerprint"
    }
}

struct Usage: Encodable, Sendable {
    struct PromptTokensDetails: Encodable, Sendable {
        var cachedTokens: Int

        enum CodingKeys: String, CodingKey {
            case cachedTokens = "cached_tokens"
        }
    }

    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int
    var promptTokensDetails: PromptTokensDetails

    init(_ result: GenerationResult) {
        promptTokens = result.promptTokens
        completionTokens = result.outputTokens.count
        totalTokens = result.promptTokens + result.outputTokens.count
        promptTokensDetails = PromptTokensDetails(cachedTokens: result.cachedPromptTokens)
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case promptTokensDetails = "prompt_tokens_details"
    }
}

/// A choice of `chat.completion` (a `message`) or of `chat.completion.chunk` (a `delta`: the role
/// first, then content or tool calls, then an empty delta with the finish reason).
struct ChatChoice: Encodable, Sendable {
    struct Message: Encodable, Sendable {
        var role = "assistant"
        /// Null beside tool calls when the model wrote nothing else, as OpenAI sends it.
        @ExplicitNull var content: String? = nil
        var toolCalls: [ToolCallEntry]?

        enum CodingKeys: String, CodingKey {
            case role, content
            case toolCalls = "tool_calls"
        }
    }

    /// A message's fields, each present only in the chunks that carry it.
    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
        var toolCalls: [ToolCallEntry]?

        enum CodingKeys: String, CodingKey {
            case role, content
            case toolCalls = "tool_calls"
        }
    }

    var index = 0
    var message: Message?
    var delta: Delta?
    @ExplicitNull var logprobs: ChatLogprobs? = nil
    @ExplicitNull var finishReason: String? = nil

    enum CodingKeys: String, CodingKey {
        case index, message, delta, logprobs
        case finishReason = "finish_reason"
    }
}

/// A choice of `text_completion`, whole or streamed.
struct TextChoice: Encodable, Sendable {
    var index = 0
    var text: String
    @ExplicitNull var logprobs: CompletionLogprobs? = nil
    @ExplicitNull var finishReason: String? = nil

    enum CodingKeys: String, CodingKey {
        case index, text, logprobs
        case finishReason = "finish_reason"
    }
}

/// One entry of `tool_calls`. Streamed, the first chunk of a call carries its index, id, type and
/// name with empty arguments, the second its index and arguments, as OpenAI sends them; a whole
/// response has no index.
struct ToolCallEntry: Encodable, Sendable {
    struct Function: Encodable, Sendable {
        var name: String?
        var arguments: String
    }

    var index: Int?
    var id: String?
    var type: String?
    var function: Function

    /// The entry of a whole response: id, type, name and arguments.
    static func whole(_ call: ToolCall) -> ToolCallEntry {
        ToolCallEntry(id: OpenAIIdentifier.make("call_"), type: "function", function: Function(name: call.name, arguments: call.arguments))
    }

    /// The two stream entries of one call.
    static func streamed(_ call: ToolCall, index: Int) -> [ToolCallEntry] {
        [
            ToolCallEntry(index: index, id: OpenAIIdentifier.make("call_"), type: "function", function: Function(name: call.name, arguments: "")),
            ToolCallEntry(index: index, function: Function(arguments: call.arguments)),
        ]
    }
}

/// Chat `logprobs`: one entry per token.
struct ChatLogprobs: Encodable, Sendable {
    struct Entry: Encodable, Sendable {
        var token: String
        var logprob: Double
        var bytes: [UInt8]
        /// Present on the sampled token, absent on its alternatives.
        var topLogprobs: [Entry]?

        enum CodingKeys: String, CodingKey {
            case token, logprob, bytes
            case topLogprobs = "top_logprobs"
        }
    }

    var content: [Entry]

    init(_ tokens: [TokenLogprob], tokenizer: Tokenizer) {
        func entry(_ candidate: TokenLogprob.Candidate) -> Entry {
            let bytes = tokenizer.decodeBytes([candidate.id], showSpecial: true)
            return Entry(token: String(decoding: bytes, as: UTF8.self), logprob: candidate.logprob, bytes: bytes)
        }
        content = tokens.map { token in
            var chosen = entry(token.chosen)
            chosen.topLogprobs = token.top.map(entry)
            return chosen
        }
    }
}

/// The legacy completions `logprobs` object for a run of tokens.
struct CompletionLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    var tokenLogprobs: [Double] = []
    var topLogprobs: [[String: Double]] = []
    var textOffset: [Int] = []

    /// `textOffset` is where the first token's text starts in the whole reply.
    init(_ logprobs: [TokenLogprob], tokenizer: Tokenizer, textOffset: Int) {
        func text(_ id: Int) -> String { String(decoding: tokenizer.decodeBytes([id], showSpecial: true), as: UTF8.self) }
        var offset = textOffset
        for token in logprobs {
            let chosen = text(token.chosen.id)
            tokens.append(chosen)
            tokenLogprobs.append(token.chosen.logprob)
            topLogprobs.append(Dictionary(token.top.map { (text($0.id), $0.logprob) }, uniquingKeysWith: { first, _ in first }))
            self.textOffset.append(offset)
            offset += chosen.count
        }
    }

    enum CodingKeys: String, CodingKey {
        case tokens
        case tokenLogprobs = "token_logprobs"
        case topLogprobs = "top_logprobs"
        case textOffset = "text_offset"
    }
}

/// `GET /v1/models`: the one loaded model, with llama-server's `meta`.
struct ModelList: ResponseEncodable, Sendable {
    struct Model: Encodable, Sendable {
        struct Meta: Encodable, Sendable {
            var vocabularySize: Int
            var trainingContextLength: Int
            var contextLength: Int
            var embeddingLength: Int
            var parameterCount: Int
            var byteCount: Int

            enum CodingKeys: String, CodingKey {
                case vocabularySize = "n_vocab"
                case trainingContextLength = "n_ctx_train"
                case contextLength = "n_ctx"
                case embeddingLength = "n_embd"
                case parameterCount = "n_params"
                case byteCount = "size"
            }
        }

        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "forge"
        var meta: Meta

        enum CodingKeys: String, CodingKey {
            case id, object, created, meta
            case ownedBy = "owned_by"
        }
    }

    var object = "list"
    var data: [Model]
}

/// llama-server's error body: `{"error":{"code","message","type"}}`, plus the prompt and context
/// sizes for an over-long prompt.
struct ErrorBody: Encodable, Sendable {
    struct Detail: Encodable, Sendable {
        var code: Int
        var message: String
        var type: String
        var promptTokens: Int?
        var contextSize: Int?

        enum CodingKeys: String, CodingKey {
            case code, message, type
            case promptTokens = "n_prompt_tokens"
            case contextSize = "n_ctx"
        }
    }

    var error: Detail
}

/// `POST /tokenize`: ids, or ids with their pieces (text when valid UTF-8, bytes otherwise).
struct TokenizeResponse: ResponseEncodable, Sendable {
    enum Token: Encodable, Sendable {
        case id(Int)
        case piece(id: Int, text: String?, bytes: [UInt8])

        private enum CodingKeys: String, CodingKey { case id, piece }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .id(let id):
                var container = encoder.singleValueContainer()
                try container.encode(id)
            case .piece(let id, let text, let bytes):
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(id, forKey: .id)
                if let text { try container.encode(text, forKey: .piece) } else { try container.encode(bytes, forKey: .piece) }
            }
        }
    }

    var tokens: [Token]
}

struct DetokenizeResponse: ResponseEncodable, Sendable {
    var content: String
}

struct ApplyTemplateResponse: ResponseEncodable, Sendable {
    var prompt: String
}

/// Identifiers as OpenAI writes them: a prefix (`chatcmpl-`, `cmpl-`, `call_`) and 24 letters or digits.
enum OpenAIIdentifier {
    static func make(_ prefix: String) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return prefix + String((0..<24).map { _ in alphabet.randomElement() ?? "a" })
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }
}

/// A JSON response made outside a route handler's encoder (errors from the middleware, health).
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    // Strings and integers always encode; an empty body is only a fallback that cannot happen.
    let data = (try? JSONEncoder().encode(value)) ?? Data()
    return Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
