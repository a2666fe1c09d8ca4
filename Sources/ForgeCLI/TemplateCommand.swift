import ArgumentParser
import ForgeGGUF
import ForgeHub
import ForgeJinja
import ForgeTokenizer
import Foundation

/// `forge template`: renders a chat template and prints the prompt exactly, nothing added.
public struct TemplateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a chat template and print the resulting prompt exactly (no trailing newline).",
        discussion: """
            --messages renders an OpenAI-style message array with the model's own template and BOS/EOS token \
            texts; --context renders with a whole Jinja context given as one JSON object. Built-in templates: \
            \(ChatTemplate.builtInNames.joined(separator: ", ")).
            """
    )

    @Option(name: .shortAndLong, help: "Model (a GGUF path or a cached model's name; the default model when no template is given): its chat template and BOS/EOS tokens are used.")
    var model: String?

    @Option(name: .customLong("template"), help: "Jinja template file to use instead of the model's.")
    var templateFile: String?

    @Option(name: .customLong("chat-template"), help: "Built-in template to use instead of the model's (needed when the GGUF has none).")
    var chatTemplate: String?

    @Option(help: "JSON file with the array of messages to render.")
    var messages: String?

    @Option(help: "JSON file with the array of tools offered to the model (with --messages).")
    var tools: String?

    @Flag(name: .customLong("no-generation-prompt"), help: "Do not open the assistant's turn at the end (with --messages).")
    var noGenerationPrompt = false

    @Option(help: "JSON file with the whole Jinja context as one object.")
    var context: String?

    public init() {}

    public func validate() throws {
        guard (messages == nil) != (context == nil) else {
            throw ValidationError("give exactly one of --messages FILE or --context FILE")
        }
        if context != nil, tools != nil || noGenerationPrompt {
            throw ValidationError("--tools and --no-generation-prompt go with --messages; put them in the --context object instead")
        }
        if templateFile != nil, chatTemplate != nil {
            throw ValidationError("give either --template FILE or --chat-template NAME, not both")
        }
    }

    public func run() throws {
        FileHandle.standardOutput.write(Data(try renderedPrompt().utf8))
    }

    /// The exact text `run` prints.
    public func renderedPrompt() throws -> String {
        let usesModel = model != nil || (templateFile == nil && chatTemplate == nil)
        let gguf = usesModel ? try GGUFFile(path: try ModelCache.resolve(model)) : nil
        let template: ChatTemplate
        if let templateFile {
            template = try ChatTemplate(source: try readText(templateFile))
        } else if let gguf {
            template = try ChatTemplate(gguf: gguf, builtIn: chatTemplate, preferBuiltIn: chatTemplate != nil)
        } else {
            template = try ChatTemplate(builtIn: chatTemplate ?? "")
        }
        if let context {
            return try template.render(context: try readJSON(context, expecting: "an object") { $0.objectValue != nil })
        }
        let specialTokens = try gguf.map { try ChatTemplate.specialTokenTexts(in: $0) } ?? (bos: "", eos: "")
        return try template.render(
            messages: try readJSON(messages ?? "", expecting: "an array of messages") { $0.arrayValue != nil },
            tools: try tools.map { try readJSON($0, expecting: "an array of tools") { $0.arrayValue != nil } },
            addGenerationPrompt: !noGenerationPrompt,
            bosToken: specialTokens.bos, eosToken: specialTokens.eos)
    }

    private func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFileError(path: path, reason: "cannot read the file") }
        guard let text = String(data: data, encoding: .utf8) else { throw CommandFileError(path: path, reason: "not valid UTF-8") }
        return text
    }

    private func readJSON(_ path: String, expecting shape: String, _ isExpectedShape: (JinjaValue) -> Bool) throws -> JinjaValue {
        guard let data = FileManager.default.contents(atPath: path) else { throw CommandFileError(path: path, reason: "cannot read the file") }
        let value: JinjaValue
        do {
            value = try JinjaValue(parsingJSON: Array(data))
        } catch let error as JSONParseError {
            throw CommandFileError(path: path, reason: error.description)
        }
        guard isExpectedShape(value) else { throw CommandFileError(path: path, reason: "expected a JSON file with \(shape)") }
        return value
    }
}

/// An input file named on the command line could not be used.
struct CommandFileError: Error, CustomStringConvertible {
    let path: String
    let reason: String
    var description: String { "\(path): \(reason)" }
}
