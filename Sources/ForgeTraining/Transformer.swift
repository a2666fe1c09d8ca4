#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A block of elements allocated once and freed with its owner. Threads share it by pointer;
/// each writes only its own disjoint part, so it is safe to send.
final class FixedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int, repeating value: Element) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: value, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    var buffer: UnsafeMutableBufferPointer<Element> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

/// Every activation of one sequence that the backward pass reads, plus scratch gradients:
/// allocated once per worker for the longest sequence, reused every step.
final class SequenceWorkspace<T: TrainingScalar>: @unchecked Sendable {
    struct Layer {
        let input, normedForAttention, attentionInverseRMS, query, key, value, probabilities: UnsafeMutablePointer<T>
        let attention, middle, normedForFeedForward, feedForwardInverseRMS, gate, up, hidden: UnsafeMutablePointer<T>
    }

    let capacity: Int
    let layers: [Layer]
    let finalInput, finalNormed, finalInverseRMS, logits: UnsafeMutablePointer<T>
    let gradResidual, gradNormed, gradAttention, gradQuery, gradKey, gradValue: UnsafeMutablePointer<T>
    let gradHidden, gradGate, gradUp, gradLogits, scoreScratch: UnsafeMutablePointer<T>
    private let storage: FixedBuffer<T>

    static func scalarCount(configuration c: TransformerConfiguration, capacity n: Int) -> Int {
        let dim = c.embeddingLength
        let kv = c.keyValueDimension
        let ffn = c.feedForwardLength
        let perLayer = n * (6 * dim + 2 * kv + 3 * ffn + 2) + c.headCount * n * n
        return c.layerCount * perLayer + n * (2 * dim + 1 + 2 * c.vocabularySize)
            + n * (4 * dim + 2 * kv + 3 * ffn) + n
    }

    init(configuration c: TransformerConfiguration, capacity n: Int) {
        capacity = n
        let dim = c.embeddingLength
        let kv = c.keyValueDimension
        let ffn = c.feedForwardLength
        storage = FixedBuffer(count: Self.scalarCount(configuration: c, capacity: n), repeating: 0)
        var cursor = storage.pointer
        func take(_ count: Int) -> UnsafeMutablePointer<T> {
            defer { cursor += count }
            return cursor
        }
        layers = (0..<c.layerCount).map { _ in
            Layer(
                input: take(n * dim), normedForAttention: take(n * dim), attentionInverseRMS: take(n),
                query: take(n * dim), key: take(n * kv), value: take(n * kv),
                probabilities: take(c.headCount * n * n), attention: take(n * dim), middle: take(n * dim),
                normedForFeedForward: take(n * dim), feedForwardInverseRMS: take(n),
                gate: take(n * ffn), up: take(n * ffn), hidden: take(n * ffn))
        }
        finalInput = take(n * dim)
        finalNormed = take(n * dim)
        finalInverseRMS = take(n)
        logits = take(n * c.vocabularySize)
        gradLogits = take(n * c.vocabularySize)
        gradResidual = take(n * dim)
        gradNormed = take(n * dim)
        gradAttention = take(n * dim)
        gradQuery = take(n * dim)
        gradKey = take(n * kv)
        gradValue = take(n * kv)
        gradHidden = take(n * ffn)
        gradGate = take(n * ffn)
        gradUp = take(n * ffn)
        scoreScratch = take(n)
    }
}

/// The model's forward and backward passes over a flat parameter vector laid out by
/// `ParameterLayout`. Stateless apart from RoPE tables, so one instance serves all threads.
public struct Transformer<T: TrainingScalar>: Sendable {
    public let configuration: TransformerConfiguration
    public let layout: ParameterLayout
    let cosines: [T]
    let sines: [T]

