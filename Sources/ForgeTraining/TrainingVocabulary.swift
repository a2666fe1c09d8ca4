import ForgeGGUF
import ForgeTokenizer

/// The token vocabulary a model trains on and exports: ids, their GGUF tokenizer metadata,
/// and how a text's bytes become ids.
public struct TrainingVocabulary: Sendable {
    public let size: Int
    public let beginningOfSequence: Int
    public let endOfSequence: Int
    /// `tokenizer.*` keys written into the exported GGUF, in order.
    public let metadata: [(key: String, value: GGUFValue)]
    private let encoder: @Sendable ([UInt8]) throws -> [Int32]

    public init(
        size: Int, beginningOfSequence: Int, endOfSequence: Int,
        metadata: [(key: String, value: GGUFValue)], encoder: @escaping @Sendable ([UInt8]) throws -> [Int32]
    ) {
        self.size = size
        self.beginningOfSequence = beginningOfSequence
        self.endOfSequence = endOfSequence
        self.metadata = metadata
        self.encoder = encoder
    }

    public func encode(_ bytes: [UInt8]) throws -> [Int32] {
        try encoder(bytes)
    }

    /// Ids 0...255 are the bytes themselves, 256 is BOS and 257 EOS.
    ///
    /// Exported as a SentencePiece (`llama`) vocabulary of byte tokens `<0xNN>` (type 6), so a
    /// byte-fallback tokenizer decodes every id. One exception: SentencePiece encoders replace
    /// spaces by "▁" (U+2581) before looking tokens up, so id 32 is the normal token "▁": that
    /// makes llama.cpp encode a space as id 32, the id the model saw for it, and decode it back
    /// to a space. Named `<0x20>`, a space would be encoded as the three bytes of "▁".
    public static let bytes: TrainingVocabulary = {
        let beginning = 256
        let end = 257
        var tokens: [String] = []
        var types: [Int32] = []
        for byte in 0..<256 {
            if byte == 0x20 {
                tokens.append("\u{2581}")
                types.append(1)
            } else {
                tokens.append("<0x" + hex(byte) + ">")
                types.append(6)
            }
        }
        tokens += ["<s>", "</s>"]
        types += [3, 3]
        let metadata: [(key: String, value: GGUFValue)] = [
            ("tokenizer.ggml.model", .string("llama")),
            ("tokenizer.ggml.tokens", .array(.string(tokens))),
            ("tokenizer.ggml.scores", .array(.float32([Float](repeating: 0, count: tokens.count)))),
            ("tokenizer.ggml.token_type", .array(.int32(types))),
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(beginning))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(end))),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
            ("tokenizer.ggml.add_eos_token", .bool(false)),
            ("tokenizer.ggml.add_space_prefix", .bool(false)),
        ]
        return TrainingVocabulary(
            size: tokens.count, beginningOfSequence: beginning, endOfSequence: end, metadata: metadata,
            encoder: { bytes in bytes.map { Int32($0) } })
    }()

    /// The BPE or SentencePiece vocabulary of a real model's GGUF file (`--tokenizer MODEL.gguf`).
    ///
    /// Text is encoded exactly as `Tokenizer` (and llama.cpp) encode it for that model, without
    /// special-token parsing. The export carries the file's `tokenizer.ggml.*` keys unchanged
    /// (tokens, types, scores, merges, pre-tokenizer, special ids), so an exported model tokenizes
    /// prompts the same way, except `add_bos_token`, which is set: every training window starts
    /// with BOS, so generation must too. The chat template is left out: a model trained on plain
    /// text has not learnt one.
    public static func reusing(tokenizerAt path: String) throws -> TrainingVocabulary {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw TrainingError("--tokenizer \(path) is not a readable GGUF file: \(error)")
        }
        return try reusing(tokenizerOf: file, named: path)
    }

    /// `reusing(tokenizerAt:)` for a file already open; `name` identifies it in errors.
    public static func reusing(tokenizerOf file: GGUFFile, named name: String) throws -> TrainingVocabulary {
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: file)
        } catch {
            throw TrainingError("--tokenizer \(name) has no usable tokenizer: \(error)")
        }
        guard let beginning = tokenizer.bosTokenID else {
            throw TrainingError("--tokenizer \(name) has no BOS token, which starts every training window")
        }
        guard let end = tokenizer.eosTokenID else {
            throw TrainingError("--tokenizer \(name) has no EOS token")
        }
        // The special ids are written explicitly (they may be defaults the file does not state).
        let rewritten: Set = ["tokenizer.ggml.add_bos_token", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"]
        var metadata: [(key: String, value: GGUFValue)] = file.keys
            .filter { $0.hasPrefix("tokenizer.ggml.") && !rewritten.contains($0) }
            .compactMap { key in file.metadata[key].map { (key, $0) } }
        metadata += [
            ("tokenizer.ggml.bos_token_id", .uint32(UInt32(beginning))),
            ("tokenizer.ggml.eos_token_id", .uint32(UInt32(end))),
            ("tokenizer.ggml.add_bos_token", .bool(true)),
        ]
        return TrainingVocabulary(
            size: tokenizer.vocabularySize, beginningOfSequence: beginning, endOfSequence: end, metadata: metadata,
            encoder: { bytes in tokenizer.encode(bytes, addSpecial: false, parseSpecial: false).map { Int32($0) } })
    }

    private static func hex(_ byte: Int) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[byte >> 4], digits[byte & 15]])
    }
}
