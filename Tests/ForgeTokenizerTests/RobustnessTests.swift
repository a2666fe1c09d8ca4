import ForgeKernels
import ForgeTestSupport
import Testing
@testable import ForgeTokenizer

/// Mixed-language text of about `count` bytes, made of the reference strings.
func largeText(bytes count: Int) -> String {
    let samples = (ReferenceFile.qwen?.cases ?? []).compactMap { String(validating: $0.bytes, as: UTF8.self) }
    var text = ""
    var index = 0
    while text.utf8.count < count && !samples.isEmpty {
        text += samples[index % samples.count] + "\n"
        index += 1
    }
    return text
}

@Suite struct RobustnessTests {
    static let models = [RealModels.qwen, RealModels.smollm2]

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"), arguments: models)
    func invalidUTF8IsTokenizedAsLlamaCppDoes(_ model: String) throws {
        let tokenizer = try RealModels.tokenizer(model)
        func ids(_ bytes: [UInt8]) -> [Int] { tokenizer.encode(bytes, addSpecial: false, parseSpecial: false) }
        // Each undecodable byte is U+FFFD.
        #expect(ids([0x61, 0xFF, 0x62]) == tokenizer.encode("a\u{FFFD}b", addSpecial: false, parseSpecial: false))
        #expect(ids([0xE4, 0xBD]) == tokenizer.encode("\u{FFFD}\u{FFFD}", addSpecial: false, parseSpecial: false))
        // Overlong forms are re-encoded by value; surrogates pass through as their bytes.
        #expect(ids([0x78, 0xC0, 0x80]) == ids([0x78, 0x00]))
        #expect(tokenizer.decodeBytes(ids([0xED, 0xA0, 0x80]), showSpecial: true) == [0xED, 0xA0, 0x80])
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"), arguments: models)
    func randomBytesNeverFail(_ model: String) throws {
        let tokenizer = try RealModels.tokenizer(model)
        var generator = SplitMix64(seed: 42)
        for length in [1, 2, 3, 7, 64, 1000, 20_000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            for parseSpecial in [false, true] {
                let ids = tokenizer.encode(bytes, addSpecial: true, parseSpecial: parseSpecial)
                #expect(!ids.isEmpty)
                #expect(ids.allSatisfy { $0 >= 0 && $0 < tokenizer.vocabularySize })
                var decoder = StreamingDecoder(tokenizer: tokenizer, showSpecial: true)
                let streamed = ids.map { decoder.append($0) }.joined() + decoder.flush()
                #expect(streamed == tokenizer.decode(ids, showSpecial: true))
            }
        }
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"), arguments: models)
    func randomValidTextRoundTrips(_ model: String) throws {
        let tokenizer = try RealModels.tokenizer(model)
        var generator = SplitMix64(seed: 7)
        let planes: [ClosedRange<UInt32>] = [0x20...0x7E, 0xA0...0x24F, 0x370...0x52F, 0x3040...0x30FF, 0x4E00...0x9FFF, 0xAC00...0xD7A3, 0x1F300...0x1FAFF]
        for _ in 0..<200 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 1...40, using: &generator) {
                let plane = planes[Int.random(in: 0..<planes.count, using: &generator)]
                if let scalar = Unicode.Scalar(UInt32.random(in: plane, using: &generator)) { scalars.append(scalar) }
                if Bool.random(using: &generator) { scalars.append(" ") }
            }
            let text = String(scalars)
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(tokenizer.decode(ids, showSpecial: true) == text)
        }
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"), arguments: models)
    func oneMegabyteRoundTrips(_ model: String) throws {
        let tokenizer = try RealModels.tokenizer(model)
        let text = largeText(bytes: 1 << 20)
        #expect(text.utf8.count >= 1 << 20)
        let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: true)
        #expect(ids.count > text.utf8.count / 8 && ids.count < text.utf8.count)
        #expect(tokenizer.decode(ids, showSpecial: true) == text)
        #expect(tokenizer.encode(Array(text.utf8), addSpecial: false, parseSpecial: true) == ids)
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"), arguments: models)
    func longRunsOfOneCharacterComplete(_ model: String) throws {
        let tokenizer = try RealModels.tokenizer(model)
        for character in ["a", " ", "\n", "7", "!", "é", "你"] {
            let text = String(repeating: character, count: 100_000 / character.utf8.count)
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            #expect(ids.count <= text.utf8.count)
            #expect(tokenizer.decode(ids, showSpecial: false) == text)
        }
        // A long run merges into long tokens, not into one token per byte.
        let run = tokenizer.encode(String(repeating: "a", count: 100_000), addSpecial: false, parseSpecial: false)
        #expect(run.count <= 100_000 / 4)
    }

    @Test(.enabled(if: RealModels.path(RealModels.qwen) != nil, "Qwen2.5-Coder model absent: run scripts/fetch-models"))
    func oneTokenizerFromManyTasksGivesTheSameIds() async throws {
        let tokenizer = try RealModels.tokenizer(RealModels.qwen)
        let texts = (ReferenceFile.qwen?.cases ?? []).compactMap { String(validating: $0.bytes, as: UTF8.self) } + [largeText(bytes: 100_000)]
        let expected = texts.map { tokenizer.encode($0, addSpecial: true, parseSpecial: true) }
        let results = await withTaskGroup(of: [[Int]].self) { group in
            for task in 0..<16 {
                group.addTask {
                    let order = task % 2 == 0 ? Array(texts.indices) : texts.indices.reversed()
                    var ids = [[Int]](repeating: [], count: texts.count)
                    for index in order { ids[index] = tokenizer.encode(texts[index], addSpecial: true, parseSpecial: true) }
                    return ids
                }
            }
            var all: [[[Int]]] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 16)
        for result in results { #expect(result == expected) }
    }
}

@Suite struct StreamingDecoderTests {
    @Test func charactersSplitAcrossByteTokensAreHeldUntilComplete() throws {
        let tokenizer = try HandBuilt.sentencePiece(SentencePieceVocabularyTests.pieces)
        let ids = tokenizer.encode("h€!", addSpecial: false, parseSpecial: false)  // ▁h, E2, 82, AC, !
        #expect(ids == [SentencePieceVocabularyTests.id("▁h"), 3 + 0xE2, 3 + 0x82, 3 + 0xAC, 3 + 0x21])
        var decoder = StreamingDecoder(tokenizer: tokenizer, showSpecial: false)
        #expect(ids.map { decoder.append($0) } == ["h", "", "", "€", "!"])
        #expect(decoder.flush() == "")
    }

    @Test func flushReplacesAnUnfinishedCharacter() throws {
        let tokenizer = try HandBuilt.sentencePiece(SentencePieceVocabularyTests.pieces)
        var decoder = StreamingDecoder(tokenizer: tokenizer, showSpecial: false)
        #expect(decoder.append(3 + 0xE2) == "")
        #expect(decoder.append(3 + 0x82) == "")
        #expect(decoder.flush() == "\u{FFFD}")
        // Bytes that can never start a character are not held back.
        #expect(decoder.append(3 + 0xFF) == "\u{FFFD}")
    }

    @Test func specialTokensFollowTheOption() throws {
        let tokenizer = try HandBuilt.sentencePiece(SentencePieceVocabularyTests.pieces)
        var hidden = StreamingDecoder(tokenizer: tokenizer, showSpecial: false)
        var shown = StreamingDecoder(tokenizer: tokenizer, showSpecial: true)
        #expect(hidden.append(1) == "" && shown.append(1) == "<s>")
        #expect(hidden.append(-3) == "" && shown.append(1 << 30) == "")
    }

    @Test func incompleteSuffixDetection() {
        #expect(StreamingDecoder.incompleteSuffixLength([]) == 0)
        #expect(StreamingDecoder.incompleteSuffixLength([0x61]) == 0)
        #expect(StreamingDecoder.incompleteSuffixLength([0x61, 0xE4]) == 1)
        #expect(StreamingDecoder.incompleteSuffixLength([0xE4, 0xBD]) == 2)
        #expect(StreamingDecoder.incompleteSuffixLength([0xE4, 0xBD, 0xA0]) == 0)
        #expect(StreamingDecoder.incompleteSuffixLength([0xF0, 0x9F, 0x8D]) == 3)
        #expect(StreamingDecoder.incompleteSuffixLength([0xE0, 0x80]) == 0)  // overlong: never valid
        #expect(StreamingDecoder.incompleteSuffixLength([0xC0]) == 0)
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"), arguments: RobustnessTests.models)
    func streamingRealTokensGivesTheTextWithoutReplacementCharacters(_ model: String) throws {
        let tokenizer = try RealModels.tokenizer(model)
        let text = "pizza 🍕🍕, 你好，世界！ 안녕하세요 👨‍👩‍👧‍👦 naïve"
        var decoder = StreamingDecoder(tokenizer: tokenizer, showSpecial: false)
        let chunks = tokenizer.encode(text, addSpecial: false, parseSpecial: false).map { decoder.append($0) }
        #expect(chunks.joined() + decoder.flush() == text)
        #expect(!chunks.joined().contains("\u{FFFD}"))
    }
}
