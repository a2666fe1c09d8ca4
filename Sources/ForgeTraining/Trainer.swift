import ForgeKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch

/// Trains a `Transformer<Float>` on a corpus. Every buffer (parameters, AdamW moments, one
/// gradient and one activation workspace per worker, the batch) is allocated in `init`;
/// `step()` allocates nothing.
///
/// Results are deterministic for a given seed and thread count: each worker sums the gradients
/// of a fixed subset of the batch, and the workers' sums are added in a fixed order.
public final class Trainer {
    public struct StepReport: Sendable {
        public let step: Int
        public let loss: Double
        public let learningRate: Double
        public let gradientNorm: Double
        public let tokens: Int
    }

    public let model: Transformer<Float>
    public let options: TrainingOptions
    public let corpus: TrainingCorpus
    /// Updates taken so far.
    public private(set) var step: Int
    public private(set) var random: SplitMix64

    let parameters: FixedBuffer<Float>
    let firstMoment: FixedBuffer<Float>
    let secondMoment: FixedBuffer<Float>
    private let workerGradients: [FixedBuffer<Float>]
    private let workspaces: [SequenceWorkspace<Float>]
    private let batchInputs: FixedBuffer<Int32>
    private let batchTargets: FixedBuffer<Int32>
    private let sequenceLosses: FixedBuffer<Double>
    private let decayMask: [(range: Range<Int>, decays: Bool)]

    /// A fresh model: matrices drawn from N(0, 0.02²), projections into the residual stream
    /// (attn_output, ffn_down) scaled down by √(2 · layers) as in GPT-2, norm gains at one.
    public convenience init(
        configuration: TransformerConfiguration, options: TrainingOptions, corpus: TrainingCorpus, threads: Int
    ) throws {
        try self.init(model: Transformer(configuration: configuration), options: options, corpus: corpus, threads: threads)
        let residualScale = 1 / (2 * Double(configuration.layerCount)).squareRoot()
        for entry in model.layout.entries {
            let target = parameters.pointer + entry.offset
            if !entry.isMatrix {
                target.update(repeating: 1, count: entry.count)
                continue
            }
            let projectsIntoResidual = entry.name.hasSuffix("attn_output.weight") || entry.name.hasSuffix("ffn_down.weight")
            let deviation = 0.02 * (projectsIntoResidual ? residualScale : 1)
            for i in 0..<entry.count { target[i] = Float(random.nextGaussian() * deviation) }
        }
    }

    init(model: Transformer<Float>, options: TrainingOptions, corpus: TrainingCorpus, threads: Int) throws {
        try options.validate()
        guard threads >= 1 else { throw TrainingError("-t must be at least 1, got \(threads)") }
        let configuration = model.configuration
        guard corpus.training.count >= configuration.contextLength else {
            throw TrainingError("context \(configuration.contextLength) is larger than the training data: \(corpus.training.count) tokens")
        }
        if let bad = ([corpus.beginningOfSequence] + corpus.training + corpus.validation).first(where: { $0 < 0 || Int($0) >= configuration.vocabularySize }) {
            throw TrainingError("token id \(bad) is outside the model's vocabulary of \(configuration.vocabularySize)")
        }
        let workers = min(threads, options.batchSize)
        let scalars = model.layout.count * (3 + workers) + 2 * options.batchSize * configuration.contextLength
            + workers * SequenceWorkspace<Float>.scalarCount(configuration: configuration, capacity: configuration.contextLength)
        let neededBytes = Double(scalars) * Double(MemoryLayout<Float>.size)
        let physicalBytes = Double(sysconf(Int32(_SC_PHYS_PAGES))) * Double(sysconf(Int32(_SC_PAGESIZE)))
        guard physicalBytes <= 0 || neededBytes < physicalBytes * 0.9 else {
            throw TrainingError(
                "training needs about \(Int(neededBytes / 1e6)) MB, more than this machine's memory; "
                    + "shrink the model, --context, --batch or -t")
        }
        self.model = model
        self.options = options
        self.corpus = corpus
        step = 0
        random = SplitMix64(seed: options.seed)
        let count = model.layout.count
        parameters = FixedBuffer(count: count, repeating: 0)
        firstMoment = FixedBuffer(count: count, repeating: 0)
        secondMoment = FixedBuffer(count: count, repeating: 0)
        workerGradients = (0..<workers).map { _ in FixedBuffer(count: count, repeating: 0) }
        workspaces = (0..<workers).map { _ in model.makeWorkspace() }
        let context = configuration.contextLength
        batchInputs = FixedBuffer(count: options.batchSize * context, repeating: 0)
        batchTargets = FixedBuffer(count: options.batchSize * context, repeating: 0)
        sequenceLosses = FixedBuffer(count: max(options.batchSize, Self.validationWindowCount), repeating: 0)
        decayMask = model.layout.entries.map { ($0.offset..<($0.offset + $0.count), $0.isMatrix) }
    }

    func restore(step: Int, random: SplitMix64) {
        self.step = step
        self.random = random
    }

    /// Number of evenly spaced windows of the validation split that `validationLoss()` averages.
    static let validationWindowCount = 16

    public var configuration: TransformerConfiguration { model.configuration }
    public var isFinished: Bool { step >= options.steps }
    public var tokensPerStep: Int { options.batchSize * configuration.contextLength }