    public init(configuration: TransformerConfiguration) throws {
        try configuration.validate()
        self.configuration = configuration
        layout = ParameterLayout(configuration)
        let half = configuration.headDimension / 2
        var cosines: [T] = []
        var sines: [T] = []
        cosines.reserveCapacity(configuration.contextLength * half)
        sines.reserveCapacity(configuration.contextLength * half)
        for position in 0..<configuration.contextLength {
            for i in 0..<half {
                let exponent = -2 * Double(i) / Double(configuration.headDimension)
                let theta = Double(position) * pow(configuration.ropeFrequencyBase, exponent)
                cosines.append(T(cos(theta)))
                sines.append(T(sin(theta)))
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    func makeWorkspace(capacity: Int? = nil) -> SequenceWorkspace<T> {
        SequenceWorkspace(configuration: configuration, capacity: capacity ?? configuration.contextLength)
    }

    /// Runs the forward pass, leaving activations and logits in `workspace`. With targets,
    /// returns the summed cross-entropy over positions (zero without).
    func forward(
        tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>?, positions n: Int,
        parameters p: UnsafePointer<T>, workspace w: SequenceWorkspace<T>
    ) -> T {
        let c = configuration
        let dim = c.embeddingLength
        let kv = c.keyValueDimension
        let ffn = c.feedForwardLength
        let epsilon = T(c.rmsNormEpsilon)
        TransformerOps.embed(tokens: tokens, positions: n, table: p + layout.tokenEmbedding, dimension: dim, into: w.layers.first?.input ?? w.finalInput)
        for (index, offsets) in layout.layers.enumerated() {
            let a = w.layers[index]
            TransformerOps.rmsNorm(input: a.input, gain: p + offsets.attentionNorm, output: a.normedForAttention, inverseRMS: a.attentionInverseRMS, positions: n, dimension: dim, epsilon: epsilon)
            TransformerOps.linear(input: a.normedForAttention, weight: p + offsets.query, output: a.query, positions: n, inputs: dim, outputs: dim)
            TransformerOps.linear(input: a.normedForAttention, weight: p + offsets.key, output: a.key, positions: n, inputs: dim, outputs: kv)
            TransformerOps.linear(input: a.normedForAttention, weight: p + offsets.value, output: a.value, positions: n, inputs: dim, outputs: kv)
            cosines.withUnsafeBufferPointer { cos in
                sines.withUnsafeBufferPointer { sin in
                    TransformerOps.rope(a.query, positions: n, heads: c.headCount, headDimension: c.headDimension, cosines: cos.baseAddress!, sines: sin.baseAddress!, inverse: false)
                    TransformerOps.rope(a.key, positions: n, heads: c.keyValueHeadCount, headDimension: c.headDimension, cosines: cos.baseAddress!, sines: sin.baseAddress!, inverse: false)
                }
            }
            TransformerOps.attention(query: a.query, key: a.key, value: a.value, probabilities: a.probabilities, output: a.attention, positions: n, heads: c.headCount, keyValueHeads: c.keyValueHeadCount, headDimension: c.headDimension)
            a.middle.update(from: a.input, count: n * dim)
            TransformerOps.linear(input: a.attention, weight: p + offsets.attentionOutput, output: a.middle, positions: n, inputs: dim, outputs: dim, accumulating: true)
            TransformerOps.rmsNorm(input: a.middle, gain: p + offsets.feedForwardNorm, output: a.normedForFeedForward, inverseRMS: a.feedForwardInverseRMS, positions: n, dimension: dim, epsilon: epsilon)
            TransformerOps.linear(input: a.normedForFeedForward, weight: p + offsets.gate, output: a.gate, positions: n, inputs: dim, outputs: ffn)
            TransformerOps.linear(input: a.normedForFeedForward, weight: p + offsets.up, output: a.up, positions: n, inputs: dim, outputs: ffn)
            TransformerOps.swiGLU(gate: a.gate, up: a.up, output: a.hidden, count: n * ffn)
            let next = index + 1 < w.layers.count ? w.layers[index + 1].input : w.finalInput
            next.update(from: a.middle, count: n * dim)
            TransformerOps.linear(input: a.hidden, weight: p + offsets.down, output: next, positions: n, inputs: ffn, outputs: dim, accumulating: true)
        }
        TransformerOps.rmsNorm(input: w.finalInput, gain: p + layout.outputNorm, output: w.finalNormed, inverseRMS: w.finalInverseRMS, positions: n, dimension: dim, epsilon: epsilon)
        TransformerOps.linear(input: w.finalNormed, weight: p + layout.output, output: w.logits, positions: n, inputs: dim, outputs: c.vocabularySize)
        guard let targets else { return 0 }
        return TransformerOps.crossEntropy(logits: w.logits, targets: targets, positions: n, vocabularySize: c.vocabularySize, gradient: nil, scale: 0)
    }

    /// Adds `lossScale ·` ∂(summed loss)/∂parameters into `gradients`; `forward` must have just
    /// run on the same tokens and workspace.
    func backward(
        tokens: UnsafePointer<Int32>, targets: UnsafePointer<Int32>, positions n: Int,
        parameters p: UnsafePointer<T>, gradients g: UnsafeMutablePointer<T>,
        workspace w: SequenceWorkspace<T>, lossScale: T
    ) {
        let c = configuration
        let dim = c.embeddingLength
        let kv = c.keyValueDimension
        let ffn = c.feedForwardLength
        _ = TransformerOps.crossEntropy(logits: w.logits, targets: targets, positions: n, vocabularySize: c.vocabularySize, gradient: w.gradLogits, scale: lossScale)
        w.gradNormed.update(repeating: 0, count: n * dim)
        TransformerOps.linearBackward(input: w.finalNormed, weight: p + layout.output, gradOutput: w.gradLogits, gradInput: w.gradNormed, gradWeight: g + layout.output, positions: n, inputs: dim, outputs: c.vocabularySize)
        w.gradResidual.update(repeating: 0, count: n * dim)
        TransformerOps.rmsNormBackward(input: w.finalInput, gain: p + layout.outputNorm, inverseRMS: w.finalInverseRMS, gradOutput: w.gradNormed, gradInput: w.gradResidual, gradGain: g + layout.outputNorm, positions: n, dimension: dim)
        for (index, offsets) in layout.layers.enumerated().reversed() {
            let a = w.layers[index]
            w.gradHidden.update(repeating: 0, count: n * ffn)
            TransformerOps.linearBackward(input: a.hidden, weight: p + offsets.down, gradOutput: w.gradResidual, gradInput: w.gradHidden, gradWeight: g + offsets.down, positions: n, inputs: ffn, outputs: dim)
            TransformerOps.swiGLUBackward(gate: a.gate, up: a.up, gradOutput: w.gradHidden, gradGate: w.gradGate, gradUp: w.gradUp, count: n * ffn)
            w.gradNormed.update(repeating: 0, count: n * dim)
            TransformerOps.linearBackward(input: a.normedForFeedForward, weight: p + offsets.gate, gradOutput: w.gradGate, gradInput: w.gradNormed, gradWeight: g + offsets.gate, positions: n, inputs: dim, outputs: ffn)
            TransformerOps.linearBackward(input: a.normedForFeedForward, weight: p + offsets.up, gradOutput: w.gradUp, gradInput: w.gradNormed, gradWeight: g + offsets.up, positions: n, inputs: dim, outputs: ffn)
            TransformerOps.rmsNormBackward(input: a.middle, gain: p + offsets.feedForwardNorm, inverseRMS: a.feedForwardInverseRMS, gradOutput: w.gradNormed, gradInput: w.gradResidual, gradGain: g + offsets.feedForwardNorm, positions: n, dimension: dim)

            w.gradAttention.update(repeating: 0, count: n * dim)
            TransformerOps.linearBackward(input: a.attention, weight: p + offsets.attentionOutput, gradOutput: w.gradResidual, gradInput: w.gradAttention, gradWeight: g + offsets.attentionOutput, positions: n, inputs: dim, outputs: dim)
            w.gradQuery.update(repeating: 0, count: n * dim)
            w.gradKey.update(repeating: 0, count: n * kv)
            w.gradValue.update(repeating: 0, count: n * kv)
            TransformerOps.attentionBackward(query: a.query, key: a.key, value: a.value, probabilities: a.probabilities, gradOutput: w.gradAttention, gradQuery: w.gradQuery, gradKey: w.gradKey, gradValue: w.gradValue, scratch: w.scoreScratch, positions: n, heads: c.headCount, keyValueHeads: c.keyValueHeadCount, headDimension: c.headDimension)
            cosines.withUnsafeBufferPointer { cos in
                sines.withUnsafeBufferPointer { sin in
                    TransformerOps.rope(w.gradQuery, positions: n, heads: c.headCount, headDimension: c.headDimension, cosines: cos.baseAddress!, sines: sin.baseAddress!, inverse: true)
                    TransformerOps.rope(w.gradKey, positions: n, heads: c.keyValueHeadCount, headDimension: c.headDimension, cosines: cos.baseAddress!, sines: sin.baseAddress!, inverse: true)
                }
            }
            w.gradNormed.update(repeating: 0, count: n * dim)
            TransformerOps.linearBackward(input: a.normedForAttention, weight: p + offsets.query, gradOutput: w.gradQuery, gradInput: w.gradNormed, gradWeight: g + offsets.query, positions: n, inputs: dim, outputs: dim)
            TransformerOps.linearBackward(input: a.normedForAttention, weight: p + offsets.key, gradOutput: w.gradKey, gradInput: w.gradNormed, gradWeight: g + offsets.key, positions: n, inputs: dim, outputs: kv)
            TransformerOps.linearBackward(input: a.normedForAttention, weight: p + offsets.value, gradOutput: w.gradValue, gradInput: w.gradNormed, gradWeight: g + offsets.value, positions: n, inputs: dim, outputs: kv)
            TransformerOps.rmsNormBackward(input: a.input, gain: p + offsets.attentionNorm, inverseRMS: a.attentionInverseRMS, gradOutput: w.gradNormed, gradInput: w.gradResidual, gradGain: g + offsets.attentionNorm, positions: n, dimension: dim)
        }
        TransformerOps.embedBackward(tokens: tokens, positions: n, dimension: dim, gradOutput: w.gradResidual, gradTable: g + layout.tokenEmbedding)
    }

    /// The logits of every position of `tokens` (row-major, `tokens.count × vocabularySize`),
    /// computed exactly as training computes them. `parameters` follows `layout`.
    public func logits(tokens: [Int], parameters: [T]) throws -> [T] {
        guard parameters.count == layout.count else {
            throw TrainingError("expected \(layout.count) parameters, got \(parameters.count)")
        }
        guard !tokens.isEmpty, tokens.count <= configuration.contextLength else {
            throw TrainingError("token count \(tokens.count) must be in 1...\(configuration.contextLength) (the context length)")
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= configuration.vocabularySize }) {
            throw TrainingError("token \(bad) is outside the vocabulary of \(configuration.vocabularySize)")
        }
        let workspace = makeWorkspace(capacity: tokens.count)
        let ids = tokens.map { Int32($0) }
        return ids.withUnsafeBufferPointer { ids in
            parameters.withUnsafeBufferPointer { p in
                _ = forward(tokens: ids.baseAddress!, targets: nil, positions: ids.count, parameters: p.baseAddress!, workspace: workspace)
                return Array(UnsafeBufferPointer(start: workspace.logits, count: ids.count * configuration.vocabularySize))
            }
        }
    }
}
