import Foundation
import Testing
import ForgeGGUF
import ForgeTestSupport
@testable import ForgeTokenizer

extension RealModels {
    static var bothPresent: Bool { path(qwen) != nil && path(smollm2) != nil }

    /// Each tokenizer is built once and shared by all tests (building one takes a moment).
    static let qwenTokenizer: Tokenizer? = load(qwen)
    static let smollm2Tokenizer: Tokenizer? = load(smollm2)

    static func tokenizer(_ file: String) throws -> Tokenizer {
        let tokenizer = file == qwen ? qwenTokenizer : smollm2Tokenizer
        return try #require(tokenizer, "\(file) did not load")
    }

    private static func load(_ file: String) -> Tokenizer? {
        guard let path = path(file), let gguf = try? GGUFFile(path: path) else { return nil }
        return try? Tokenizer(gguf: gguf)
    }
}

/// One case of Fixtures/tokenize-<model>.json (llama.cpp's output for the same text).
struct ReferenceCase: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let textHex: String
    let idsParseSpecial: [Int]
    let idsNoParseSpecial: [Int]
    let idsAddSpecialParseSpecial: [Int]
    let idsAddSpecialNoParseSpecial: [Int]
    let piecesParseSpecial: [String]
    let roundTrips: Bool

    enum CodingKeys: String, CodingKey {
        case name
        case textHex = "text_utf8_hex"
        case idsParseSpecial = "ids_parse_special"
        case idsNoParseSpecial = "ids_no_parse_special"
        case idsAddSpecialParseSpecial = "ids_add_special_parse_special"
        case idsAddSpecialNoParseSpecial = "ids_add_special_no_parse_special"
        case piecesParseSpecial = "pieces_parse_special"
        case roundTrips = "detokenized_roundtrip_equals_input"
    }

    var bytes: [UInt8] {
        var result: [UInt8] = []
        var index = textHex.startIndex
        while index < textHex.endIndex {
            let next = textHex.index(index, offsetBy: 2)
            result.append(UInt8(textHex[index..<next], radix: 16) ?? 0)
            index = next
        }
        return result
    }

    var testDescription: String { name }
}

struct ReferenceFile: Decodable {
    let modelFile: String
    let cases: [ReferenceCase]

    enum CodingKeys: String, CodingKey {
        case modelFile = "model_file"
        case cases
    }

    static func load(_ model: String) -> ReferenceFile? {
        guard let url = Bundle.module.url(forResource: "tokenize-\(model)", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url)
        else { return nil }
        return try? JSONDecoder().decode(ReferenceFile.self, from: data)
    }

    static let qwen = load("qwen2.5-coder-0.5b-instruct")
    static let smollm2 = load("smollm2-135m-instruct")
}

@Suite struct RealModelTokenizerTests {
    static let qwenCases = ReferenceFile.qwen?.cases ?? []
    static let smollm2Cases = ReferenceFile.smollm2?.cases ?? []

    @Test func fixturesArePresent() throws {
        let qwen = try #require(ReferenceFile.qwen)
        let smollm2 = try #require(ReferenceFile.smollm2)
        #expect(qwen.cases.count == 42 && qwen.modelFile == RealModels.qwen)
        #expect(smollm2.cases.count == 42 && smollm2.modelFile == RealModels.smollm2)
    }

    @Test(.enabled(if: RealModels.path(RealModels.qwen) != nil, "Qwen2.5-Coder model absent: run scripts/fetch-models"),
          arguments: qwenCases)
    func qwenMatchesLlamaCpp(_ reference: ReferenceCase) throws {
        try check(reference, try RealModels.tokenizer(RealModels.qwen))
    }

    @Test(.enabled(if: RealModels.path(RealModels.smollm2) != nil, "SmolLM2 model absent: run scripts/fetch-models"),
          arguments: smollm2Cases)
    func smollm2MatchesLlamaCpp(_ reference: ReferenceCase) throws {
        try check(reference, try RealModels.tokenizer(RealModels.smollm2))
    }

    private func check(_ reference: ReferenceCase, _ tokenizer: Tokenizer) throws {
        let bytes = reference.bytes
        #expect(tokenizer.encode(bytes, addSpecial: false, parseSpecial: true) == reference.idsParseSpecial)
        #expect(tokenizer.encode(bytes, addSpecial: false, parseSpecial: false) == reference.idsNoParseSpecial)
        #expect(tokenizer.encode(bytes, addSpecial: true, parseSpecial: true) == reference.idsAddSpecialParseSpecial)
        #expect(tokenizer.encode(bytes, addSpecial: true, parseSpecial: false) == reference.idsAddSpecialNoParseSpecial)
        let text = try #require(String(validating: bytes, as: UTF8.self))
        #expect(tokenizer.encode(text, addSpecial: false, parseSpecial: true) == reference.idsParseSpecial)
        #expect(reference.idsParseSpecial.map(tokenizer.tokenPiece) == reference.piecesParseSpecial)
        if reference.roundTrips {
            #expect(tokenizer.decode(reference.idsParseSpecial, showSpecial: true) == text)
        }
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"))
    func specialTokenFacts() throws {
        let qwen = try RealModels.tokenizer(RealModels.qwen)
        #expect(qwen.vocabularySize == 151_936)
        #expect(qwen.bosTokenID == 151_643 && qwen.eosTokenID == 151_645 && !qwen.addBOS)
        #expect(qwen.endOfGenerationTokenIDs == [151_643, 151_645, 151_662, 151_663, 151_664, 128_247])
        #expect(qwen.isControl(151_644) && !qwen.isControl(40))
        // "</s>" is promoted to a control token by its text, as llama.cpp does.
        #expect(qwen.isControl(128_247))
        #expect(qwen.encode("</s>", addSpecial: false, parseSpecial: true) == [128_247])

        let smollm2 = try RealModels.tokenizer(RealModels.smollm2)
        #expect(smollm2.vocabularySize == 49_152)
        #expect(smollm2.bosTokenID == 1 && smollm2.eosTokenID == 2 && !smollm2.addBOS)
        #expect(smollm2.endOfGenerationTokenIDs == [0, 2, 4])
    }

    @Test(.enabled(if: RealModels.bothPresent, "models absent: run scripts/fetch-models"))
    func specialTokensHiddenUnlessShown() throws {
        let qwen = try RealModels.tokenizer(RealModels.qwen)
        let ids = qwen.encode("<|im_start|>user\nHi<|im_end|>", addSpecial: false, parseSpecial: true)
        #expect(qwen.decode(ids, showSpecial: true) == "<|im_start|>user\nHi<|im_end|>")
        #expect(qwen.decode(ids, showSpecial: false) == "user\nHi")
        #expect(qwen.tokenBytes(151_644) == Array("<|im_start|>".utf8))
        // User-defined tokens are matched even without special parsing, and always shown.
        let toolCall = qwen.encode("<tool_call>", addSpecial: false, parseSpecial: false)
        #expect(toolCall == [151_657])
        #expect(qwen.decode(toolCall, showSpecial: false) == "<tool_call>")
    }
}
