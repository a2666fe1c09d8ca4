import ArgumentParser
import Foundation
import ForgeGGUF
import ForgeGeneration
import ForgeGrammar
import ForgeHub
import ForgeKernels

/// `forge bench`: llama-bench's tests and table, plus what the speeds mean on this machine (decode's
/// weight bandwidth against the measured read ceiling, prompt processing's arithmetic against the
/// measured multiply-add ceiling), peak memory and load time.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure prompt and generation speed like llama-bench.",
        discussion: """
            Each pp<N> test evaluates one N-token prompt of random tokens from an empty cache; each tg<N> test \
            decodes N tokens one at a time. Every test runs once untimed, then -r timed repetitions: tokens/s is \
            their mean ± sample standard deviation. Lists may be comma-separated or repeated (-p 128,512 or -p 128 -p 512); \
            0 skips a kind of test. Afterwards a streaming read of a large buffer measures the memory bandwidth \
            ceiling, and chains of fused multiply-adds (with the kernels' vectors) the compute ceiling, for each \
            thread count.
            """)

    @Option(name: [.customShort("m"), .customLong("model")], parsing: .singleValue, help: ArgumentHelp(
        "A GGUF file: a path or a name in the model cache; repeat for several (default: \(ModelCache.defaultModelName)).",
        valueName: "MODEL"))
    public var models: [String] = []

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: ArgumentHelp("Prompt lengths to test.", valueName: "N[,N…]"))
    public var promptLengths: [String] = []

    @Option(name: [.customShort("n"), .customLong("n-gen")], help: ArgumentHelp("Generation lengths to test.", valueName: "N[,N…]"))
    public var generationLengths: [String] = []

    @Option(name: [.customShort("t"), .customLong("threads")], help: ArgumentHelp("Thread counts to test.", valueName: "N[,N…]"))
    public var threadCounts: [String] = []

    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Timed repetitions of each test.")
    public var repetitions: Int = 3

    @Option(name: .customLong("bandwidth-mib"), help: "Size of the bandwidth probe's buffer in MiB (0: no probe).")
    public var bandwidthMiB: Int = 1024

    @Option(name: .customLong("kernels"), help: ArgumentHelp(
        "Kernel variant: auto (the fastest this CPU runs), generic, avx2, avx512, neon, neon-dotprod or neon-i8mm.", valueName: "VARIANT"))
    public var kernels: String = "auto"

    @Option(name: .customLong("json-schema"), help: ArgumentHelp(
        "Decode the tg tests under this JSON schema (a file, or inline JSON starting with '{'): each token is the best the schema allows, the vocabulary masked at every step, the grammar compiled afresh for each repetition.",
        valueName: "FILE|JSON"))
    public var jsonSchema: String?

    @OptionGroup public var placement: DeviceOptions

    @Flag(help: "Print one JSON object instead of the table.")
    public var json = false

    public init() {}

    public func validate() throws {
        _ = try plan()
    }

    public func run() throws {
        let plan = try plan()
        var printedHeader = false
        let report = try BenchReport.measure(plan) { row in
            guard !json else { return }
            if !printedHeader {
                StandardStreams.write(BenchReport.tableHeader)
                printedHeader = true
            }
            StandardStreams.write(row + "\n")
        }
        StandardStreams.write(json ? try report.json() : "\n" + report.summary())
    }

    /// What to run, checked: every value parsed and in range, before any model is loaded.
    func plan() throws -> BenchPlan {
        let prompts = try Self.numbers(promptLengths, option: "-p", default: 512, minimum: 0)
        let generations = try Self.numbers(generationLengths, option: "-n", default: 128, minimum: 0)
        let threads = try Self.numbers(threadCounts, option: "-t", default: 2, minimum: 1)
        guard threads.allSatisfy({ $0 <= 256 }) else { throw ValidationError("-t must be between 1 and 256") }
        guard prompts.allSatisfy({ $0 <= 1 << 20 }), generations.allSatisfy({ $0 <= 1 << 20 }) else {
            throw ValidationError("-p and -n must be at most \(1 << 20) tokens")
        }
        guard repetitions >= 1, repetitions <= 1000 else { throw ValidationError("-r must be between 1 and 1000") }
        guard bandwidthMiB >= 0, bandwidthMiB <= 65536 else { throw ValidationError("--bandwidth-mib must be between 0 and 65536") }
        let tests = try prompts.filter { $0 > 0 }.map { try BenchmarkTest(.prompt, tokens: $0) }
            + generations.filter { $0 > 0 }.map { try BenchmarkTest(.generation, tokens: $0) }
        guard !tests.isEmpty else { throw ValidationError("nothing to measure: -p and -n are both 0") }
        let variant: KernelVariant
        if kernels == "auto" {
            variant = .best
        } else {
            guard let named = KernelVariant(name: kernels) else {
                let names = (["auto"] + KernelVariant.allCases.map(\.name)).joined(separator: ", ")
                throw ValidationError("--kernels must be one of \(names), not '\(kernels)'")
            }
            guard named.isSupported else { throw ValidationError("--kernels \(kernels): \(KernelError.unsupportedVariant(named))") }
            variant = named
        }
        var paths: [String] = []
        for name in models.isEmpty ? [nil] : models.map(Optional.some) {
            do { paths.append(try ModelCache.resolve(name)) } catch { throw ValidationError(error.description) }
        }
        var schema: String?
        if let jsonSchema {
            let text = try GrammarOptions.schemaText(jsonSchema, option: "--json-schema")
            do { _ = try Grammar(jsonSchema: text) } catch let error as GrammarError { throw ValidationError(error.description) }
            schema = text
        }
        return BenchPlan(modelPaths: paths, tests: tests, threadCounts: threads, repetitions: repetitions,
                         bandwidthBytes: bandwidthMiB << 20, kernels: variant, jsonSchema: schema, placement: placement)
    }

    /// Comma-separated or repeated values of one option, each a whole number ≥ `minimum`; no
    /// values at all means `default`. Duplicates are dropped, order kept.
    static func numbers(_ values: [String], option: String, default value: Int, minimum: Int) throws -> [Int] {
        guard !values.isEmpty else { return [value] }
        var numbers: [Int] = []
        for item in values.flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let number = Int(text) else { throw ValidationError("\(option): '\(text)' is not a whole number") }
            guard number >= minimum else { throw ValidationError("\(option): \(number) is less than \(minimum)") }
            if !numbers.contains(number) { numbers.append(number) }
        }
        return numbers
    }
}

