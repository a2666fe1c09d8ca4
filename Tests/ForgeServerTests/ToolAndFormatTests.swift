import Foundation
import ForgeJinja
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ForgeServer

/// Tools and response formats against the tiny random-weight model: whatever it would write,
/// the grammar makes the reply a valid call or valid JSON, and the parser returns it as OpenAI does.
@Suite struct ToolAndFormatTests {
    static let weather: JinjaValue = [
        "type": "function",
        "function": [
            "name": "get_weather", "description": "Current weather",
            "parameters": [
                "type": "object",
                "properties": [
                    "city": ["type": "string", "enum": ["Paris", "Oslo"]],
                    "days": ["type": "integer", "minimum": 1, "maximum": 7],
                ],
                "required": ["city", "days"], "additionalProperties": false,
            ],
        ],
    ]
    static let time: JinjaValue = [
        "type": "function",
        "function": ["name": "get_time", "parameters": ["type": "object", "properties": ["utc": ["type": "boolean"]], "required": ["utc"]]],
    ]

    static func request(_ pairs: [(String, JinjaValue)]) -> JinjaValue {
        var object: JinjaObject = [
            "messages": [["role": "user", "content": "What is the weather in Paris?"]],
            "temperature": 0, "max_tokens": 200,
        ]
        for (key, value) in pairs { object[key] = value }
        return .object(object)
    }

