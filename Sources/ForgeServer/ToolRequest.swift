import ForgeJinja

/// A function the client offers the model (`tools[i].function`).
struct ToolFunction: Sendable, Equatable {
    /// Its place in `tools`, for error messages.
    var index: Int
    var name: String
    /// The JSON Schema of the arguments object; an object with no properties when the client sent none.
    var parameters: JinjaValue
}

/// OpenAI's `tool_choice`.
enum ToolChoice: Sendable, Equatable {
    /// The model decides between text and calls.
    case auto
    /// No calls are parsed; the tools still reach the template, as llama-server renders them.
    case none
    /// At least one call, to any of the tools.
    case required
    /// At least one call, to this function.
    case function(String)
}

/// `tools`, `tool_choice` and `parallel_tool_calls` of a chat request, checked.
struct ToolRequest: Sendable {
    var functions: [ToolFunction]
    /// The `tools` array as sent, for the template.
    var definitions: JinjaValue
    var choice: ToolChoice
    /// Whether more than one call may come in one reply (OpenAI's default: yes).
    var parallelCalls: Bool

    /// The functions a call may name: all of them, or the one `tool_choice` names.
    var callable: [ToolFunction] {
        guard case .function(let name) = choice else { return functions }
        return functions.filter { $0.name == name }
    }

    /// The functions whose calls are parsed out of the reply: none when `tool_choice` is `none`.
    var parsedNames: [String] { choice == .none ? [] : callable.map(\.name) }

    /// Nil when the request has no tools (an empty array counts as none, as OpenAI's clients send).
    init?(_ fields: RequestFields) throws {
        let list = try fields.array("tools") ?? []
        let choice = try Self.choice(fields)
        let parallel = try fields.bool("parallel_tool_calls") ?? true
        guard !list.isEmpty else {
            switch choice {
            case .required, .function: throw APIError.invalidRequest("'tool_choice' asks for a tool call but the request has no 'tools'")
            case .auto, .none: return nil
            }
        }
        var functions: [ToolFunction] = []
        for (index, tool) in list.enumerated() {
            let path = "tools[\(index)]"
            guard case .object(let object) = tool else { throw APIError.invalidRequest("\(path) must be an object") }
            guard object["type"]?.stringValue == "function" else {
                throw APIError.invalidRequest("\(path).type must be \"function\" (the only kind of tool this server calls)")
            }
            guard case .object(let function)? = object["function"] else { throw APIError.invalidRequest("\(path).function must be an object") }
            guard case .string(let name)? = function["name"], !name.isEmpty else {
                throw APIError.invalidRequest("\(path).function.name must be a non-empty string")
            }
            guard !functions.contains(where: { $0.name == name }) else {
                throw APIError.invalidRequest("\(path).function.name '\(name)' names a function already listed")
            }
            let parameters: JinjaValue
            switch function["parameters"] ?? .null {
            case .null: parameters = ["type": "object", "properties": .object(JinjaObject())]
            case .object(let schema): parameters = .object(schema)
            default: throw APIError.invalidRequest("\(path).function.parameters must be a JSON Schema object")
            }
            functions.append(ToolFunction(index: index, name: name, parameters: parameters))
        }
        if case .function(let name) = choice, !functions.contains(where: { $0.name == name }) {
            throw APIError.invalidRequest(
                "tool_choice.function.name '\(name)' is not one of the tools: \(functions.map(\.name).joined(separator: ", "))")
        }
        self.functions = functions
        definitions = .array(list)
        self.choice = choice
        parallelCalls = parallel
    }

    private static func choice(_ fields: RequestFields) throws -> ToolChoice {
        switch fields.value("tool_choice") {
        case nil: return .auto
        case .string("auto")?: return .auto
        case .string("none")?: return .none
        case .string("required")?: return .required
        case .string(let other)?:
            throw APIError.invalidRequest("'tool_choice' must be \"auto\", \"none\", \"required\" or a function, is \"\(other)\"")
        case .object(let object)?:
            guard object["type"]?.stringValue == "function", case .string(let name)? = object["function"]?["name"] else {
                throw APIError.invalidRequest(#"'tool_choice' as an object must be {"type": "function", "function": {"name": ...}}"#)
            }
            return .function(name)
        default:
            throw APIError.invalidRequest("'tool_choice' must be a string or an object")
        }
    }
}
