#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeGGUF
import ForgeGrammar
import ForgeKernels
import ForgeModel

/// One llama-bench test: `pp<n>` evaluates one prompt of n tokens from an empty cache (the last
/// token's logits included), `tg<n>` decodes n tokens one at a time, each with its logits.
public struct BenchmarkTest: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case prompt, generation
    }

    public let kind: Kind
    public let tokens: Int

    public init(_ kind: Kind, tokens: Int) throws {
        guard tokens >= 1, tokens <= 1 << 20 else {
            throw GenerationError.invalidParameter("a benchmark test needs 1 to \(1 << 20) tokens, not \(tokens)")
        }
        self.kind = kind
        self.tokens = tokens
    }

    public var description: String { (kind == .prompt ? "pp" : "tg") + String(tokens) }
}

/// Tokens per second of each repetition of one test, summarised as llama-bench does.
public struct BenchmarkResult: Sendable {
    public let test: BenchmarkTest
    public let threads: Int
    public let samples: [Double]
    /// The untimed warm-up run before the repetitions (the first one pays for page faults and
    /// any kernel calibration).
    public let warmUpSeconds: Double
    /// How the one-token products of each weight format read their rows.
    public let decodeStrategies: [DecodeStrategy]
    /// Decoded under a JSON schema (greedily, among the tokens it allows).
    public let constrained: Bool

    /// The test's name, "+schema" when constrained.
    public var testName: String { test.description + (constrained ? "+schema" : "") }

    public var mean: Double { samples.isEmpty ? 0 : samples.reduce(0, +) / Double(samples.count) }

    /// Sample standard deviation (n − 1), 0 for a single sample.
    public var standardDeviation: Double {
        guard samples.count > 1 else { return 0 }
        let m = mean
        return (samples.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(samples.count - 1)).squareRoot()
    }
}

/// Measures a model's speed the way llama-bench does, so the figures compare directly: random
/// token ids (BOS first when the model adds one), an untimed warm-up, then `repetitions` timed
/// runs each starting from an empty cache.
public final class SpeedBenchmark {
    public let model: LanguageModel
    /// Largest batch one evaluation takes; longer prompts go in slices (llama.cpp's n_ubatch).
    public static let batchLimit = 512
    private var generator: SplitMix64

    public init(model: LanguageModel, seed: UInt64 = 1234) {
        self.model = model
        generator = SplitMix64(seed: seed)
    }

    /// Bytes of all weight tensors (llama-bench's "size").
    public var modelBytes: Int { model.file.tensorByteCount }

    /// Elements of all weight tensors (llama-bench's "params").
    public var parameterCount: Int { model.weights.parameterCount }

    /// Weight bytes one decode step reads: every matrix once, the output head once, and a single
    /// row of the token embedding (all of it when it doubles as the output head).
    public var weightBytesPerToken: Int {
        guard !model.weights.outputIsTied, let embedding = model.file.tensor(named: "token_embd.weight") else {
            return modelBytes
        }
        return modelBytes - embedding.byteCount + embedding.bytesPerRow
    }

    /// Floating-point operations per token of a `tokens`-token prompt: a multiply-add per weight of
    /// the layers' matrices, attention's two products over the keys each token sees (on average half
    /// the prompt), and the output head once per prompt, as llama-bench asks for one row of logits.
    public func promptFlopsPerToken(tokens: Int) -> Double {
        let c = model.configuration
        let layerWeights = layerMatrices.reduce(0) { $0 + $1.elementCount }
        let head = Double(c.vocabularySize * c.embeddingLength) / Double(max(tokens, 1))
        let attention = 2 * Double(c.layerCount * c.queryWidth) * Double(tokens + 1)
        return 2 * Double(layerWeights) + 2 * head + attention
    }

    /// Whether every layer matrix is F32, F16 or BF16, whose products are float multiply-adds; the
    /// quantized formats' integer dot products are bounded by other instructions.
    public var layerMatricesAreFloat: Bool {
        layerMatrices.allSatisfy { [.f32, .f16, .bf16].contains($0.type) }
    }

    private var layerMatrices: [GGUFTensor] {
        model.file.tensors.filter { $0.name.hasPrefix("blk.") && $0.shape.count == 2 }
    }

    /// llama-bench's model description: architecture, size class and file type.
    public var modelDescription: String {
        let fileType = (try? model.file.optionalInteger("general.file_type")).flatMap { $0 }
        return "\(model.configuration.architecture) \(Self.sizeClass(parameterCount)) \(fileType.map(Self.fileTypeName) ?? "unknown type")"
    }

