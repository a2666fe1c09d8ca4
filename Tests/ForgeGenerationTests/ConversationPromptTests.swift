import ForgeGeneration
import ForgeJinja
import ForgeTokenizer
import Testing

/// The one way a conversation becomes a prompt, for `forge generate --chat`, `forge chat` and the
/// server alike.
struct ConversationPromptTests {
    static let messages: JinjaValue = [["role": "user", "content": "hi"]]

    /// A template that writes `{{ bos_token }}` itself (Llama 3's) and a tokenizer that adds BOS:
    /// the prompt starts with exactly one BOS.
    @Test func aTemplateWrittenBOSIsNotDoubled() throws {
        let tiny = try TinyLanguageModel(contextLength: 64)
        let model = tiny.model
        let bos = try #require(model.tokenizer.bosTokenID)
        #expect(model.tokenizer.addBOS)
        let template = try ChatTemplate(builtIn: "llama3")
        let rendered = try template.render(messages: Self.messages, bosToken: model.bosText, eosToken: model.eosText)
        #expect(rendered.hasPrefix(model.bosText), "the template writes BOS itself")
        let ids = try model.conversationTokens(template, messages: Self.messages)
        #expect(ids.first == bos)
        #expect(ids.dropFirst().first != bos, "one BOS, not two: \(ids.prefix(4))")
        #expect(ids.filter { $0 == bos }.count == 1, "BOS appears once in the whole prompt")
    }

    /// A template that writes no BOS gets the tokenizer's, once.
    @Test func aTemplateWithoutBOSGetsTheTokenizers() throws {
        let tiny = try TinyLanguageModel(contextLength: 64)
        let ids = try tiny.model.conversationTokens(try ChatTemplate(builtIn: "chatml"), messages: Self.messages)
        #expect(ids.first == tiny.model.tokenizer.bosTokenID)
        #expect(ids.filter { $0 == tiny.model.tokenizer.bosTokenID }.count == 1)
    }
}
