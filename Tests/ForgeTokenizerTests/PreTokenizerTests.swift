import Testing
@testable import ForgeTokenizer

/// The words a pre-tokenizer cuts `text` into.
func words(_ text: String, _ preName: String) throws -> [String] {
    let profile = try #require(PreTokenizerProfile.byName[preName])
    let codepoints = text.unicodeScalars.map(\.value)
    var start = 0
    return PreTokenizer(rules: profile.rules).wordEnds(codepoints).map { end in
        defer { start = end }
        return String(String.UnicodeScalarView(codepoints[start..<end].compactMap(Unicode.Scalar.init)))
    }
}

@Suite struct PreTokenizerTests {
    @Test func qwen2SplitsDigitsOneByOne() throws {
        #expect(try words("abc 12345", "qwen2") == ["abc", " ", "1", "2", "3", "4", "5"])
    }

    @Test func llama3GroupsDigitsInThrees() throws {
        #expect(try words("abc 1234567", "llama-bpe") == ["abc", " ", "123", "456", "7"])
    }

    @Test func llama3ContractionsIgnoreCase() throws {
        #expect(try words("DON'T we'LL", "llama-bpe") == ["DON", "'T", " we", "'LL"])
        #expect(try words("DON'T", "qwen2") == ["DON", "'T"])
    }

    @Test func gpt2ContractionsAreCaseSensitive() throws {
        #expect(try words("don't DON'T", "gpt-2") == ["don", "'t", " DON", "'", "T"])
    }

    @Test func llama3LetterRunsTakeOneLeadingNonLetter() throws {
        #expect(try words("\"quoted\" (x)", "llama-bpe") == ["\"quoted", "\"", " (", "x", ")"])
        #expect(try words("\tword\nnext", "qwen2") == ["\tword", "\n", "next"])
    }

    @Test func whitespaceBeforeAWordLeavesItsLastSpaceToTheWord() throws {
        #expect(try words("a   b", "qwen2") == ["a", "  ", " b"])
        #expect(try words("a   b", "gpt-2") == ["a", "  ", " b"])
        #expect(try words("end   ", "qwen2") == ["end", "   "])
    }

    @Test func lineBreaksEndWhitespaceRuns() throws {
        #expect(try words("x \n\n  y", "qwen2") == ["x", " \n\n", " ", " y"])
        #expect(try words("x;\n\ny", "llama-bpe") == ["x", ";\n\n", "y"])
    }

    @Test func smollmSplitsEveryDigitThenUsesGPT2() throws {
        #expect(try words("v2 123 x", "smollm") == ["v", "2", " ", "1", "2", "3", " x"])
    }

    @Test func unicodeClassesFollowGeneralCategory() throws {
        // Accents inside words are letters; a combining mark (category M) is not.
        #expect(try words("naïve café", "qwen2") == ["naïve", " café"])
        #expect(try words("e\u{301}x", "qwen2") == ["e", "\u{301}x"])
        // Ideographic space is whitespace; fullwidth digits are numbers.
        #expect(try words("你好\u{3000}世界", "qwen2") == ["你好", "\u{3000}世界"])
        #expect(try words("１２", "qwen2") == ["１", "２"])
    }

    @Test func defaultSplitsPunctuationRunsAndDigitTriples() throws {
        #expect(try words("hello, world!! 12345", "default") == ["hello", ",", " world", "!!", " ", "123", "45"])
    }

    @Test func deepSeekCoderRules() throws {
        #expect(try words("Hi there, 世界 42\n", "deepseek-coder") == ["Hi", " there", ",", " ", "世界", " ", "4", "2", "\n"])
    }

    @Test func deepSeekLLMRules() throws {
        #expect(try words("Hello world!  \nok 123", "deepseek-llm") == ["Hello", " world", "!", "  ", "\n", "ok", " ", "123"])
    }

    @Test func everyKnownNameHasRulesAndEmptyTextHasNoWords() throws {
        for name in PreTokenizerProfile.knownNames {
            #expect(try words("", name).isEmpty)
            #expect(try words("Some text, 123 and more.", name).joined() == "Some text, 123 and more.")
        }
    }
}

@Suite struct UnicodeSupportTests {
    private func decode(_ bytes: [UInt8]) -> [UInt32] {
        var result: [UInt32] = []
        bytes.withUnsafeBufferPointer { UnicodeSupport.decodeCodepoints($0, into: &result) }
        return result
    }

    @Test func invalidBytesBecomeReplacementCharactersOneByOne() {
        #expect(decode([0x61, 0xFF, 0x62]) == [0x61, 0xFFFD, 0x62])
        #expect(decode([0x80, 0xBF]) == [0xFFFD, 0xFFFD])
        // A truncated sequence: each byte is invalid on its own.
        #expect(decode([0xE4, 0xBD]) == [0xFFFD, 0xFFFD])
        #expect(decode([0xE4, 0xBD, 0xA0]) == [0x4F60])
    }

    @Test func overlongFormsAndSurrogatesDecodeToTheirValueAsInLlamaCpp() {
        #expect(decode([0xC0, 0x80]) == [0])
        #expect(decode([0xED, 0xA0, 0x80]) == [0xD800])
        // Above U+10FFFF: llama.cpp throws; Forge treats the lead byte as invalid.
        #expect(decode([0xF4, 0x90, 0x80, 0x80]) == [0xFFFD, 0xFFFD, 0xFFFD, 0xFFFD])
    }

    @Test func flagsMatchLlamaCppCategories() {
        #expect(UnicodeSupport.flags(0x41).isLetter)
        #expect(UnicodeSupport.flags(0x4F60).isLetter)
        #expect(UnicodeSupport.flags(0x0661).isNumber)  // Arabic-Indic digit one
        #expect(UnicodeSupport.flags(0x2028).isWhitespace)
        #expect(!UnicodeSupport.flags(0x200B).isWhitespace && UnicodeSupport.flags(0x200B).isOther)  // zero-width space: Cf
        #expect(UnicodeSupport.flags(0x1F355).isOther)  // emoji: symbol
        #expect(UnicodeSupport.flags(0xE0000).contains(.undefined))
        #expect(UnicodeSupport.flags(0xD800).contains(.control))
        // Assigned in Unicode 15.1 (llama.cpp's tables) and in 16.0 (unassigned to llama.cpp).
        #expect(UnicodeSupport.flags(0x2EBF0).isLetter)
        #expect(UnicodeSupport.flags(0x1C89) == .undefined)
    }

    @Test func byteLevelMappingIsGPT2s() {
        #expect(ByteLevelMapping.characterOfByte[0x20] == 0x120)  // 'Ġ'
        #expect(ByteLevelMapping.characterOfByte[0x0A] == 0x10A)  // 'Ċ'
        #expect(ByteLevelMapping.characterOfByte[0x41] == 0x41)
        #expect(Set(ByteLevelMapping.characterOfByte).count == 256)
        #expect(ByteLevelMapping.bytes(ofVocabularyText: "Ġthe") == Array(" the".utf8))
        #expect(ByteLevelMapping.bytes(ofVocabularyText: "▁x") == nil)
    }
}
