import Testing
import ForgeGGUF
@testable import ForgeTokenizer

/// Small vocabularies written as GGUF files in memory.
enum HandBuilt {
    /// A byte-level BPE vocabulary: the 256 single bytes, then `tokens`, with `merges` in rank order.
    /// Token and merge texts are raw text; they are spelled with GPT-2's byte characters here.
    static func bytePair(tokens: [String], merges: [(String, String)], pre: String?,
                         control: [String] = [], extra: [(String, GGUFValue)] = []) throws -> Tokenizer {
        let spellBytes = { (bytes: [UInt8]) in
            String(String.UnicodeScalarView(bytes.compactMap { Unicode.Scalar(ByteLevelMapping.characterOfByte[Int($0)]) }))
        }
        let spell = { (text: String) in spellBytes(Array(text.utf8)) }
        let byteStrings = (0..<256).map { spellBytes([UInt8($0)]) }
        let vocabulary = byteStrings + tokens.map(spell) + control
        let types = [Int32](repeating: 1, count: 256 + tokens.count) + [Int32](repeating: 3, count: control.count)
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("test"))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        if let pre { writer.set("tokenizer.ggml.pre", .string(pre)) }
        writer.set("tokenizer.ggml.tokens", .array(.string(vocabulary)))
        writer.set("tokenizer.ggml.token_type", .array(.int32(types)))
        writer.set("tokenizer.ggml.merges", .array(.string(merges.map { spell($0.0) + " " + spell($0.1) })))
        for (key, value) in extra { writer.set(key, value) }
        return try Tokenizer(gguf: GGUFFile(bytes: writer.serialized()))
    }

    /// A SentencePiece vocabulary: <unk>, <s>, </s>, the 256 byte tokens <0x00>…<0xFF>, then `pieces`
    /// (text, score) as normal tokens.
    static func sentencePiece(_ pieces: [(String, Float)], extra: [(String, GGUFValue)] = []) throws -> Tokenizer {
        let hex = (0..<256).map { "<0x" + String($0, radix: 16, uppercase: true).leftPadded(to: 2) + ">" }
        let texts = ["<unk>", "<s>", "</s>"] + hex + pieces.map(\.0)
        let scores: [Float] = [0, 0, 0] + [Float](repeating: 0, count: 256) + pieces.map(\.1)
        let types: [Int32] = [2, 3, 3] + [Int32](repeating: 6, count: 256) + [Int32](repeating: 1, count: pieces.count)
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("tokenizer.ggml.model", .string("llama"))
        writer.set("tokenizer.ggml.tokens", .array(.string(texts)))
        writer.set("tokenizer.ggml.scores", .array(.float32(scores)))
        writer.set("tokenizer.ggml.token_type", .array(.int32(types)))
        for (key, value) in extra { writer.set(key, value) }
        return try Tokenizer(gguf: GGUFFile(bytes: writer.serialized()))
    }

    static let firstSentencePieceID = 3 + 256
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}

@Suite struct BytePairVocabularyTests {
    // Ids: 0..255 single bytes, then the listed tokens from 256 on.
    static let tokens = ["ab", "bc", "abc", "aa", "aaa"]
    static let ab = 256, bc = 257, abc = 258, aa = 259

    @Test func lowestRankMergesFirst() throws {
        let bcFirst = try HandBuilt.bytePair(tokens: Self.tokens, merges: [("b", "c"), ("a", "b"), ("a", "bc")], pre: "gpt-2")
        #expect(bcFirst.encode("abc", addSpecial: false, parseSpecial: false) == [Self.abc])
        let abFirst = try HandBuilt.bytePair(tokens: Self.tokens, merges: [("a", "b"), ("b", "c"), ("a", "bc")], pre: "gpt-2")
        #expect(abFirst.encode("abc", addSpecial: false, parseSpecial: false) == [Self.ab, Int(UInt8(ascii: "c"))])
    }

    @Test func leftmostPairWinsATie() throws {
        let tokenizer = try HandBuilt.bytePair(tokens: Self.tokens, merges: [("a", "a")], pre: "gpt-2")
        #expect(tokenizer.encode("aaa", addSpecial: false, parseSpecial: false) == [Self.aa, Int(UInt8(ascii: "a"))])
        #expect(tokenizer.encode("aaaa", addSpecial: false, parseSpecial: false) == [Self.aa, Self.aa])
    }

