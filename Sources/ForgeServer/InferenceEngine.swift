import Atomics
import Foundation
import ForgeGeneration
import ForgeKernels
import ForgeModel

/// What one request asks of the engine. The prompt is checked (`InferenceEngine.submit`)
/// before it waits for a slot.
struct EngineRequest: Sendable {
    var prompt: [Int]
    var parameters: GenerationParameters
    /// Alternatives to report with each token's log-probability; nil reports none.
    var topLogprobs: Int?
}

/// The log-probability of a generated token and of the most likely alternatives at its position.
struct TokenLogprob: Sendable {
    struct Candidate: Sendable {
        var id: Int
        var logprob: Double
    }
    var chosen: Candidate
    var top: [Candidate]
}

/// Why and how a request ended, with its token counts.
struct CompletionSummary: Sendable {
    var finishReason: FinishReason
    var promptTokens: Int
    var cachedTokens: Int
    var completionTokens: Int
    var promptSeconds: Double
    var generationSeconds: Double
}

enum EngineEvent: Sendable {
    /// A generated token (id -1 for text released at the end without a token of its own).
    case token(id: Int, text: String, logprob: TokenLogprob?)
    case finished(CompletionSummary)
    case failed(APIError)
}

/// The counters `/metrics` shows.
struct EngineMetrics: Sendable {
    var requestsTotal = 0
    var promptTokensTotal = 0
    var generatedTokensTotal = 0
    /// Wall time of the forward passes that carried decode tokens.
    var decodeSeconds = 0.0
    var busySlots = 0
    var queueLength = 0
    var slotCount = 0
}

/// One request in the engine: its event channel, its cancellation flag, and (on the engine
/// thread only) its progress.
final class EngineJob: @unchecked Sendable {
    let request: EngineRequest
    let continuation: AsyncStream<EngineEvent>.Continuation
    let deadline: ContinuousClock.Instant?
    private let cancelled = ManagedAtomic<Bool>(false)

    // Engine thread only.
    var generator: TokenGenerator
    var pendingPrompt: ArraySlice<Int> = []
    var nextToken: Int?
    var cachedTokens = 0
    var started = ContinuousClock.now
    var promptDone: ContinuousClock.Instant?

    init(request: EngineRequest, generator: TokenGenerator, continuation: AsyncStream<EngineEvent>.Continuation, deadline: ContinuousClock.Instant?) {
        self.request = request
        self.generator = generator
        self.continuation = continuation
        self.deadline = deadline
    }

    func cancel() { cancelled.store(true, ordering: .relaxed) }
    var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}

/// The handle a request's HTTP handler holds: the engine's events, and a way to give up.
struct EngineStream: Sendable {
    let events: AsyncStream<EngineEvent>
    let job: EngineJob

    func cancel() { job.cancel() }
}

/// Continuous batching over the slots of one KV cache: one evaluator and its cache, driven by a
/// dedicated thread. Each step is one forward pass holding the next token of every decoding slot
/// plus prompt chunks of newly admitted requests; requests beyond the slots wait in a bounded
/// queue, and a finished or cancelled request leaves its slot at the next step. A slot keeps the
/// tokens it holds after its request ends, so a later prompt sharing a prefix reuses them.
final class InferenceEngine: @unchecked Sendable {
    let model: LanguageModel
    let slotContextSize: Int
    let slotCount: Int
    let queueCapacity: Int
    private let timeout: Double?
    private let beforeEachStep: (@Sendable () -> Void)?
    private let evaluator: any ModelEvaluator

    private let condition = NSCondition()
    // Guarded by `condition`.
    private var waiting: [EngineJob] = []
    private var accepting = true
    private var stopping = false
    private var stopped = false
    private var metrics = EngineMetrics()