    /// The arguments of a `get_weather` call, checked against its schema.
    static func checkWeatherArguments(_ arguments: String?) throws {
        let value = try JinjaValue(parsingJSON: try #require(arguments))
        let object = try #require(value.objectValue)
        #expect(Set(object.keys) == ["city", "days"], "\(arguments ?? "")")
        #expect(["Paris", "Oslo"].contains(object["city"]?.stringValue ?? ""))
        #expect((1...7).contains(object["days"]?.intValue ?? 0))
    }

    @Test func requiredToolChoiceGivesAValidCall() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body = Self.request([("tools", [Self.weather, Self.time]), ("tool_choice", "required"), ("parallel_tool_calls", false)])
            let whole = try await client.postJSON("/v1/chat/completions", body).json()
            let choice = try #require(whole["choices"]?[0])
            #expect(choice["finish_reason"]?.stringValue == "tool_calls", "\(whole)")
            #expect(choice["message"]?["content"] == .null)
            let calls = choice["message"]?["tool_calls"]
            #expect(calls?.count == 1)
            let call = try #require(calls?[0])
            #expect(call["id"]?.stringValue?.hasPrefix("call_") == true)
            #expect(call["type"]?.stringValue == "function")
            let name = call["function"]?["name"]?.stringValue
            #expect(name == "get_weather" || name == "get_time")
            if name == "get_weather" { try Self.checkWeatherArguments(call["function"]?["arguments"]?.stringValue) }

            // Streamed: a chunk with the id and name, then the arguments; no call text as content.
            let streamed = try await client.postJSON("/v1/chat/completions", EndpointTests.with(body, [("stream", true)]))
            let chunks = try streamed.events.dropLast().map { try JinjaValue(parsingJSON: $0) }
            let deltas = chunks.compactMap { $0["choices"]?[0]?["delta"] }
            #expect(deltas.allSatisfy { ($0["content"]?.stringValue ?? "").isEmpty })
            let pieces = deltas.compactMap { $0["tool_calls"]?[0] }
            #expect(pieces.count == 2)
            #expect(pieces.allSatisfy { $0["index"]?.intValue == 0 })
            #expect(pieces.first?["id"]?.stringValue?.hasPrefix("call_") == true)
            #expect(pieces.first?["function"]?["name"]?.stringValue == name)
            let arguments = pieces.compactMap { $0["function"]?["arguments"]?.stringValue }.joined()
            #expect(arguments == call["function"]?["arguments"]?.stringValue)
            #expect(chunks.last?["choices"]?[0]?["finish_reason"]?.stringValue == "tool_calls")
        }
    }

    @Test func namedToolChoiceCallsThatFunction() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            for seed in 1...3 {
                let body = Self.request([
                    ("tools", [Self.time, Self.weather]), ("tool_choice", ["type": "function", "function": ["name": "get_weather"]]),
                    ("parallel_tool_calls", false), ("temperature", 1.0), ("seed", .int(seed)),
                ])
                let choice = try await client.postJSON("/v1/chat/completions", body).json()["choices"]?[0]
                #expect(choice?["finish_reason"]?.stringValue == "tool_calls")
                let call = choice?["message"]?["tool_calls"]?[0]?["function"]
                #expect(call?["name"]?.stringValue == "get_weather")
                try Self.checkWeatherArguments(call?["arguments"]?.stringValue)
            }
        }
    }

    static let forecastSchema: JinjaValue = [
        "type": "object",
        "properties": ["sunny": ["type": "boolean"], "level": ["enum": ["low", "high"]], "hours": ["type": "integer", "minimum": 0, "maximum": 24]],
        "required": ["sunny", "level", "hours"],
    ]

    static func checkForecast(_ text: String?) throws {
        let value = try JinjaValue(parsingJSON: try #require(text))
        let object = try #require(value.objectValue)
        #expect(object.keys == ["sunny", "level", "hours"], "\(text ?? "")")
        if case .bool? = object["sunny"] {} else { Issue.record("sunny is not a boolean: \(text ?? "")") }
        #expect(["low", "high"].contains(object["level"]?.stringValue ?? ""))
        #expect((0...24).contains(object["hours"]?.intValue ?? -1))
    }

    @Test func jsonSchemaHoldsOnChatAndCompletions() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let formats: [(String, JinjaValue)] = [
                ("response_format", ["type": "json_schema", "json_schema": ["name": "forecast", "strict": true, "schema": Self.forecastSchema]]),
                ("json_schema", Self.forecastSchema),
            ]
            for (key, value) in formats {
                for stream in [false, true] {
                    let chat = try await client.postJSON("/v1/chat/completions", Self.request([(key, value), ("stream", .bool(stream)), ("temperature", 0.8), ("seed", 3)]))
                    var completionBody: JinjaObject = ["prompt": "Forecast:", "stream": .bool(stream), "max_tokens": 200, "seed": 3]
                    completionBody[key] = value
                    let completion = try await client.postJSON("/v1/completions", .object(completionBody))
                    if stream {
                        let chatChunks = try chat.events.dropLast().map { try JinjaValue(parsingJSON: $0) }
                        try Self.checkForecast(chatChunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined())
                        let completionChunks = try completion.events.dropLast().map { try JinjaValue(parsingJSON: $0) }
                        try Self.checkForecast(completionChunks.compactMap { $0["choices"]?[0]?["text"]?.stringValue }.joined())
                    } else {
                        let chatChoice = try chat.json()["choices"]?[0]
                        #expect(chatChoice?["finish_reason"]?.stringValue == "stop")
                        try Self.checkForecast(chatChoice?["message"]?["content"]?.stringValue)
                        try Self.checkForecast(try completion.json()["choices"]?[0]?["text"]?.stringValue)
                    }
                }
            }
        }
    }

    @Test func gbnfGrammarAndJSONObject() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            for seed in 1...4 {
                let reply = try await client.postJSON("/v1/completions", [
                    "prompt": "Answer:", "grammar": #"root ::= ("yes" | "no") "!""#, "seed": .int(seed), "max_tokens": 20,
                ]).json()["choices"]?[0]
                #expect(["yes!", "no!"].contains(reply?["text"]?.stringValue ?? ""))
                #expect(reply?["finish_reason"]?.stringValue == "stop")
            }
            let object = try await client.postJSON("/v1/chat/completions", Self.request([("response_format", ["type": "json_object"]), ("max_tokens", 8)])).json()
            #expect(object["choices"]?[0]?["message"]?["content"]?.stringValue?.hasPrefix("{") == true)
        }
    }

    /// A call and its result in the history reach the template; the tiny template shows no calls,
    /// so the call is written into the assistant's content in the model's format.
    @Test func callAndResultRenderThroughTheTemplate() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let messages: JinjaValue = [
                ["role": "user", "content": "Weather in Paris?"],
                ["role": "assistant", "content": .null, "tool_calls": [["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Paris","days":1}"#]]]],
                ["role": "tool", "tool_call_id": "call_1", "content": "18 C"],
            ]
            let prompt = try await client.postJSON("/apply-template", ["messages": messages, "tools": [Self.weather]]).json()["prompt"]?.stringValue ?? ""
            #expect(prompt.contains("<|im_start|>assistant\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 1}}<|im_end|>"), "\(prompt)")
            #expect(prompt.contains("<|im_start|>tool\n18 C<|im_end|>"))
            #expect(prompt.contains("<|im_start|>tools\n[{\"type\": \"function\""))
            let answer = try await client.postJSON("/v1/chat/completions", ["messages": messages, "tools": [Self.weather], "max_tokens": 4])
            #expect(answer.status == .ok)
        }
    }

    @Test func refusalsNameTheField() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let chat = "/v1/chat/completions"
            let image: JinjaValue = [["role": "user", "content": [["type": "text", "text": "What is this?"], ["type": "image_url", "image_url": ["url": "data:image/png;base64,AAAA"]]]]]
            let audio: JinjaValue = [["role": "system", "content": "hi"], ["role": "user", "content": [["type": "input_audio", "input_audio": ["data": "AAAA", "format": "wav"]]]]]
            let badPattern: JinjaValue = ["type": "object", "properties": ["code": ["type": "string", "pattern": "(unclosed"]]]
            let cases: [(String, JinjaValue, String)] = [
                (chat, ["messages": image], "messages[0].content[1].type"),
                (chat, ["messages": audio], "messages[1].content[0].type"),
                (chat, Self.request([("tools", [Self.weather]), ("tool_choice", ["type": "function", "function": ["name": "get_stock"]])]), "get_stock"),
                (chat, Self.request([("tools", [Self.weather]), ("tool_choice", "sometimes")]), "tool_choice"),
                (chat, Self.request([("tool_choice", "required")]), "tools"),
                (chat, Self.request([("tools", [["type": "retrieval"]])]), "tools[0].type"),
                (chat, Self.request([("response_format", ["type": "json_schema", "json_schema": ["name": "x", "schema": badPattern]])]), "response_format.json_schema.schema"),
                (chat, Self.request([("response_format", ["type": "yaml"])]), "response_format.type"),
                (chat, Self.request([("tools", [["type": "function", "function": ["name": "f", "parameters": badPattern]]]), ("tool_choice", "required")]), "tools[0].function.parameters"),
                (chat, Self.request([("grammar", "root ::= ( \"a\"")]), "grammar"),
                (chat, Self.request([("grammar", "root ::= \"a\""), ("tools", [Self.weather])]), "grammar"),
                (chat, Self.request([("grammar", "root ::= \"a\""), ("json_schema", ["type": "object"])]), "grammar"),
                ("/v1/completions", ["prompt": "x", "json_schema": badPattern], "json_schema"),
                (chat, ["messages": [["role": "assistant", "content": .null, "tool_calls": [["type": "function", "function": ["name": 3]]]]]], "messages[0].tool_calls[0].function.name"),
            ]
            for (uri, body, field) in cases {
                let response = try await client.postJSON(uri, body)
                try expectError(response, status: .badRequest, type: "invalid_request_error")
                let message = try response.json()["error"]?["message"]?.stringValue ?? ""
                #expect(message.contains(field), "\(message)")
            }
            let fine = try await client.postJSON(chat, Self.request([("max_tokens", 2)]))
            #expect(fine.status == .ok)
        }
    }
}
