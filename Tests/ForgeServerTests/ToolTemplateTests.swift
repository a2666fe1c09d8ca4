import Foundation
import ForgeJinja
import ForgeTokenizer
import Testing
@testable import ForgeServer

/// What real chat templates do with tools (the Python-rendered fixtures of ForgeJinjaTests), and
/// OpenAI-shaped history (arguments as JSON strings, null contents) rendered as the references do.
@Suite struct ToolTemplateTests {
    static let fixtures: JinjaValue? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../ForgeJinjaTests/Fixtures/chat-templates.json")
        return (try? Data(contentsOf: url)).flatMap { try? JinjaValue(parsingJSON: Array($0)) }
    }()

    static func template(_ name: String) throws -> ChatTemplate {
        let source = try #require(fixtures?["templates"]?[name]?.stringValue, "fixture template \(name)")
        return try ChatTemplate(source: source)
    }

    @Test func capabilitiesOfRealTemplates() throws {
        let qwen = ToolTemplate(try Self.template("qwen2.5"))
        #expect(qwen.format == .hermes)
        #expect(qwen.rendersTools && qwen.rendersToolCalls && qwen.takesObjectArguments)
        let llama = ToolTemplate(try Self.template("llama-3.1"))
        #expect(llama.format == .llama3)
        #expect(llama.rendersTools && llama.rendersToolCalls && llama.takesObjectArguments)
        let smol = ToolTemplate(try Self.template("smollm2"))
        #expect(smol.format == .json)
        #expect(!smol.rendersTools && !smol.rendersToolCalls)
    }

    /// A call → result history as an OpenAI client sends it renders exactly as the reference
    /// rendered the same history with object arguments.
    @Test(arguments: ["qwen2.5", "llama-3.1"]) func openAIHistoryRendersAsTheReference(_ name: String) throws {
        let template = try Self.template(name)
        let cases = Self.fixtures?["cases"]?.arrayValue ?? []
        let reference = try #require(cases.first {
            $0["template"]?.stringValue == name && $0["conversation"]?.stringValue == "tool_call_and_result"
                && $0["context"]?["add_generation_prompt"] == .bool(true)
        })
        let context = try #require(reference["context"])
        let expected = try #require(reference["expected"]?.stringValue)
        var messages = context["messages"]?.arrayValue ?? []
        messages[1] = [
            "role": "assistant", "content": .null,
            "tool_calls": [["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city": "Paris"}"#]]],
        ]
        let fields = RequestFields(object: ["tools": context["tools"] ?? .null, "tool_choice": "auto"])
        let tools = try ToolRequest(fields)
        let prepared = ToolTemplate(template).messages(messages, tools: tools)
        let rendered = try template.render(
            messages: .array(prepared), tools: tools?.definitions, addGenerationPrompt: true,
            bosToken: context["bos_token"]?.stringValue ?? "", eosToken: context["eos_token"]?.stringValue ?? "")
        #expect(rendered == expected)
    }

    /// A template that shows neither tools nor calls gets the tools in the system message and
    /// the calls written into the assistant's content.
    @Test func templatesWithoutToolsGetThemDescribed() throws {
        let smol = try Self.template("smollm2")
        let tools = try ToolRequest(RequestFields(object: ["tools": [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]]))
        let messages: [JinjaValue] = [
            ["role": "user", "content": "Weather in Paris?"],
            ["role": "assistant", "content": .null, "tool_calls": [["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris"}"#]]]],
            ["role": "tool", "tool_call_id": "call_1", "content": "18 C"],
        ]
        let rendered = try smol.render(
            messages: .array(ToolTemplate(smol).messages(messages, tools: tools)), tools: tools?.definitions,
            bosToken: "", eosToken: "")
        #expect(rendered.hasPrefix("<|im_start|>system\nYou can call these functions"))
        #expect(rendered.contains(#"{"type": "function", "function": {"name": "get_weather""#))
        #expect(rendered.contains("<|im_start|>assistant\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}<|im_end|>"))
        #expect(rendered.contains("<|im_start|>tool\n18 C<|im_end|>"))
    }
}
