import Foundation
import ForgeGrammar
import ForgeTokenizer

extension Tokenizer {
    /// The vocabulary as grammar-constrained sampling sees it: each token's text bytes, control
    /// and unknown tokens excluded, end-of-generation tokens apart. Built on first use (a trie of
    /// every token) and kept for the tokenizer's lifetime, shared by all its requests.
    public var grammarVocabulary: TokenVocabulary { GrammarVocabularies.shared.vocabulary(for: self) }
}

private final class GrammarVocabularies: @unchecked Sendable {
    static let shared = GrammarVocabularies()

    private struct Entry {
        weak var tokenizer: Tokenizer?
        let vocabulary: TokenVocabulary
    }

    private let lock = NSLock()
    private var entries: [ObjectIdentifier: Entry] = [:]

    func vocabulary(for tokenizer: Tokenizer) -> TokenVocabulary {
        lock.withLock {
            let key = ObjectIdentifier(tokenizer)
            if let entry = entries[key], entry.tokenizer === tokenizer { return entry.vocabulary }
            entries = entries.filter { $0.value.tokenizer != nil }
            let hidden = { (id: Int) in tokenizer.isControl(id) || id == tokenizer.unknownTokenID }
            let bytes = (0..<tokenizer.vocabularySize).map { hidden($0) ? nil : tokenizer.tokenBytes($0) }
            let vocabulary = TokenVocabulary(tokenBytes: bytes, endOfGeneration: tokenizer.endOfGenerationTokenIDs)
            entries[key] = Entry(tokenizer: tokenizer, vocabulary: vocabulary)
            return vocabulary
        }
    }
}
