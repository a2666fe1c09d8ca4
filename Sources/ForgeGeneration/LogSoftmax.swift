import Foundation

/// The normalizer of a softmax over raw logits, for log-probabilities: the maximum logit and
/// log Σ exp(logit − maximum), the sum in double as llama.cpp's perplexity computes it.
public struct LogSoftmax: Sendable {
    public let maximum: Float
    public let logSum: Double

    public init(_ logits: UnsafeBufferPointer<Float>) {
        var maximum = -Float.infinity
        for value in logits where value > maximum { maximum = value }
        var sum = 0.0
        for value in logits { sum += Double(expf(value - maximum)) }
        self.maximum = maximum
        logSum = log(sum)
    }

    /// log p of a token whose logit is `logit`.
    public func logProbability(_ logit: Float) -> Double {
        Double(logit - maximum) - logSum
    }
}
