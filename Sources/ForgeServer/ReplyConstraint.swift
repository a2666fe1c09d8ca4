import ForgeJinja

/// What a reply must be, as a request asks it: OpenAI's `response_format`, or llama-server's
/// `json_schema` and `grammar` fields.
enum ReplyConstraint: Sendable, Equatable {
    /// JSON valid against this schema; `field` names where the request gave it.
    case jsonSchema(JinjaValue, field: String)
    /// Text in the language of this GBNF grammar.
    case grammar(String)

    /// An absent or empty schema means any JSON object, as in llama-server.
    static let anyObject: JinjaValue = ["type": "object"]

    /// Nil when the reply is free text.
    static func parse(_ fields: RequestFields) throws -> ReplyConstraint? {
        let grammar = try fields.string("grammar")
        var schema = try schemaField(fields.value("json_schema"), path: "json_schema").map { ($0, "json_schema") }
        if let format = try fields.nested("response_format") {
            guard case .string(let type)? = format.value("type") else {
                throw APIError.invalidRequest(#"response_format.type must be "text", "json_object" or "json_schema""#)
            }
            switch type {
            case "text":
                break
            case "json_object":
                schema = (try schemaField(format.value("schema"), path: "response_format.schema") ?? anyObject, "response_format.schema")
            case "json_schema":
                guard let wrapper = try format.nested("json_schema") else {
                    throw APIError.invalidRequest("response_format.json_schema must be an object holding the 'schema'")
                }
                let path = "response_format.json_schema.schema"
                schema = (try schemaField(wrapper.value("schema"), path: path) ?? anyObject, path)
            default:
                throw APIError.invalidRequest(#"response_format.type must be "text", "json_object" or "json_schema", is "\#(type)""#)
            }
        }
        switch (schema, grammar) {
        case (let (schema, field)?, nil): return .jsonSchema(schema, field: field)
        case (nil, let grammar?): return .grammar(grammar)
        case (nil, nil): return nil
        case (_?, _?): throw APIError.invalidRequest("'grammar' cannot be combined with a JSON schema ('json_schema' or 'response_format')")
        }
    }

    private static func schemaField(_ value: JinjaValue?, path: String) throws -> JinjaValue? {
        switch value {
        case nil: return nil
        case .object(let object)?: return object.count == 0 ? anyObject : .object(object)
        default: throw APIError.invalidRequest("\(path) must be a JSON Schema object")
        }
    }
}
