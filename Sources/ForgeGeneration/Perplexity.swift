import Foundation
import ForgeModel

/// Perplexity by llama.cpp's method (its `perplexity` tool): the text is tokenized once and cut
/// into non-overlapping chunks of `contextSize` tokens, each evaluated from an empty cache; only
/// the second half of each chunk is scored, the first half being context.
public struct PerplexityResult: Sendable {
    public var perplexity: Double
    /// llama.cpp's standard-error estimate of the perplexity.
    public var standardError: Double
    public var chunks: Int
    /// Perplexity over the chunks so far, after each chunk.
    public var runningPerplexity: [Double]
    public var tokensScored: Int
}

public enum Perplexity {
    public static func evaluate(
        model: LanguageModel, tokens: [Int], contextSize: Int, threadCount: Int = 2, device: ComputeDevice = .cpu,
        afterChunk: (Int, Double) -> Void = { _, _ in }
    ) throws -> PerplexityResult {
        guard contextSize >= 4 else { throw GenerationError.invalidParameter("the context must be at least 4 tokens") }
        let chunks = tokens.count / contextSize
        guard chunks > 0 else {
            throw GenerationError.invalidParameter("the text is \(tokens.count) tokens; perplexity needs at least \(contextSize) (one chunk)")
        }
        let evaluator = try device.makeEvaluator(weights: model.weights, contextSize: contextSize, maxBatchSize: contextSize,
                                                 maxLogitRows: 32, threadCount: threadCount)
        let first = contextSize / 2
        let bos = model.tokenizer.addBOS ? model.tokenizer.bosTokenID : nil
        var sum = 0.0, sumSquares = 0.0, count = 0
        var running: [Double] = []
        for chunk in 0..<chunks {
            var batch = Array(tokens[chunk * contextSize..<(chunk + 1) * contextSize])
            let targets = batch
            if let bos { batch[0] = bos }
            try evaluator.evaluate(Batch(tokens: batch, startingAt: 0))
            var row = first
            while row < contextSize - 1 {
                let rows = row..<min(row + evaluator.maxLogitRows, contextSize - 1)
                let logits = try evaluator.logits(rows: rows)
                let vocabulary = model.configuration.vocabularySize
                for (i, position) in rows.enumerated() {
                    let slice = UnsafeBufferPointer(rebasing: logits[i * vocabulary..<(i + 1) * vocabulary])
                    let loss = -LogSoftmax(slice).logProbability(slice[targets[position + 1]])
                    sum += loss
                    sumSquares += loss * loss
                    count += 1
                }
                row = rows.upperBound
            }
            running.append(exp(sum / Double(count)))
            afterChunk(chunk + 1, running[running.count - 1])
        }
        let mean = sum / Double(count)
        var variance = sumSquares / Double(count) - mean * mean
        variance = variance > 0 ? (variance / Double(count - 1)).squareRoot() : 0
        let perplexity = exp(mean)
        return PerplexityResult(perplexity: perplexity, standardError: variance * perplexity, chunks: chunks, runningPerplexity: running, tokensScored: count)
    }
}
