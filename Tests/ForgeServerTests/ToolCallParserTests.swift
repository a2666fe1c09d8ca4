import ForgeGeneration
import Testing
@testable import ForgeServer

/// The tool-call parser on every format it reads, whole and streamed in pieces of every size.
@Suite struct ToolCallParserTests {
    static let names = ["get_weather", "get_time"]
    static let paris = ToolCall(name: "get_weather", arguments: #"{"city":"Paris"}"#)
    static let utc = ToolCall(name: "get_time", arguments: #"{"zone":"UTC","precise":true}"#)

    struct Case: CustomTestStringConvertible, Sendable {
        let text: String
        let events: [ToolCallParser.Event]
        var testDescription: String { text.debugDescription }
    }

    static let cases: [Case] = [
        // Hermes / Qwen2.5, alone, after text, and several in a row.
        Case(text: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", events: [.call(paris)]),
        Case(text: "Let me look.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>",
             events: [.content("Let me look."), .call(paris)]),
        Case(text: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\", \"precise\": true}}\n</tool_call>\n",
             events: [.call(paris), .call(utc)]),
        // A Hermes call the model did not close before it stopped, or whose closing tag was cut off.
        Case(text: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}", events: [.call(paris)]),
        Case(text: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool", events: [.call(paris)]),
        // Llama 3.x: `parameters`, after <|python_tag|> when the text shows control tokens, or bare.
        Case(text: "<|python_tag|>{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", events: [.call(paris)]),
        Case(text: "{\"name\": \"get_weather\", \"parameters\": {\"city\": \"Paris\"}}", events: [.call(paris)]),
        // A bare object, arguments as a JSON string, several objects on their own lines.
        Case(text: "  {\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}  ", events: [.call(paris)]),
        Case(text: "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\", \"precise\": true}}",
             events: [.call(paris), .call(utc)]),
        // A fenced object, with or without a language, after text too.
        Case(text: "```json\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n```", events: [.call(paris)]),
        Case(text: "Calling it:\n```\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n```\nDone.",
             events: [.content("Calling it:"), .call(paris), .content("Done.")]),
        // Not calls: plain text, JSON that names no tool, code, braces after text, a call cut short.
        Case(text: "The weather is fine.", events: [.content("The weather is fine.")]),
        Case(text: "{\"name\": \"Alice\", \"age\": 30}", events: [.content("{\"name\": \"Alice\", \"age\": 30}")]),
        Case(text: "{\"answer\": 42}", events: [.content("{\"answer\": 42}")]),
        Case(text: "```python\nprint(\"{\")\n```", events: [.content("```python\nprint(\"{\")\n```")]),
        Case(text: "Use {\"name\": \"get_weather\"} like this.", events: [.content("Use {\"name\": \"get_weather\"} like this.")]),
        Case(text: "a < b and c <tool b", events: [.content("a < b and c <tool b")]),
        Case(text: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par",
             events: [.content("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Par")]),
        Case(text: "<tool_call>\n{\"name\": \"delete_everything\", \"arguments\": {}}\n</tool_call>",
             events: [.content("<tool_call>\n{\"name\": \"delete_everything\", \"arguments\": {}}\n</tool_call>")]),
        // Multi-byte characters in text and inside arguments.
        Case(text: "Météo ☀️ <tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}</tool_call>",
             events: [.content("Météo ☀️"), .call(ToolCall(name: "get_weather", arguments: #"{"city":"Zürich"}"#))]),
    ]

    /// Joins neighbouring text events, which streaming may split differently.
    static func merged(_ events: [ToolCallParser.Event]) -> [ToolCallParser.Event] {
        var result: [ToolCallParser.Event] = []
        for event in events {
            if case .content(let text) = event, case .content(let previous)? = result.last {
                result[result.count - 1] = .content(previous + text)
            } else {
                result.append(event)
            }
        }
        return result
    }

    @Test(arguments: cases) func wholeReply(_ example: Case) {
        #expect(Self.merged(ToolCallParser.split(example.text, toolNames: Self.names)) == example.events)
    }

    @Test(arguments: cases) func streamedInPiecesOfEverySize(_ example: Case) {
        let characters = Array(example.text)
        for size in 1...8 {
            var parser = ToolCallParser(toolNames: Self.names)
            var events: [ToolCallParser.Event] = []
            var start = 0
            while start < characters.count {
                let piece = String(characters[start..<min(start + size, characters.count)])
                events += parser.feed(piece)
                start += size
            }
            events += parser.finish()
            #expect(Self.merged(events) == example.events, "pieces of \(size)")
        }
    }

    /// Text before a call is sent as soon as it cannot be part of one; the call's own text never is.
    @Test func textIsReleasedEarlyAndCallsAreHeld() {
        var parser = ToolCallParser(toolNames: Self.names)
        #expect(parser.feed("Sure, checking") == [.content("Sure, checking")])
        #expect(parser.feed(" now <tool") == [.content(" now")])
        #expect(parser.feed("_call>\n{\"name\": \"get_weather\", ") == [])
        #expect(parser.feed("\"arguments\": {\"city\": \"Paris\"}}") == [])
        #expect(parser.feed("\n</tool_call>") == [.call(Self.paris)])
        #expect(parser.finish() == [])
    }

    /// A JSON reply that cannot be a call is released at the first byte that rules a call out.
    @Test func nonCallJSONIsNotHeldToTheEnd() {
        var parser = ToolCallParser(toolNames: Self.names)
        #expect(parser.feed("{\"na") == [])
        #expect(parser.feed("me\": \"Bob\", \"x\": 1") == [.content("{\"name\": \"Bob\", \"x\": 1")])
    }
}
