#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import ForgeKernels
@testable import ForgeTraining

/// Finite-difference checks in f64 of every op's backward pass and of whole tiny models.
/// Each op's output y is reduced to L = Σ r ⊙ y with fixed random r, so ∂L/∂y = r.
struct GradientCheckTests {
    static let tolerance = 1e-4

    // MARK: Helpers

    static func randomValues(_ count: Int, _ random: inout SplitMix64, scale: Double = 1) -> [Double] {
        (0..<count).map { _ in random.nextGaussian() * scale }
    }

    /// Central differences of `loss` with respect to every element of `values[index]`.
    static func numericGradient(_ values: [[Double]], _ index: Int, _ loss: ([[Double]]) -> Double) -> [Double] {
        var probe = values
        let step = 1e-6
        return (0..<values[index].count).map { i in
            let original = probe[index][i]
            probe[index][i] = original + step
            let plus = loss(probe)
            probe[index][i] = original - step
            let minus = loss(probe)
            probe[index][i] = original
            return (plus - minus) / (2 * step)
        }
    }

    /// ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖).
    static func relativeError(_ analytic: [Double], _ numeric: [Double]) -> Double {
        var difference = 0.0, a = 0.0, n = 0.0
        for i in analytic.indices {
            difference += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i])
            a += analytic[i] * analytic[i]
            n += numeric[i] * numeric[i]
        }
        let scale = max(a, n).squareRoot()
        return scale == 0 ? 0 : difference.squareRoot() / scale
    }

    static func expectGradients(
        _ values: [[Double]], names: [String], checked: [Int]? = nil,
        loss: ([[Double]]) -> Double, analytic: ([[Double]]) -> [[Double]]
    ) {
        let gradients = analytic(values)
        for index in checked ?? Array(values.indices) {
            let numeric = numericGradient(values, index, loss)
            #expect(numeric.contains { $0 != 0 }, "\(names[index]): the loss does not depend on it")
            let error = relativeError(gradients[index], numeric)
            #expect(error < tolerance, "\(names[index]): relative error \(error)")
        }
    }

    static func weightedSum(_ output: [Double], _ weights: [Double]) -> Double {
        zip(output, weights).reduce(0) { $0 + $1.0 * $1.1 }
    }

    // MARK: Ops

    @Test func embedding() {
        var random = SplitMix64(seed: 1)
        let tokens: [Int32] = [2, 0, 2, 3]
        let dimension = 5
        let table = Self.randomValues(4 * dimension, &random)
        let r = Self.randomValues(tokens.count * dimension, &random)
        func forward(_ v: [[Double]]) -> Double {
            var output = [Double](repeating: 0, count: tokens.count * dimension)
            TransformerOps.embed(tokens: tokens, positions: tokens.count, table: v[0], dimension: dimension, into: &output)
            return Self.weightedSum(output, r)
        }
        Self.expectGradients([table], names: ["table"], loss: forward) { _ in
            var gradTable = [Double](repeating: 0, count: table.count)
            TransformerOps.embedBackward(tokens: tokens, positions: tokens.count, dimension: dimension, gradOutput: r, gradTable: &gradTable)
            return [gradTable]
        }
    }

    @Test func rmsNorm() {
        var random = SplitMix64(seed: 2)
        let positions = 3, dimension = 7
        let input = Self.randomValues(positions * dimension, &random)
        let gain = Self.randomValues(dimension, &random)
        let r = Self.randomValues(positions * dimension, &random)
        func forward(_ v: [[Double]]) -> Double {
            var output = [Double](repeating: 0, count: positions * dimension)
            var inverse = [Double](repeating: 0, count: positions)
            TransformerOps.rmsNorm(input: v[0], gain: v[1], output: &output, inverseRMS: &inverse, positions: positions, dimension: dimension, epsilon: 1e-5)
            return Self.weightedSum(output, r)
        }
        Self.expectGradients([input, gain], names: ["input", "gain"], loss: forward) { v in
            var output = [Double](repeating: 0, count: positions * dimension)
            var inverse = [Double](repeating: 0, count: positions)
            TransformerOps.rmsNorm(input: v[0], gain: v[1], output: &output, inverseRMS: &inverse, positions: positions, dimension: dimension, epsilon: 1e-5)
            var gradInput = [Double](repeating: 0, count: input.count)
            var gradGain = [Double](repeating: 0, count: gain.count)
            TransformerOps.rmsNormBackward(input: v[0], gain: v[1], inverseRMS: inverse, gradOutput: r, gradInput: &gradInput, gradGain: &gradGain, positions: positions, dimension: dimension)
            return [gradInput, gradGain]
        }
    }

    @Test(arguments: [(positions: 3, inputs: 5, outputs: 4), (positions: 11, inputs: 19, outputs: 9)])
    func linear(shape: (positions: Int, inputs: Int, outputs: Int)) {
        var random = SplitMix64(seed: 3)
        let (positions, inputs, outputs) = shape
        let input = Self.randomValues(positions * inputs, &random)
        let weight = Self.randomValues(inputs * outputs, &random)
        let r = Self.randomValues(positions * outputs, &random)
        func forward(_ v: [[Double]]) -> Double {
            var output = [Double](repeating: 0, count: positions * outputs)
            TransformerOps.linear(input: v[0], weight: v[1], output: &output, positions: positions, inputs: inputs, outputs: outputs)
            return Self.weightedSum(output, r)
        }
        Self.expectGradients([input, weight], names: ["input", "weight"], loss: forward) { v in
            var gradInput = [Double](repeating: 0, count: input.count)
            var gradWeight = [Double](repeating: 0, count: weight.count)
            TransformerOps.linearBackward(input: v[0], weight: v[1], gradOutput: r, gradInput: &gradInput, gradWeight: &gradWeight, positions: positions, inputs: inputs, outputs: outputs)
            return [gradInput, gradWeight]
        }
    }

    @Test func rope() {
        var random = SplitMix64(seed: 4)
        let positions = 4, heads = 3, headDimension = 6
        let half = headDimension / 2
        let angles = (0..<positions * half).map { Double($0 / half) * (1 + Double($0 % half)) * 0.7 }
        let cosines = angles.map { cos($0) }, sines = angles.map { sin($0) }
        let values = Self.randomValues(positions * heads * headDimension, &random)
        let r = Self.randomValues(values.count, &random)
        func forward(_ v: [[Double]]) -> Double {
            var rotated = v[0]
            TransformerOps.rope(&rotated, positions: positions, heads: heads, headDimension: headDimension, cosines: cosines, sines: sines, inverse: false)
            return Self.weightedSum(rotated, r)
        }
        Self.expectGradients([values], names: ["values"], loss: forward) { _ in
            var gradient = r
            TransformerOps.rope(&gradient, positions: positions, heads: heads, headDimension: headDimension, cosines: cosines, sines: sines, inverse: true)
            return [gradient]
        }
    }

    @Test(arguments: [(heads: 6, keyValueHeads: 2), (heads: 4, keyValueHeads: 1), (heads: 3, keyValueHeads: 3)])
    func attention(heads shape: (heads: Int, keyValueHeads: Int)) {
        var random = SplitMix64(seed: 5)
        let positions = 5, headDimension = 4
        let query = Self.randomValues(positions * shape.heads * headDimension, &random)
        let key = Self.randomValues(positions * shape.keyValueHeads * headDimension, &random)
        let value = Self.randomValues(key.count, &random)
        let r = Self.randomValues(query.count, &random)
        func run(_ v: [[Double]], _ probabilities: inout [Double]) -> [Double] {
            var output = [Double](repeating: 0, count: query.count)
            TransformerOps.attention(query: v[0], key: v[1], value: v[2], probabilities: &probabilities, output: &output, positions: positions, heads: shape.heads, keyValueHeads: shape.keyValueHeads, headDimension: headDimension)
            return output
        }
        func forward(_ v: [[Double]]) -> Double {
            var probabilities = [Double](repeating: 0, count: shape.heads * positions * positions)
            return Self.weightedSum(run(v, &probabilities), r)
        }
        Self.expectGradients([query, key, value], names: ["query", "key", "value"], loss: forward) { v in
            var probabilities = [Double](repeating: 0, count: shape.heads * positions * positions)
            _ = run(v, &probabilities)
            var gradQuery = [Double](repeating: 0, count: query.count)
            var gradKey = [Double](repeating: 0, count: key.count)
            var gradValue = [Double](repeating: 0, count: value.count)
            var scratch = [Double](repeating: 0, count: positions)
            TransformerOps.attentionBackward(query: v[0], key: v[1], value: v[2], probabilities: probabilities, gradOutput: r, gradQuery: &gradQuery, gradKey: &gradKey, gradValue: &gradValue, scratch: &scratch, positions: positions, heads: shape.heads, keyValueHeads: shape.keyValueHeads, headDimension: headDimension)
            return [gradQuery, gradKey, gradValue]
        }
    }

    @Test func swiGLU() {
        var random = SplitMix64(seed: 6)
        let count = 17
        let gate = Self.randomValues(count, &random, scale: 2)
        let up = Self.randomValues(count, &random)
        let r = Self.randomValues(count, &random)
        func forward(_ v: [[Double]]) -> Double {
            var output = [Double](repeating: 0, count: count)
            TransformerOps.swiGLU(gate: v[0], up: v[1], output: &output, count: count)
            return Self.weightedSum(output, r)
        }
        Self.expectGradients([gate, up], names: ["gate", "up"], loss: forward) { v in
            var gradGate = [Double](repeating: 0, count: count)
            var gradUp = [Double](repeating: 0, count: count)
            TransformerOps.swiGLUBackward(gate: v[0], up: v[1], gradOutput: r, gradGate: &gradGate, gradUp: &gradUp, count: count)
            return [gradGate, gradUp]
        }
    }

    @Test func crossEntropy() {
        var random = SplitMix64(seed: 7)
        let positions = 4, vocabulary = 9
        let targets: [Int32] = [3, 0, 8, 3]
        let logits = Self.randomValues(positions * vocabulary, &random, scale: 3)
        func forward(_ v: [[Double]]) -> Double {
            TransformerOps.crossEntropy(logits: v[0], targets: targets, positions: positions, vocabularySize: vocabulary, gradient: nil, scale: 1)
        }
        Self.expectGradients([logits], names: ["logits"], loss: forward) { v in
            var gradient = [Double](repeating: 0, count: logits.count)
            _ = TransformerOps.crossEntropy(logits: v[0], targets: targets, positions: positions, vocabularySize: vocabulary, gradient: &gradient, scale: 1)
            return [gradient]
        }
    }

    // MARK: Whole model

    static let tinyModels: [TransformerConfiguration] = [
        TransformerConfiguration(vocabularySize: 13, layerCount: 2, embeddingLength: 24, headCount: 6, keyValueHeadCount: 2, feedForwardLength: 20, contextLength: 6),
        TransformerConfiguration(vocabularySize: 13, layerCount: 2, embeddingLength: 16, headCount: 4, keyValueHeadCount: 1, feedForwardLength: 12, contextLength: 6),
        TransformerConfiguration(vocabularySize: 11, layerCount: 1, embeddingLength: 12, headCount: 3, keyValueHeadCount: 3, feedForwardLength: 10, contextLength: 5, tiedOutput: true),
    ]

    @Test(arguments: tinyModels)
    func wholeModel(configuration: TransformerConfiguration) throws {
        let model = try Transformer<Double>(configuration: configuration)
        var random = SplitMix64(seed: 8)
        // Large enough weights that every op is far from linear, so mistakes show.
        let parameters = Self.randomValues(model.layout.count, &random, scale: 0.5)
        let positions = configuration.contextLength
        let tokens = (0..<positions).map { _ in Int32(random.nextIndex(below: configuration.vocabularySize)) }
        let targets = (0..<positions).map { _ in Int32(random.nextIndex(below: configuration.vocabularySize)) }
        let workspace = model.makeWorkspace()
        func loss(_ v: [[Double]]) -> Double {
            model.forward(tokens: tokens, targets: targets, positions: positions, parameters: v[0], workspace: workspace)
        }
        var gradients = [Double](repeating: 0, count: parameters.count)
        _ = loss([parameters])
        model.backward(tokens: tokens, targets: targets, positions: positions, parameters: parameters, gradients: &gradients, workspace: workspace, lossScale: 1)
        let numeric = Self.numericGradient([parameters], 0, loss)
        for entry in model.layout.entries {
            let range = entry.offset..<(entry.offset + entry.count)
            let error = Self.relativeError(Array(gradients[range]), Array(numeric[range]))
            #expect(error < Self.tolerance, "\(entry.name): relative error \(error)")
            #expect(numeric[range].contains { $0 != 0 }, "\(entry.name): the loss does not depend on it")
        }
    }
}
