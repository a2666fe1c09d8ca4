import Foundation
import ForgeGeneration
import ForgeKernels
import ForgeTraining

/// A random-weight llama model with the byte vocabulary, in a temporary file. Only lowercase
/// letters and the space have output rows, so greedy decoding writes letters and spaces and
/// never stops by itself: every other token, EOS included, has logit 0, below the best letter's.
final class TinyLanguageModel {
    let directory: String
    let model: LanguageModel

    init(contextLength: Int, seed: UInt64 = 5) throws {
        var template = Array((NSTemporaryDirectory() + "/forge-generation-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else { throw TrainingError("mkdtemp failed") }
        directory = String(cString: created)
        let configuration = TransformerConfiguration(
            vocabularySize: TrainingVocabulary.bytes.size, layerCount: 2, embeddingLength: 64, headCount: 4,
            keyValueHeadCount: 2, feedForwardLength: 128, contextLength: contextLength)
        let layout = ParameterLayout(configuration)
        var random = SplitMix64(seed: seed)
        var parameters = (0..<layout.count).map { _ in Float(random.nextGaussian() * 0.3) }
        for entry in layout.entries where !entry.isMatrix {
            parameters.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: repeatElement(1, count: entry.count))
        }
        guard let output = layout.entry(named: "output.weight") else { throw TrainingError("no output matrix") }
        let dim = configuration.embeddingLength
        let written = Set(Array("abcdefghijklmnopqrstuvwxyz ".utf8).map(Int.init))
        for token in 0..<configuration.vocabularySize where !written.contains(token) {
            let row = output.offset + token * dim
            parameters.replaceSubrange(row..<(row + dim), with: repeatElement(0, count: dim))
        }
        let path = directory + "/tiny.gguf"
        try LlamaGGUF.write(to: path, configuration: configuration, parameters: parameters, vocabulary: .bytes, weightType: .f32)
        model = try LanguageModel(path: path)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}
