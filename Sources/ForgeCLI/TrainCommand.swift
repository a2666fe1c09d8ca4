import ArgumentParser
import ForgeTraining

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `forge train`: trains a small llama-architecture model from scratch and exports it as GGUF.
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a small llama-architecture model on a text file and export it as GGUF.",
        discussion: """
            The tokenizer is byte-level (256 byte ids plus BOS and EOS), or with --tokenizer the \
            vocabulary of a real model's GGUF file, which the exported model then carries. Every \
            input is checked before training starts. With --resume, the model shape and training settings come \
            from the checkpoint (--steps may raise the step count, which changes the schedule); \
            resuming with the same -t continues bit for bit.
            """
    )

    @Option(help: "UTF-8 text to train on.") var data: String
    @Option(help: "Where to write the trained model (GGUF).") var out: String
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Embedding length.") var dim = 256
    @Option(help: "Query heads.") var heads = 8
    @Option(name: .customLong("kv-heads"), help: "Key/value heads: = heads for MHA, 1 for MQA.") var kvHeads = 2
    @Option(help: "Feed-forward (SwiGLU) length.") var ffn = 768
    @Option(help: "Context length (tokens per training window).") var context = 256
    @Option(name: .customLong("rope-base"), help: "RoPE frequency base.") var ropeBase = 10_000.0
    @Flag(name: .customLong("tie-embeddings"), help: "Reuse the token embedding as the output matrix.") var tieEmbeddings = false
    @Option(help: "Sequences per step.") var batch = 16
    @Option(help: "Optimizer steps (default 1000).") var steps: Int?
    @Option(help: "Peak learning rate.") var lr = 3e-4
    @Option(help: "Linear warm-up steps (default: min(100, steps/10)).") var warmup: Int?
    @Option(name: .customLong("weight-decay"), help: "AdamW decoupled weight decay (matrices only).") var weightDecay = 0.1
    @Option(help: "Largest global gradient norm; 0 disables clipping.") var clip = 1.0
    @Option(help: "Seed for initialization and batch sampling.") var seed: UInt64 = 1
    @Option(name: .customLong("val-fraction"), help: "Share of the text held out for validation.") var valFraction = 0.05
    @Option(name: .customLong("val-every"), help: "Measure validation loss every N steps.") var valEvery = 100
    @Option(name: .customLong("checkpoint-every"), help: "Write a checkpoint every N steps.") var checkpointEvery: Int?
    @Option(help: "Checkpoint path (default: OUT.ckpt).") var checkpoint: String?
    @Option(help: "Continue from a checkpoint.") var resume: String?
    @Option(name: [.customShort("t"), .long], help: "Worker threads (default: all cores).") var threads: Int?
    @Option(help: "Append one JSON object per step to this file.") var log: String?
    @Option(help: "Weight type of the exported model: f32 or f16.") var dtype = "f32"
    @Option(help: "Reuse this model's (GGUF) tokenizer instead of bytes; give it again with --resume.") var tokenizer: String?

    public init() {}

    public func run() throws {
        guard let weightType = LlamaGGUF.WeightType(rawValue: dtype) else {
            throw TrainingError("--dtype must be f32 or f16, got \(dtype)")
        }
        let vocabulary = try tokenizer.map(TrainingVocabulary.reusing(tokenizerAt:)) ?? .bytes
        let threadCount = threads ?? Self.processorCount
        let trainer: Trainer
        if let resume {
            var saved = try Checkpoint(path: resume)
            if let steps { saved.options.steps = max(saved.options.steps, steps) }
            guard saved.configuration.vocabularySize == vocabulary.size else {
                throw TrainingError(
                    "the checkpoint's vocabulary has \(saved.configuration.vocabularySize) tokens, this tokenizer \(vocabulary.size); "
                        + "resume with the --tokenizer of the original run")
            }
            let corpus = try TrainingCorpus.load(
                path: data, vocabulary: vocabulary, validationFraction: saved.options.validationFraction,
                contextLength: saved.configuration.contextLength)
            trainer = try Trainer(resuming: saved, corpus: corpus, threads: threadCount)
        } else {
            let configuration = TransformerConfiguration(
                vocabularySize: vocabulary.size, layerCount: layers, embeddingLength: dim, headCount: heads,
                keyValueHeadCount: kvHeads, feedForwardLength: ffn, contextLength: context,
                ropeFrequencyBase: ropeBase, tiedOutput: tieEmbeddings)
            try configuration.validate()
            let options = TrainingOptions(
                batchSize: batch, steps: steps ?? 1000, learningRate: lr, warmupSteps: warmup, weightDecay: weightDecay,
                gradientClip: clip, seed: seed, validationFraction: valFraction, validationInterval: valEvery)
            try options.validate()
            let corpus = try TrainingCorpus.load(
                path: data, vocabulary: vocabulary, validationFraction: valFraction, contextLength: context)
            trainer = try Trainer(configuration: configuration, options: options, corpus: corpus, threads: threadCount)
        }
        let logFile = try log.map { path in
            guard let file = fopen(path, resume == nil ? "w" : "a") else {
                throw TrainingError("cannot open log \(path): \(String(cString: strerror(errno)))")
            }
            return file
        }
        defer { if let logFile { fclose(logFile) } }

        let c = trainer.configuration
        Self.printError(
            "training \(trainer.model.layout.count) parameters: \(c.layerCount) layers, dim \(c.embeddingLength), "
                + "\(c.headCount) heads / \(c.keyValueHeadCount) KV heads, ffn \(c.feedForwardLength), context \(c.contextLength), "
                + "vocabulary \(c.vocabularySize); "
                + "\(trainer.corpus.training.count) training and \(trainer.corpus.validation.count) validation tokens; "
                + "unigram baseline \(Self.format(trainer.corpus.unigramEntropy)) nats\n")
        let progress = TrainingProgress()
        var lastValidation: Double?
        try trainer.run(checkpointEvery: checkpointEvery, checkpointPath: checkpoint ?? out + ".ckpt") { event in
            if let value = event.validationLoss { lastValidation = value }
            if let logFile {
                fputs(event.jsonLine + "\n", logFile)
                fflush(logFile)
            }
            progress.show(event, lastValidation: lastValidation)
        }
        progress.finish()
        try trainer.export(to: out, vocabulary: vocabulary, weightType: weightType)
        print(
            "wrote \(out): \(trainer.model.layout.count) parameters, KV cache \(c.keyValueCacheBytesPerToken) bytes/token (f16), "
                + "validation loss \(lastValidation.map(Self.format) ?? "n/a") nats/token")
    }

    static var processorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "\(value)" }
        let scaled = (value * 1000).rounded() / 1000
        return "\(scaled)"
    }

    static func printError(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = write(2, buffer.baseAddress! + done, buffer.count - done)
                if written <= 0 { return }
                done += written
            }
        }
    }
}

