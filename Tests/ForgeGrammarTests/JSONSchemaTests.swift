import Foundation
import Testing
@testable import ForgeGrammar

/// JSON Schema to grammar: each keyword accepts what the schema allows and refuses the rest.
struct JSONSchemaTests {
    private func check(_ schema: String, accepts valid: [String], rejects invalid: [String],
                       sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        let grammar = try schemaGrammar(schema)
        for text in valid { #expect(matches(grammar, text), "should accept \(text)", sourceLocation: sourceLocation) }
        for text in invalid { #expect(!matches(grammar, text), "should reject \(text)", sourceLocation: sourceLocation) }
    }

    @Test func primitiveTypes() throws {
        try check(#"{"type": "string"}"#, accepts: [#""""#, #""a b""#, #""é \"q\" \\ \n \u00e9""#],
                  rejects: [#""a"#, "\"a\nb\"", #""\x""#, "1", "null"])
        try check(#"{"type": "number"}"#, accepts: ["0", "-1.5", "3e10", "2.5E-3", "10"], rejects: ["01", "1.", ".5", "+1", "\"1\"", "--1"])
        try check(#"{"type": "integer"}"#, accepts: ["0", "-7", "123"], rejects: ["1.0", "-0.5", "007", "1e3"])
        try check(#"{"type": "boolean"}"#, accepts: ["true", "false"], rejects: ["True", "1", "\"true\""])
        try check(#"{"type": "null"}"#, accepts: ["null"], rejects: ["nul", "0", "\"null\""])
        try check("{}", accepts: ["1", #"{"a": [1, "x", null]}"#, "[]", #""s""#], rejects: ["{", "[1,]", "nope"])
    }

    @Test func objectsRequiredOptionalAndOrder() throws {
        let schema = #"""
            {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array"}},
             "required": ["name"]}
            """#
        try check(schema, accepts: [
            #"{"name": "Ada"}"#, #"{"name":"Ada","age":36}"#, #"{ "name" : "Ada", "tags": [] }"#,
            #"{"name": "Ada", "age": 36, "tags": ["x"]}"#, "{\n  \"name\": \"Ada\",\n  \"age\": 1\n}",
        ], rejects: [
            "{}", #"{"age": 36}"#, #"{"name": 5}"#, #"{"name": "Ada", "age": "36"}"#,
            #"{"name": "Ada", "other": 1}"#, #"{"age": 36, "name": "Ada"}"#, #"{"name": "Ada",}"#,
        ])
        let optionalOnly = #"{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}"#
        try check(optionalOnly, accepts: ["{}", #"{"a": 1}"#, #"{"b": 2}"#, #"{"a": 1, "b": 2}"#],
                  rejects: [#"{"b": 2, "a": 1}"#, #"{"a": 1, "a": 1}"#, #"{,"b": 2}"#])
    }

    @Test func additionalProperties() throws {
        let closed = #"{"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": false}"#
        try check(closed, accepts: [#"{"a": 1}"#, "{}"], rejects: [#"{"a": 1, "b": 2}"#])
        let open = #"{"type": "object", "properties": {"a": {"type": "integer"}}, "additionalProperties": true}"#
        try check(open, accepts: [#"{"a": 1}"#, #"{"a": 1, "b": [true]}"#, #"{"ab": 2, "c": null}"#, #"{"b": "x", "c": 1}"#],
                  rejects: [#"{"a": 1, "a": 2}"#, #"{"a": "x"}"#])
        let typed = #"{"type": "object", "additionalProperties": {"type": "number"}}"#
        try check(typed, accepts: ["{}", #"{"x": 1, "y": 2.5}"#], rejects: [#"{"x": "1"}"#])
        try check(#"{"type": "object"}"#, accepts: ["{}", #"{"any": {"thing": []}}"#], rejects: ["[]", #"{"a"}"#])
    }

    @Test func enumsConstantsAndUnions() throws {
        try check(#"{"enum": ["red", "green", 3, null, {"a": [1]}]}"#, accepts: [#""red""#, #""green""#, "3", "null", #"{"a":[1]}"#],
                  rejects: [#""blue""#, "4", #""Red""#])
        try check(#"{"const": "fixed \"value\""}"#, accepts: [#""fixed \"value\"""#], rejects: [#""fixed""#])
        try check(#"{"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]}"#, accepts: ["12", #""ab""#],
                  rejects: [#""abc""#, "true"])
        try check(#"{"oneOf": [{"type": "boolean"}, {"type": "null"}]}"#, accepts: ["true", "null"], rejects: ["0"])
        try check(#"{"type": ["string", "null"], "minLength": 1}"#, accepts: [#""x""#, "null"], rejects: [#""""#, "1"])
    }

    @Test func arrays() throws {
        try check(#"{"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3}"#,
                  accepts: ["[1]", "[1, 2, 3]", "[ 1,2 ]"], rejects: ["[]", "[1, 2, 3, 4]", #"["1"]"#, "[1,]"])
        try check(#"{"type": "array", "items": {"type": "boolean"}}"#, accepts: ["[]", "[true, false]"], rejects: ["[1]"])
        try check(#"{"type": "array", "maxItems": 0}"#, accepts: ["[]"], rejects: ["[1]"])
        try check(#"{"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}"#,
                  accepts: [#"["a", 1]"#], rejects: [#"[1, "a"]"#, #"["a"]"#])
        try check(#"{"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}, "maxItems": 3}"#,
                  accepts: [#"["a"]"#, #"["a", 1, 2]"#], rejects: [#"["a", 1, 2, 3]"#, #"["a", "b"]"#])
    }

    @Test func stringLengthsFormatsAndUnicode() throws {
        try check(#"{"type": "string", "minLength": 2, "maxLength": 3}"#,
                  accepts: [#""ab""#, #""abc""#, #""日本""#, #""a\nb""#], rejects: [#""a""#, #""abcd""#, #""日本語x""#])
        try check(#"{"type": "string", "format": "date"}"#, accepts: [#""2024-02-29""#], rejects: [#""2024-13-01""#, #""2024-1-1""#])
        try check(#"{"type": "string", "format": "date-time"}"#, accepts: [#""2024-02-29T13:45:00Z""#, #""2024-02-29T13:45:00.123+02:00""#],
                  rejects: [#""2024-02-29 13:45:00Z""#])
        try check(#"{"type": "string", "format": "time"}"#, accepts: [#""23:59:59Z""#], rejects: [#""24:00:00Z""#])
        try check(#"{"type": "string", "format": "uuid"}"#, accepts: [#""123e4567-e89b-12d3-a456-426614174000""#],
                  rejects: [#""123e4567e89b12d3a456426614174000""#])
        try check(#"{"type": "string"}"#, accepts: [#""emoji 🎉 and Ελληνικά""#], rejects: [])
    }

    @Test func patterns() throws {
        try check(#"{"type": "string", "pattern": "^[A-Z]{2}-\\d{3}$"}"#, accepts: [#""AB-123""#], rejects: [#""AB-12""#, #""ab-123""#, #""xAB-123""#])
        try check(#"{"type": "string", "pattern": "^(cat|dog)s?$"}"#, accepts: [#""cat""#, #""dogs""#], rejects: [#""cow""#, #""catss""#])
        try check(#"{"type": "string", "pattern": "^a.c$"}"#, accepts: [#""abc""#, #""a€c""#, #""a\"c""#], rejects: [#""ac""#])
        try check(#"{"type": "string", "pattern": "[0-9]+"}"#, accepts: [#""x1y""#, #""42""#], rejects: [#""xy""#])
        try check(#"{"type": "string", "pattern": "^\\w+@\\w+\\.com$"}"#, accepts: [#""me@host.com""#], rejects: [#""me@host.org""#])
        try check(#"{"type": "string", "pattern": "^[^a-z ]*$"}"#, accepts: [#""ABC-1""#], rejects: [#""AbC""#, #""A B""#])
        try check(#"{"type": "string", "pattern": "^x{2,}?y$|^z$"}"#, accepts: [#""xxy""#, #""xxxxy""#, #""z""#], rejects: [#""xy""#])
    }

    @Test func integerRanges() throws {
        let cases: [(String, ClosedRange<Int>)] = [
            (#""minimum": 0, "maximum": 120"#, 0...120),
            (#""minimum": -15, "maximum": 7"#, -15...7),
            (#""minimum": -250, "maximum": -13"#, -250...(-13)),
            (#""minimum": 17, "maximum": 1234"#, 17...1234),
            (#""exclusiveMinimum": 9, "exclusiveMaximum": 101"#, 10...100),
            (#""minimum": 1.5, "maximum": 3.5"#, 2...3),
        ]
        for (bounds, range) in cases {
            let grammar = try schemaGrammar(#"{"type": "integer", \#(bounds)}"#)
            for value in (range.lowerBound - 30)...(range.upperBound + 30) {
                #expect(matches(grammar, String(value)) == range.contains(value), "\(bounds): \(value)")
            }
            #expect(!matches(grammar, "-0") && !matches(grammar, "01"))
        }
        let atLeast = try schemaGrammar(#"{"type": "integer", "minimum": 42}"#)
        for value in [42, 43, 99, 100, 123456789] { #expect(matches(atLeast, String(value))) }
        for value in [41, 0, -42, 9] { #expect(!matches(atLeast, String(value))) }
        let atMost = try schemaGrammar(#"{"type": "integer", "maximum": -3}"#)
        for value in [-3, -4, -100, -123456] { #expect(matches(atMost, String(value))) }
        for value in [-2, 0, 3] { #expect(!matches(atMost, String(value))) }
        try check(#"{"type": "number", "minimum": 0}"#, accepts: ["0", "2.5"], rejects: ["-1"])
    }

    @Test func referencesIncludingRecursive() throws {
        let schema = #"""
            {"$defs": {"node": {"type": "object", "properties": {"value": {"type": "integer"},
                                 "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                                 "required": ["value"]}},
             "$ref": "#/$defs/node"}
            """#
        try check(schema, accepts: [#"{"value": 1}"#, #"{"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}"#],
                  rejects: [#"{"value": 1, "children": [{"children": []}]}"#])
        try check(##"{"definitions": {"a": {"type": "boolean"}}, "type": "array", "items": {"$ref": "#/definitions/a"}}"##,
                  accepts: ["[true]"], rejects: ["[1]"])
    }

    @Test func allOfMergesObjects() throws {
        let schema = #"""
            {"allOf": [{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
                       {"properties": {"b": {"type": "string"}}, "required": ["b"]}]}
            """#
        try check(schema, accepts: [#"{"a": 1, "b": "x"}"#], rejects: [#"{"a": 1}"#])
    }

    @Test func invalidSchemasSayWhere() throws {
        func failure(_ schema: String) -> GrammarError? {
            do {
                _ = try schemaGrammar(schema)
                return nil
            } catch {
                return error as? GrammarError
            }
        }
        #expect(failure(#"{"type": "strin"}"#)?.location == .schema(path: "#/type", patternOffset: nil))
        #expect(failure(#"{"properties": {"a/b": {"type": 5}}}"#)?.location == .schema(path: "#/properties/a~1b/type", patternOffset: nil))
        #expect(failure(#"{"type": "array", "items": {"type": "string", "minLength": -1}}"#)?.location
            == .schema(path: "#/items/minLength", patternOffset: nil))
        #expect(failure(##"{"$ref": "#/$defs/missing"}"##)?.location == .schema(path: "#/$ref", patternOffset: nil))
        #expect(failure(#"{"$ref": "https://example.com/schema"}"#)?.reason.contains("only references inside") == true)
        #expect(failure(#"{"anyOf": []}"#)?.location == .schema(path: "#/anyOf", patternOffset: nil))
        #expect(failure(#"{"type": "string", "pattern": "^ab(?=c)$"}"#)?.location == .schema(path: "#/pattern", patternOffset: 3))
        #expect(failure(#"{"type": "string", "pattern": "(a\\1)"}"#)?.location == .schema(path: "#/pattern", patternOffset: 2))
        #expect(failure(#"{"type": "integer", "minimum": 5, "maximum": 4}"#)?.reason.contains("no integer") == true)
        #expect(failure(#"{"type": "object", "properties": }"#)?.reason.contains("invalid JSON at line 1") == true)
        #expect(failure("false") != nil)
        #expect(failure(#"{"type": "string", "pattern": "^a$"}"#) == nil)
        #expect(failure(#"{"type": "array", "minItems": 3, "maxItems": 2}"#)?.description
            == "JSON schema at #/maxItems: maxItems is less than minItems")
    }

    @Test func anyJSONObjectGrammar() throws {
        let grammar = Grammar.jsonObject
        for text in ["{}", #"{"a": {"b": [1, -2.5e3, "x", true, null, {}]}, "c": "\u00e9"}"#, "{\n  \"k\": []\n}"] {
            #expect(matches(grammar, text), "\(text)")
        }
        for text in ["[]", "1", #"{"a"}"#, #"{"a": 1,}"#, #"{'a': 1}"#, "{} {}"] { #expect(!matches(grammar, text), "\(text)") }
        // Random walks through the grammar always give an object JSONSerialization reads.
        var completed = 0
        for seed in 1...40 {
            guard let sentence = randomSentence(of: grammar, seed: UInt64(seed)) else { continue }
            completed += 1
            #expect(parsedJSON(sentence) is [String: Any], "\(String(decoding: sentence, as: UTF8.self))")
        }
        #expect(completed >= 30)
    }

    @Test func whitespaceIsBounded() throws {
        let grammar = try schemaGrammar(#"{"type": "object", "properties": {"a": {"type": "integer"}}}"#)
        #expect(matches(grammar, "{\"a\":\n" + String(repeating: " ", count: 20) + "1}"))
        #expect(!isPrefix(grammar, "{\"a\":\n" + String(repeating: " ", count: 21)))
        #expect(!isPrefix(grammar, "{\"a\"  "))
    }

    @Test func schemaRulesComposeUnderAName() throws {
        let rules = try Grammar.gbnf(jsonSchema: #"{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}"#,
                                     rule: "args")
        let grammar = try Grammar(gbnf: #"root ::= "<call>" args "</call>""# + "\n" + rules)
        #expect(matches(grammar, #"<call>{"city": "Paris"}</call>"#))
        #expect(!matches(grammar, #"<call>{}</call>"#))
        #expect(!rules.contains("\nstring ::="), "helper rules carry the prefix")
    }
}