struct BenchPlan {
    var modelPaths: [String]
    var tests: [BenchmarkTest]
    var threadCounts: [Int]
    var repetitions: Int
    /// 0: no bandwidth probe.
    var bandwidthBytes: Int
    var kernels: KernelVariant = .best
    /// Generation tests decode under this schema.
    var jsonSchema: String?
    var calibration: KernelCalibration = .shared
    /// Opened when the measuring starts.
    var placement = DeviceOptions()
}

/// Everything one `forge bench` run measured.
struct BenchReport {
    struct ModelFigures {
        var path: String
        var description: String
        var sizeBytes: Int
        var parameters: Int
        var weightBytesPerToken: Int
        /// Floating-point operations per prompt token, by prompt length.
        var promptFlopsPerToken: [Int: Double]
        /// Whether the multiply-add ceiling bounds the prompt tests (float layer matrices).
        var computeBound: Bool
        var loadSeconds: Double
        /// From process start to the first test's warm-up logits (the first model only).
        var firstTokenSeconds: Double?
        var firstTokenTest: BenchmarkTest
        /// The process's peak resident memory after this model's tests.
        var peakResidentBytes: Int
        var results: [BenchmarkResult]

        /// Each weight format's one-token row order, as the last test that ran such products took it.
        var decodeStrategies: [DecodeStrategy] {
            var byType: [GGMLType: DecodeStrategy] = [:]
            for strategy in results.flatMap(\.decodeStrategies) { byType[strategy.type] = strategy }
            return byType.values.sorted { $0.type.rawValue < $1.type.rawValue }
        }
    }

