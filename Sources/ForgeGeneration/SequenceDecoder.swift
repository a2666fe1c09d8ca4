import ForgeGrammar
import ForgeModel
import ForgeTokenizer

/// One sequence's generation around the forward pass, shared by `GenerationSession` and the
/// server's batched engine: prompt-prefix reuse, sampling under the grammar, log-probabilities,
/// incremental detokenization, stop strings, tool-call parsing, the token and context limits and
/// the finish reason. The caller owns the model, the cache and the order of evaluation: it feeds
/// `step` the logits after the sequence's newest token and evaluates the token `step` returns.
public struct SequenceDecoder: Sendable {
    public let parameters: GenerationParameters
    public let promptTokens: Int
    /// Positions the sequence may fill; generation ends (`.length`) when its cache is full.
    public let contextSize: Int
    /// Every token sampled so far, including an end-of-generation token.
    public private(set) var output: [Int] = []
    /// The visible text so far (stop strings and held-back text excluded).
    public private(set) var text = ""
    /// The calls to `parameters.toolNames` found in `text` so far.
    public private(set) var toolCalls: [ToolCall] = []
    /// Why generation ended; nil while it goes on.
    public private(set) var finishReason: FinishReason?
    private let tokenizer: Tokenizer
    private var sampler: Sampler
    private var decoder: StreamingDecoder
    private var stops: StopStringMatcher
    private var toolParser: ToolCallParser?
    private let constraint: GrammarConstraint?

    /// Checks the prompt and the parameters a user may send before anything runs. A token limit
    /// of 0 ends generation (`.length`) before the first step.
    public init(tokenizer: Tokenizer, parameters: GenerationParameters, prompt: [Int], contextSize: Int) throws {
        try GenerationError.check(prompt: prompt, contextSize: contextSize, vocabularySize: tokenizer.vocabularySize)
        try parameters.sampling.validate()
        if let maxTokens = parameters.maxTokens, maxTokens < 0 {
            throw GenerationError.invalidParameter("the token limit must be 0 or more, is \(maxTokens)")
        }
        if let top = parameters.topLogprobs, top < 0 {
            throw GenerationError.invalidParameter("the number of top log-probabilities must be 0 or more, is \(top)")
        }
        self.parameters = parameters
        self.tokenizer = tokenizer
        promptTokens = prompt.count
        self.contextSize = contextSize
        sampler = Sampler(parameters: parameters.sampling)
        decoder = StreamingDecoder(tokenizer: tokenizer, showSpecial: parameters.showSpecialTokens)
        stops = StopStringMatcher(stopStrings: parameters.stopStrings)
        toolParser = parameters.toolNames.isEmpty ? nil : ToolCallParser(toolNames: parameters.toolNames)
        constraint = parameters.grammar.map { GrammarConstraint(grammar: $0, vocabulary: tokenizer.grammarVocabulary) }
        if reachedLimit { finishReason = .length }
    }

    /// How many of the tokens a cache holds (`cached`) a new sequence starting with `prompt` keeps.
    /// The last prompt token is always evaluated again, so its logits are fresh.
    public static func reusablePrefix(cached: [Int], prompt: [Int], evaluator: any ModelEvaluator) -> Int {
        let common = evaluator.reusablePrefix(common: zip(cached, prompt).prefix { $0 == $1 }.count, written: cached.count)
        return min(common, prompt.count - 1)
    }

    public var isFinished: Bool { finishReason != nil }

    private var reachedLimit: Bool { output.count >= (parameters.maxTokens ?? Int.max) }

    /// Samples the next token from `logits` (the model's output after `history`, the tokens in
    /// the sequence's cache) and says what it adds. When the piece's `finish` is nil the caller
    /// evaluates its token and calls `step` again; once it is set, the sequence is over.
    public mutating func step(logits: UnsafeBufferPointer<Float>, history: [Int]) -> GeneratedPiece {
        let token = sampler.sample(logits: logits, history: history, constraint: constraint)
        let logprob = parameters.topLogprobs.map { TokenLogprob(logits: logits, chosen: token, top: $0) }
        output.append(token)
        var visible: String
        if tokenizer.isEndOfGeneration(token) {
            visible = stops.finish()
            finishReason = .stop
        } else {
            constraint?.accept(token)
            let stopped: Bool
            (visible, stopped) = stops.feed(decoder.append(token))
            if stopped {
                finishReason = .stop
            } else if constraint?.isComplete == true {
                visible += stops.finish(decoder.flush())
                finishReason = .stop
            } else if reachedLimit || history.count >= contextSize {
                visible += stops.finish(decoder.flush())
                finishReason = .length
            }
        }
        return piece(token: token, text: visible, logprob: logprob)
    }

    /// Ends generation for a reason from outside the sequence (cancellation, a deadline, a
    /// server draining). Text held back for an incomplete character or a possible stop string is
    /// released, as when generation reaches its limit: no stop string was completed, so it is
    /// part of the output. Returns that text as a last piece, nil when there is nothing to add or
    /// generation had already ended.
    public mutating func end(_ reason: FinishReason) -> GeneratedPiece? {
        guard finishReason == nil else { return nil }
        finishReason = reason
        let last = piece(token: nil, text: stops.finish(decoder.flush()), logprob: nil)
        return last.text.isEmpty && last.parts.isEmpty ? nil : last
    }

    /// The piece for newly visible text, split into content and tool calls; the tool-call parser
    /// releases what it holds once generation has ended.
    private mutating func piece(token: Int?, text visible: String, logprob: TokenLogprob?) -> GeneratedPiece {
        text += visible
        var parts: [ToolCallParser.Event]
        if toolParser != nil {
            parts = toolParser?.feed(visible) ?? []
            if finishReason != nil { parts += toolParser?.finish() ?? [] }
            for case .call(let call) in parts { toolCalls.append(call) }
        } else {
            parts = visible.isEmpty ? [] : [.content(visible)]
        }
        return GeneratedPiece(tokenID: token, text: visible, parts: parts, logprob: logprob, finish: finishReason)
    }

    /// The outcome once generation has ended (`.length` if asked earlier).
    public func result(cachedPromptTokens: Int, promptSeconds: Double, generationSeconds: Double) -> GenerationResult {
        GenerationResult(
            promptTokens: promptTokens, cachedPromptTokens: cachedPromptTokens, outputTokens: output, text: text,
            finishReason: finishReason ?? .length, promptSeconds: promptSeconds, generationSeconds: generationSeconds,
            toolCalls: toolCalls)
    }
}

/// The log-probability of a sampled token and of the most likely tokens at its position, from
/// the model's raw logits (before penalties, bias and temperature), as OpenAI reports them.
public struct TokenLogprob: Sendable, Equatable {
    public struct Candidate: Sendable, Equatable {
        public var id: Int
        public var logprob: Double
    }

    public var chosen: Candidate
    /// The `top` most likely tokens, best first (ties to the lower id).
    public var top: [Candidate]

    public init(logits: UnsafeBufferPointer<Float>, chosen: Int, top: Int) {
        let normalizer = LogSoftmax(logits)
        self.chosen = Candidate(id: chosen, logprob: normalizer.logProbability(logits[chosen]))
        self.top = Sampler.best(top, of: logits).map { Candidate(id: $0, logprob: normalizer.logProbability(logits[$0])) }
    }
}
