import Atomics
import Foundation
import ForgeGrammar
import ForgeKernels
import ForgeModel
import ForgeTokenizer

/// Why generation ended.
public enum FinishReason: String, Sendable {
    /// An end-of-generation token or a stop string.
    case stop
    /// The token limit or the end of the context.
    case length
    /// The caller cancelled.
    case cancelled
}

/// What to generate: the limits, the sampling and an optional grammar the output must follow.
public struct GenerationParameters: Sendable {
    /// At most this many new tokens; nil runs until a stop or the end of the context.
    public var maxTokens: Int?
    public var sampling: SamplingParameters
    /// Text that ends generation; it is not included in the output.
    public var stopStrings: [String]
    /// Whether special tokens (control tokens) appear in the text.
    public var showSpecialTokens: Bool
    /// Constrains the output to the grammar's language: tokens it cannot accept are never sampled,
    /// and generation stops once the grammar is complete.
    public var grammar: Grammar?
    /// The tools offered in the prompt: calls to them in the output (in any format `ToolCallParser`
    /// reads) come back as the result's `toolCalls`. Empty: the output is only text.
    public var toolNames: [String]
    /// How many of the most likely alternatives each piece reports beside its token's
    /// log-probability; nil reports no log-probabilities.
    public var topLogprobs: Int?

    public init(
        maxTokens: Int? = nil, sampling: SamplingParameters = SamplingParameters(), stopStrings: [String] = [],
        showSpecialTokens: Bool = false, grammar: Grammar? = nil, toolNames: [String] = [], topLogprobs: Int? = nil
    ) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.showSpecialTokens = showSpecialTokens
        self.grammar = grammar
        self.toolNames = toolNames
        self.topLogprobs = topLogprobs
    }
}

/// One generated token and the text it completes (empty while a character or a possible stop
/// string is still incomplete).
public struct GeneratedPiece: Sendable {
    /// Nil for text released when generation ends without a token of its own.
    public var tokenID: Int?
    public var text: String
    /// `text` as reply content and calls to `GenerationParameters.toolNames` (text that may start
    /// a call is held until it is decided); just the text when no tools are offered.
    public var parts: [ToolCallParser.Event]
    /// Present when `GenerationParameters.topLogprobs` asks for log-probabilities.
    public var logprob: TokenLogprob?
    /// Why generation ended, on its last piece.
    public var finish: FinishReason?
}

/// The outcome of one `generate` call.
public struct GenerationResult: Sendable {
    public var promptTokens: Int
    /// Prompt tokens whose KV entries were reused from the previous call.
    public var cachedPromptTokens: Int
    /// Every token produced, including an end-of-generation token when one was sampled.
    public var outputTokens: [Int]
    public var text: String
    public var finishReason: FinishReason
    public var promptSeconds: Double
    public var generationSeconds: Double
    /// The calls to `GenerationParameters.toolNames` in `text`, in order.
    public var toolCalls: [ToolCall] = []
}

/// One conversation: a KV cache at the model's KV head count, the tokens it holds, and the
/// buffers to run the model, on the CPU or a Vulkan device. Successive calls reuse the cached prefix they share, so a chat
/// only processes each turn's new tokens. Generations run one at a time: a call waits for one
/// still running (a dropped stream's, which stops within a step) before it touches the cache.
public final class GenerationSession: @unchecked Sendable {
    public let model: LanguageModel
    /// The forward pass and its cache (one slot).
    public let evaluator: any ModelEvaluator
    /// The tokens whose keys and values are in the cache, in order.
    public private(set) var tokens: [Int] = []
    /// Guards the four properties below; signalled when a generation ends.
    private let state = NSCondition()
    /// The cancellation flag of the generation running now; nil when none runs.
    private var running: ManagedAtomic<Bool>?
    /// Streams made whose generation has not ended (it may not have started yet).
    private var pendingStreams = 0
    private var latestResult: GenerationResult?

    /// - Parameters:
    ///   - contextSize: positions the cache holds; capped by the model's training context.
    ///   - device: where the model runs (a Vulkan device: checked and uploaded here).
    public init(model: LanguageModel, contextSize: Int = 4096, threadCount: Int = 2, cacheType: KVCacheType = .f16, batchSize: Int = 512,
                device: ComputeDevice = .cpu) throws {
        self.model = model
        let context = min(contextSize, model.trainingContextLength)
        let batch = min(batchSize, context)
        evaluator = try device.makeEvaluator(weights: model.weights, contextSize: context, maxBatchSize: batch, cacheType: cacheType,
                                             threadCount: threadCount)
    }

    public var contextSize: Int { evaluator.contextSize }

    /// Forgets the conversation (after a generation still running has ended).
    public func reset() {
        state.lock()
        defer { state.unlock() }
        waitUntilIdle()
        tokens.removeAll()
    }

    /// Asks the running `generate` or `stream` (on another thread) to stop after the current
    /// step; its finish reason is then `.cancelled`. Does nothing when none is running.
    public func cancel() { state.withLock { running }?.store(true, ordering: .relaxed) }

    /// The outcome of the latest `generate` or `stream`: for a stream, its finish reason, token
    /// counts and timings. Waits for generations still running (or streams not yet started) to
    /// end, so it must not be read from inside `onPiece`.
    public var lastResult: GenerationResult? {
        state.lock()
        defer { state.unlock() }
        waitUntilIdle()
        return latestResult
    }

    /// Waits, with `state` locked, until no generation runs or is pending.
    private func waitUntilIdle() {
        while running != nil || pendingStreams > 0 { state.wait() }
    }

