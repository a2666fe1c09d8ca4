import Foundation
import ForgeGrammar
import ForgeJinja

/// The grammar a reply is held to, from what the request asks: a schema or GBNF grammar, calls
/// in the model's format (`tool_choice` `required` or a named function), or with `auto` and a
/// schema either calls or the reply the schema describes. Nil leaves the reply free.
enum ReplyGrammar {
    static func make(_ constraint: ReplyConstraint?, tools: ToolRequest?, format: ToolCallFormat, cache: GrammarCache) throws -> Grammar? {
        guard let tools, tools.choice != .none else { return try grammar(constraint, cache: cache) }
        if case .grammar? = constraint {
            throw APIError.invalidRequest("'grammar' cannot be combined with 'tools' (unless 'tool_choice' is \"none\")")
        }
        // Converted whenever calls are parsed, so a tool's bad schema is refused whatever the choice.
        var rules = try callRules(tools, format: format)
        switch (tools.choice, constraint) {
        case (.required, _), (.function, _):
            rules.insert("root ::= tool-calls", at: 0)
        case (_, .jsonSchema(let schema, let field)?):
            rules.insert("root ::= tool-calls | reply", at: 0)
            rules.append(try schemaRules(schema, rule: "reply", field: field))
        default:
            return nil
        }
        do {
            return try cache.grammar(gbnf: rules.joined(separator: "\n"))
        } catch {
            throw APIError.server("the grammar of the tool calls does not compile: \(error)")
        }
    }

    private static func grammar(_ constraint: ReplyConstraint?, cache: GrammarCache) throws -> Grammar? {
        switch constraint {
        case nil:
            return nil
        case .grammar(let text)?:
            do {
                return try cache.grammar(gbnf: text)
            } catch {
                throw APIError.invalidRequest("'grammar' is not a valid GBNF grammar: \(error)")
            }
        case .jsonSchema(let schema, let field)?:
            if schema == ReplyConstraint.anyObject { return Grammar.jsonObject }
            do {
                return try cache.grammar(gbnf: Grammar.gbnf(jsonSchema: schema.jsonString()))
            } catch {
                throw APIError.invalidRequest("\(field) cannot be used: \(error)")
            }
        }
    }

    /// `tool-calls`: one call to any callable function, or several on their own lines when
    /// parallel calls are allowed (Llama 3.x templates take one call per turn).
    private static func callRules(_ tools: ToolRequest, format: ToolCallFormat) throws -> [String] {
        let parallel = tools.parallelCalls && format != .llama3
        var rules = [parallel ? #"tool-calls ::= tool-call ("\n" tool-call)*"# : "tool-calls ::= tool-call"]
        let callable = tools.callable
        rules.append("tool-call ::= " + callable.indices.map { "tool\($0)" }.joined(separator: " | "))
        for (position, function) in callable.enumerated() {
            let (opening, closing) = format.callText(name: function.name)
            let arguments = "tool\(position)-arguments"
            rules.append("tool\(position) ::= \(Grammar.gbnfLiteral(opening)) \(arguments) \(Grammar.gbnfLiteral(closing))")
            rules.append(try schemaRules(function.parameters, rule: arguments, field: "tools[\(function.index)].function.parameters"))
        }
        return rules
    }

    private static func schemaRules(_ schema: JinjaValue, rule: String, field: String) throws -> String {
        do {
            return try Grammar.gbnf(jsonSchema: schema.jsonString(), rule: rule)
        } catch {
            throw APIError.invalidRequest("\(field) cannot be used: \(error)")
        }
    }
}

/// Compiled grammars by their GBNF text, so requests repeating a schema or a set of tools (an
/// agent's every turn) share one grammar and the matcher states it has built.
final class GrammarCache: @unchecked Sendable {
    private static let capacity = 32
    private let lock = NSLock()
    private var grammars: [String: Grammar] = [:]

    func grammar(gbnf: String) throws -> Grammar {
        if let cached = lock.withLock({ grammars[gbnf] }) { return cached }
        let grammar = try Grammar(gbnf: gbnf)
        lock.withLock {
            if grammars.count >= Self.capacity { grammars.removeAll(keepingCapacity: true) }
            grammars[gbnf] = grammar
        }
        return grammar
    }
}
