import ForgeGGUF
import ForgeJinja

/// Why a chat template could not be found or applied (template errors themselves are `JinjaError`s).
public enum ChatTemplateError: Error, CustomStringConvertible, Equatable {
    case unknownBuiltIn(name: String)
    case modelHasNoTemplate
    case invalidMessages(String)

    public var description: String {
        switch self {
        case .unknownBuiltIn(let name):
            "unknown chat template '\(name)'; built-in templates: \(ChatTemplate.builtInNames.joined(separator: ", "))"
        case .modelHasNoTemplate:
            "the model has no chat template (tokenizer.chat_template); choose a built-in one: \(ChatTemplate.builtInNames.joined(separator: ", "))"
        case .invalidMessages(let reason):
            "invalid messages: \(reason)"
        }
    }
}

/// A model's chat template: Jinja2 rendered the way Hugging Face's `apply_chat_template` does.
public struct ChatTemplate: Sendable {
    public static let ggufKey = "tokenizer.chat_template"

    public let source: String
    private let template: Template

    public init(source: String, options: JinjaOptions = JinjaOptions()) throws {
        self.source = source
        template = try Template(source, options: options)
    }

    /// One of the built-in templates, for GGUFs that carry none.
    public init(builtIn name: String, options: JinjaOptions = JinjaOptions()) throws {
        guard let source = ChatTemplate.builtInSources[name] else { throw ChatTemplateError.unknownBuiltIn(name: name) }
        try self.init(source: source, options: options)
    }

    /// The template stored in the GGUF (`tokenizer.chat_template`), or nil when the model has none.
    public static func source(in gguf: GGUFFile) throws -> String? {
        try gguf.optionalString(ggufKey)
    }

    /// The model's own template; `builtIn` names the fallback when the GGUF has none, and replaces the
    /// model's template when `preferBuiltIn` is set.
    public init(gguf: GGUFFile, builtIn: String? = nil, preferBuiltIn: Bool = false, options: JinjaOptions = JinjaOptions()) throws {
        if let builtIn, preferBuiltIn {
            try self.init(builtIn: builtIn, options: options)
        } else if let source = try ChatTemplate.source(in: gguf) {
            try self.init(source: source, options: options)
        } else if let builtIn {
            try self.init(builtIn: builtIn, options: options)
        } else {
            throw ChatTemplateError.modelHasNoTemplate
        }
    }

    /// Renders with the whole Jinja context (a JSON object) given by the caller.
    public func render(context: JinjaValue) throws -> String {
        try template.render(context)
    }

    /// Renders an OpenAI-style conversation. Array contents (`[{"type": "text", "text": …}]`) become one
    /// string, text parts joined by newlines and other parts dropped, as llama.cpp does for templates that
    /// expect string contents. `extraContext` adds variables such as `enable_thinking`.
    public func render(
        messages: JinjaValue, tools: JinjaValue? = nil, addGenerationPrompt: Bool = true,
        bosToken: String, eosToken: String, extraContext: JinjaObject = JinjaObject()
    ) throws -> String {
        guard case .array(let list) = messages else { throw ChatTemplateError.invalidMessages("expected a JSON array of messages") }
        var context = extraContext
        context["messages"] = .array(try list.enumerated().map { try ChatTemplate.flattenContent($0.element, index: $0.offset) })
        if let tools, tools != .null { context["tools"] = tools }
        context["add_generation_prompt"] = .bool(addGenerationPrompt)
        context["bos_token"] = .string(bosToken)
        context["eos_token"] = .string(eosToken)
        return try template.render(.object(context))
    }

    private static func flattenContent(_ message: JinjaValue, index: Int) throws -> JinjaValue {
        guard case .object(var object) = message else {
            throw ChatTemplateError.invalidMessages("message \(index) is not a JSON object")
        }
        guard case .array(let parts) = object["content"] ?? .null else { return message }
        let texts = parts.compactMap { part -> String? in
            guard part["type"]?.stringValue == "text" else { return nil }
            return part["text"]?.stringValue
        }
        object["content"] = .string(texts.joined(separator: "\n"))
        return .object(object)
    }

