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
}

enum EngineEvent: Sendable {
    case piece(GeneratedPiece)
    case finished(GenerationResult)
    case failed(APIError)
}

/// The counters `/metrics` shows.
struct EngineMetrics: Sendable {
    var requestsTotal = 0
    var promptTokensTotal = 0
    var generatedTokensTotal = 0
    /// Prompt tokens taken from a slot's cache instead of evaluated, and the requests that did so.
    var cachedPromptTokensTotal = 0
    var promptCacheHitsTotal = 0
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
    var decoder: SequenceDecoder
    var pendingPrompt: ArraySlice<Int> = []
    var nextToken: Int?
    var cachedTokens = 0
    var started = ContinuousClock.now
    var promptDone: ContinuousClock.Instant?

    init(request: EngineRequest, decoder: SequenceDecoder, continuation: AsyncStream<EngineEvent>.Continuation, deadline: ContinuousClock.Instant?) {
        self.request = request
        self.decoder = decoder
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
        let decoder: SequenceDecoder
        do {
            decoder = try SequenceDecoder(tokenizer: model.tokenizer, parameters: request.parameters, prompt: request.prompt,
                                          contextSize: slotContextSize)
        } catch let error as GenerationError {
            throw APIError(error)
        }
        let (events, continuation) = AsyncStream.makeStream(of: EngineEvent.self, bufferingPolicy: .unbounded)
        let deadline = timeout.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
        let job = EngineJob(request: request, decoder: decoder, continuation: continuation, deadline: deadline)
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
            // Counted busy before they are admitted, so busy + queued never reads 0 while the engine holds a request.
            metrics.busySlots += newJobs.count
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
        var common = -1
        for index in slots.indices where slots[index].job == nil {
            let reusable = SequenceDecoder.reusablePrefix(cached: slots[index].tokens, prompt: prompt, evaluator: evaluator)
            if reusable > common || (reusable == common && slots[index].lastUsed < slots[best ?? index].lastUsed) {
                best = index
                common = reusable
            }
        }
        guard let index = best else { return }
        slots[index].tokens.removeLast(slots[index].tokens.count - common)
        slots[index].job = job
        job.cachedTokens = common
        job.pendingPrompt = prompt[common...]
        job.started = .now
        if job.decoder.isFinished { finish(slot: index) }
    }

    /// Frees the slots of cancelled requests, and ends those past their deadline or (when
    /// draining) every active one.
    private func endFinishedJobs(draining: Bool) {
        let now = ContinuousClock.now
        for index in slots.indices {
            guard let job = slots[index].job else { continue }
            if job.isCancelled {
                finish(slot: index, endingFor: .cancelled)
            } else if draining || (job.deadline.map { now >= $0 } ?? false) {
                finish(slot: index, endingFor: .length)
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
        let piece = job.decoder.step(logits: logits, history: slots[index].tokens)
        job.continuation.yield(.piece(piece))
        job.nextToken = piece.finish == nil ? piece.tokenID : nil
        if piece.finish != nil { finish(slot: index) }
    }

    /// Frees a slot and reports its request's result; `reason` ends a request still generating.
    private func finish(slot index: Int, endingFor reason: FinishReason? = nil) {
        guard let job = slots[index].job else { return }
        slots[index].job = nil
        if let reason, let tail = job.decoder.end(reason) { job.continuation.yield(.piece(tail)) }
        let now = ContinuousClock.now
        let promptDone = job.promptDone ?? now
        job.continuation.yield(.finished(job.decoder.result(
            cachedPromptTokens: job.cachedTokens, promptSeconds: (promptDone - job.started).inSeconds,
            generationSeconds: (now - promptDone).inSeconds)))
        job.continuation.finish()
        condition.lock()
        metrics.requestsTotal += 1
        metrics.cachedPromptTokensTotal += job.cachedTokens
        if job.cachedTokens > 0 { metrics.promptCacheHitsTotal += 1 }
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
}