    // Engine thread only.
    private struct Slot {
        var tokens: [Int] = []
        var job: EngineJob?
        var lastUsed = 0
    }
    private var slots: [Slot]
    private var stepCounter = 0
    /// The rows of the step being built, kept from step to step so a step allocates nothing.
    private var stepTokens: [Int] = [], stepPositions: [Int] = [], stepSlots: [Int] = []
    private var decodeSlots: [Int] = []
    /// The prompt tokens each slot has in the step, and the row of its last one.
    private var promptChunks: [(slot: Int, count: Int, lastRow: Int)] = []

    init(model: LanguageModel, configuration: ServerConfiguration) throws {
        self.model = model
        slotCount = configuration.parallel
        slotContextSize = min(configuration.contextSize / configuration.parallel, model.trainingContextLength)
        queueCapacity = configuration.resolvedQueueCapacity
        timeout = configuration.timeout
        beforeEachStep = configuration.beforeEachStep
        let batch = max(slotCount, min(configuration.batchSize, slotCount * slotContextSize))
        evaluator = try configuration.device.makeEvaluator(weights: model.weights, contextSize: slotContextSize, slotCount: slotCount,
                                                           maxBatchSize: batch, maxLogitRows: slotCount, cacheType: configuration.cacheType,
                                                           threadCount: configuration.threadCount)
        slots = Array(repeating: Slot(), count: slotCount)
        metrics.slotCount = slotCount
    }

    func start() {
        GenerationThread { [self] in run() }.start()
    }

    /// Checks a request and queues it; throws 400 for a prompt that cannot run and 503 when the
    /// queue is full or the server is shutting down.
    func submit(_ request: EngineRequest) throws -> EngineStream {
        let generator: TokenGenerator
        do {
            try GenerationError.check(prompt: request.prompt, contextSize: slotContextSize, vocabularySize: model.configuration.vocabularySize)
            generator = try TokenGenerator(tokenizer: model.tokenizer, parameters: request.parameters)
        } catch let error as GenerationError {
            throw APIError(error)
        }
        let (events, continuation) = AsyncStream.makeStream(of: EngineEvent.self, bufferingPolicy: .unbounded)
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let job = EngineJob(request: request, generator: generator, continuation: continuation, deadline: deadline)
        continuation.onTermination = { [weak self] _ in
            job.cancel()
            self?.wake()
        }
        condition.lock()
        defer { condition.unlock() }
        guard accepting else { throw APIError.unavailable("the server is shutting down") }
        guard waiting.count < queueCapacity || freeSlotExistsLocked else {
            throw APIError.unavailable("the server is busy: \(waiting.count) requests are waiting for a slot")
        }
        waiting.append(job)
        metrics.queueLength = waiting.count
        condition.signal()
        return EngineStream(events: events, job: job)
    }

    /// Stops taking requests and ends the ones in progress at the next step (finish reason
    /// `length`, so their streams close cleanly); waiting requests get 503.
    func drain() {
        condition.lock()
        accepting = false
        stopping = true
        condition.signal()
        condition.unlock()
    }

    /// Drains, then ends the engine thread once it is idle.
    func stop() {
        condition.lock()
        accepting = false
        stopping = true
        stopped = true
        condition.signal()
        condition.unlock()
    }

    var snapshot: EngineMetrics {
        condition.lock()
        defer { condition.unlock() }
        return metrics
    }