    /// llama.cpp's guard against doubled special tokens before tokenizing a rendered prompt: when the
    /// tokenizer adds BOS (EOS) itself, the BOS text a template put first (EOS text it put last) is dropped.
    public static func trimmingSpecialTokensTheTokenizerAdds(
        _ prompt: String, bosToken: String, eosToken: String, addsBOS: Bool, addsEOS: Bool
    ) -> String {
        var bytes = Array(prompt.utf8)
        let bos = Array(bosToken.utf8), eos = Array(eosToken.utf8)
        if addsBOS, bytes.starts(with: bos) { bytes.removeFirst(bos.count) }
        if addsEOS, bytes.count >= eos.count, bytes.suffix(eos.count).elementsEqual(eos) { bytes.removeLast(eos.count) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The texts of the BOS and EOS tokens from the GGUF vocabulary, empty when the model has none.
    public static func specialTokenTexts(in gguf: GGUFFile) throws -> (bos: String, eos: String) {
        guard let tokens = try gguf.optionalStringArray("tokenizer.ggml.tokens") else { return ("", "") }
        func text(_ key: String) throws -> String {
            guard let id = try gguf.optionalInteger(key) else { return "" }
            guard tokens.indices.contains(id) else {
                throw GGUFError(field: key, offset: nil, reason: "token id \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
            return tokens[id]
        }
        return (try text("tokenizer.ggml.bos_token_id"), try text("tokenizer.ggml.eos_token_id"))
    }

    public static var builtInNames: [String] { builtInSources.keys.sorted() }

    public static func builtInSource(named name: String) -> String? { builtInSources[name] }

    /// Templates for GGUFs without one, written in Jinja so one engine renders everything. Their output
    /// follows the formats of the model families they are named after (as llama.cpp's built-ins do).
    private static let builtInSources: [String: String] = [
        "chatml": """
            {%- for message in messages %}
            {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
            {{- '<|im_start|>assistant\\n' }}
            {%- endif %}
            """,
        "llama3": """
            {{- bos_token }}
            {%- for message in messages %}
            {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
            {%- endif %}
            """,
        "llama2": """
            {%- if messages and messages[0]['role'] == 'system' %}
            {%- set system_message = '<<SYS>>\\n' + messages[0]['content'] | trim + '\\n<</SYS>>\\n\\n' %}
            {%- set messages = messages[1:] %}
            {%- else %}
            {%- set system_message = '' %}
            {%- endif %}
            {%- for message in messages %}
            {%- if message['role'] == 'user' %}
            {{- bos_token + '[INST] ' + (system_message if loop.first else '') + message['content'] | trim + ' [/INST]' }}
            {%- elif message['role'] == 'assistant' %}
            {{- ' ' + message['content'] | trim + ' ' + eos_token }}
            {%- endif %}
            {%- endfor %}
            """,
        "mistral": """
            {%- if messages and messages[0]['role'] == 'system' %}
            {%- set system_message = messages[0]['content'] %}
            {%- set messages = messages[1:] %}
            {%- endif %}
            {{- bos_token }}
            {%- for message in messages %}
            {%- if message['role'] == 'user' %}
            {%- if loop.first and system_message is defined %}
            {{- '[INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
            {%- else %}
            {{- '[INST] ' + message['content'] + ' [/INST]' }}
            {%- endif %}
            {%- elif message['role'] == 'assistant' %}
            {{- message['content'] + eos_token }}
            {%- endif %}
            {%- endfor %}
            """,
        "gemma": """
            {{- bos_token }}
            {%- if messages and messages[0]['role'] == 'system' %}
            {%- set system_message = messages[0]['content'] | trim + '\\n\\n' %}
            {%- set messages = messages[1:] %}
            {%- else %}
            {%- set system_message = '' %}
            {%- endif %}
            {%- for message in messages %}
            {%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}
            {{- '<start_of_turn>' + role + '\\n' + (system_message if loop.first else '') + message['content'] | trim + '<end_of_turn>\\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
            {{- '<start_of_turn>model\\n' }}
            {%- endif %}
            """,
        "phi3": """
            {%- for message in messages %}
            {{- '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
            {{- '<|assistant|>\\n' }}
            {%- endif %}
            """,
    ]
}