    /// Makes the cache hold exactly `prompt`, evaluating only what differs from what it holds,
    /// and returns how many tokens were reused. Leaves the last prompt token's logits ready.
    @discardableResult
    public func ingest(_ prompt: [Int]) throws -> Int {
        try GenerationError.check(prompt: prompt, contextSize: contextSize, vocabularySize: model.configuration.vocabularySize)
        return try ingest(prompt, stopping: { false })
    }

    /// `ingest` of a checked prompt, giving up between batches once `stopping` says so; the
    /// cache then holds the part of the prompt evaluated so far.
    private func ingest(_ prompt: [Int], stopping: () -> Bool) throws -> Int {
        let common = SequenceDecoder.reusablePrefix(cached: tokens, prompt: prompt, evaluator: evaluator)
        tokens = Array(prompt[..<common])
        var start = common
        while start < prompt.count {
            if stopping() { return common }
            let end = min(start + evaluator.maxBatchSize, prompt.count)
            try evaluate(prompt[start..<end])
            start = end
        }
        return common
    }

    /// The one forward pass: appends `batch` to the cache after `tokens`.
    private func evaluate(_ batch: ArraySlice<Int>) throws {
        try evaluator.evaluate(Batch(tokens: Array(batch), startingAt: tokens.count))
        tokens.append(contentsOf: batch)
        lastRow = batch.count - 1
    }

    /// The row of the last evaluated batch that holds the newest token's state.
    private var lastRow = 0

    /// Logits after the last ingested or generated token.
    public func currentLogits() throws -> UnsafeBufferPointer<Float> {
        try evaluator.logits(row: lastRow)
    }

    /// Feeds the prompt, then samples until an end-of-generation token, a stop string, the token
    /// limit or the end of the context. `onPiece` sees each token as it comes; returning false
    /// cancels.
    public func generate(prompt: [Int], parameters: GenerationParameters, onPiece: (GeneratedPiece) throws -> Bool = { _ in true }) throws -> GenerationResult {
        try generate(prompt: prompt, parameters: parameters, cancelled: ManagedAtomic(false), onPiece: onPiece)
    }

    /// `generate`, stopping early once `cancelled` is set (by `cancel()` or by whoever made it).
    private func generate(
        prompt: [Int], parameters: GenerationParameters, cancelled: ManagedAtomic<Bool>, onPiece: (GeneratedPiece) throws -> Bool
    ) throws -> GenerationResult {
        var decoder = try SequenceDecoder(tokenizer: model.tokenizer, parameters: parameters, prompt: prompt, contextSize: contextSize)
        state.lock()
        while running != nil { state.wait() }
        running = cancelled
        state.unlock()
        defer {
            state.lock()
            running = nil
            state.broadcast()
            state.unlock()
        }
        let clock = ContinuousClock()
        let promptStart = clock.now
        let reused = try ingest(prompt, stopping: { cancelled.load(ordering: .relaxed) })
        let promptSeconds = (clock.now - promptStart).inSeconds

        let generationStart = clock.now
        while !decoder.isFinished {
            if cancelled.load(ordering: .relaxed) { break }
            let piece = decoder.step(logits: try currentLogits(), history: tokens)
            guard try onPiece(piece) else { break }
            if let token = piece.tokenID, !decoder.isFinished { try evaluate([token]) }
        }
        if let tail = decoder.end(.cancelled) { _ = try onPiece(tail) }
        let result = decoder.result(
            cachedPromptTokens: reused, promptSeconds: promptSeconds, generationSeconds: (clock.now - generationStart).inSeconds)
        state.withLock { latestResult = result }
        return result
    }

    /// Streams the pieces of `generate` as they come, on a thread of its own, at most
    /// `GenerationStream.bufferedPieces` ahead of the consumer. Cancelling the consuming task or
    /// dropping the stream stops generation within one step (even before it started);
    /// `lastResult` then gives the finish reason.
    public func stream(prompt: [Int], parameters: GenerationParameters) -> GenerationStream {
        let credits = Permits(GenerationStream.bufferedPieces)
        let pieces = AsyncThrowingStream<GeneratedPiece, Error> { continuation in
            let cancelled = ManagedAtomic(false)
            state.withLock { pendingStreams += 1 }
            let thread = GenerationThread {
                defer {
                    self.state.lock()
                    self.pendingStreams -= 1
                    self.state.broadcast()
                    self.state.unlock()
                }
                do {
                    _ = try self.generate(prompt: prompt, parameters: parameters, cancelled: cancelled) { piece in
                        // A dropped stream sets `cancelled` before its one signal, so no wait outlives it.
                        if cancelled.load(ordering: .relaxed) { return false }
                        credits.wait()
                        if case .terminated = continuation.yield(piece) { return false }
                        return true
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { termination in
                if case .cancelled = termination { cancelled.store(true, ordering: .relaxed) }
                credits.grant()
            }
            thread.start()
        }
        return GenerationStream(pieces: pieces, credits: credits)
    }
}

/// The pieces of one streamed generation. Generation waits while the consumer has
/// `bufferedPieces` pieces not yet read, so a slow or departed consumer never lets it run on
/// unseen to the token limit.
public struct GenerationStream: AsyncSequence, Sendable {
    public typealias Element = GeneratedPiece
    public static let bufferedPieces = 8

    let pieces: AsyncThrowingStream<GeneratedPiece, Error>
    let credits: Permits

    public func makeAsyncIterator() -> Iterator {
        Iterator(pieces: pieces.makeAsyncIterator(), credits: credits)
    }

    public struct Iterator: AsyncIteratorProtocol {
        var pieces: AsyncThrowingStream<GeneratedPiece, Error>.AsyncIterator
        let credits: Permits

        public mutating func next() async throws -> GeneratedPiece? {
            let piece = try await pieces.next()
            if piece != nil { credits.grant() }
            return piece
        }
    }
}