    /// The parameters, laid out by `model.layout`.
    public var parameterValues: [Float] { Array(parameters.buffer) }

    /// Takes one AdamW step on a batch of random windows of the training split.
    public func trainStep() -> StepReport {
        let context = configuration.contextLength
        let batch = options.batchSize
        for b in 0..<batch {
            let offset = random.nextIndex(below: corpus.training.count - context + 1)
            fillWindow(from: corpus.training, offset: offset, sequence: b)
        }
        let scale = Float(1 / Double(batch * context))
        runBatch(sequences: batch, withGradients: true, lossScale: scale)
        var loss = 0.0
        for b in 0..<batch { loss += sequenceLosses.pointer[b] }
        loss /= Double(batch * context)

        let gradients = workerGradients[0].pointer
        let count = parameters.count
        for worker in workerGradients.dropFirst() {
            accumulate(1, worker.pointer, into: gradients, count: count)
        }
        var squaredNorm = 0.0
        for i in 0..<count { squaredNorm += Double(gradients[i]) * Double(gradients[i]) }
        let norm = squaredNorm.squareRoot()
        let clipScale = options.gradientClip > 0 && norm > options.gradientClip ? options.gradientClip / norm : 1
        let learningRate = options.learningRate(atStep: step)
        applyAdamW(gradients: gradients, gradientScale: Float(clipScale), learningRate: learningRate)
        step += 1
        return StepReport(step: step, loss: loss, learningRate: learningRate, gradientNorm: norm, tokens: batch * context)
    }

    /// Mean cross-entropy per token over evenly spaced windows of the validation split, or of
    /// the training split when there is no validation split.
    public func validationLoss() -> Double {
        let context = configuration.contextLength
        let source = corpus.validation.isEmpty ? corpus.training : corpus.validation
        let windows = min(Self.validationWindowCount, options.batchSize, source.count - context + 1)
        for w in 0..<windows {
            let offset = windows == 1 ? 0 : w * (source.count - context) / (windows - 1)
            fillWindow(from: source, offset: offset, sequence: w)
        }
        runBatch(sequences: windows, withGradients: false, lossScale: 0)
        var loss = 0.0
        for w in 0..<windows { loss += sequenceLosses.pointer[w] }
        return loss / Double(windows * context)
    }

    /// Input is BOS then the window's first `context - 1` tokens; targets are the window. So the
    /// model learns to start after BOS, which is how `forge generate` and llama.cpp prompt it.
    private func fillWindow(from tokens: [Int32], offset: Int, sequence: Int) {
        let context = configuration.contextLength
        let inputs = batchInputs.pointer + sequence * context
        let targets = batchTargets.pointer + sequence * context
        inputs[0] = corpus.beginningOfSequence
        tokens.withUnsafeBufferPointer { source in
            (inputs + 1).update(from: source.baseAddress! + offset, count: context - 1)
            targets.update(from: source.baseAddress! + offset, count: context)
        }
    }

    private func runBatch(sequences: Int, withGradients: Bool, lossScale: Float) {
        let workers = min(workerGradients.count, sequences)
        let context = configuration.contextLength
        let model = self.model
        let parameterBuffer = self.parameters
        let inputBuffer = batchInputs
        let targetBuffer = batchTargets
        let losses = sequenceLosses
        let gradients = workerGradients
        let workspaces = self.workspaces
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            if withGradients { gradients[worker].buffer.update(repeating: 0) }
            let parameters = UnsafePointer(parameterBuffer.pointer)
            let inputs = UnsafePointer(inputBuffer.pointer)
            let targets = UnsafePointer(targetBuffer.pointer)
            for sequence in stride(from: worker, to: sequences, by: workers) {
                let tokens = inputs + sequence * context
                let sequenceTargets = targets + sequence * context
                let loss = model.forward(tokens: tokens, targets: sequenceTargets, positions: context, parameters: parameters, workspace: workspaces[worker])
                losses.pointer[sequence] = Double(loss)
                if withGradients {
                    model.backward(tokens: tokens, targets: sequenceTargets, positions: context, parameters: parameters, gradients: gradients[worker].pointer, workspace: workspaces[worker], lossScale: lossScale)
                }
            }
        }
    }

    private func applyAdamW(gradients: UnsafeMutablePointer<Float>, gradientScale: Float, learningRate: Double) {
        let t = Double(step + 1)
        let beta1 = Float(options.beta1)
        let beta2 = Float(options.beta2)
        let firstCorrection = Float(1 / (1 - pow(options.beta1, t)))
        let secondCorrection = Float(1 / (1 - pow(options.beta2, t)))
        let rate = Float(learningRate)
        let epsilon = Float(options.adamEpsilon)
        let p = parameters.pointer
        let m = firstMoment.pointer
        let v = secondMoment.pointer
        for (range, decays) in decayMask {
            let decay = decays ? Float(1 - learningRate * options.weightDecay) : 1
            for i in range {
                let g = gradients[i] * gradientScale
                m[i] = beta1 * m[i] + (1 - beta1) * g
                v[i] = beta2 * v[i] + (1 - beta2) * g * g
                let update = (m[i] * firstCorrection) / ((v[i] * secondCorrection).squareRoot() + epsilon)
                p[i] = p[i] * decay - rate * update
            }
        }
    }
}
