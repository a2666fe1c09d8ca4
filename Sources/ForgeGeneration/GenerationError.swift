/// Errors of generation that a caller can show as they are.
public enum GenerationError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidParameter(String)
    /// The prompt does not fit in the context (`promptTokens` > `contextSize`).
    case promptTooLong(promptTokens: Int, contextSize: Int)
    case tokenOutOfVocabulary(id: Int, vocabularySize: Int)
    case emptyPrompt

    public var description: String {
        switch self {
        case .invalidParameter(let message): message
        case .promptTooLong(let n, let context):
            "the prompt is \(n) tokens, longer than the context of \(context) tokens"
        case .tokenOutOfVocabulary(let id, let size): "token id \(id) is outside the vocabulary (0..<\(size))"
        case .emptyPrompt: "the prompt is empty"
        }
    }
}

extension GenerationError {
    /// Checks a prompt before anything runs: not empty, no longer than `contextSize`, every id
    /// inside the vocabulary.
    public static func check(prompt: [Int], contextSize: Int, vocabularySize: Int) throws(GenerationError) {
        guard !prompt.isEmpty else { throw .emptyPrompt }
        guard prompt.count <= contextSize else {
            throw .promptTooLong(promptTokens: prompt.count, contextSize: contextSize)
        }
        if let bad = prompt.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            throw .tokenOutOfVocabulary(id: bad, vocabularySize: vocabularySize)
        }
    }
}
