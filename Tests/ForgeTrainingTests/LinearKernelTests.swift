import Testing
import ForgeKernels
@testable import ForgeTraining

/// The blocked `Float` kernels against the generic reference, run in f64, on shapes that hit
/// every remainder path (positions and outputs not multiples of 4, inputs not of 8).
struct LinearKernelTests {
    static let shapes = [(positions: 4, inputs: 8, outputs: 4), (positions: 7, inputs: 19, outputs: 11), (positions: 9, inputs: 40, outputs: 6), (positions: 3, inputs: 5, outputs: 3)]

    static func values(_ count: Int, _ random: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float(random.nextGaussian()) }
    }

    static func expectClose(_ fast: [Float], _ reference: [Double], _ name: String) {
        let scale = reference.map(abs).max() ?? 0
        let worst = zip(fast, reference).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(worst <= 1e-5 * max(scale, 1), "\(name): largest difference \(worst)")
    }

    @Test(arguments: shapes)
    func forwardMatchesTheReference(shape: (positions: Int, inputs: Int, outputs: Int)) {
        var random = SplitMix64(seed: 21)
        let input = Self.values(shape.positions * shape.inputs, &random)
        let weight = Self.values(shape.inputs * shape.outputs, &random)
        let initial = Self.values(shape.positions * shape.outputs, &random)
        for accumulating in [false, true] {
            var fast = initial
            Float.linearForward(input: input, weight: weight, output: &fast, positions: shape.positions, inputs: shape.inputs, outputs: shape.outputs, accumulating: accumulating)
            var reference = initial.map(Double.init)
            Double.linearForward(input: input.map(Double.init), weight: weight.map(Double.init), output: &reference, positions: shape.positions, inputs: shape.inputs, outputs: shape.outputs, accumulating: accumulating)
            Self.expectClose(fast, reference, "output, accumulating \(accumulating)")
        }
    }

    @Test(arguments: shapes)
    func backwardMatchesTheReference(shape: (positions: Int, inputs: Int, outputs: Int)) {
        var random = SplitMix64(seed: 22)
        let input = Self.values(shape.positions * shape.inputs, &random)
        let weight = Self.values(shape.inputs * shape.outputs, &random)
        let gradOutput = Self.values(shape.positions * shape.outputs, &random)
        let initialInput = Self.values(input.count, &random)
        let initialWeight = Self.values(weight.count, &random)
        var gradInput = initialInput, gradWeight = initialWeight
        Float.linearBackward(input: input, weight: weight, gradOutput: gradOutput, gradInput: &gradInput, gradWeight: &gradWeight, positions: shape.positions, inputs: shape.inputs, outputs: shape.outputs)
        var referenceInput = initialInput.map(Double.init), referenceWeight = initialWeight.map(Double.init)
        Double.linearBackward(input: input.map(Double.init), weight: weight.map(Double.init), gradOutput: gradOutput.map(Double.init), gradInput: &referenceInput, gradWeight: &referenceWeight, positions: shape.positions, inputs: shape.inputs, outputs: shape.outputs)
        Self.expectClose(gradInput, referenceInput, "gradInput")
        Self.expectClose(gradWeight, referenceWeight, "gradWeight")
    }
}
