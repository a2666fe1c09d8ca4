import Foundation
import Testing
import ForgeGGUF
import ForgeKernels
import ForgeModel
import ForgeTestSupport

/// Tiny random-weight Qwen3 and Gemma 3 models against llama.cpp's logits for them
/// (Fixtures/architectures: make-fixtures.py wrote the same files, drawing the same numbers, and
/// ran llama.cpp on them). Gemma's window of 4 positions is shorter than the prompt, and its cache
/// keeps a ring for the local layers that the 20 positions wrap.
@Suite struct ArchitectureFixtureTests {
    typealias Model = TinyArchitectureModel

    static let models = TinyArchitectureModel.fixtures

    @Test(arguments: models)
    func logitsMatchLlamaCpp(model: Model) throws {
        let index = try ReferenceData.json("architectures/fixtures.json")
        let tokens = try #require(index["tokens"] as? [Int])
        let batch = try #require(index["batch"] as? Int)
        let contextSize = try #require(index["n_ctx"] as? Int)
        let expected = try ReferenceData.floats("architectures/\(model.name).f32")
        try #require(expected.count == tokens.count * model.vocab)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(model.name)-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        let weights = try ModelWeights(gguf: GGUFFile(path: path))
        #expect(weights.architecture.name == model.architecture)
        #expect(weights.configuration.headDimension == model.headDim)
        let evaluator = Evaluator(weights: weights, maxBatchSize: batch, maxLogitRows: batch, threadCount: 2)
        let cache = try KVCache(configuration: weights.configuration, contextSize: contextSize, maxBatchSize: batch)
        var logits: [Float] = []
        try evaluator.evaluate(Batch(tokens: Array(tokens[..<batch]), startingAt: 0), cache: cache)
        logits += try evaluator.logits(rows: 0..<batch)
        for position in batch..<tokens.count {
            try evaluator.evaluate(Batch(tokens: [tokens[position]], startingAt: position), cache: cache)
            logits += try evaluator.logits(row: 0)
        }
        for row in 0..<tokens.count {
            let range = row * model.vocab..<(row + 1) * model.vocab
            let error = zip(logits[range], expected[range]).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let size = expected[range].reduce(0.0) { $0 + Double($1) * Double($1) }
            #expect((error / size).squareRoot() < 1e-4, "\(model) row \(row): relative L2 \((error / size).squareRoot())")
        }
    }

    /// A Gemma 3 270M cache for 32k positions holds every position for its 3 global layers and a
    /// ring of window + batch − 1 positions, written twice, for its 15 local layers.
    @Test func slidingWindowLayersKeepOnlyTheirRing() throws {
        var configuration = try ModelConfiguration(
            architecture: "gemma3", layerCount: 18, embeddingLength: 640, feedForwardLength: 2048, headCount: 4,
            kvHeadCount: 1, headDimension: 256, valueLength: 256, rmsEpsilon: 1e-6, ropeFrequencyBase: 1e6,
            ropeDimensionCount: 256, contextLength: 32768, vocabularySize: 262_144)
        configuration.slidingWindow = 512
        configuration.slidingWindowLayers = (0..<18).map { $0 % 6 < 5 }
        let cache = try KVCache(configuration: configuration, contextSize: 32768, maxBatchSize: 512)
        let rowBytes = 256 * 2
        #expect(cache.byteCount == 2 * (3 * 32768 + 15 * 2 * (512 + 511)) * rowBytes)
        let full = try KVCache(configuration: configuration, contextSize: 1024, maxBatchSize: 512)
        #expect(full.byteCount == 2 * 18 * 1024 * rowBytes, "a context no longer than the ring needs no ring")
        // A new sequence keeps a shared prefix only while the ring still holds the window before it.
        #expect(cache.reusablePrefix(common: 600, written: 900) == 600)
        #expect(cache.reusablePrefix(common: 600, written: 1200) == 0)
        #expect(cache.reusablePrefix(common: 2000, written: 2500) == 2000)
        #expect(full.reusablePrefix(common: 600, written: 1024) == 600)
    }
}
