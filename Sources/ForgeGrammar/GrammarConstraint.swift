import Foundation

/// Which tokens of a vocabulary may come next: one bit per token id.
public struct TokenMask: Sendable {
    public let count: Int
    /// Token t is allowed when bit t % 64 of `words[t / 64]` is set.
    public let words: [UInt64]

    init(count: Int, words: [UInt64]) {
        self.count = count
        self.words = words
    }

    public func contains(_ token: Int) -> Bool {
        token >= 0 && token < count && words[token >> 6] & (1 << UInt64(token & 63)) != 0
    }

    public var allowedCount: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// Sets the logit of every token not in the mask to -infinity.
    public func apply(to logits: UnsafeMutableBufferPointer<Float>) {
        words.withUnsafeBufferPointer { words in
            for token in 0..<min(count, logits.count) where words[token >> 6] & (1 << UInt64(token & 63)) == 0 {
                logits[token] = -.infinity
            }
        }
    }
}

/// Grammar-constrained sampling for one sequence: the tokens allowed next over the whole
/// vocabulary, and the matcher advanced by each chosen token. End-of-generation tokens are allowed
/// exactly where the grammar can end (and alone once it is complete); tokens the vocabulary
/// excludes (control tokens) never are. Masks are cached per matcher state, so a state met again
/// (the inside of a string, say) costs a lookup. Not for concurrent use; `copy()` makes an
/// independent constraint that shares the caches.
public final class GrammarConstraint: @unchecked Sendable {
    public let vocabulary: TokenVocabulary
    private var matcher: GrammarMatcher
    private let masks: MaskCache

    public init(grammar: Grammar, vocabulary: TokenVocabulary) {
        self.vocabulary = vocabulary
        matcher = GrammarMatcher(grammar: grammar)
        masks = MaskCache()
    }

    private init(copying other: GrammarConstraint) {
        vocabulary = other.vocabulary
        matcher = other.matcher
        masks = other.masks
    }

    public func copy() -> GrammarConstraint { GrammarConstraint(copying: self) }

    /// Whether `token` may come next (cheaper than `allowedTokens()` for one token).
    public func allows(_ token: Int) -> Bool {
        if vocabulary.isEndOfGeneration(token) { return matcher.canEnd }
        guard let bytes = vocabulary.bytes(of: token) else { return false }
        return matcher.accepts(bytes)
    }

    /// Every token that may come next. When the grammar needs a byte no token provides, the
    /// end-of-generation tokens are allowed instead, so generation ends rather than break it.
    public func allowedTokens() -> TokenMask {
        let state = matcher.state
        if let words = masks.lookup(state, tier: nil) { return TokenMask(count: vocabulary.count, words: words) }
        let automaton = matcher.automaton
        let wordCount = (vocabulary.count + 63) / 64
        var words = [UInt64](repeating: 0, count: wordCount)
        for (tier, (trie, lookahead)) in vocabulary.tiers.enumerated() {
            // Each tier through the state standing in for this one as far as its tokens reach.
            let standIn = automaton.lookaheadEquivalent(state, lookahead: lookahead)
            let part = masks.lookup(standIn, tier: tier) ?? {
                var part = [UInt64](repeating: 0, count: wordCount)
                part.withUnsafeMutableBufferPointer { automaton.collectAcceptedTokens(from: standIn, trie: trie, into: $0.baseAddress!) }
                masks.store(part, for: standIn, tier: tier)
                return part
            }()
            for index in 0..<wordCount { words[index] |= part[index] }
        }
        if matcher.canEnd || words.allSatisfy({ $0 == 0 }) {
            for token in vocabulary.endOfGeneration { words[token >> 6] |= 1 << UInt64(token & 63) }
        }
        masks.store(words, for: state, tier: nil)
        return TokenMask(count: vocabulary.count, words: words)
    }

    /// Advances past `token`; returns false (and stays) if the grammar does not allow it here.
    @discardableResult
    public func accept(_ token: Int) -> Bool {
        if vocabulary.isEndOfGeneration(token) { return matcher.canEnd }
        guard let bytes = vocabulary.bytes(of: token) else { return false }
        return matcher.advance(bytes)
    }

    /// Whether the text so far is a complete sentence of the grammar.
    public var canEnd: Bool { matcher.canEnd }

    /// Complete and nothing may follow: only an end-of-generation token is allowed.
    public var isComplete: Bool { matcher.isComplete }

    /// Back to the start of the grammar, keeping the caches.
    public func reset() { matcher.reset() }
}

/// Token masks by matcher state, whole (tier nil) or of one tier of the vocabulary; bounded, as
/// a 150,000-token mask is 19 KB.
private final class MaskCache: @unchecked Sendable {
    private static let capacity = 128
    private let lock = NSLock()
    private var masks: [Int: [Int32: [UInt64]]] = [:]

    func lookup(_ state: Int32, tier: Int?) -> [UInt64]? {
        lock.withLock { masks[tier ?? -1]?[state] }
    }

    func store(_ words: [UInt64], for state: Int32, tier: Int?) {
        lock.withLock {
            if masks[tier ?? -1, default: [:]].count >= MaskCache.capacity { masks[tier ?? -1] = [:] }
            masks[tier ?? -1, default: [:]][state] = words
        }
    }
}
