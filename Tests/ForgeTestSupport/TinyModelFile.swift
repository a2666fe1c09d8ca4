import Foundation
import ForgeKernels
import ForgeTraining

/// A random-weight llama GGUF with the byte vocabulary, written in a fresh temporary directory
/// that goes away with the value. Shared by the test targets that need a real file to load.
public final class TinyModelFile {
    /// Lowercase letters and the space: with `lettersOnly`, the only tokens with output rows.
    public static let answerAlphabet = "abcdefghijklmnopqrstuvwxyz "

    public let directory: String
    public let path: String

    /// - Parameters:
    ///   - standardDeviation: of the Gaussian every parameter is drawn from.
    ///   - lettersOnly: norms set to 1 and every output row but those of `answerAlphabet` zeroed,
    ///     so greedy decoding writes letters and spaces and never stops by itself (EOS has logit
    ///     0, below the best letter's): each answer is exactly as long as asked.
    public init(
        embeddingLength: Int = 32, feedForwardLength: Int = 64, contextLength: Int, tied: Bool = false,
        seed: UInt64, standardDeviation: Double, lettersOnly: Bool
    ) throws {
        var template = Array((NSTemporaryDirectory() + "/forge-tiny-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TrainingError("mkdtemp failed") }
        directory = String(cString: created)
        path = directory + "/tiny.gguf"
        let configuration = TransformerConfiguration(
            vocabularySize: TrainingVocabulary.bytes.size, layerCount: 2, embeddingLength: embeddingLength, headCount: 4,
            keyValueHeadCount: 2, feedForwardLength: feedForwardLength, contextLength: contextLength, tiedOutput: tied)
        let layout = ParameterLayout(configuration)
        var random = SplitMix64(seed: seed)
        var parameters = (0..<layout.count).map { _ in Float(random.nextGaussian() * standardDeviation) }
        if lettersOnly {
            for entry in layout.entries where !entry.isMatrix {
                parameters.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: repeatElement(1, count: entry.count))
            }
            guard let output = layout.entry(named: "output.weight") else { throw TrainingError("no output matrix") }
            let written = Set(Array(Self.answerAlphabet.utf8).map(Int.init))
            for token in 0..<configuration.vocabularySize where !written.contains(token) {
                let row = output.offset + token * embeddingLength
                parameters.replaceSubrange(row..<(row + embeddingLength), with: repeatElement(0, count: embeddingLength))
            }
        }
        try LlamaGGUF.write(to: path, configuration: configuration, parameters: parameters, vocabulary: .bytes, weightType: .f32)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}
