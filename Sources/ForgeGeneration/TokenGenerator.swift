import ForgeGrammar
import ForgeTokenizer

/// The per-sequence half of generation, shared by `GenerationSession` and the server's batched
/// engine: sampling, the grammar constraint, incremental detokenization, stop strings, the token
/// limit. The caller owns the model, the cache and the order of evaluation.
public struct TokenGenerator: Sendable {
    public let parameters: GenerationParameters
    /// Every token appended so far, including an end-of-generation token.
    public private(set) var output: [Int] = []
    /// The visible text so far (stop strings and held-back text excluded).
    public private(set) var text = ""
    private let tokenizer: Tokenizer
    private var sampler: Sampler
    private var decoder: StreamingDecoder
    private var stops: StopStringMatcher
    /// Present when the parameters carry a grammar; advanced by every appended token.
    public let constraint: GrammarConstraint?

    /// Checks the parameters a user may send before anything runs.
    public init(tokenizer: Tokenizer, parameters: GenerationParameters) throws {
        try parameters.sampling.validate()
        if let maxTokens = parameters.maxTokens, maxTokens < 0 {
            throw GenerationError.invalidParameter("the token limit must be 0 or more, is \(maxTokens)")
        }
        self.parameters = parameters
        self.tokenizer = tokenizer
        sampler = Sampler(parameters: parameters.sampling)
        decoder = StreamingDecoder(tokenizer: tokenizer, showSpecial: parameters.showSpecialTokens)
        stops = StopStringMatcher(stopStrings: parameters.stopStrings)
        constraint = parameters.grammar.map { GrammarConstraint(grammar: $0, vocabulary: tokenizer.grammarVocabulary) }
    }

    /// True once the token limit is reached: no more tokens may be sampled.
    public var reachedLimit: Bool { output.count >= (parameters.maxTokens ?? Int.max) }

    /// Chooses the next token; `history` is the sequence in the cache (for the penalties).
    public mutating func sample(logits: UnsafeBufferPointer<Float>, history: [Int]) -> Int {
        sampler.sample(logits: logits, history: history, constraint: constraint)
    }

    /// Adds a sampled token. Returns the text it makes visible and whether generation stopped by
    /// itself (an end-of-generation token, a completed stop string, or a grammar that is complete
    /// and admits nothing more).
    public mutating func append(_ token: Int) -> (text: String, stopped: Bool) {
        output.append(token)
        if tokenizer.isEndOfGeneration(token) {
            let tail = stops.finish()
            text += tail
            return (tail, true)
        }
        constraint?.accept(token)
        var (visible, stopped) = stops.feed(decoder.append(token))
        if !stopped, constraint?.isComplete == true {
            visible += stops.finish(decoder.flush())
            stopped = true
        }
        text += visible
        return (visible, stopped)
    }

    /// Ends generation that did not stop by itself (limit, context, cancellation): returns the
    /// text held back for an incomplete character or a possible stop string.
    public mutating func flush() -> String {
        let tail = stops.finish(decoder.flush())
        text += tail
        return tail
    }
}
