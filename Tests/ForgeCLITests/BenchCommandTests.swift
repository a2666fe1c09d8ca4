import ArgumentParser
import Foundation
import ForgeGGUF
import ForgeGeneration
import ForgeKernels
import ForgeTestSupport
import ForgeTraining
import Testing
@testable import ForgeCLI

/// `forge bench` on a tiny model written by the test: the report's shape, its figures, and the
/// errors bad arguments give.
@Suite struct BenchCommandTests {
    /// A 2-layer llama model with F32 weights and the byte vocabulary, in a fresh directory.
    static func tinyModel(tied: Bool = false, contextLength: Int = 64) throws -> TinyModelFile {
        try TinyModelFile(contextLength: contextLength, tied: tied, seed: 5, standardDeviation: 0.05, lettersOnly: false)
    }

    /// Calibration off: no timing, and the user's tuning file left alone.
    static func measure(_ arguments: [String]) throws -> (report: BenchReport, rows: [String]) {
        let command = try BenchCommand.parse(arguments)
        var rows: [String] = []
        var plan = try command.plan()
        plan.calibration = .off
        let report = try BenchReport.measure(plan) { rows.append($0) }
        return (report, rows)
    }

    /// The message a user sees for `arguments`, which must fail before or while measuring.
    static func failure(_ arguments: [String]) -> String {
        do {
            _ = try measure(arguments)
            return "no error"
        } catch {
            return BenchCommand.message(for: error)
        }
    }

