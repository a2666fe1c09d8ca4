import Dispatch
import ForgeGeneration
import Testing

/// Cancelling a generation stops it within one step, and the finish reason says so.
struct CancellationTests {
    static let prompt = [256] + Array("the keeper".utf8).map(Int.init)

    @Test func greedyDecodingRunsToTheLimitWhenNotCancelled() throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        let result = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 40, sampling: .greedy))
        #expect(result.outputTokens.count == 40)
        #expect(result.finishReason == .length)
        #expect(session.lastResult?.outputTokens == result.outputTokens)
    }

    @Test func onPieceReturningFalseStopsAtOnce() throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        var seen = 0
        let result = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 200, sampling: .greedy)) { _ in
            seen += 1
            return seen < 3
        }
        #expect(result.outputTokens.count == 3)
        #expect(result.finishReason == .cancelled)
        #expect(session.tokens.count == Self.prompt.count + 2, "the token that cancelled is not evaluated")
    }

    @Test func cancelFromAnotherThreadStopsAfterTheCurrentStep() throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        let reachedThirdToken = DispatchSemaphore(value: 0)
        let cancelCalled = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            reachedThirdToken.wait()
            session.cancel()
            cancelCalled.signal()
        }
        var seen = 0
        let result = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 200, sampling: .greedy)) { _ in
            seen += 1
            if seen == 3 {
                reachedThirdToken.signal()
                cancelCalled.wait()
            }
            return true
        }
        #expect(result.outputTokens.count == 3)
        #expect(result.finishReason == .cancelled)

        // The cancellation belonged to that generation; the next one runs to its limit.
        let next = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 5, sampling: .greedy))
        #expect(next.finishReason == .length && next.outputTokens.count == 5)
    }

    @Test func cancelWithNothingRunningIsHarmless() throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        session.cancel()
        let result = try session.generate(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 4, sampling: .greedy))
        #expect(result.finishReason == .length && result.outputTokens.count == 4)
    }

    /// The consumer stops reading after three pieces; generation, held at most
    /// `bufferedPieces` ahead of the reader, stops at the step after the drop.
    @Test func droppingTheStreamStopsGeneration() async throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        var received = 0
        for try await _ in session.stream(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 200, sampling: .greedy)) {
            received += 1
            if received == 3 { break }
        }
        let result = try #require(session.lastResult)
        #expect(result.finishReason == .cancelled)
        let bound = 3 + GenerationStream.bufferedPieces + 1
        #expect(result.outputTokens.count >= 3 && result.outputTokens.count <= bound, "\(result.outputTokens.count) tokens generated")
    }

    /// The consumer reads one piece and then waits until its task is cancelled.
    @Test func cancellingTheConsumingTaskStopsGeneration() async throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        let started = AsyncStream.makeStream(of: Void.self)
        let consumer = Task {
            for try await _ in session.stream(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 200, sampling: .greedy)) {
                started.continuation.yield()
                try await Task.sleep(for: .seconds(3600))
            }
        }
        for await _ in started.stream { break }
        consumer.cancel()
        _ = try? await consumer.value
        let result = try #require(session.lastResult)
        #expect(result.finishReason == .cancelled)
        #expect(result.outputTokens.count <= 1 + GenerationStream.bufferedPieces + 1, "\(result.outputTokens.count) tokens generated")
    }

    @Test func aStreamDroppedBeforeItsFirstPieceGeneratesAlmostNothing() throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        _ = session.stream(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 200, sampling: .greedy))
        let result = try #require(session.lastResult)
        #expect(result.finishReason == .cancelled)
        #expect(result.outputTokens.count <= GenerationStream.bufferedPieces + 1)
    }

    @Test func aStreamReadToTheEndReportsItsResult() async throws {
        let tiny = try TinyLanguageModel(contextLength: 256)
        let session = try GenerationSession(model: tiny.model, contextSize: 256, threadCount: 2)
        var ids: [Int] = []
        var finishes: [FinishReason?] = []
        for try await piece in session.stream(prompt: Self.prompt, parameters: GenerationParameters(maxTokens: 12, sampling: .greedy)) {
            if let id = piece.tokenID { ids.append(id) }
            finishes.append(piece.finish)
        }
        let result = try #require(session.lastResult)
        #expect(result.finishReason == .length)
        #expect(finishes.last == .length && finishes.dropLast().allSatisfy { $0 == nil }, "the last piece says why generation ended")
        #expect(result.outputTokens == ids)
        #expect(result.outputTokens.count == 12)
    }
}