    var models: [ModelFigures] = []
    var bandwidth: [MemoryBandwidth.Measurement] = []
    var compute: [ComputeCeiling.Measurement] = []
    var peakResidentBytes = 0
    var kernels = KernelVariant.best
    var tuning = KernelCalibration.Mode.automatic
    /// Where the models ran (`--device`).
    var device = "CPU"

    static let tableHeader = """
        | model                          |       size |     params | threads |  test |              t/s |
        | ------------------------------ | ---------: | ---------: | ------: | ----: | ---------------: |

        """

    /// Runs every test of every model, handing each finished table row to `row`, then, on the CPU,
    /// probes the bandwidth (last, so its buffer does not count in the models' peak memory) and the
    /// compute rate.
    static func measure(_ plan: BenchPlan, row: (String) -> Void) throws -> BenchReport {
        var report = BenchReport(kernels: plan.kernels, tuning: plan.calibration.mode)
        let device = try plan.placement.open()
        report.device = device.name
        for (index, path) in plan.modelPaths.enumerated() {
            let start = ProcessStatistics.secondsSinceStart()
            let loadStart = Date()
            let model = try LanguageModel(path: path)
            let loadSeconds = Date().timeIntervalSince(loadStart)
            let benchmark = SpeedBenchmark(model: model)
            var figures = ModelFigures(
                path: path, description: benchmark.modelDescription, sizeBytes: benchmark.modelBytes,
                parameters: benchmark.parameterCount, weightBytesPerToken: benchmark.weightBytesPerToken,
                promptFlopsPerToken: Dictionary(plan.tests.filter { $0.kind == .prompt }.map {
                    ($0.tokens, benchmark.promptFlopsPerToken(tokens: $0.tokens))
                }, uniquingKeysWith: { first, _ in first }),
                computeBound: benchmark.layerMatricesAreFloat,
                loadSeconds: loadSeconds, firstTokenSeconds: nil, firstTokenTest: plan.tests[0], peakResidentBytes: 0, results: [])
            for threads in plan.threadCounts {
                for test in plan.tests {
                    let result = try benchmark.run(test, threads: threads, repetitions: plan.repetitions, kernels: plan.kernels,
                                                   calibration: plan.calibration, jsonSchema: plan.jsonSchema, device: device)
                    if index == 0, figures.results.isEmpty, let start {
                        figures.firstTokenSeconds = start + loadSeconds + result.warmUpSeconds
                    }
                    figures.results.append(result)
                    row(tableRow(figures, result))
                }
            }
            figures.peakResidentBytes = ProcessStatistics.peakResidentBytes()
            report.models.append(figures)
        }
        report.peakResidentBytes = ProcessStatistics.peakResidentBytes()
        // The probes measure this CPU, which bounds nothing a Vulkan device does.
        guard case .cpu = device else { return report }
        if plan.bandwidthBytes > 0 {
            for threads in plan.threadCounts {
                report.bandwidth.append(try MemoryBandwidth.measure(bytes: plan.bandwidthBytes, threads: threads))
            }
        }
        if plan.tests.contains(where: { $0.kind == .prompt }) {
            for threads in plan.threadCounts {
                report.compute.append(try ComputeCeiling.measure(threads: threads, variant: plan.kernels))
            }
        }
        return report
    }

    static func tableRow(_ model: ModelFigures, _ result: BenchmarkResult) -> String {
        func pad(_ text: String, _ width: Int, right: Bool = true) -> String {
            let padding = String(repeating: " ", count: max(0, width - text.count))
            return right ? padding + text : text + padding
        }
        let rate = String(format: "%.2f ± %.2f", result.mean, result.standardDeviation)
        return "| \(pad(model.description, 30, right: false)) | \(pad(mebibytes(model.sizeBytes), 10)) | "
            + "\(pad(parameterText(model.parameters), 10)) | \(pad(String(result.threads), 7)) | "
            + "\(pad(result.testName, 5)) | \(pad(rate, 16)) |"
    }