    @Test func wordsInTheVocabularyAreTakenWholeOnlyWhereLlamaCppDoesThat() throws {
        // "abc" is a token but no merges lead to it.
        let llama3 = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "llama-bpe")
        #expect(llama3.encode("abc", addSpecial: false, parseSpecial: false) == [Self.abc])
        let gpt2 = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "gpt-2")
        #expect(gpt2.encode("abc", addSpecial: false, parseSpecial: false) == [97, 98, 99])
    }

    @Test func mergesApplyWithinWordsOnly() throws {
        let tokenizer = try HandBuilt.bytePair(tokens: Self.tokens, merges: [("a", "b")], pre: "gpt-2")
        // "a b" is two words ("a", " b"): no merge across the space.
        #expect(tokenizer.encode("a b", addSpecial: false, parseSpecial: false) == [97, 32, 98])
        #expect(tokenizer.decode(tokenizer.encode("ab ab", addSpecial: false, parseSpecial: false), showSpecial: false) == "ab ab")
    }

    @Test func controlTokensAreMatchedOnlyWhenParsingSpecialText() throws {
        let tokenizer = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "gpt-2", control: ["<|end|>"])
        let end = 256 + Self.tokens.count
        #expect(tokenizer.encode("a<|end|>", addSpecial: false, parseSpecial: true) == [97, end])
        #expect(tokenizer.encode("a<|end|>", addSpecial: false, parseSpecial: false).count == 8)
        #expect(tokenizer.isControl(end) && tokenizer.endOfGenerationTokenIDs.contains(end))
        #expect(tokenizer.decode([97, end], showSpecial: false) == "a")
        #expect(tokenizer.decode([97, end], showSpecial: true) == "a<|end|>")
    }

    @Test func bosAndEOSAreAddedAsTheFileAsks() throws {
        let extra: [(String, GGUFValue)] = [
            ("tokenizer.ggml.bos_token_id", .uint32(256)), ("tokenizer.ggml.eos_token_id", .uint32(257)),
            ("tokenizer.ggml.add_bos_token", .bool(true)), ("tokenizer.ggml.add_eos_token", .bool(true)),
        ]
        let tokenizer = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "gpt-2", extra: extra)
        #expect(tokenizer.addBOS && tokenizer.addEOS)
        #expect(tokenizer.encode("c", addSpecial: true, parseSpecial: false) == [256, 99, 257])
        #expect(tokenizer.encode("c", addSpecial: false, parseSpecial: false) == [99])
        // Llama 3's pre-tokenizer adds BOS by default, GPT-2's does not.
        let bos: [(String, GGUFValue)] = [("tokenizer.ggml.bos_token_id", .uint32(256))]
        #expect(try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "llama-bpe", extra: bos).addBOS)
        #expect(try !HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "gpt-2", extra: bos).addBOS)
    }

    @Test func cleanUpSpacesFollowsTheVocabulary() throws {
        let gpt2 = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "gpt-2")
        let ids = gpt2.encode("a , b 's c ' d", addSpecial: false, parseSpecial: false)
        #expect(gpt2.decode(ids, showSpecial: false) == "a, b's c'd")
        let qwen2 = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "qwen2")
        #expect(qwen2.decode(qwen2.encode("a , b", addSpecial: false, parseSpecial: false), showSpecial: false) == "a , b")
    }

    @Test func badFilesAreClearErrors() throws {
        #expect(throws: TokenizerError.unknownPreTokenizer("no-such-pre", known: PreTokenizerProfile.knownNames)) {
            try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "no-such-pre")
        }
        let message = TokenizerError.unknownPreTokenizer("x", known: PreTokenizerProfile.knownNames).description
        #expect(message.contains("qwen2") && message.contains("llama-bpe") && message.contains("smollm"))

        var writer = GGUFWriter()
        writer.set("tokenizer.ggml.model", .string("bert"))
        writer.set("tokenizer.ggml.tokens", .array(.string(["a"])))
        #expect(throws: TokenizerError.unsupportedModel("bert")) { try Tokenizer(gguf: GGUFFile(bytes: writer.serialized())) }

        var noTokens = GGUFWriter()
        noTokens.set("tokenizer.ggml.model", .string("gpt2"))
        #expect(throws: TokenizerError.missingMetadata(key: "tokenizer.ggml.tokens")) {
            try Tokenizer(gguf: GGUFFile(bytes: noTokens.serialized()))
        }

        var wrongType = GGUFWriter()
        wrongType.set("tokenizer.ggml.model", .string("gpt2"))
        wrongType.set("tokenizer.ggml.tokens", .array(.int32([1, 2])))
        #expect(throws: TokenizerError.self) { try Tokenizer(gguf: GGUFFile(bytes: wrongType.serialized())) }
    }

    @Test func idsOutsideTheVocabularyAreSkippedByDecodeAndRejectedByDecodeChecked() throws {
        let tokenizer = try HandBuilt.bytePair(tokens: Self.tokens, merges: [], pre: "gpt-2")
        #expect(tokenizer.decode([97, -1, 1_000_000, 98], showSpecial: true) == "ab")
        #expect(throws: TokenizerError.tokenOutOfRange(id: 1_000_000, vocabularySize: tokenizer.vocabularySize)) {
            try tokenizer.decodeChecked([97, 1_000_000], showSpecial: true)
        }
        #expect(tokenizer.tokenBytes(-5).isEmpty && tokenizer.tokenPiece(999_999).isEmpty && !tokenizer.isControl(-1))
    }
}

