import ArgumentParser
import Foundation
import ForgeGeneration

/// Sampling flags, with llama.cpp's names and defaults.
public struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.")
    public var temperature: Float = 0.8

    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).")
    public var topK: Int = 40

    @Option(name: .customLong("top-p"), help: "Nucleus sampling threshold (1: off).")
    public var topP: Float = 0.95

    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p × the best (0: off).")
    public var minP: Float = 0.05

    @Option(name: .customLong("repeat-penalty"), help: "Penalty for repeated tokens (1: off).")
    public var repeatPenalty: Float = 1

    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over (-1: the whole context).")
    public var repeatLastN: Int = 64

    @Option(name: .customLong("presence-penalty"), help: "Subtracted once for every token already seen.")
    public var presencePenalty: Float = 0

    @Option(name: .customLong("frequency-penalty"), help: "Subtracted per occurrence of a token already seen.")
    public var frequencyPenalty: Float = 0

    @Option(name: .customLong("logit-bias"), help: ArgumentHelp("Bias a token: ID+BIAS or ID-BIAS (repeatable).", valueName: "ID±BIAS"))
    public var logitBias: [String] = []

    @Option(help: "Random seed (same seed, same output).")
    public var seed: UInt64?

    public init() {}

    public func validate() throws {
        do {
            try parameters().validate()
        } catch let error as GenerationError {
            throw ValidationError(error.description)
        }
    }

    public func parameters() throws -> SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repeatPenalty = repeatPenalty
        p.penaltyWindow = repeatLastN
        p.presencePenalty = presencePenalty
        p.frequencyPenalty = frequencyPenalty
        p.seed = seed
        for entry in logitBias {
            guard let split = entry.dropFirst().firstIndex(where: { $0 == "+" || $0 == "-" }),
                  let id = Int(entry[..<split]), let bias = Float(entry[split...].replacingOccurrences(of: "+", with: ""))
            else {
                throw ValidationError("--logit-bias '\(entry)' is not ID+BIAS or ID-BIAS")
            }
            p.logitBias[id] = bias
        }
        return p
    }
}