    /// - Parameter jsonSchema: for a generation test, decode under this schema: each token is the
    ///   best the grammar allows after masking the whole vocabulary (the grammar starts over when
    ///   complete), and the grammar is compiled afresh in each run, as each request would.
    /// - Parameter device: where the model runs (`threads` and `kernels` are the CPU's).
    public func run(_ test: BenchmarkTest, threads: Int, repetitions: Int, kernels: KernelVariant = .best,
                    calibration: KernelCalibration = .shared, jsonSchema: String? = nil, device: ComputeDevice = .cpu) throws -> BenchmarkResult {
        guard threads >= 1, threads <= 256 else {
            throw GenerationError.invalidParameter("threads must be between 1 and 256, not \(threads)")
        }
        guard repetitions >= 1 else {
            throw GenerationError.invalidParameter("repetitions must be at least 1, not \(repetitions)")
        }
        guard test.tokens <= model.trainingContextLength else {
            throw GenerationError.invalidParameter("\(test) needs \(test.tokens) positions but the model's context is \(model.trainingContextLength)")
        }
        let batch = test.kind == .prompt ? min(test.tokens, Self.batchLimit) : 1
        let compute = try ComputeContext(threadCount: threads, variant: kernels, calibration: calibration)
        let evaluator: any ModelEvaluator = switch device {
        case .cpu:
            CPUModelEvaluator(evaluator: Evaluator(weights: model.weights, maxBatchSize: batch, maxLogitRows: 1, compute: compute),
                              cache: try KVCache(configuration: model.configuration, contextSize: test.tokens, maxBatchSize: batch))
        case .vulkan:
            try device.makeEvaluator(weights: model.weights, contextSize: test.tokens, maxBatchSize: batch, maxLogitRows: 1, threadCount: threads)
        }
        let run: (Int) throws -> Void = test.kind == .prompt
            ? { try self.evaluatePrompt(tokens: $0, evaluator: evaluator) }
            : { try self.decode(tokens: $0, evaluator: evaluator, jsonSchema: jsonSchema) }

        // llama-bench warms a generation test up with a single token.
        var start = ContinuousClock.now
        try run(test.kind == .prompt ? test.tokens : 1)
        let warmUp = (ContinuousClock.now - start).inSeconds
        var samples: [Double] = []
        for _ in 0..<repetitions {
            start = ContinuousClock.now
            try run(test.tokens)
            samples.append(Double(test.tokens) / max((ContinuousClock.now - start).inSeconds, 1e-9))
        }
        return BenchmarkResult(test: test, threads: threads, samples: samples, warmUpSeconds: warmUp,
                               decodeStrategies: evaluator is CPUModelEvaluator ? compute.decodeStrategies : [], constrained: test.kind == .generation && jsonSchema != nil)
    }

    private func randomToken() -> Int {
        generator.nextIndex(below: model.configuration.vocabularySize)
    }

    private var firstToken: Int {
        if model.tokenizer.addBOS, let bos = model.tokenizer.bosTokenID, bos < model.configuration.vocabularySize { return bos }
        return randomToken()
    }

    private func evaluatePrompt(tokens count: Int, evaluator: any ModelEvaluator) throws {
        var tokens = [firstToken]
        while tokens.count < count { tokens.append(randomToken()) }
        var position = 0
        while position < count {
            let slice = Array(tokens[position..<min(count, position + evaluator.maxBatchSize)])
            try evaluator.evaluate(Batch(tokens: slice, startingAt: position))
            position += slice.count
            if position == count { _ = try evaluator.logits(row: slice.count - 1) }
        }
    }

    private func decode(tokens count: Int, evaluator: any ModelEvaluator, jsonSchema: String?) throws {
        let constraint = try jsonSchema.map { GrammarConstraint(grammar: try Grammar(jsonSchema: $0), vocabulary: model.tokenizer.grammarVocabulary) }
        var token = firstToken
        for position in 0..<count {
            try evaluator.evaluate(Batch(tokens: [token], startingAt: position))
            let logits = try evaluator.logits(row: 0)
            guard let constraint else {
                token = randomToken()
                continue
            }
            // The whole mask at every step, as sampling with a temperature needs it (greedy
            // sampling often skips it).
            token = Sampler.argmax(logits, allowed: constraint.allowedTokens())
            constraint.accept(token)
            if constraint.isComplete || model.tokenizer.isEndOfGeneration(token) { constraint.reset() }
        }
    }

    /// Rounded parameter count as a model size class ("35K", "135M", "0.5B").
    static func sizeClass(_ parameters: Int) -> String {
        let value = Double(parameters)
        if value >= 4.5e8 { return trimmed(value / 1e9) + "B" }
        if value >= 1e6 { return String(Int((value / 1e6).rounded())) + "M" }
        return String(Int((value / 1e3).rounded())) + "K"
    }

    private static func trimmed(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    /// llama.cpp's names for `general.file_type` (llama_ftype).
    static func fileTypeName(_ fileType: Int) -> String {
        switch fileType {
        case 0: "all F32"
        case 1: "F16"
        case 2: "Q4_0"
        case 3: "Q4_1"
        case 7: "Q8_0"
        case 8: "Q5_0"
        case 9: "Q5_1"
        case 10: "Q2_K - Medium"
        case 11: "Q3_K - Small"
        case 12: "Q3_K - Medium"
        case 13: "Q3_K - Large"
        case 14: "Q4_K - Small"
        case 15: "Q4_K - Medium"
        case 16: "Q5_K - Small"
        case 17: "Q5_K - Medium"
        case 18: "Q6_K"
        case 25: "IQ4_NL"
        case 32: "BF16"
        default: "file type \(fileType)"
        }
    }
}

/// Figures about the running process that a benchmark reports.
public enum ProcessStatistics {
    /// The most resident memory the process has had (mapped weights it touched included):
    /// VmHWM on Linux, getrusage's maximum elsewhere.
    public static func peakResidentBytes() -> Int {
        #if os(Linux)
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") {
            return kilobytes * 1024
        }
        #endif
        var usage = rusage()
        #if os(Linux)
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
        #else
        guard getrusage(RUSAGE_SELF, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss)
        #endif
    }

    /// Seconds since this process started (Linux: from /proc/self/stat), nil where unknown.
    public static func secondsSinceStart() -> Double? {
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // Fields after the command name start at field 3; the start time is field 22.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return nil }
        var now = timespec()
        clock_gettime(CLOCK_BOOTTIME, &now)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticksPerSecond > 0 else { return nil }
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9 - ticks / ticksPerSecond
        #else
        return nil
        #endif
    }
}
