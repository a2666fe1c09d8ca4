import Foundation
import ForgeGGUF
import Testing
@testable import ForgeCLI
@testable import ForgeTraining

/// A scratch directory removed when the test ends.
final class TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/forge-training-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TrainingError("mkdtemp failed") }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }
}

enum Fixture {
    static var lighthousePath: String {
        get throws {
            guard let url = Bundle.module.url(forResource: "Fixtures/lighthouse", withExtension: "txt") else {
                throw TrainingError("fixture lighthouse.txt is missing")
            }
            return url.path
        }
    }

    static let tinyConfiguration = TransformerConfiguration(
        vocabularySize: TrainingVocabulary.bytes.size, layerCount: 2, embeddingLength: 32, headCount: 4,
        keyValueHeadCount: 2, feedForwardLength: 64, contextLength: 32)

    static func corpus(validationFraction: Double = 0.1, contextLength: Int = 32) throws -> TrainingCorpus {
        try TrainingCorpus.load(
            path: lighthousePath, vocabulary: .bytes, validationFraction: validationFraction, contextLength: contextLength)
    }
}

struct TrainerTests {
    @Test func validationLossFallsWellBelowTheUnigramBaseline() throws {
        let corpus = try Fixture.corpus()
        let options = TrainingOptions(batchSize: 8, steps: 300, learningRate: 5e-3, warmupSteps: 10, seed: 7, validationFraction: 0.1)
        let trainer = try Trainer(configuration: Fixture.tinyConfiguration, options: options, corpus: corpus, threads: 2)
        let initial = trainer.validationLoss()
        // A fresh model is close to uniform over the vocabulary.
        #expect(abs(initial - log(Double(TrainingVocabulary.bytes.size))) < 0.1)
        try trainer.run()
        let final = trainer.validationLoss()
        let baseline = corpus.unigramEntropy
        #expect(final < 0.5 * baseline, "validation loss \(final) vs unigram baseline \(baseline)")
    }

    @Test func resumingContinuesBitForBit() throws {
        let directory = try TemporaryDirectory()
        let corpus = try Fixture.corpus()
        let options = TrainingOptions(batchSize: 3, steps: 6, learningRate: 1e-3, warmupSteps: 2, seed: 11, validationFraction: 0.1)
        let uninterrupted = try Trainer(configuration: Fixture.tinyConfiguration, options: options, corpus: corpus, threads: 2)
        try uninterrupted.run()

        let first = try Trainer(configuration: Fixture.tinyConfiguration, options: options, corpus: corpus, threads: 2)
        for _ in 0..<3 { _ = first.trainStep() }
        try first.saveCheckpoint(to: directory.file("half.ckpt"))
        let resumed = try Trainer(resuming: Checkpoint(path: directory.file("half.ckpt")), corpus: corpus, threads: 2)
        #expect(resumed.step == 3)
        try resumed.run()

        #expect(resumed.step == 6)
        #expect(resumed.parameterValues == uninterrupted.parameterValues)
        #expect(resumed.random == uninterrupted.random)
        #expect(Array(resumed.firstMoment.buffer) == Array(uninterrupted.firstMoment.buffer))
        #expect(Array(resumed.secondMoment.buffer) == Array(uninterrupted.secondMoment.buffer))
    }

    @Test func checkpointRefusesOtherData() throws {
        let directory = try TemporaryDirectory()
        let corpus = try Fixture.corpus()
        let trainer = try Trainer(configuration: Fixture.tinyConfiguration, options: TrainingOptions(batchSize: 2, steps: 2), corpus: corpus, threads: 1)
        try trainer.saveCheckpoint(to: directory.file("a.ckpt"))
        let other = try TrainingCorpus(tokens: corpus.training.reversed() + corpus.validation, beginningOfSequence: 256, validationFraction: 0.1, contextLength: 32)
        #expect(throws: TrainingError.self) {
            try Trainer(resuming: Checkpoint(path: directory.file("a.ckpt")), corpus: other, threads: 1)
        }
    }

    @Test func learningRateWarmsUpThenDecaysByCosine() {
        let options = TrainingOptions(steps: 110, learningRate: 1e-3, warmupSteps: 10)
        #expect(abs(options.learningRate(atStep: 0) - 1e-4) < 1e-12)
        #expect(abs(options.learningRate(atStep: 9) - 1e-3) < 1e-12)
        #expect(abs(options.learningRate(atStep: 10) - 1e-3) < 1e-12)
        #expect(abs(options.learningRate(atStep: 60) - 0.55e-3) < 1e-12)
        #expect(abs(options.learningRate(atStep: 110) - 1e-4) < 1e-12)
    }

    @Test func ropeTurnsAdjacentPairsAsLlamaCppNormMode() throws {
        let configuration = TransformerConfiguration(vocabularySize: 4, layerCount: 1, embeddingLength: 16, headCount: 2, keyValueHeadCount: 1, feedForwardLength: 4, contextLength: 8, ropeFrequencyBase: 500)
        let model = try Transformer<Double>(configuration: configuration)
        var values = [Double](repeating: 0, count: 8 * 16)
        let position = 5, pair = 3
        values[position * 16 + 8 + 2 * pair] = 1
        TransformerOps.rope(&values, positions: 8, heads: 2, headDimension: 8, cosines: model.cosines, sines: model.sines, inverse: false)
        let theta = Double(position) * pow(500, -2 * Double(pair) / 8)
        #expect(abs(values[position * 16 + 8 + 2 * pair] - cos(theta)) < 1e-12)
        #expect(abs(values[position * 16 + 8 + 2 * pair + 1] - sin(theta)) < 1e-12)
        #expect(values.filter { $0 != 0 }.count == 2)
    }
}
