import ForgeGGUF

/// Per-token attributes, llama.cpp's `llama_token_attr` (bit values kept for easy comparison).
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16

    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    static let leftStrip = TokenAttributes(rawValue: 1 << 7)
    static let rightStrip = TokenAttributes(rawValue: 1 << 8)

    /// From `tokenizer.ggml.token_type` (GGUF's token type codes).
    init(ggufTokenType: Int) {
        switch ggufTokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }
}

enum TokenizerModel: Sendable {
    /// Byte-level BPE (`tokenizer.ggml.model` = `gpt2`).
    case bytePairEncoding
    /// SentencePiece-style BPE with scores and byte fallback (`tokenizer.ggml.model` = `llama`).
    case sentencePiece
}

/// The behaviour a `tokenizer.ggml.pre` name selects, as llama.cpp's vocabulary loader sets it.
struct PreTokenizerProfile: Sendable {
    let rules: [PreTokenizer.Rule]
    /// llama.cpp's `clean_spaces`: detokenizing removes the space before `?!.,` and some contractions.
    let cleanSpaces: Bool
    /// llama.cpp's `ignore_merges`: a pre-token that is itself in the vocabulary is taken whole.
    let ignoreMerges: Bool
    /// The value of `add_bos` when the file does not say.
    let addBOSByDefault: Bool

    private static let gpt2Rules: [PreTokenizer.Rule] = [.gpt2]
    private static let llama3Rules: [PreTokenizer.Rule] = [.llama3(digitGroup: 3)]
    private static let qwen2Rules: [PreTokenizer.Rule] = [.llama3(digitGroup: 1)]
    private static let starCoderRules: [PreTokenizer.Rule] = [.singleNumber, .gpt2]
    private static let defaultRules: [PreTokenizer.Rule] = [.punctuationRun, .gpt2, .numberRun, .asciiDigitTriple]

    private static func profile(_ rules: [PreTokenizer.Rule], clean: Bool = true, ignoreMerges: Bool = false, addBOS: Bool = false)
        -> PreTokenizerProfile
    {
        PreTokenizerProfile(rules: rules, cleanSpaces: clean, ignoreMerges: ignoreMerges, addBOSByDefault: addBOS)
    }

    /// The names llama.cpp (commit 0c1e57098) maps to the expressions implemented here. `gpt2` is not
    /// one of llama.cpp's names: llama.cpp falls back to its default expressions for it (and for a
    /// missing key), so Forge does the same, explicitly.
    static let byName: [String: PreTokenizerProfile] = {
        var table: [String: PreTokenizerProfile] = [:]
        for name in ["default", "gpt2"] { table[name] = profile(defaultRules) }
        for name in ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2"] {
            table[name] = profile(llama3Rules, ignoreMerges: true, addBOS: true)
        }
        for name in ["dbrx", "smaug-bpe"] { table[name] = profile(llama3Rules) }
        for name in ["qwen2", "deepseek-r1-qwen", "kormo", "hunyuan"] { table[name] = profile(qwen2Rules, clean: false) }
        for name in ["stablelm2", "megrez"] { table[name] = profile(qwen2Rules) }
        for name in ["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
                     "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4"] {
            table[name] = profile(gpt2Rules)
        }
        for name in ["trillion", "granite-docling"] { table[name] = profile(gpt2Rules, clean: false) }
        for name in ["starcoder", "refact", "codeshell", "exaone", "minerva-7b"] { table[name] = profile(starCoderRules) }
        for name in ["smollm", "command-r"] { table[name] = profile(starCoderRules, clean: false) }
        table["deepseek-llm"] = profile(
            [.lineBreak, .deepSeekCasedLetters, .deepSeekPunctuation, .trailingWhitespace, .cjkRun, .numberRun], clean: false)
        table["deepseek-coder"] = profile(
            [.lineBreak, .optionalSpaceLetters, .optionalSpacePunctuation, .cjkRun, .singleNumber], clean: false)
        return table
    }()

    static var knownNames: [String] { byName.keys.sorted() }
}

