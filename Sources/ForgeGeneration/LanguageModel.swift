import ForgeGGUF
import ForgeModel
import ForgeTokenizer

/// A model ready to use: its weights (memory-mapped), tokenizer and chat template.
/// Immutable and shareable; each conversation runs in its own `GenerationSession`.
public final class LanguageModel: Sendable {
    public let path: String
    public let file: GGUFFile
    public let transformer: Transformer
    public let tokenizer: Tokenizer
    /// The model's chat template, or nil when the file has none (callers may pick a built-in).
    public let chatTemplate: ChatTemplate?
    public let bosText: String
    public let eosText: String

    public init(path: String) throws {
        self.path = path
        file = try GGUFFile(path: path)
        transformer = try Transformer(gguf: file)
        tokenizer = try Tokenizer(gguf: file)
        guard tokenizer.vocabularySize == transformer.configuration.vocabularySize else {
            throw GenerationError.invalidParameter("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's embedding has \(transformer.configuration.vocabularySize) rows")
        }
        chatTemplate = try ChatTemplate.source(in: file).map { try ChatTemplate(source: $0) }
        (bosText, eosText) = try ChatTemplate.specialTokenTexts(in: file)
    }

    public var configuration: ModelConfiguration { transformer.configuration }

    /// The model's training context: the largest context a session may ask for.
    public var trainingContextLength: Int { configuration.contextLength }

    /// Tokenizes a prompt as llama.cpp's tools do: BOS added when the model asks for it,
    /// special-token text parsed unless `parseSpecial` is false.
    public func tokenize(_ text: String, parseSpecial: Bool = true) -> [Int] {
        tokenizer.encode(text, addSpecial: true, parseSpecial: parseSpecial)
    }
}
