#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tokenized text split into a training part and a held-out validation tail.
public struct TrainingCorpus: Sendable {
    public let training: [Int32]
    public let validation: [Int32]
    /// The id that starts every training window, as it starts every prompt at inference.
    public let beginningOfSequence: Int32
    /// Identifies the token stream so that a checkpoint refuses to resume on other data.
    public let fingerprint: UInt64

    /// Splits `tokens`, keeping the last `validationFraction` for validation, and checks that
    /// both parts hold at least one window of `contextLength` tokens.
    public init(tokens: [Int32], beginningOfSequence: Int, validationFraction: Double, contextLength: Int) throws {
        guard !tokens.isEmpty else { throw TrainingError("the training data is empty") }
        guard validationFraction >= 0, validationFraction < 1 else {
            throw TrainingError("--val-fraction must be in [0, 1), got \(validationFraction)")
        }
        let validationCount = Int((Double(tokens.count) * validationFraction).rounded())
        let trainingCount = tokens.count - validationCount
        guard trainingCount >= contextLength else {
            throw TrainingError(
                "context \(contextLength) is larger than the training data: \(trainingCount) tokens"
                    + (validationCount > 0 ? " after holding out \(validationCount) for validation" : "")
                    + "; lower --context or give more text")
        }
        guard validationCount == 0 || validationCount >= contextLength else {
            throw TrainingError(
                "context \(contextLength) is larger than the validation data: \(validationCount) tokens "
                    + "(--val-fraction \(validationFraction)); lower --context, raise --val-fraction or give more text")
        }
        self.beginningOfSequence = Int32(beginningOfSequence)
        training = Array(tokens[..<trainingCount])
        validation = Array(tokens[trainingCount...])
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for token in [Int32(beginningOfSequence)] + tokens {
            hash = (hash ^ UInt64(UInt32(bitPattern: token))) &* 0x100_0000_01B3
        }
        fingerprint = hash
    }

    /// Reads and tokenizes a text file, with clear errors for a missing or empty file.
    public static func load(
        path: String, vocabulary: TrainingVocabulary, validationFraction: Double, contextLength: Int
    ) throws -> TrainingCorpus {
        guard let file = fopen(path, "rb") else {
            throw TrainingError("cannot read data file \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[..<count]) }
            if count < chunk.count { break }
        }
        guard ferror(file) == 0 else { throw TrainingError("error reading data file \(path)") }
        guard !bytes.isEmpty else { throw TrainingError("data file \(path) is empty") }
        let tokens = try vocabulary.encode(bytes)
        return try TrainingCorpus(
            tokens: tokens, beginningOfSequence: vocabulary.beginningOfSequence, validationFraction: validationFraction, contextLength: contextLength)
    }

    /// Entropy in nats of the training tokens' frequencies: the loss of the best model that
    /// ignores context, which a trained model must beat.
    public var unigramEntropy: Double {
        var counts: [Int32: Int] = [:]
        for token in training { counts[token, default: 0] += 1 }
        let total = Double(training.count)
        return counts.values.reduce(0) { entropy, count in
            let p = Double(count) / total
            return entropy - p * log(p)
        }
    }
}
