/// A context-free grammar over UTF-8 text, compiled for matching: from llama.cpp's GBNF text,
/// from a JSON schema, or the ready-made `jsonObject`. Immutable and cheap to copy; every matcher
/// made from one value shares its cache of matcher states.
public struct Grammar: Sendable {
    let automaton: GrammarAutomaton
    /// The GBNF text the grammar was compiled from (for a schema, the text it was converted to).
    public let gbnf: String

    /// Parses and compiles GBNF text. Throws `GrammarError` naming the line and column of a
    /// syntax error or an undefined rule, a missing `root` rule, left recursion, or a grammar
    /// whose root can never end.
    public init(gbnf: String) throws {
        let rules = try GBNFParser.parse(gbnf)
        automaton = GrammarAutomaton(program: try GrammarCompiler.compile(rules, root: "root"))
        self.gbnf = gbnf
    }

    /// Converts a JSON schema (its JSON text) into a grammar for JSON text that validates against
    /// it. Throws `GrammarError` naming the JSON-pointer path of what it cannot convert.
    public init(jsonSchema: String) throws {
        try self.init(gbnf: Grammar.gbnf(jsonSchema: jsonSchema))
    }

    /// Any JSON object (OpenAI's `response_format: {"type": "json_object"}`).
    public static let jsonObject: Grammar = {
        do {
            return try Grammar(jsonSchema: #"{"type": "object"}"#)
        } catch {
            preconditionFailure("the built-in JSON object grammar does not compile: \(error)")
        }
    }()

    /// The GBNF rules of a JSON schema, for composing larger grammars (a tool call wrapped in
    /// markup, say). The schema's rule is named `rule`; with a name other than `root` every helper
    /// rule is prefixed by `rule-`, so rules of several schemas can share one grammar text.
    public static func gbnf(jsonSchema: String, rule: String = "root") throws -> String {
        try JSONSchemaConverter.convert(schemaText: jsonSchema, ruleName: rule)
    }

    /// A GBNF string literal matching `text` exactly, for composing grammar texts.
    public static func gbnfLiteral(_ text: String) -> String {
        JSONSchemaConverter.literal(text)
    }
}
