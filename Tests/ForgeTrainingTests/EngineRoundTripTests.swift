import Foundation
import ForgeGGUF
import ForgeModel
import Testing
@testable import ForgeCLI
@testable import ForgeTraining

/// A model trained here and exported to GGUF gives the same logits in the inference engine
/// as in the training code, for GQA, MQA and tied output heads.
struct EngineRoundTripTests {
    @Test(arguments: [(4, 2, false), (4, 1, false), (4, 4, true)])
    func trainingLogitsEqualEngineLogits(heads: Int, kvHeads: Int, tied: Bool) throws {
        var configuration = Fixture.tinyConfiguration
        configuration.headCount = heads
        configuration.keyValueHeadCount = kvHeads
        configuration.tiedOutput = tied
        let trainer = try Trainer(configuration: configuration, options: TrainingOptions(batchSize: 2, steps: 3, learningRate: 1e-2), corpus: Fixture.corpus(), threads: 2)
        try trainer.run()
        let directory = try TemporaryDirectory()
        let path = directory.file("round-trip.gguf")
        try trainer.export(to: path, vocabulary: .bytes, weightType: .f32)

        let tokens = [256] + Array("Hello, world".utf8).map(Int.init)
        let expected = try trainer.model.logits(tokens: tokens, parameters: trainer.parameterValues)
        let engine = try ModelWeights(gguf: GGUFFile(path: path))
        let evaluator = Evaluator(weights: engine, threadCount: 2)
        let cache = try KVCache(configuration: engine.configuration, contextSize: 32, type: .f32)
        try evaluator.evaluate(Batch(tokens: tokens, startingAt: 0), cache: cache)
        let vocabulary = engine.configuration.vocabularySize
        for row in tokens.indices {
            let logits = try evaluator.logits(row: row)
            let reference = expected[row * vocabulary..<(row + 1) * vocabulary]
            let scale = reference.map(abs).max() ?? 1
            let error = zip(logits, reference).map { abs($0 - $1) }.max() ?? .infinity
            #expect(error <= 1e-4 * max(1, scale), "row \(row): max difference \(error)")
        }
    }

    /// The same through the command line: `forge logits --out` on the export gives the training
    /// code's logits at the last prompt position.
    @Test func theLogitsCommandOnTheExportGivesTheTrainingLogits() throws {
        let trainer = try Trainer(configuration: Fixture.tinyConfiguration, options: TrainingOptions(batchSize: 2, steps: 3, learningRate: 1e-2), corpus: Fixture.corpus(), threads: 2)
        try trainer.run()
        let directory = try TemporaryDirectory()
        let model = directory.file("round-trip.gguf")
        let logitsFile = directory.file("logits.f32")
        try trainer.export(to: model, vocabulary: .bytes, weightType: .f32)
        guard let command = try Forge.parseAsRoot(["logits", "-m", model, "-p", "The keeper woke", "--top", "1", "--out", logitsFile]) as? LogitsCommand else {
            throw TrainingError("`logits` did not parse as LogitsCommand")
        }
        try command.run()

        let bytes = try Data(contentsOf: URL(fileURLWithPath: logitsFile))
        let vocabulary = Fixture.tinyConfiguration.vocabularySize
        try #require(bytes.count == 4 * vocabulary)
        let engine: [Float] = bytes.withUnsafeBytes { raw in
            (0..<vocabulary).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        let tokens = [256] + Array("The keeper woke".utf8).map(Int.init)
        let expected = try trainer.model.logits(tokens: tokens, parameters: trainer.parameterValues).suffix(vocabulary)
        let scale = expected.map(abs).max() ?? 1
        let error = zip(engine, expected).map { abs($0 - $1) }.max() ?? .infinity
        #expect(error <= 1e-4 * max(1, scale), "max difference \(error)")
    }
}
