import Foundation
import ForgeGGUF
import ForgeJinja
import ForgeTestSupport
import Testing

@testable import ForgeTokenizer

private let conversation: JinjaValue = [
    ["role": "system", "content": "Answer in French."],
    ["role": "user", "content": "Good morning"],
    ["role": "assistant", "content": "Bonjour"],
    ["role": "user", "content": "How are you?"],
]

/// SmolLM2's chat template as its GGUF carries it.
private let smolLMTemplate = """
    {% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
    You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
    ' }}{% endif %}{{'<|im_start|>' + message['role'] + '
    ' + message['content'] + '<|im_end|>' + '
    '}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
    ' }}{% endif %}
    """

private func gguf(_ metadata: [(String, GGUFValue)]) throws -> GGUFFile {
    var writer = GGUFWriter()
    for (key, value) in metadata { writer.set(key, value) }
    return try GGUFFile(bytes: writer.serialized())
}

private let vocabulary: [(String, GGUFValue)] = [
    ("tokenizer.ggml.tokens", .array(.string(["<unk>", "<s>", "</s>", "hello"]))),
    ("tokenizer.ggml.bos_token_id", .uint32(1)),
    ("tokenizer.ggml.eos_token_id", .uint32(2)),
]

@Suite struct ChatTemplateTests {
    @Test func builtInChatMLMatchesARealChatMLTemplate() throws {
        // Python jinja2's rendering of SmolLM2's template for this conversation (chat-templates.json).
        let expected = "<|im_start|>system\nAnswer in French.<|im_end|>\n<|im_start|>user\nGood morning<|im_end|>\n<|im_start|>assistant\nBonjour<|im_end|>\n<|im_start|>user\nHow are you?<|im_end|>\n<|im_start|>assistant\n"
        let builtIn = try ChatTemplate(builtIn: "chatml")
        #expect(try builtIn.render(messages: conversation, bosToken: "", eosToken: "<|im_end|>") == expected)
        let real = try ChatTemplate(source: smolLMTemplate)
        #expect(try real.render(messages: conversation, bosToken: "", eosToken: "<|im_end|>") == expected)
        #expect(try builtIn.render(messages: conversation, addGenerationPrompt: false, bosToken: "", eosToken: "") == String(expected.dropLast("<|im_start|>assistant\n".count)))
    }