    static func mebibytes(_ bytes: Int) -> String { String(format: "%.2f MiB", Double(bytes) / 1_048_576) }

    static func parameterText(_ count: Int) -> String {
        count >= 1_000_000_000 ? String(format: "%.2f B", Double(count) / 1e9) : String(format: "%.2f M", Double(count) / 1e6)
    }

    func ceiling(threads: Int) -> MemoryBandwidth.Measurement? {
        bandwidth.first { $0.threads == threads }
    }

    func computeCeiling(threads: Int) -> ComputeCeiling.Measurement? {
        compute.first { $0.threads == threads }
    }

    /// Prompt speed as arithmetic: operations per token × tokens per second.
    static func effectiveFlopsPerSecond(_ model: ModelFigures, _ result: BenchmarkResult) -> Double? {
        guard result.test.kind == .prompt, let flops = model.promptFlopsPerToken[result.test.tokens] else { return nil }
        return flops * result.mean
    }

    /// Decode speed as memory traffic: weight bytes per token × tokens per second.
    static func effectiveBytesPerSecond(_ model: ModelFigures, _ result: BenchmarkResult) -> Double? {
        result.test.kind == .generation ? Double(model.weightBytesPerToken) * result.mean : nil
    }

    /// The lines under the table: per model load, first token, memory and decode bandwidth; the ceilings.
    func summary() -> String {
        var lines: [String] = []
        for model in models {
            lines.append("\(model.path)")
            lines.append(String(format: "  load %.3f s, ", model.loadSeconds) + "peak RSS \(Self.mebibytes(model.peakResidentBytes)), "
                + "weights read per decoded token \(Self.mebibytes(model.weightBytesPerToken))")
            if !model.decodeStrategies.isEmpty {
                lines.append("  decode strategies: " + model.decodeStrategies.map(\.description).joined(separator: ", ")
                    + (tuning == .off ? " (\(KernelCalibration.environmentVariable)=off: the kernels' defaults)" : ""))
            }
            if let first = model.firstTokenSeconds {
                lines.append(String(format: "  first token %.3f s after process start", first)
                    + " (logits of the untimed \(model.firstTokenTest) warm-up)")
            }
            for result in model.results {
                if let flops = Self.effectiveFlopsPerSecond(model, result) {
                    var line = "  \(result.testName) with \(result.threads) threads: " + String(format: "%.1f GFLOP/s", flops / 1e9)
                    if model.computeBound, let ceiling = computeCeiling(threads: result.threads) {
                        line += String(format: ", %.0f%% of the %.1f GFLOP/s multiply-add ceiling", 100 * flops / ceiling.flopsPerSecond,
                                       ceiling.flopsPerSecond / 1e9)
                    }
                    lines.append(line)
                }
                guard let effective = Self.effectiveBytesPerSecond(model, result) else { continue }
                var line = "  \(result.testName) with \(result.threads) threads: " + String(format: "%.1f GB/s of weights", effective / 1e9)
                if let ceiling = ceiling(threads: result.threads) {
                    line += String(format: ", %.0f%% of the %.1f GB/s read ceiling", 100 * effective / ceiling.bytesPerSecond,
                                   ceiling.bytesPerSecond / 1e9)
                }
                lines.append(line)
            }
        }
        for measurement in bandwidth {
            lines.append("read bandwidth ceiling, \(measurement.threads) threads: "
                + String(format: "%.1f GB/s", measurement.bytesPerSecond / 1e9)
                + " (best of \(measurement.passes) passes over \(Self.mebibytes(measurement.bufferBytes)), streaming read in C)")
        }
        for measurement in compute {
            lines.append("multiply-add ceiling, \(measurement.threads) threads: "
                + String(format: "%.1f GFLOP/s", measurement.flopsPerSecond / 1e9)
                + " (best of \(measurement.passes) passes of independent \(measurement.variant.name) fused multiply-adds in C)")
        }
        lines.append("peak RSS of the process: \(Self.mebibytes(peakResidentBytes)), \(kernels) kernels, models on \(device)")
        return lines.joined(separator: "\n") + "\n"
    }

