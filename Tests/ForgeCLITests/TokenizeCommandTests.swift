import ArgumentParser
import Foundation
import Testing
import ForgeGGUF
@testable import ForgeCLI
import ForgeHub

/// A tiny byte-level BPE model file: the 256 GPT-2 byte characters, "ab", "Ġb" and a control token.
enum TinyModel {
    static let path: String = {
        // GPT-2's byte characters: printable Latin-1 stands for itself, other bytes map to U+0100 on.
        var nextCharacter: UInt32 = 256
        let byteTokens = (0..<256).map { byte -> String in
            var character = UInt32(byte)
            if !((0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)) {
                character = nextCharacter
                nextCharacter += 1
            }
            return Unicode.Scalar(character).map { String(Character($0)) } ?? ""
        }
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("test"))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.pre", .string("qwen2"))
        writer.set("tokenizer.ggml.tokens", .array(.string(byteTokens + ["ab", "Ġb", "<|end|>"])))
        writer.set("tokenizer.ggml.token_type", .array(.int32([Int32](repeating: 1, count: 258) + [3])))
        writer.set("tokenizer.ggml.merges", .array(.string(["a b", "Ġ b"])))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("forge-cli-tiny-\(getpid()).gguf").path
        try? writer.write(to: path)
        return path
    }()

    static let ab = 256, spaceB = 257, end = 258
}

private func run(_ arguments: [String]) throws -> String {
    let command = try Forge.parseAsRoot(arguments)
    switch command {
    case let tokenize as TokenizeCommand: return try tokenize.output()
    case let detokenize as DetokenizeCommand: return try detokenize.output()
    default: throw ValidationError("unexpected command \(type(of: command))")
    }
}

@Suite struct TokenizeCommandTests {
    @Test func idsArePrintedAsOneJSONLine() throws {
        #expect(try run(["tokenize", "-m", TinyModel.path, "ab b"]) == "[\(TinyModel.ab), \(TinyModel.spaceB)]\n")
        #expect(try run(["tokenize", "-m", TinyModel.path, "--ids", "ab b"]) == "[\(TinyModel.ab), \(TinyModel.spaceB)]\n")
    }

    @Test func specialTextIsPlainUnlessAsked() throws {
        #expect(try run(["tokenize", "-m", TinyModel.path, "--special", "a<|end|>"]) == "[97, \(TinyModel.end)]\n")
        let plain = try run(["tokenize", "-m", TinyModel.path, "a<|end|>"])
        #expect(!plain.contains(String(TinyModel.end)))
    }

    @Test func piecesAndJSON() throws {
        #expect(try run(["tokenize", "-m", TinyModel.path, "--pieces", "ab b"]) == "\(TinyModel.ab)\tab\n\(TinyModel.spaceB)\tĠb\n")
        #expect(try run(["tokenize", "-m", TinyModel.path, "--json", "\"b"]) == "{\"ids\":[34,98],\"pieces\":[\"\\\"\",\"b\"]}\n")
    }

    @Test func fileIsReadByteForByte() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("forge-cli-input-\(getpid()).bin")
        try Data([0x61, 0x62, 0xFF, 0x0A]).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        // 0xFF is not UTF-8: llama.cpp tokenizes it as U+FFFD (bytes EF BF BD).
        let expected = "[\(TinyModel.ab), \(0xEF), \(0xBF), \(0xBD), 10]\n"
        #expect(try run(["tokenize", "-m", TinyModel.path, "-f", file.path]) == expected)
    }

    @Test func textAndFileAreExclusive() throws {
        #expect(throws: (any Error).self) { try Forge.parseAsRoot(["tokenize", "-m", TinyModel.path]) }
        #expect(throws: (any Error).self) { try Forge.parseAsRoot(["tokenize", "-m", TinyModel.path, "-f", "x", "text"]) }
    }

    @Test func missingModelIsAClearError() throws {
        #expect(throws: ValidationError.self) { try run(["tokenize", "-m", "/nonexistent/model.gguf", "hi"]) }
    }

    @Test func benchmarkReportsThroughput() throws {
        let report = try run(["tokenize", "-m", TinyModel.path, "--benchmark", "2", "ab ab ab"])
        #expect(report.hasPrefix("8 bytes -> 5 tokens, 2 runs") && report.contains("MB/s"))
    }

    @Test func detokenizeAcceptsArgumentsOrTheIdsLine() throws {
        #expect(try run(["detokenize", "-m", TinyModel.path, "\(TinyModel.ab)", "\(TinyModel.spaceB)"]) == "ab b")
        #expect(try run(["detokenize", "-m", TinyModel.path, "[97, \(TinyModel.end), 10]"]) == "a<|end|>\n")
        #expect(try run(["detokenize", "-m", TinyModel.path, "--hide-special", "[97, \(TinyModel.end)]"]) == "a")
    }

    @Test func detokenizeRejectsBadIds() throws {
        #expect(throws: (any Error).self) { try run(["detokenize", "-m", TinyModel.path, "12x"]) }
        #expect(throws: (any Error).self) { try run(["detokenize", "-m", TinyModel.path, "999999"]) }
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: ModelCache.directory() + "/" + ModelCache.defaultModelName),
                   "Qwen2.5-Coder model absent: run scripts/fetch-models"))
    func realModelMatchesLlamaCpp() throws {
        let model = ModelCache.directory() + "/" + ModelCache.defaultModelName
        let ids = try run(["tokenize", "-m", model, "I'm sure you'll see they've done what we'd've expected; isn't it?"])
        #expect(ids.hasPrefix("[40, 2776, 2704, 498, 3278, 1490, 807, 3003, 2814, 1128, 582, 4172"))
        #expect(try run(["tokenize", "-m", model, "--special", "<|im_start|>user"]) == "[151644, 872]\n")
        #expect(try run(["detokenize", "-m", model, "[151644, 872]"]) == "<|im_start|>user")
    }
}
