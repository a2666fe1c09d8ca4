import ForgeGeneration
import ForgeTestSupport

/// A loaded random-weight model whose greedy decoding writes letters and spaces and never stops
/// by itself (see `TinyModelFile.lettersOnly`).
final class TinyLanguageModel {
    let file: TinyModelFile
    let model: LanguageModel

    init(contextLength: Int, seed: UInt64 = 5) throws {
        file = try TinyModelFile(
            embeddingLength: 64, feedForwardLength: 128, contextLength: contextLength, seed: seed, standardDeviation: 0.3,
            lettersOnly: true)
        model = try LanguageModel(path: file.path)
    }
}
