/// How the next token is chosen. Defaults are llama.cpp's (temperature 0.8, top-k 40,
/// top-p 0.95, min-p 0.05, penalties off over the last 64 tokens).
public struct SamplingParameters: Sendable, Equatable {
    /// 0 (or less) means greedy: the highest logit, ties to the lowest id.
    public var temperature: Float = 0.8
    /// Keep the k most likely tokens; 0 keeps all.
    public var topK: Int = 40
    /// Keep the smallest set of most likely tokens whose probability reaches p; 1 keeps all.
    public var topP: Float = 0.95
    /// Drop tokens less likely than min-p times the most likely one; 0 keeps all.
    public var minP: Float = 0.05
    /// Divides positive logits (multiplies negative ones) of tokens seen in the window; 1 is off.
    public var repeatPenalty: Float = 1
    /// Subtracted once from the logit of every token seen in the window.
    public var presencePenalty: Float = 0
    /// Subtracted from a token's logit once per occurrence in the window.
    public var frequencyPenalty: Float = 0
    /// How many of the last tokens the penalties look at (0: none, -1: the whole context).
    public var penaltyWindow: Int = 64
    /// Added to the logits of the given token ids before anything else.
    public var logitBias: [Int: Float] = [:]
    /// Same seed, same choices. nil picks a random seed.
    public var seed: UInt64?

    public init() {}

    public static var greedy: SamplingParameters {
        var parameters = SamplingParameters()
        parameters.temperature = 0
        return parameters
    }

    public var isGreedy: Bool { temperature <= 0 }

    /// Checks the values a user may send (CLI flags, server requests).
    public func validate() throws {
        func fail(_ message: String) -> GenerationError { .invalidParameter(message) }
        guard temperature.isFinite else { throw fail("temperature must be a finite number") }
        guard topK >= 0 else { throw fail("top_k must be 0 or more, is \(topK)") }
        guard topP.isFinite, topP >= 0, topP <= 1 else { throw fail("top_p must be between 0 and 1, is \(topP)") }
        guard minP.isFinite, minP >= 0, minP <= 1 else { throw fail("min_p must be between 0 and 1, is \(minP)") }
        guard repeatPenalty.isFinite, repeatPenalty > 0 else { throw fail("repeat_penalty must be positive, is \(repeatPenalty)") }
        guard presencePenalty.isFinite, frequencyPenalty.isFinite else { throw fail("penalties must be finite numbers") }
        guard penaltyWindow >= -1 else { throw fail("the penalty window must be -1 or more, is \(penaltyWindow)") }
        guard logitBias.values.allSatisfy({ $0.isFinite || $0 == -.infinity }) else { throw fail("logit_bias values must be numbers") }
    }
}