/// Everything the tokenizer needs from the GGUF metadata, with llama.cpp's defaults and its
/// text-based detection of special tokens applied.
struct Vocabulary: Sendable {
    let model: TokenizerModel
    let texts: [String]
    let textBytes: PackedByteStrings
    let scores: [Float]
    let attributes: [TokenAttributes]
    let merges: [String]
    let profile: PreTokenizerProfile

    let bosID: Int32?
    let eosID: Int32?
    let unknownID: Int32?
    let addBOS: Bool
    let addEOS: Bool
    let addSpacePrefix: Bool
    let endOfGeneration: Set<Int>
    /// Control, user-defined and unknown tokens, longest text first (ties by id), in the order the
    /// special-token partition tries them.
    let specialTokensByLength: [Int32]

    var count: Int { texts.count }

    init(gguf: GGUFFile) throws {
        let modelName = try Vocabulary.metadata { try gguf.optionalString("tokenizer.ggml.model") }
        guard let modelName else { throw TokenizerError.missingMetadata(key: "tokenizer.ggml.model") }

        var tokens = try Vocabulary.metadata { try gguf.optionalStringArray("tokenizer.ggml.tokens") } ?? []
        guard !tokens.isEmpty else { throw TokenizerError.missingMetadata(key: "tokenizer.ggml.tokens") }
        guard tokens.count <= Int(Int32.max) else {
            throw TokenizerError.invalidMetadata(key: "tokenizer.ggml.tokens", reason: "too many tokens")
        }
        for index in tokens.indices where tokens[index].isEmpty { tokens[index] = "[EMPTY_\(index)]" }

        let scores = try Vocabulary.metadata { try gguf.optionalFloatArray("tokenizer.ggml.scores") }
        if let scores, scores.count != tokens.count {
            throw TokenizerError.invalidMetadata(key: "tokenizer.ggml.scores", reason: "\(scores.count) scores for \(tokens.count) tokens")
        }
        let tokenTypes = try Vocabulary.metadata { try gguf.optionalIntegerArray("tokenizer.ggml.token_type") }
        if let tokenTypes, tokenTypes.count != tokens.count {
            throw TokenizerError.invalidMetadata(
                key: "tokenizer.ggml.token_type", reason: "\(tokenTypes.count) types for \(tokens.count) tokens")
        }

        var bos: Int32?
        var eos: Int32?
        var unknown: Int32?
        var addBOS: Bool
        var addSpacePrefix: Bool
        switch modelName {
        case "gpt2":
            model = .bytePairEncoding
            guard let merges = try Vocabulary.metadata({ try gguf.optionalStringArray("tokenizer.ggml.merges") }) else {
                throw TokenizerError.missingMetadata(key: "tokenizer.ggml.merges")
            }
            self.merges = merges
            let preName = try Vocabulary.metadata { try gguf.optionalString("tokenizer.ggml.pre") } ?? "default"
            guard let profile = PreTokenizerProfile.byName[preName] else {
                throw TokenizerError.unknownPreTokenizer(preName, known: PreTokenizerProfile.knownNames)
            }
            self.profile = profile
            (bos, eos, unknown) = (11, 11, nil)
            addBOS = profile.addBOSByDefault
            addSpacePrefix = false
        case "llama":
            model = .sentencePiece
            merges = []
            profile = PreTokenizerProfile(rules: [], cleanSpaces: false, ignoreMerges: false, addBOSByDefault: true)
            (bos, eos, unknown) = (1, 2, 0)
            addBOS = true
            addSpacePrefix = true
        default:
            throw TokenizerError.unsupportedModel(modelName)
        }
        addSpacePrefix = try Vocabulary.metadata { try gguf.optionalBool("tokenizer.ggml.add_space_prefix") } ?? addSpacePrefix

        let count = tokens.count
        func specialID(_ key: String, default fallback: Int32?) throws -> Int32? {
            guard let value = try Vocabulary.metadata({ try gguf.optionalInteger(key) }) else { return fallback }
            return value >= 0 && value < count ? Int32(value) : fallback  // llama.cpp keeps the default for a bad id
        }
        bos = try specialID("tokenizer.ggml.bos_token_id", default: bos)
        eos = try specialID("tokenizer.ggml.eos_token_id", default: eos)
        unknown = try specialID("tokenizer.ggml.unknown_token_id", default: unknown)
        var endOfTurn = try specialID("tokenizer.ggml.eot_token_id", default: nil)
        var endOfMessage = try specialID("tokenizer.ggml.eom_token_id", default: nil)
        var fimPrefix = try specialID("tokenizer.ggml.fim_pre_token_id", default: nil)
        var fimSuffix = try specialID("tokenizer.ggml.fim_suf_token_id", default: nil)
        var fimMiddle = try specialID("tokenizer.ggml.fim_mid_token_id", default: nil)
        var fimPad = try specialID("tokenizer.ggml.fim_pad_token_id", default: nil)
        var fimRepository = try specialID("tokenizer.ggml.fim_rep_token_id", default: nil)
        var fimSeparator = try specialID("tokenizer.ggml.fim_sep_token_id", default: nil)
        fimPrefix = try specialID("tokenizer.ggml.prefix_token_id", default: fimPrefix)
        fimSuffix = try specialID("tokenizer.ggml.suffix_token_id", default: fimSuffix)
        fimMiddle = try specialID("tokenizer.ggml.middle_token_id", default: fimMiddle)
        // Defaults that point outside a (small) vocabulary are no tokens at all.
        if let id = bos, id >= count { bos = nil }
        if let id = eos, id >= count { eos = nil }
        if let id = unknown, id >= count { unknown = nil }

        addBOS = try Vocabulary.metadata { try gguf.optionalBool("tokenizer.ggml.add_bos_token") } ?? addBOS
        let addEOS = try Vocabulary.metadata { try gguf.optionalBool("tokenizer.ggml.add_eos_token") } ?? false

        var attributes = tokens.indices.map { index in
            tokenTypes.map { TokenAttributes(ggufTokenType: $0[index]) } ?? .normal
        }

        // llama.cpp finds special tokens by their text when the file does not name them, and makes
        // every token it finds a control token. It walks a hash map; Forge walks ids in order.
        let lookup = TokenTextLookup(tokens)
        func detect(_ slot: inout Int32?, _ candidates: [String]) {
            guard slot == nil else { return }
            for id in lookup.ids(of: candidates) {
                slot = id
                attributes[Int(id)].insert(.control)
                return
            }
        }
        detect(&endOfTurn, ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
                            "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"])
        detect(&endOfMessage, ["<|eom_id|>"])
        detect(&fimPrefix, ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>"])
        detect(&fimSuffix, ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>"])
        detect(&fimMiddle, ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>"])
        detect(&fimPad, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"])
        detect(&fimRepository, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"])
        detect(&fimSeparator, ["<|file_sep|>"])

        var endOfGeneration = Set([fimPad, fimRepository, fimSeparator].compactMap { $0 })
        let endOfGenerationTexts = [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
            "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        ]
        for id in lookup.ids(of: endOfGenerationTexts) {
            endOfGeneration.insert(id)
            attributes[Int(id)].insert(.control)
        }
        // gpt-oss renders these structural tokens as text.
        for id in lookup.ids(of: ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]) {
            attributes[Int(id)] = .userDefined
        }
        for id in [eos, endOfTurn, endOfMessage].compactMap({ $0 }) { endOfGeneration.insert(id) }
        // Harmony and Solar Open use "<|end|>" between turns, not at the end of generation.
        let generationTexts = Set(endOfGeneration.map { tokens[Int($0)] })
        if generationTexts.contains("<|end|>"),
           (generationTexts.contains("<|return|>") && (generationTexts.contains("<|call|>") || generationTexts.contains("<|calls|>")))
            || ((generationTexts.contains("<|call|>") || generationTexts.contains("<|calls|>")) && generationTexts.contains("<|flush|>"))
        {
            for id in endOfGeneration where tokens[Int(id)] == "<|end|>" {
                endOfGeneration.remove(id)
                attributes[Int(id)] = .userDefined
            }
        }
        // Gemma 4 has "</s>" as ordinary text.
        if generationTexts.contains("<|tool_response>") {
            for id in endOfGeneration where tokens[Int(id)] == "</s>" {
                endOfGeneration.remove(id)
                attributes[Int(id)] = .normal
            }
        }

        let special = attributes.indices.filter { !attributes[$0].isDisjoint(with: [.control, .userDefined, .unknown]) }
        specialTokensByLength = special
            .sorted { tokens[$0].utf8.count != tokens[$1].utf8.count ? tokens[$0].utf8.count > tokens[$1].utf8.count : $0 < $1 }
            .map { Int32($0) }

        // Per-model strip attributes llama.cpp sets by name.
        func text(_ key: String) -> String { ((try? gguf.optionalString(key)) ?? nil) ?? "" }
        let generalName = text("general.name").lowercased()
        let preName = text("tokenizer.ggml.pre")
        let architecture = text("general.architecture")
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: preName.contains)
            || ["nomic-bert-moe", "jina-bert-v3"].contains(where: architecture.contains)
        {
            for id in lookup.ids(of: ["<mask>"]) { attributes[Int(id)].insert(.leftStrip) }
        } else if generalName.contains("phi-3") || generalName.contains("phi3") {
            for id in specialTokensByLength { attributes[Int(id)].insert(.rightStrip) }
            for id in lookup.ids(of: ["</s>"]) { attributes[Int(id)].insert(.rightStrip) }
            for id in lookup.ids(of: ["<unk>", "<s>", "<|endoftext|>"]) { attributes[Int(id)].remove(.rightStrip) }
        } else if generalName.contains("modern-bert") {
            for id in lookup.ids(of: ["[MASK]"]) { attributes[Int(id)].insert(.leftStrip) }
        }

        texts = tokens
        textBytes = PackedByteStrings(tokens.lazy.map(\.utf8))
        self.scores = scores ?? [Float](repeating: 0, count: count)
        self.attributes = attributes
        bosID = bos
        eosID = eos
        unknownID = unknown
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.endOfGeneration = Set(endOfGeneration.map(Int.init))
    }

    /// Turns a metadata type error into a tokenizer error naming the key.
    private static func metadata<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let error as GGUFError {
            throw TokenizerError.invalidMetadata(key: error.field, reason: error.reason)
        }
    }
}

/// Finds tokens by their exact text, for the handful of texts llama.cpp looks for (a later
/// duplicate text wins, as in llama.cpp's map). Only tokens that start like one of those texts are
/// indexed, which keeps this cheap for large vocabularies.
private struct TokenTextLookup {
    private static let candidateFirstScalars: Set<Unicode.Scalar> = ["<", "_", "[", "\u{2581}"]
    private let idOfText: [String: Int32]

    init(_ tokens: [String]) {
        var map: [String: Int32] = [:]
        for (index, text) in tokens.enumerated() {
            if let first = text.unicodeScalars.first, TokenTextLookup.candidateFirstScalars.contains(first) {
                map[text] = Int32(index)
            }
        }
        idOfText = map
    }

    /// The ids of the texts present, lowest id first. Every text must start with a candidate character.
    func ids(of texts: [String]) -> [Int32] {
        texts.compactMap { idOfText[$0] }.sorted()
    }
}