    private func wake() {
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// Busy slots counted under the lock (the engine thread publishes them in `metrics`).
    private var freeSlotExistsLocked: Bool { metrics.busySlots + waiting.count < slotCount }

    // MARK: - Engine thread

    private func run() {
        while true {
            condition.lock()
            while waiting.isEmpty && !slots.contains(where: { $0.job != nil }) && !stopped {
                condition.wait()
            }
            if stopped && waiting.isEmpty && !slots.contains(where: { $0.job != nil }) {
                condition.unlock()
                return
            }
            let draining = stopping
            var newJobs: [EngineJob] = []
            if draining {
                for job in waiting { job.continuation.yield(.failed(.unavailable("the server is shutting down"))); job.continuation.finish() }
                waiting.removeAll()
            } else {
                let free = slots.filter { $0.job == nil }.count
                newJobs = Array(waiting.prefix(free))
                waiting.removeFirst(newJobs.count)
            }
            metrics.queueLength = waiting.count
            condition.unlock()

            for job in newJobs { admit(job) }
            if !newJobs.isEmpty { publishBusySlots() }
            endFinishedJobs(draining: draining)
            beforeEachStep?()
            step()
            publishBusySlots()
        }
    }

    /// Puts a job in the free slot whose cached tokens share the longest prefix with its prompt,
    /// or else the least recently used one.
    private func admit(_ job: EngineJob) {
        let prompt = job.request.prompt
        var best: Int?
        var bestCommon = -1
        for index in slots.indices where slots[index].job == nil {
            let common = evaluator.reusablePrefix(common: zip(slots[index].tokens, prompt).prefix { $0 == $1 }.count,
                                                  written: slots[index].tokens.count)
            if common > bestCommon || (common == bestCommon && slots[index].lastUsed < slots[best ?? index].lastUsed) {
                best = index
                bestCommon = common
            }
        }
        guard let index = best else { return }
        // The last prompt token is always evaluated again, so its logits are fresh.
        let common = min(bestCommon, prompt.count - 1)
        slots[index].tokens.removeLast(slots[index].tokens.count - common)
        slots[index].job = job
        job.cachedTokens = common
        job.pendingPrompt = prompt[common...]
        job.started = .now
        if job.generator.reachedLimit { finish(slot: index, reason: .length) }
    }

    /// Frees the slots of cancelled requests, and ends those past their deadline or (when
    /// draining) every active one.
    private func endFinishedJobs(draining: Bool) {
        let now = ContinuousClock.now
        for index in slots.indices {
            guard let job = slots[index].job else { continue }
            if job.isCancelled {
                finish(slot: index, reason: .cancelled)
            } else if draining || (job.deadline.map { now >= $0 } ?? false) {
                finish(slot: index, reason: .length)
            }
        }
    }

    private func step() {
        stepTokens.removeAll(keepingCapacity: true)
        stepPositions.removeAll(keepingCapacity: true)
        stepSlots.removeAll(keepingCapacity: true)
        decodeSlots.removeAll(keepingCapacity: true)
        promptChunks.removeAll(keepingCapacity: true)
        for index in slots.indices {
            guard let job = slots[index].job, let next = job.nextToken else { continue }
            stepTokens.append(next)
            stepPositions.append(slots[index].tokens.count)
            stepSlots.append(index)
            decodeSlots.append(index)
        }
        var promptTokens = 0
        for index in slots.indices {
            guard let job = slots[index].job, !job.pendingPrompt.isEmpty else { continue }
            let room = evaluator.maxBatchSize - stepTokens.count
            guard room > 0 else { break }
            let chunk = job.pendingPrompt.prefix(room)
            let start = slots[index].tokens.count
            stepTokens.append(contentsOf: chunk)
            stepPositions.append(contentsOf: start..<start + chunk.count)
            stepSlots.append(contentsOf: repeatElement(index, count: chunk.count))
            promptChunks.append((index, chunk.count, stepTokens.count - 1))
            promptTokens += chunk.count
        }
        guard !stepTokens.isEmpty else { return }

        let clock = ContinuousClock()
        let stepStart = clock.now
        do {
            try evaluator.evaluate(Batch(tokens: stepTokens, positions: stepPositions, slots: stepSlots))
        } catch {
            for index in Set(stepSlots) {
                slots[index].tokens.removeAll()
                fail(slot: index, APIError.server("the forward pass failed: \(error)"))
            }
            return
        }
        stepCounter += 1
        for (row, index) in stepSlots.enumerated() {
            slots[index].tokens.append(stepTokens[row])
            slots[index].lastUsed = stepCounter
        }
        for chunk in promptChunks {
            guard let job = slots[chunk.slot].job else { continue }
            job.pendingPrompt = job.pendingPrompt.dropFirst(chunk.count)
            if job.pendingPrompt.isEmpty { job.promptDone = .now }
        }

        var generated = 0
        do {
            if !decodeSlots.isEmpty {
                let logits = try evaluator.logits(rows: 0..<decodeSlots.count)
                let width = model.configuration.vocabularySize
                for (row, index) in decodeSlots.enumerated() {
                    sampleNext(slot: index, logits: UnsafeBufferPointer(rebasing: logits[row * width..<(row + 1) * width]))
                    generated += 1
                }
            }
            for chunk in promptChunks where slots[chunk.slot].job?.pendingPrompt.isEmpty == true {
                sampleNext(slot: chunk.slot, logits: try evaluator.logits(row: chunk.lastRow))
                generated += 1
            }
        } catch {
            for index in Set(stepSlots) { fail(slot: index, APIError.server("reading logits failed: \(error)")) }
        }
        let elapsed = clock.now - stepStart
        condition.lock()
        metrics.promptTokensTotal += promptTokens
        metrics.generatedTokensTotal += generated
        if !decodeSlots.isEmpty { metrics.decodeSeconds += elapsed.inSeconds }
        condition.unlock()
    }

    private func sampleNext(slot index: Int, logits: UnsafeBufferPointer<Float>) {
        guard let job = slots[index].job else { return }
        job.nextToken = nil
        let next = job.generator.sample(logits: logits, history: slots[index].tokens)
        let logprob = job.request.topLogprobs.map { Self.logprobs(logits, chosen: next, top: $0) }
        let (text, stopped) = job.generator.append(next)
        job.continuation.yield(.token(id: next, text: text, logprob: logprob))
        if stopped {
            finish(slot: index, reason: .stop)
        } else if job.generator.reachedLimit || slots[index].tokens.count >= slotContextSize {
            finish(slot: index, reason: .length)
        } else {
            job.nextToken = next
        }
    }

    private func finish(slot index: Int, reason: FinishReason) {
        guard let job = slots[index].job else { return }
        slots[index].job = nil
        if reason != .stop && reason != .cancelled {
            let tail = job.generator.flush()
            if !tail.isEmpty { job.continuation.yield(.token(id: -1, text: tail, logprob: nil)) }
        }
        let now = ContinuousClock.now
        let promptDone = job.promptDone ?? now
        job.continuation.yield(.finished(CompletionSummary(
            finishReason: reason, promptTokens: job.request.prompt.count, cachedTokens: job.cachedTokens,
            completionTokens: job.generator.output.count,
            promptSeconds: (promptDone - job.started).inSeconds, generationSeconds: (now - promptDone).inSeconds)))
        job.continuation.finish()
        condition.lock()
        metrics.requestsTotal += 1
        condition.unlock()
    }

    private func fail(slot index: Int, _ error: APIError) {
        guard let job = slots[index].job else { return }
        slots[index].job = nil
        job.continuation.yield(.failed(error))
        job.continuation.finish()
    }

    private func publishBusySlots() {
        let busy = slots.filter { $0.job != nil }.count
        condition.lock()
        metrics.busySlots = busy
        condition.unlock()
    }

    /// Log-softmax of the raw logits (before penalties, bias and temperature) at the chosen
    /// token, and the `top` most likely tokens, best first.
    static func logprobs(_ logits: UnsafeBufferPointer<Float>, chosen: Int, top: Int) -> TokenLogprob {
        let normalizer = LogSoftmax(logits)
        var best: [(id: Int, logit: Float)] = []
        if top > 0 {
            for (id, logit) in logits.enumerated() {
                if best.count == top, let last = best.last, !(logit > last.logit) { continue }
                var position = best.count
                while position > 0 && logit > best[position - 1].logit { position -= 1 }
                best.insert((id, logit), at: position)
                if best.count > top { best.removeLast() }
            }
        }
        return TokenLogprob(
            chosen: .init(id: chosen, logprob: normalizer.logProbability(logits[chosen])),
            top: best.map { .init(id: $0.id, logprob: normalizer.logProbability($0.logit)) })
    }
}
