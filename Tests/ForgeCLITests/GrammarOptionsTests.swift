import ArgumentParser
import Foundation
import ForgeGrammar
import Testing
@testable import ForgeCLI

/// `--grammar-file` and `--json-schema` of `forge generate` and `forge chat`.
struct GrammarOptionsTests {
    private func message(_ arguments: [String]) -> String {
        do {
            _ = try GenerateCommand.parse(arguments)
            return "no error"
        } catch {
            return GenerateCommand.message(for: error)
        }
    }

    @Test func schemaInlineOrFromAFileAndGrammarFromAFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("forge-grammar-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let schemaFile = directory.appendingPathComponent("schema.json").path
        try Data(#"{"type": "boolean"}"#.utf8).write(to: URL(fileURLWithPath: schemaFile))
        let grammarFile = directory.appendingPathComponent("answer.gbnf").path
        try Data("root ::= \"yes\" | \"no\"\n".utf8).write(to: URL(fileURLWithPath: grammarFile))

        let inline = try GenerateCommand.parse(["-p", "x", "--json-schema", #"{"type": "null"}"#]).constraint.grammar()
        #expect(inline.map { GrammarMatcher(grammar: $0).accepts(Array("null".utf8)) } == true)
        let fromFile = try #require(try GenerateCommand.parse(["-p", "x", "--json-schema", schemaFile]).constraint.grammar())
        #expect(GrammarMatcher(grammar: fromFile).accepts(Array("false".utf8)))
        let gbnf = try #require(try ChatCommand.parse(["--grammar-file", grammarFile]).constraint.grammar())
        #expect(GrammarMatcher(grammar: gbnf).accepts(Array("yes".utf8)) && !GrammarMatcher(grammar: gbnf).accepts(Array("maybe".utf8)))
        #expect(try GenerateCommand.parse(["-p", "x"]).constraint.grammar() == nil)

        #expect(message(["-p", "x", "--json-schema", schemaFile, "--grammar-file", grammarFile]).contains("not both"))
        #expect(message(["-p", "x", "--json-schema", #"{"type": "strin"}"#]).contains("JSON schema at #/type: unknown type 'strin'"))
        #expect(message(["-p", "x", "--grammar-file", schemaFile]).contains("grammar line 1, column 1"))
        #expect(message(["-p", "x", "--grammar-file", directory.path + "/absent.gbnf"]).contains("cannot read"))
    }
}