    @Test func builtInsRenderTheirFamiliesFormats() throws {
        let expectations: [(String, String)] = [
            ("llama3", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nAnswer in French.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nGood morning<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nBonjour<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHow are you?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"),
            ("mistral", "<|begin_of_text|>[INST] Answer in French.\n\nGood morning [/INST]Bonjour<|eot_id|>[INST] How are you? [/INST]"),
            ("llama2", "<|begin_of_text|>[INST] <<SYS>>\nAnswer in French.\n<</SYS>>\n\nGood morning [/INST] Bonjour <|eot_id|><|begin_of_text|>[INST] How are you? [/INST]"),
            ("gemma", "<|begin_of_text|><start_of_turn>user\nAnswer in French.\n\nGood morning<end_of_turn>\n<start_of_turn>model\nBonjour<end_of_turn>\n<start_of_turn>user\nHow are you?<end_of_turn>\n<start_of_turn>model\n"),
            ("phi3", "<|system|>\nAnswer in French.<|end|>\n<|user|>\nGood morning<|end|>\n<|assistant|>\nBonjour<|end|>\n<|user|>\nHow are you?<|end|>\n<|assistant|>\n"),
        ]
        for (name, expected) in expectations {
            let template = try ChatTemplate(builtIn: name)
            #expect(try template.render(messages: conversation, bosToken: "<|begin_of_text|>", eosToken: "<|eot_id|>") == expected, "\(name)")
        }
        #expect(ChatTemplate.builtInNames == ["chatml", "gemma", "llama2", "llama3", "mistral", "phi3"])
    }

    @Test func unknownBuiltInListsTheKnownOnes() {
        let error = #expect(throws: ChatTemplateError.self) { try ChatTemplate(builtIn: "vicuna") }
        #expect(error?.description.contains("chatml, gemma, llama2, llama3, mistral, phi3") == true)
    }

    @Test func contentPartsBecomeOneString() throws {
        let messages: JinjaValue = [
            ["role": "user", "content": [["type": "text", "text": "first"], ["type": "image_url", "image_url": ["url": "x"]], ["type": "text", "text": "second"]]]
        ]
        let rendered = try ChatTemplate(builtIn: "chatml").render(messages: messages, addGenerationPrompt: false, bosToken: "", eosToken: "")
        #expect(rendered == "<|im_start|>user\nfirst\nsecond<|im_end|>\n")
        #expect(throws: ChatTemplateError.self) {
            try ChatTemplate(builtIn: "chatml").render(messages: ["not a message"], bosToken: "", eosToken: "")
        }
        #expect(throws: ChatTemplateError.self) {
            try ChatTemplate(builtIn: "chatml").render(messages: ["role": "user"], bosToken: "", eosToken: "")
        }
    }

    @Test func toolsAndExtraContextReachTheTemplate() throws {
        let template = try ChatTemplate(source: "{{ tools | length }} {{ enable_thinking }} {{ bos_token }}{{ eos_token }} {{ add_generation_prompt }}")
        let rendered = try template.render(
            messages: [], tools: [["type": "function"]], addGenerationPrompt: false, bosToken: "<s>", eosToken: "</s>",
            extraContext: ["enable_thinking": false])
        #expect(rendered == "1 False <s></s> False")
    }

    @Test func readsTheTemplateAndSpecialTokensFromGGUF() throws {
        let model = try gguf(vocabulary + [(ChatTemplate.ggufKey, .string("{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"))])
        let tokens = try ChatTemplate.specialTokenTexts(in: model)
        #expect(tokens.bos == "<s>")
        #expect(tokens.eos == "</s>")
        let template = try ChatTemplate(gguf: model)
        #expect(try template.render(messages: [["role": "user", "content": "hi"]], bosToken: tokens.bos, eosToken: tokens.eos) == "<s>hi</s>")
        let overridden = try ChatTemplate(gguf: model, builtIn: "chatml", preferBuiltIn: true)
        #expect(overridden.source == ChatTemplate.builtInSource(named: "chatml"))
    }

    @Test func modelWithoutTemplateNeedsABuiltIn() throws {
        let model = try gguf(vocabulary)
        #expect(try ChatTemplate.source(in: model) == nil)
        #expect(throws: ChatTemplateError.modelHasNoTemplate) { try ChatTemplate(gguf: model) }
        #expect(try ChatTemplate(gguf: model, builtIn: "llama3").source == ChatTemplate.builtInSource(named: "llama3"))
    }

    @Test func specialTokensTheTokenizerAddsAreNotDoubled() {
        let prompt = "<s>[INST] hi [/INST]</s>"
        #expect(ChatTemplate.trimmingSpecialTokensTheTokenizerAdds(prompt, bosToken: "<s>", eosToken: "</s>", addsBOS: true, addsEOS: false) == "[INST] hi [/INST]</s>")
        #expect(ChatTemplate.trimmingSpecialTokensTheTokenizerAdds(prompt, bosToken: "<s>", eosToken: "</s>", addsBOS: true, addsEOS: true) == "[INST] hi [/INST]")
        #expect(ChatTemplate.trimmingSpecialTokensTheTokenizerAdds(prompt, bosToken: "<s>", eosToken: "</s>", addsBOS: false, addsEOS: false) == prompt)
        #expect(ChatTemplate.trimmingSpecialTokensTheTokenizerAdds("x", bosToken: "", eosToken: "", addsBOS: true, addsEOS: true) == "x")
        #expect(ChatTemplate.trimmingSpecialTokensTheTokenizerAdds("<s>", bosToken: "<s>", eosToken: "<s>", addsBOS: true, addsEOS: true) == "")
    }

    @Test func badSpecialTokenIdIsAnError() throws {
        let model = try gguf([
            ("tokenizer.ggml.tokens", .array(.string(["a"]))), ("tokenizer.ggml.bos_token_id", .uint32(7)),
        ])
        #expect(throws: GGUFError.self) { try ChatTemplate.specialTokenTexts(in: model) }
        #expect(try ChatTemplate.specialTokenTexts(in: try gguf([])) == ("", ""))
    }
}

@Suite struct RealModelChatTemplateTests {
    /// Qwen2.5's own template from its GGUF, over a tool-calling conversation; the expected text is Python
    /// jinja2's rendering (chat-templates.json, qwen2.5 / tool_call_and_result).
    @Test(RealModels.required([RealModels.qwen]))
    func qwenTemplateFromGGUFRendersLikeHuggingFace() throws {
        let model = try GGUFFile(path: #require(RealModels.path(RealModels.qwen)))
        let template = try ChatTemplate(gguf: model)
        let tokens = try ChatTemplate.specialTokenTexts(in: model)
        #expect(tokens.bos == "<|endoftext|>")
        #expect(tokens.eos == "<|im_end|>")
        let messages = try JinjaValue(parsingJSON: #"[{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]}, {"role": "tool", "content": "{\"temp\": 18, \"unit\": \"celsius\"}"}]"#)
        let tools = try JinjaValue(parsingJSON: #"[{"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}]"#)
        let expected = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"description\": \"Get the current weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\", \"description\": \"City name\"}, \"unit\": {\"type\": \"string\", \"enum\": [\"celsius\", \"fahrenheit\"]}}, \"required\": [\"city\"]}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWeather in Paris?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n{\"temp\": 18, \"unit\": \"celsius\"}\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
        let rendered = try template.render(messages: messages, tools: tools, bosToken: tokens.bos, eosToken: tokens.eos)
        #expect(rendered == expected)
    }
}
