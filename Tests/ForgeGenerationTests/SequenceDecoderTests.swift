import Foundation
import ForgeGeneration
import Testing

/// The decode step `GenerationSession` and the server share, driven with chosen logits: with
/// greedy sampling a one-hot row picks its token, and the byte vocabulary writes one byte per token.
struct SequenceDecoderTests {
    static let prompt = [256] + Array("the keeper".utf8).map(Int.init)
    static let endOfSequence = 257

    let tiny: TinyLanguageModel

    init() throws {
        tiny = try TinyLanguageModel(contextLength: 64)
    }

    func decoder(_ parameters: GenerationParameters, contextSize: Int = 64) throws -> SequenceDecoder {
        try SequenceDecoder(tokenizer: tiny.model.tokenizer, parameters: parameters, prompt: Self.prompt, contextSize: contextSize)
    }

    /// Logits that make greedy sampling choose `token`.
    func choosing(_ token: Int) -> [Float] {
        var logits = [Float](repeating: 0, count: tiny.model.configuration.vocabularySize)
        logits[token] = 10
        return logits
    }

    /// Steps through the bytes of `text` (then `then`, if given) and returns the pieces.
    func steps(_ decoder: inout SequenceDecoder, _ text: String, then last: Int? = nil) -> [GeneratedPiece] {
        var history = Self.prompt
        return (Array(text.utf8).map(Int.init) + (last.map { [$0] } ?? [])).map { token in
            let piece = choosing(token).withUnsafeBufferPointer { decoder.step(logits: $0, history: history) }
            history.append(token)
            return piece
        }
    }

    @Test func aStopStringCutsTheTextAndEndsWithStop() throws {
        var decoder = try decoder(GenerationParameters(sampling: .greedy, stopStrings: ["xyz"]))
        let pieces = steps(&decoder, "abxyz")
        #expect(pieces.map(\.text) == ["a", "b", "", "", ""])
        #expect(pieces.map(\.finish) == [nil, nil, nil, nil, .stop])
        #expect(decoder.text == "ab" && decoder.output.count == 5)
        let afterTheEnd = decoder.end(.cancelled)
        #expect(afterTheEnd == nil, "an ended sequence has nothing more to release")
        #expect(decoder.finishReason == .stop)
    }

    // The server dropped held-back text on cancellation while the session released it; the
    // shared rule releases it for every end that completed no stop string.
    @Test(arguments: [FinishReason.cancelled, .length])
    func textHeldForAPossibleStopStringIsReleasedWhenGenerationEndsFromOutside(_ reason: FinishReason) throws {
        var decoder = try decoder(GenerationParameters(sampling: .greedy, stopStrings: ["xyz"]))
        #expect(steps(&decoder, "abxy").map(\.text) == ["a", "b", "", ""])
        let ended = decoder.end(reason)
        let tail = try #require(ended)
        #expect(tail.text == "xy" && tail.tokenID == nil && tail.finish == reason)
        #expect(tail.parts == [.content("xy")])
        #expect(decoder.text == "abxy")
        #expect(decoder.result(cachedPromptTokens: 0, promptSeconds: 0, generationSeconds: 0).finishReason == reason)
    }

    @Test func theTokenLimitAndTheContextEndWithLengthAndReleaseHeldText() throws {
        var limited = try decoder(GenerationParameters(maxTokens: 3, sampling: .greedy, stopStrings: ["cd"]))
        let pieces = steps(&limited, "abc")
        #expect(pieces.map(\.finish) == [nil, nil, .length])
        #expect(pieces.last?.text == "c", "the last piece carries the text held for the stop string")

        // A context of 13 positions is full once the 11-token prompt and two generated tokens are in it.
        var full = try decoder(GenerationParameters(sampling: .greedy), contextSize: Self.prompt.count + 2)
        #expect(steps(&full, "abc").map(\.finish) == [nil, nil, .length])

        let none = try decoder(GenerationParameters(maxTokens: 0, sampling: .greedy))
        #expect(none.isFinished && none.finishReason == .length)
    }

    @Test func anEndOfGenerationTokenStopsWithoutText() throws {
        var decoder = try decoder(GenerationParameters(sampling: .greedy))
        let pieces = steps(&decoder, "ok", then: Self.endOfSequence)
        #expect(pieces.map(\.text) == ["o", "k", ""])
        #expect(pieces.last?.finish == .stop && decoder.output == [111, 107, Self.endOfSequence])
    }

    @Test func logprobsAreTheLogSoftmaxOfTheRawLogitsWithTheBestFirst() throws {
        var decoder = try decoder(GenerationParameters(sampling: .greedy, topLogprobs: 3))
        var logits = [Float](repeating: -.infinity, count: tiny.model.configuration.vocabularySize)
        logits[97] = 2
        logits[98] = 1
        logits[99] = 1
        let piece = logits.withUnsafeBufferPointer { decoder.step(logits: $0, history: Self.prompt) }
        let logprob = try #require(piece.logprob)
        let normalizer = log(exp(2.0) + 2 * exp(1.0))
        #expect(logprob.chosen.id == 97 && abs(logprob.chosen.logprob - (2 - normalizer)) < 1e-6)
        #expect(logprob.top.map(\.id) == [97, 98, 99], "ties go to the lower id")
        #expect(abs(logprob.top[2].logprob - (1 - normalizer)) < 1e-6)

        var without = try self.decoder(GenerationParameters(sampling: .greedy))
        #expect(steps(&without, "a").first?.logprob == nil)
    }

    @Test func toolCallsArePartsOfTheReplyAndCollected() throws {
        var decoder = try decoder(GenerationParameters(sampling: .greedy, toolNames: ["get_weather"]), contextSize: 256)
        let reply = #"Sure. <tool_call>{"name": "get_weather", "arguments": {"city": "oslo"}}</tool_call>"#
        let parts = steps(&decoder, reply, then: Self.endOfSequence).flatMap(\.parts)
        let call = ToolCall(name: "get_weather", arguments: #"{"city":"oslo"}"#)
        #expect(parts == "Sure.".map { .content(String($0)) } + [.call(call)], "text as it comes, the call once complete")
        #expect(decoder.toolCalls == [call])
        #expect(decoder.text == reply)
    }

    @Test func badParametersAndPromptsAreRefusedBeforeAnythingRuns() throws {
        #expect(throws: GenerationError.invalidParameter("the token limit must be 0 or more, is -2")) {
            try decoder(GenerationParameters(maxTokens: -2))
        }
        #expect(throws: GenerationError.promptTooLong(promptTokens: Self.prompt.count, contextSize: 4)) {
            try decoder(GenerationParameters(), contextSize: 4)
        }
    }

    @Test func aSessionReusesTheCachedPrefixAndReevaluatesTheLastPromptToken() throws {
        let session = try GenerationSession(model: tiny.model, contextSize: 64, threadCount: 2)
        #expect(try session.ingest(Self.prompt) == 0)
        #expect(try session.ingest(Self.prompt) == Self.prompt.count - 1)
        #expect(try session.ingest(Array(Self.prompt.prefix(4)) + [120]) == 4)
        #expect(try session.ingest(Self.prompt + [32]) == 4, "only what the cache still holds is reused")
    }
}
