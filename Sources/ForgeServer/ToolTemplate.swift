import ForgeJinja
import ForgeTokenizer

/// How a model writes a tool call, chosen from its chat template.
enum ToolCallFormat: Sendable, Equatable {
    /// Hermes / Qwen2.5: `<tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>`.
    case hermes
    /// Llama 3.x: `{"name": …, "parameters": {…}}` (after `<|python_tag|>`, a control token the text omits).
    case llama3
    /// Templates without a call syntax of their own: `{"name": …, "arguments": {…}}`.
    case json

    init(templateSource source: String) {
        if source.contains("<tool_call>") {
            self = .hermes
        } else if source.contains("<|start_header_id|>") && source.contains("ipython") {
            self = .llama3
        } else {
            self = .json
        }
    }

    var argumentsKey: String { self == .llama3 ? "parameters" : "arguments" }

    /// The call's JSON object up to its arguments, and what follows them, as the model writes it.
    func callText(name: String) -> (opening: String, closing: String) {
        let object = "{\"name\": " + JinjaValue.string(name).jsonString() + ", \"\(argumentsKey)\": "
        switch self {
        case .hermes: return ("<tool_call>\n" + object, "}\n</tool_call>")
        case .llama3, .json: return (object, "}")
        }
    }

    /// Calls as the model would have written them, for templates that cannot render `tool_calls`.
    func text(of calls: [(name: String, arguments: JinjaValue)]) -> String {
        calls.map { call in
            let (opening, closing) = callText(name: call.name)
            return opening + call.arguments.jsonString() + closing
        }.joined(separator: "\n")
    }
}

/// What a chat template does with tools, found once per model by rendering probe conversations (as
/// llama.cpp's template capabilities are): whether it shows the tools, whether it renders assistant
/// `tool_calls`, and whether it wants their arguments as an object or as the JSON string OpenAI sends.
struct ToolTemplate: Sendable {
    let format: ToolCallFormat
    let rendersTools: Bool
    let rendersToolCalls: Bool
    let takesObjectArguments: Bool

    private static let probeName = "forge_probe_function"
    private static let probeArgument = "forge_probe_argument"

    init(_ template: ChatTemplate) {
        format = ToolCallFormat(templateSource: template.source)
        let tools: JinjaValue = [[
            "type": "function",
            "function": ["name": .string(Self.probeName), "description": "probe", "parameters": ["type": "object", "properties": [:]]],
        ]]
        func render(_ messages: JinjaValue) -> String {
            (try? template.render(messages: messages, tools: tools, bosToken: "", eosToken: "")) ?? ""
        }
        rendersTools = render([["role": "user", "content": "hi"]]).contains(Self.probeName)
        func conversation(arguments: JinjaValue) -> JinjaValue {
            [
                ["role": "user", "content": "hi"],
                ["role": "assistant", "content": "", "tool_calls": [[
                    "id": "call_probe", "type": "function",
                    "function": ["name": .string(Self.probeName), "arguments": arguments],
                ]]],
                ["role": "tool", "tool_call_id": "call_probe", "content": "done"],
                ["role": "user", "content": "thanks"],
            ]
        }
        // An object written out as JSON shows the key in plain quotes; a string through `tojson` escapes them.
        let quotedKey = "\"\(Self.probeArgument)\""
        let withObject = render(conversation(arguments: [Self.probeArgument: "x"]))
        if withObject.contains(quotedKey) && !withObject.contains("\\" + quotedKey) {
            rendersToolCalls = true
            takesObjectArguments = true
        } else {
            takesObjectArguments = false
            rendersToolCalls = render(conversation(arguments: .string("{\(quotedKey): \"x\"}"))).contains(Self.probeArgument)
        }
    }

    /// The messages as this template should see them: null contents as empty strings, call arguments
    /// as objects when the template wants them so (llama-server does the same), calls written into
    /// the content when it cannot render them, and the tools described in the system message when it
    /// does not show them.
    func messages(_ messages: [JinjaValue], tools: ToolRequest?) -> [JinjaValue] {
        var result = messages.map(prepared)
        if let tools, !rendersTools {
            let instructions = instructions(for: tools)
            if case .object(var system)? = result.first, system["role"]?.stringValue == "system" {
                let content = system["content"]?.stringValue ?? ""
                system["content"] = .string(content.isEmpty ? instructions : content + "\n\n" + instructions)
                result[0] = .object(system)
            } else {
                result.insert(["role": "system", "content": .string(instructions)], at: 0)
            }
        }
        return result
    }

    private func prepared(_ message: JinjaValue) -> JinjaValue {
        guard case .object(var object) = message else { return message }
        if object["content"] == nil || object["content"] == .null { object["content"] = "" }
        guard case .array(let calls)? = object["tool_calls"] else { return .object(object) }
        let decoded: [(name: String, arguments: JinjaValue)] = calls.map { call in
            let function = call["function"]
            let arguments = function?["arguments"] ?? .null
            if case .string(let text) = arguments, let value = try? JinjaValue(parsingJSON: text) {
                return (function?["name"]?.stringValue ?? "", value)
            }
            return (function?["name"]?.stringValue ?? "", arguments)
        }
        if !rendersToolCalls {
            let content = object["content"]?.stringValue ?? ""
            let written = format.text(of: decoded)
            object["content"] = .string(content.isEmpty ? written : content + "\n" + written)
            object["tool_calls"] = nil
        } else if takesObjectArguments {
            object["tool_calls"] = .array(zip(calls, decoded).map { call, decoded in
                guard case .object(var callObject) = call, case .object(var function)? = callObject["function"] else { return call }
                function["arguments"] = decoded.arguments
                callObject["function"] = .object(function)
                return .object(callObject)
            })
        }
        return .object(object)
    }

    /// For templates that do not show tools: the tools and the reply that calls one.
    private func instructions(for tools: ToolRequest) -> String {
        let (opening, closing) = format.callText(name: "<function name>")
        let lines = tools.definitions.arrayValue?.map { $0.jsonString() } ?? []
        return "You can call these functions (each with the JSON Schema of its arguments):\n"
            + lines.joined(separator: "\n")
            + "\n\nTo call one, reply with only \(opening)<arguments object>\(closing)"
    }
}
