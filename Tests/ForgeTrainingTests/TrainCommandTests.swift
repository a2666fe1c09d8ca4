import Foundation
import ForgeGGUF
import Testing
@testable import ForgeCLI
@testable import ForgeTraining

/// `forge train` run in-process, as a user would type it.
struct TrainCommandTests {
    static func run(_ arguments: [String]) throws {
        let parsed = try Forge.parseAsRoot(["train"] + arguments)
        guard let command = parsed as? TrainCommand else {
            throw TrainingError("`train` did not parse as TrainCommand")
        }
        try command.run()
    }

    static let tinyModel = ["--layers", "1", "--dim", "16", "--heads", "4", "--kv-heads", "2", "--ffn", "24", "--context", "16", "--batch", "2", "-t", "2"]

    /// Runs the command expecting a TrainingError that mentions `phrase`, and no output file.
    static func expectRejection(_ arguments: [String], mentioning phrase: String, out: String) {
        do {
            try run(arguments)
            Issue.record("expected an error mentioning \"\(phrase)\"")
        } catch let error as TrainingError {
            #expect(error.description.contains(phrase), "\(error.description)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func missingDataFile() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        Self.expectRejection(["--data", directory.file("absent.txt"), "--out", out] + Self.tinyModel, mentioning: "cannot read data file", out: out)
    }

    @Test func emptyDataFile() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        #expect(FileManager.default.createFile(atPath: directory.file("empty.txt"), contents: Data()))
        Self.expectRejection(["--data", directory.file("empty.txt"), "--out", out] + Self.tinyModel, mentioning: "is empty", out: out)
    }

    @Test func headsNotDivisibleByKeyValueHeads() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        Self.expectRejection(["--data", try Fixture.lighthousePath, "--out", out, "--dim", "48", "--heads", "6", "--kv-heads", "4"], mentioning: "heads 6 is not divisible by kv-heads 4", out: out)
    }

    @Test func contextLargerThanTheData() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        Self.expectRejection(["--data", try Fixture.lighthousePath, "--out", out, "--context", "4096", "--val-fraction", "0"], mentioning: "context 4096 is larger than the training data", out: out)
        Self.expectRejection(["--data", try Fixture.lighthousePath, "--out", out, "--context", "512"], mentioning: "context 512 is larger than the validation data", out: out)
    }

    @Test func badOptions() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("m.gguf")
        let data = try Fixture.lighthousePath
        Self.expectRejection(["--data", data, "--out", out, "--dtype", "q4_0"] + Self.tinyModel, mentioning: "--dtype", out: out)
        Self.expectRejection(["--data", data, "--out", out] + Self.tinyModel + ["--batch", "0"], mentioning: "--batch", out: out)
        Self.expectRejection(["--data", data, "--out", out, "--dim", "30", "--heads", "4"], mentioning: "not divisible by heads", out: out)
        Self.expectRejection(["--data", data, "--out", out, "--resume", directory.file("none.ckpt")] + Self.tinyModel, mentioning: "cannot read checkpoint", out: out)
        Self.expectRejection(["--data", data, "--out", out, "--dim", "1048576", "--heads", "1", "--kv-heads", "1"], mentioning: "larger than the supported", out: out)
        Self.expectRejection(["--data", data, "--out", out, "--layers", "1000", "--dim", "8192", "--heads", "1", "--kv-heads", "1", "--ffn", "32768", "--context", "64"], mentioning: "more than this machine's memory", out: out)
    }

    @Test func trainsExportsAndLogs() throws {
        let directory = try TemporaryDirectory()
        let out = directory.file("tiny.gguf")
        let log = directory.file("curve.jsonl")
        try Self.run(["--data", try Fixture.lighthousePath, "--out", out, "--steps", "4", "--val-every", "2", "--log", log, "--checkpoint-every", "2"] + Self.tinyModel)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4)
        for (index, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["step"] as? Int == index + 1)
            #expect(object?["loss"] is Double)
            #expect(object?["lr"] is Double)
            #expect(object?["tokens_per_second"] is Double)
            #expect((object?["val_loss"] != nil) == (index % 2 == 1))
        }
        let checkpoint = try Checkpoint(path: out + ".ckpt")
        #expect(checkpoint.step == 4)
        let (configuration, parameters) = try LlamaGGUF.read(GGUFFile(path: out))
        #expect(configuration.keyValueHeadCount == 2)
        #expect(parameters == checkpoint.parameters)
    }

    @Test func resumeThroughTheCommandLineMatchesAnUninterruptedRun() throws {
        let directory = try TemporaryDirectory()
        let data = try Fixture.lighthousePath
        try Self.run(["--data", data, "--out", directory.file("straight.gguf"), "--steps", "4"] + Self.tinyModel)

        // The same run as the command line builds it, stopped after two of its four steps.
        let configuration = TransformerConfiguration(
            vocabularySize: 258, layerCount: 1, embeddingLength: 16, headCount: 4, keyValueHeadCount: 2,
            feedForwardLength: 24, contextLength: 16)
        let options = TrainingOptions(batchSize: 2, steps: 4)
        let corpus = try TrainingCorpus.load(path: data, vocabulary: .bytes, validationFraction: 0.05, contextLength: 16)
        let half = try Trainer(configuration: configuration, options: options, corpus: corpus, threads: 2)
        _ = half.trainStep()
        _ = half.trainStep()
        try half.saveCheckpoint(to: directory.file("half.ckpt"))

        try Self.run(["--data", data, "--out", directory.file("resumed.gguf"), "--resume", directory.file("half.ckpt"), "-t", "2"])
        let straight = try LlamaGGUF.read(GGUFFile(path: directory.file("straight.gguf")))
        let resumed = try LlamaGGUF.read(GGUFFile(path: directory.file("resumed.gguf")))
        #expect(resumed.parameters == straight.parameters)
        #expect(resumed.parameters != half.parameterValues)
    }
}