@Suite struct SentencePieceVocabularyTests {
    static let pieces: [(String, Float)] = [
        ("▁", -10), ("ll", -1), ("he", -2), ("llo", -3), ("hello", -4), ("▁hello", -5), ("▁h", -6), ("aa", 0),
    ]
    static func id(_ piece: String) -> Int {
        HandBuilt.firstSentencePieceID + pieces.firstIndex { $0.0 == piece }!
    }

    @Test func highestScoringPairsMergeFirst() throws {
        let tokenizer = try HandBuilt.sentencePiece(Self.pieces)
        // ll, he, llo, hello, then ▁hello (score -5) before ▁h (-6).
        #expect(tokenizer.encode("hello", addSpecial: false, parseSpecial: false) == [Self.id("▁hello")])
    }

    @Test func leftmostPairWinsATie() throws {
        let tokenizer = try HandBuilt.sentencePiece(Self.pieces)
        #expect(tokenizer.encode("aaa", addSpecial: false, parseSpecial: false) == [Self.id("▁"), Self.id("aa"), 3 + 0x61])
    }

    @Test func unknownCharactersFallBackToByteTokens() throws {
        let tokenizer = try HandBuilt.sentencePiece(Self.pieces)
        let ids = tokenizer.encode("hé", addSpecial: false, parseSpecial: false)
        #expect(ids == [Self.id("▁h"), 3 + 0xC3, 3 + 0xA9])
        #expect(tokenizer.decode(ids, showSpecial: false) == "hé")
    }

    @Test func bosIsAddedAndSpecialTextStartsANewPrefixedFragment() throws {
        let tokenizer = try HandBuilt.sentencePiece(Self.pieces)
        #expect(tokenizer.addBOS && tokenizer.bosTokenID == 1 && tokenizer.eosTokenID == 2)
        #expect(tokenizer.encode("hello", addSpecial: true, parseSpecial: false) == [1, Self.id("▁hello")])
        #expect(tokenizer.encode("<s>hello", addSpecial: false, parseSpecial: true) == [1, Self.id("▁hello")])
        #expect(tokenizer.endOfGenerationTokenIDs == [2])
    }

    @Test func decodingRestoresSpacesAndDropsTheAddedPrefix() throws {
        let tokenizer = try HandBuilt.sentencePiece(Self.pieces)
        let ids = tokenizer.encode("hello hello", addSpecial: true, parseSpecial: false)
        #expect(ids == [1, Self.id("▁hello"), Self.id("▁hello")])
        // The hidden BOS takes the place of the first token, so the prefix space stays (as in llama.cpp).
        #expect(tokenizer.decode(ids, showSpecial: false) == " hello hello")
        #expect(tokenizer.decode(ids, showSpecial: true) == "<s> hello hello")
        #expect(tokenizer.decode(Array(ids.dropFirst()), showSpecial: true) == "hello hello")
    }

    @Test func withoutSpacePrefixNothingIsAdded() throws {
        let tokenizer = try HandBuilt.sentencePiece(Self.pieces, extra: [("tokenizer.ggml.add_space_prefix", .bool(false))])
        #expect(tokenizer.encode("hello", addSpecial: false, parseSpecial: false) == [Self.id("hello")])
    }
}