    @Test func jsonReportHasOneResultPerTestWithPositiveFigures() throws {
        let model = try Self.tinyModel()
        let (report, _) = try Self.measure(["-m", model.path, "-p", "16", "-n", "8", "-r", "2", "--bandwidth-mib", "16", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])

        let results = try #require(object["results"] as? [[String: Any]])
        #expect(results.map { $0["test"] as? String } == ["pp16", "tg8"])
        for result in results {
            #expect(result["model"] as? String == model.path)
            #expect(result["threads"] as? Int == 2)
            #expect((result["tokens_per_second"] as? Double ?? 0) > 0)
            #expect((result["stddev"] as? Double ?? -1) >= 0)
            let samples = try #require(result["samples"] as? [Double])
            #expect(samples.count == 2 && samples.allSatisfy { $0 > 0 })
        }
        #expect(results[0]["effective_gb_per_second"] == nil)
        #expect((results[1]["effective_gb_per_second"] as? Double ?? 0) > 0)
        #expect((results[1]["fraction_of_bandwidth"] as? Double ?? 0) > 0)
        // pp16 on 2 layers of width 32 (4 query heads and 2 KV heads of 8, ffn 64), vocabulary 258: the
        // layers' matrices, attention over 17/2 keys on average, the output head once per prompt.
        let layerWeights = 2 * (32 * 32 + 2 * 16 * 32 + 32 * 32 + 3 * 32 * 64)
        let flopsPerToken = 2.0 * Double(layerWeights) + 2.0 * 258 * 32 / 16 + 2.0 * 2 * 32 * 17
        let promptFlops = try #require(results[0]["effective_gflop_per_second"] as? Double) * 1e9
        let promptRate = try #require(results[0]["tokens_per_second"] as? Double)
        #expect(abs(promptFlops / promptRate - flopsPerToken) < 1e-6 * flopsPerToken)
        #expect((results[0]["fraction_of_compute"] as? Double ?? 0) > 0)
        #expect(results[1]["effective_gflop_per_second"] == nil)
        let computeProbes = try #require(object["compute"] as? [[String: Any]])
        #expect(computeProbes.count == 1 && computeProbes[0]["threads"] as? Int == 2)
        #expect((object["compute_gflop_per_second"] as? Double ?? 0) > 0)

        #expect((object["read_bandwidth_gb_per_second"] as? Double ?? 0) > 0)
        let probes = try #require(object["bandwidth"] as? [[String: Any]])
        #expect(probes.count == 1 && probes[0]["threads"] as? Int == 2 && probes[0]["buffer_bytes"] as? Int == 16 << 20)
        #expect((object["peak_rss_bytes"] as? Int ?? 0) > 0)
        #expect(object["kernels"] as? String == KernelVariant.best.name)

        let models = try #require(object["models"] as? [[String: Any]])
        #expect(models.count == 1)
        let info = models[0]
        let tensorBytes = try GGUFFile(path: model.path).tensors.reduce(0) { $0 + $1.byteCount }
        #expect(info["size_bytes"] as? Int == tensorBytes)
        #expect(info["parameters"] as? Int == ParameterLayout(TransformerConfiguration(
            vocabularySize: 258, layerCount: 2, embeddingLength: 32, headCount: 4, keyValueHeadCount: 2,
            feedForwardLength: 64, contextLength: 64)).count)
        #expect(info["description"] as? String == "llama 35K all F32")
        // Untied output: the embedding is read one row per token, the output head in full.
        #expect(info["weight_bytes_per_token"] as? Int == tensorBytes - 258 * 32 * 4 + 32 * 4)
        #expect((info["load_seconds"] as? Double ?? 0) > 0)
        #expect((info["peak_rss_bytes"] as? Int ?? 0) > 0)
        // Whichever order the process's strategy table holds: other tests may calibrate F32.
        let strategies = try #require(info["decode_strategies"] as? [String: String])
        let strategy = try #require(strategies["F32"])
        #expect(strategies.count == 1 && DecodeRowOrder.candidates(variant: .best, type: .f32).map(\.rawValue).contains(strategy))
        #expect(report.summary().contains("decode strategies: F32 \(strategy) (FORGE_KERNEL_TUNING=off"))
        if let first = info["first_token_seconds"] as? Double {
            #expect(first > info["load_seconds"] as? Double ?? .infinity)
        }
    }

    @Test func tableRowsFollowLlamaBenchColumns() throws {
        let model = try Self.tinyModel(tied: true)
        let (report, rows) = try Self.measure(["-m", model.path, "-p", "8,12", "-n", "4", "-t", "1", "-t", "2", "-r", "1", "--bandwidth-mib", "0"])
        let header = BenchReport.tableHeader.split(separator: "\n")[0]
        #expect(header.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } == ["model", "size", "params", "threads", "test", "t/s"])
        #expect(rows.count == 6)
        let cells = rows.map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(cells.map { $0[3] } == ["1", "1", "1", "2", "2", "2"])
        #expect(cells.map { $0[4] } == ["pp8", "pp12", "tg4", "pp8", "pp12", "tg4"])
        for row in cells {
            #expect(row[0] == "llama 27K all F32")
            #expect(row[1].hasSuffix(" MiB") && row[2].hasSuffix(" M"))
            let rate = row[5].split(separator: "±").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            #expect(rate.count == 2 && (rate[0] ?? 0) > 0 && rate[1] == 0, "one repetition has no spread: \(row[5])")
        }
        // Tied output: the embedding doubles as the output head, read in full every token.
        #expect(report.models[0].weightBytesPerToken == report.models[0].sizeBytes)
        let summary = report.summary()
        #expect(summary.contains("tg4 with 2 threads:") && summary.contains("GB/s of weights"))
        #expect(!summary.contains("read bandwidth ceiling"), "--bandwidth-mib 0 skips the probe")
    }

    /// `--kernels` runs the tests on the chosen variant and the report names it.
    @Test func kernelsOptionChoosesTheVariant() throws {
        let model = try Self.tinyModel()
        let (report, rows) = try Self.measure(["-m", model.path, "-p", "8", "-n", "2", "-r", "1", "--bandwidth-mib", "0", "--kernels", "generic", "--json"])
        #expect(rows.count == 2)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        #expect(object["kernels"] as? String == "generic")
        #expect(report.summary().contains("generic kernels"))
        #expect(report.summary().contains("decode strategies: F32 rows"), "the generic kernels have no row panels")
    }

    /// `--json-schema` decodes the tg tests under the schema; the rows say so.
    @Test func jsonSchemaConstrainsTheGenerationTests() throws {
        let model = try Self.tinyModel()
        let schema = #"{"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}"#
        let (report, rows) = try Self.measure(["-m", model.path, "-p", "8", "-n", "16", "-r", "1", "--bandwidth-mib", "0", "--json-schema", schema])
        #expect(report.models[0].results.map(\.testName) == ["pp8", "tg16+schema"])
        #expect(rows.count == 2 && rows[1].contains("| tg16+schema |"))
        #expect(report.models[0].results[1].samples.allSatisfy { $0 > 0 })
        #expect(Self.failure(["-m", model.path, "--json-schema", #"{"type": "array", "minItems": "x"}"#])
            .contains("JSON schema at #/minItems: minItems must be a whole number"))
        #expect(Self.failure(["-m", model.path, "--json-schema", model.directory + "/absent.json"]).contains("cannot read"))
    }

    @Test func badArgumentsGiveClearErrors() throws {
        let model = try Self.tinyModel(contextLength: 32)
        #expect(Self.failure(["-m", model.path, "-p", "abc"]).contains("-p: 'abc' is not a whole number"))
        #expect(Self.failure(["-m", model.path, "-n", "12,-3"]).contains("-n: -3 is less than 0"))
        #expect(Self.failure(["-m", model.path, "-t", "0"]).contains("-t: 0 is less than 1"))
        #expect(Self.failure(["-m", model.path, "-t", "300"]).contains("-t must be between 1 and 256"))
        #expect(Self.failure(["-m", model.path, "-r", "0"]).contains("-r must be between 1 and 1000"))
        #expect(Self.failure(["-m", model.path, "-p", "0", "-n", "0"]).contains("nothing to measure"))
        #expect(Self.failure(["-m", model.path, "--bandwidth-mib", "-1"]).contains("--bandwidth-mib"))
        #expect(Self.failure(["-m", model.path, "--kernels", "sse9"]).contains("--kernels must be one of auto, generic, avx2, avx512, neon, neon-dotprod, neon-i8mm, not 'sse9'"))
        for variant in KernelVariant.allCases where !variant.isSupported {
            #expect(Self.failure(["-m", model.path, "--kernels", variant.name]).contains("need instructions this CPU does not have"))
        }
        #expect(Self.failure(["-m", model.directory + "/absent.gguf"]).contains("absent.gguf"))
        #expect(Self.failure(["-m", model.path, "-p", "4", "-n", "40", "--bandwidth-mib", "0"])
            .contains("tg40 needs 40 positions but the model's context is 32"))

        let notAModel = model.directory + "/notes.gguf"
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: notAModel))
        let message = Self.failure(["-m", notAModel, "--bandwidth-mib", "0"])
        #expect(message.contains("not a GGUF file"), "\(message)")
    }
}
