import Testing

@testable import ForgeJinja

/// The ordered JSON model behind contexts and `tojson`: Python's `json.loads` in, `json.dumps(ensure_ascii=False)` out.
@Suite struct JSONTests {
    @Test func keepsKeyOrderAndNumberKinds() throws {
        let value = try JinjaValue(parsingJSON: #"{"z": 1, "a": 1.0, "m": -0.5e3, "big": 12345678901234567890, "n": null}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m", "big", "n"])
        #expect(value["z"] == .int(1))
        #expect(value["a"] == .double(1))
        #expect(value["m"] == .double(-500))
        #expect(value["big"] == .double(12345678901234567890))
        #expect(value.jsonString() == #"{"z": 1, "a": 1.0, "m": -500.0, "big": 1.2345678901234567e+19, "n": null}"#)
    }

    @Test func repeatedKeyKeepsFirstPositionAndLastValue() throws {
        let value = try JinjaValue(parsingJSON: #"{"a": 1, "b": 2, "a": 3}"#)
        #expect(value.jsonString() == #"{"a": 3, "b": 2}"#)
    }

    @Test func decodesEscapesAndSurrogatePairs() throws {
        let value = try JinjaValue(parsingJSON: #"["\u00e9\ud83d\ude42\n\t\"\\\/", "\ud800x", "日本"]"#)
        #expect(value == ["é🙂\n\t\"\\/", "\u{FFFD}x", "日本"])
    }

    @Test func writesLikePythonJSONDumps() {
        let value: JinjaValue = ["s": "é\u{1}\u{7f}\u{2028}\"\\\n", "f": 1e16, "g": 0.0001, "i": -3, "e": [], "o": [:], "b": false]
        #expect(value.jsonString() == "{\"s\": \"é\\u0001\u{7f}\u{2028}\\\"\\\\\\n\", \"f\": 1e+16, \"g\": 0.0001, \"i\": -3, \"e\": [], \"o\": {}, \"b\": false}")
        #expect(JinjaValue.double(.nan).jsonString() == "NaN")
        #expect(JinjaValue.double(-.infinity).jsonString() == "-Infinity")
        #expect(JinjaValue.array([1, ["a": [2]]]).jsonString(indent: 2) == "[\n  1,\n  {\n    \"a\": [\n      2\n    ]\n  }\n]")
        #expect(JinjaValue.array([1, 2]).jsonString(indent: 0) == "[\n1,\n2\n]")
    }

    @Test func rejectsMalformedInput() {
        let bad = ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"a", "[1] 2", "{1: 2}", "\"\u{1}\"", "tru", "-"]
        for text in bad {
            #expect(throws: JSONParseError.self, "\(text)") { try JinjaValue(parsingJSON: text) }
        }
        let invalidUTF8: [UInt8] = [0x22, 0xFF, 0x22]
        #expect(throws: JSONParseError.self) { try JinjaValue(parsingJSON: invalidUTF8) }
    }

    @Test func boundsNesting() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = #expect(throws: JSONParseError.self) { try JinjaValue(parsingJSON: deep) }
        #expect(error?.message.contains("nesting") == true)
        let allowed = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect(throws: Never.self) { try JinjaValue(parsingJSON: allowed) }
    }
}
