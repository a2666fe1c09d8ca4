/// Why a tokenizer could not be built from a GGUF file, or why ids could not be decoded.
public enum TokenizerError: Error, Equatable, CustomStringConvertible {
    case missingMetadata(key: String)
    case invalidMetadata(key: String, reason: String)
    case unsupportedModel(String)
    case unknownPreTokenizer(String, known: [String])
    case tokenOutOfRange(id: Int, vocabularySize: Int)

    public var description: String {
        switch self {
        case .missingMetadata(let key):
            "tokenizer: the GGUF file has no '\(key)'"
        case .invalidMetadata(let key, let reason):
            "tokenizer: '\(key)' is invalid: \(reason)"
        case .unsupportedModel(let model):
            "tokenizer: unsupported tokenizer.ggml.model '\(model)' (supported: gpt2, llama)"
        case .unknownPreTokenizer(let name, let known):
            "tokenizer: unknown tokenizer.ggml.pre '\(name)'; known pre-tokenizers: \(known.joined(separator: ", "))"
        case .tokenOutOfRange(let id, let vocabularySize):
            "token id \(id) is outside the vocabulary (0..<\(vocabularySize))"
        }
    }
}