    func json() throws -> String {
        func finite(_ value: Double) -> Double? { value.isFinite ? value : nil }
        let results = models.flatMap { model in
            model.results.map { result in
                let flops = Self.effectiveFlopsPerSecond(model, result)
                let bytes = Self.effectiveBytesPerSecond(model, result)
                let compute = model.computeBound ? computeCeiling(threads: result.threads) : nil
                let bandwidth = ceiling(threads: result.threads)
                return BenchJSON.Result(
                    model: model.path, test: result.testName, threads: result.threads,
                    tokensPerSecond: finite(result.mean), stddev: finite(result.standardDeviation), samples: result.samples.map(finite),
                    effectiveGflopPerSecond: flops.map { $0 / 1e9 },
                    fractionOfCompute: flops.flatMap { flops in compute.map { flops / $0.flopsPerSecond } },
                    effectiveGbPerSecond: bytes.map { $0 / 1e9 },
                    fractionOfBandwidth: bytes.flatMap { bytes in bandwidth.map { bytes / $0.bytesPerSecond } })
            }
        }
        let report = BenchJSON(
            results: results,
            models: models.map { model in
                BenchJSON.Model(
                    path: model.path, description: model.description, sizeBytes: model.sizeBytes, parameters: model.parameters,
                    weightBytesPerToken: model.weightBytesPerToken, loadSeconds: finite(model.loadSeconds),
                    firstTokenSeconds: model.firstTokenSeconds.flatMap(finite), peakRssBytes: model.peakResidentBytes,
                    decodeStrategies: Dictionary(model.decodeStrategies.map { ($0.type.name, $0.rows.rawValue) }, uniquingKeysWith: { $1 }))
            },
            readBandwidthGbPerSecond: bandwidth.map(\.bytesPerSecond).max().map { $0 / 1e9 },
            bandwidth: bandwidth.map { BenchJSON.Bandwidth(threads: $0.threads, gbPerSecond: $0.bytesPerSecond / 1e9, bufferBytes: $0.bufferBytes, passes: $0.passes) },
            computeGflopPerSecond: compute.map(\.flopsPerSecond).max().map { $0 / 1e9 },
            compute: compute.map { BenchJSON.Compute(threads: $0.threads, gflopPerSecond: $0.flopsPerSecond / 1e9, passes: $0.passes, kernels: $0.variant.name) },
            peakRssBytes: peakResidentBytes, kernels: kernels.name, device: device)
        return try JSONReport.line(report)
    }
}

/// `forge bench --json`: one object with snake_case keys, as `scripts/bench` reads them; figures a
/// run did not measure are left out.
struct BenchJSON: Encodable {
    struct Result: Encodable {
        var model: String
        var test: String
        var threads: Int
        var tokensPerSecond: Double?
        var stddev: Double?
        var samples: [Double?]
        var effectiveGflopPerSecond: Double?
        var fractionOfCompute: Double?
        var effectiveGbPerSecond: Double?
        var fractionOfBandwidth: Double?
    }

    struct Model: Encodable {
        var path: String
        var description: String
        var sizeBytes: Int
        var parameters: Int
        var weightBytesPerToken: Int
        var loadSeconds: Double?
        var firstTokenSeconds: Double?
        var peakRssBytes: Int
        /// Weight type name → the one-token row order it took.
        var decodeStrategies: [String: String]
    }

    struct Bandwidth: Encodable {
        var threads: Int
        var gbPerSecond: Double
        var bufferBytes: Int
        var passes: Int
    }

    struct Compute: Encodable {
        var threads: Int
        var gflopPerSecond: Double
        var passes: Int
        var kernels: String
    }

    var results: [Result]
    var models: [Model]
    var readBandwidthGbPerSecond: Double?
    var bandwidth: [Bandwidth]
    var computeGflopPerSecond: Double?
    var compute: [Compute]
    var peakRssBytes: Int
    var kernels: String
    var device: String
}