/// One line on stderr redrawn in place on a terminal; on a pipe, a line per validation.
final class TrainingProgress {
    private let interactive = isatty(2) != 0
    private let width = 24

    func show(_ event: TrainingEvent, lastValidation: Double?) {
        let filled = width * event.step / max(event.totalSteps, 1)
        let bar = String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled)
        let learningRate = formatted(event.learningRate, significantDigits: 3)
        let line = "[\(bar)] step \(event.step)/\(event.totalSteps) loss \(TrainCommand.format(event.loss))"
            + " val \(lastValidation.map(TrainCommand.format) ?? "-") lr \(learningRate)"
            + " \(Int(event.tokensPerSecond.rounded())) tok/s"
        if interactive {
            TrainCommand.printError("\r" + line + "\u{1B}[K")
        } else if event.validationLoss != nil {
            TrainCommand.printError(line + "\n")
        }
    }

    func finish() {
        if interactive { TrainCommand.printError("\n") }
    }
}

// A function, not a Double extension: inside one, `log10` and `pow` would find the static
// members swift-numerics adds to Double (loaded with AsyncHTTPClient) before the C functions.
private func formatted(_ value: Double, significantDigits: Int) -> String {
    guard value != 0, value.isFinite else { return "\(value)" }
    let exponent = Int(floor(log10(abs(value))))
    let mantissa = value / pow(10, Double(exponent))
    let scale = pow(10, Double(significantDigits - 1))
    return "\((mantissa * scale).rounded() / scale)e\(exponent)"
}

