import Foundation
import ForgeGeneration
import ForgeJinja
import ForgeTokenizer

/// What a generation request asks besides its prompt: sampling, limits and the response form.
struct GenerationOptions {
    var parameters: GenerationParameters
    var stream: Bool
    var includeUsage: Bool

    /// Reads the fields shared by /v1/chat/completions and /v1/completions, with llama-server's
    /// defaults and OpenAI's ranges.
    init(_ fields: RequestFields, chat: Bool, vocabularySize: Int) throws {
        var sampling = SamplingParameters()
        if let t = try fields.number("temperature", in: 0...10) { sampling.temperature = Float(t) }
        if let k = try fields.int("top_k", in: 0...1_000_000) { sampling.topK = k }
        if let p = try fields.number("top_p", in: 0...1) { sampling.topP = Float(p) }
        if let p = try fields.number("min_p", in: 0...1) { sampling.minP = Float(p) }
        if let p = try fields.number("presence_penalty", in: -2...2) { sampling.presencePenalty = Float(p) }
        if let p = try fields.number("frequency_penalty", in: -2...2) { sampling.frequencyPenalty = Float(p) }
        if let p = try fields.number("repeat_penalty", in: 0.000_001...10) { sampling.repeatPenalty = Float(p) }
        if let seed = try fields.int("seed") {
            guard seed >= -1 else { throw APIError.invalidRequest("'seed' must be -1 (random) or a non-negative integer, is \(seed)") }
            sampling.seed = seed == -1 ? nil : UInt64(seed)
        }
        if let bias = try fields.nested("logit_bias") {
            for (key, value) in bias.object.pairs {
                guard let id = Int(key), id >= 0, id < vocabularySize else {
                    throw APIError.invalidRequest("'logit_bias' key \(key) is not a token id in the vocabulary (0..<\(vocabularySize))")
                }
                let amount: Float
                switch value {
                case .int(let n): amount = Float(n)
                case .double(let d): amount = Float(d)
                case .bool(false): amount = -.infinity
                default: throw APIError.invalidRequest("'logit_bias' values must be numbers")
                }
                guard amount == -.infinity || (-100...100).contains(amount) else {
                    throw APIError.invalidRequest("'logit_bias' values must be between -100 and 100")
                }
                sampling.logitBias[id] = amount
            }
        }
        if let n = try fields.int("n"), n != 1 {
            throw APIError.invalidRequest("'n' must be 1 (one choice per request), is \(n)")
        }
        let limitKeys = chat ? ["max_completion_tokens", "max_tokens"] : ["max_tokens"]
        var maxTokens: Int?
        for key in limitKeys {
            guard let value = try fields.int(key) else { continue }
            guard value >= -1, value <= 1 << 30 else {
                throw APIError.invalidRequest("'\(key)' must be -1 (no limit) or between 0 and \(1 << 30), is \(value)")
            }
            maxTokens = value == -1 ? nil : value
            break
        }
        let topLogprobs: Int?
        if chat {
            let wanted = try fields.bool("logprobs") ?? false
            let top = try fields.int("top_logprobs", in: 0...20)
            if top != nil && !wanted { throw APIError.invalidRequest("'top_logprobs' needs 'logprobs': true") }
            topLogprobs = wanted ? (top ?? 0) : nil
        } else {
            topLogprobs = try fields.int("logprobs", in: 0...20)
        }
        stream = try fields.bool("stream") ?? false
        includeUsage = try fields.nested("stream_options")?.bool("include_usage") ?? false
        parameters = GenerationParameters(maxTokens: maxTokens, sampling: sampling, stopStrings: try fields.strings("stop"), topLogprobs: topLogprobs)
    }
}

/// Chat messages checked for the shape OpenAI defines. Only text is read: a content part of
/// another kind (an image, audio, a file) is refused rather than silently dropped.
enum ChatMessages {
    static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]

    static func validated(_ fields: RequestFields) throws -> [JinjaValue] {
        guard let messages = try fields.array("messages") else { throw APIError.invalidRequest("'messages' is required") }
        guard !messages.isEmpty else { throw APIError.invalidRequest("'messages' must not be empty") }
        for (index, message) in messages.enumerated() {
            let path = "messages[\(index)]"
            guard case .object(let object) = message else { throw APIError.invalidRequest("\(path) must be an object") }
            guard case .string(let role)? = object["role"], roles.contains(role) else {
                throw APIError.invalidRequest("\(path).role must be one of \(roles.sorted().joined(separator: ", "))")
            }
            try checkToolCalls(object["tool_calls"], role: role, path: path)
            switch object["content"] ?? .null {
            case .string: break
            case .null:
                guard role == "assistant" else { throw APIError.invalidRequest("\(path).content is required") }
            case .array(let parts):
                for (partIndex, part) in parts.enumerated() {
                    try checkPart(part, path: "\(path).content[\(partIndex)]")
                }
            default:
                throw APIError.invalidRequest("\(path).content must be a string or an array of content parts")
            }
            if role == "tool", let id = object["tool_call_id"], id != .null, id.stringValue == nil {
                throw APIError.invalidRequest("\(path).tool_call_id must be a string")
            }
        }
        return messages
    }

    private static func checkPart(_ part: JinjaValue, path: String) throws {
        guard case .object(let object) = part, case .string(let type)? = object["type"] else {
            throw APIError.invalidRequest("\(path) must be an object with a 'type'")
        }
        guard type == "text" else {
            throw APIError.invalidRequest("\(path).type '\(type)' is not supported: this server reads text only (content parts of type 'text')")
        }
        guard case .string? = object["text"] else { throw APIError.invalidRequest("\(path).text must be a string") }
    }

    /// An assistant's `tool_calls`: function calls with a name and arguments (a JSON string, or an object).
    private static func checkToolCalls(_ value: JinjaValue?, role: String, path: String) throws {
        guard let value, value != .null else { return }
        guard role == "assistant" else { throw APIError.invalidRequest("\(path).tool_calls is only allowed in assistant messages") }
        guard case .array(let calls) = value else { throw APIError.invalidRequest("\(path).tool_calls must be an array") }
        for (index, call) in calls.enumerated() {
            let callPath = "\(path).tool_calls[\(index)]"
            guard case .object(let function)? = call["function"] else { throw APIError.invalidRequest("\(callPath).function must be an object") }
            guard case .string? = function["name"] else { throw APIError.invalidRequest("\(callPath).function.name must be a string") }
            switch function["arguments"] ?? .null {
            case .string, .object: break
            default: throw APIError.invalidRequest("\(callPath).function.arguments must be a JSON string")
            }
        }
    }
}
