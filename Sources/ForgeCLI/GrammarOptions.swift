import ArgumentParser
import Foundation
import ForgeGrammar

/// Constrained output: a GBNF grammar or a JSON schema every answer must follow.
public struct GrammarOptions: ParsableArguments {
    @Option(name: .customLong("grammar-file"), help: ArgumentHelp("A GBNF grammar (llama.cpp's format) the output must follow.", valueName: "FILE"))
    public var grammarFile: String?

    @Option(name: .customLong("json-schema"), help: ArgumentHelp(
        "A JSON schema the output must follow: a file, or the schema itself when it starts with '{'.", valueName: "FILE|JSON"))
    public var jsonSchema: String?

    public init() {}

    public func validate() throws {
        if grammarFile != nil && jsonSchema != nil { throw ValidationError("give --grammar-file or --json-schema, not both") }
        _ = try grammar()
    }

    /// The grammar the flags name, nil without them; unreadable files and invalid grammars are
    /// validation errors that say where.
    public func grammar() throws -> Grammar? {
        do {
            if let grammarFile {
                return try Grammar(gbnf: try GrammarOptions.read(grammarFile, option: "--grammar-file"))
            }
            if let jsonSchema {
                return try Grammar(jsonSchema: try GrammarOptions.schemaText(jsonSchema, option: "--json-schema"))
            }
            return nil
        } catch let error as GrammarError {
            throw ValidationError(error.description)
        }
    }

    /// The schema an argument gives: inline JSON when it starts with '{', else a file's text.
    static func schemaText(_ argument: String, option: String) throws -> String {
        argument.trimmingCharacters(in: .whitespaces).hasPrefix("{") ? argument : try read(argument, option: option)
    }

    private static func read(_ path: String, option: String) throws -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ValidationError("\(option): cannot read '\(path)' as UTF-8 text")
        }
        return text
    }
}
