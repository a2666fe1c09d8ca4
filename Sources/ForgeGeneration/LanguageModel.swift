import ForgeGGUF
import ForgeJinja
import ForgeModel
import ForgeTokenizer

/// A model ready to use: its weights (memory-mapped), tokenizer and chat template.
/// Immutable and shareable; each conversation runs in its own `GenerationSession`.
public final class LanguageModel: Sendable {
    public let path: String
    public let file: GGUFFile
    public let weights: ModelWeights
    public let tokenizer: Tokenizer
    /// The model's chat template, or nil when the file has none (callers may pick a built-in).
    public let chatTemplate: ChatTemplate?
    public let bosText: String
    public let eosText: String

    public init(path: String) throws {
        self.path = path
        file = try GGUFFile(path: path)
        weights = try ModelWeights(gguf: file)
        tokenizer = try Tokenizer(gguf: file)
        guard tokenizer.vocabularySize == weights.configuration.vocabularySize else {
            throw GenerationError.invalidParameter("the tokenizer has \(tokenizer.vocabularySize) tokens but the model's embedding has \(weights.configuration.vocabularySize) rows")
        }
        chatTemplate = try ChatTemplate.source(in: file).map { try ChatTemplate(source: $0) }
        (bosText, eosText) = try ChatTemplate.specialTokenTexts(in: file)
    }

    public var configuration: ModelConfiguration { weights.configuration }

    /// The model's training context: the largest context a session may ask for.
    public var trainingContextLength: Int { configuration.contextLength }

    /// Tokenizes a prompt as llama.cpp's tools do: BOS added when the model asks for it,
    /// special-token text parsed unless `parseSpecial` is false.
    public func tokenize(_ text: String, parseSpecial: Bool = true) -> [Int] {
        tokenizer.encode(text, addSpecial: true, parseSpecial: parseSpecial)
    }

    /// A conversation as the prompt text to tokenize, the one way the CLI and the server render
    /// it: `template` with this model's BOS and EOS texts, then the BOS (EOS) text the template
    /// wrote first (last) dropped when the tokenizer adds that token itself, as llama.cpp does.
    public func renderConversation(_ template: ChatTemplate, messages: JinjaValue, tools: JinjaValue? = nil,
                                   addGenerationPrompt: Bool = true) throws -> String {
        let rendered = try template.render(messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt,
                                           bosToken: bosText, eosToken: eosText)
        return ChatTemplate.trimmingSpecialTokensTheTokenizerAdds(rendered, bosToken: bosText, eosToken: eosText,
                                                                  addsBOS: tokenizer.addBOS, addsEOS: tokenizer.addEOS)
    }

    /// The token ids of a conversation: `renderConversation`, then `tokenize` with special tokens parsed.
    public func conversationTokens(_ template: ChatTemplate, messages: JinjaValue, tools: JinjaValue? = nil,
                                   addGenerationPrompt: Bool = true) throws -> [Int] {
        tokenize(try renderConversation(template, messages: messages, tools: tools, addGenerationPrompt: addGenerationPrompt))
    }
}
