import Foundation
import ForgeGGUF
import ForgeKernels
import ForgeVulkan
import ForgeTestSupport
import Testing

/// Every shader against the CPU on random inputs of awkward sizes, as llama.cpp's
/// test-backend-ops compares backends: normalized mean squared error under a bound per format.
@Suite(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
struct OperationTests {
    static let cpu = ComputeContext(threadCount: 1)

    /// Bounds on the normalized error against the CPU's product. The CPU converts activations as
    /// llama.cpp does (Q8_0/Q8_1/Q8_K for quantized weights, f16 for F16 weights) where the shaders
    /// take them in f32, so these bound that conversion's error (measured: 2e-5 to 9e-5 for the
    /// quantized formats, 4e-8 for F16, 4e-14 for F32), not the shaders'.
    static let matmulBounds: [GGMLType: Double] = [
        .f32: 1e-10, .f16: 1e-6, .q4_0: 3e-4, .q4_1: 3e-4, .q5_0: 3e-4, .q5_1: 3e-4, .q8_0: 3e-4, .q4_K: 3e-4, .q5_K: 3e-4, .q6_K: 3e-4,
    ]
    /// The bound against the CPU's dequantized weights times the f32 activations, in double: only
    /// the shaders' f32 rounding remains, so a wrong scale or bit anywhere in a block shows.
    static let dequantizedBound = 1e-10

    struct MatmulCase: Sendable, CustomTestStringConvertible {
        let type: GGMLType
        let tokens: Int
        var testDescription: String { "\(type.name) × \(tokens) tokens" }
    }

    static let matmulCases = DeviceMatrix.supportedTypes.sorted { $0.rawValue < $1.rawValue }.flatMap { type in
        [1, 11].map { MatmulCase(type: type, tokens: $0) }
    }

    /// W · x on the device, on the CPU, and in double from the CPU's dequantized W, for a random
    /// W of `rows` rows.
    static func products(_ type: GGMLType, rows: Int, columns: Int, tokens: Int, device: VulkanDevice,
                         seed: UInt64) throws -> (device: [Float], cpu: [Float], dequantized: [Float]) {
        var generator = SplitMix64(seed: seed)
        let weights = generator.blocks(type, count: rows * columns)
        let input = generator.normals(tokens * columns)
        var expected = [Float](repeating: 0, count: rows * tokens)
        var decoded = [Float](repeating: 0, count: rows * columns)
        try Quantization.dequantize(type, from: weights, to: &decoded, count: decoded.count)
        let dequantized = (0..<tokens * rows).map { index in
            let (t, r) = index.quotientAndRemainder(dividingBy: rows)
            return Float((0..<columns).reduce(0.0) { $0 + Double(decoded[r * columns + $1]) * Double(input[t * columns + $1]) })
        }
        let matrix = try weights.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            cpu.matmul(matrix, input: input, output: &expected, tokens: tokens)
            return try DeviceMatrix(matrix, on: device)
        }
        let inputBuffer = try device.buffer(input)
        let output = try device.makeBuffer(byteCount: rows * tokens * 4)
        try device.run { try $0.matmul(matrix, input: inputBuffer.range(), output: output.range(), tokens: tokens) }
        return (try device.download(output, count: rows * tokens), expected, dequantized)
    }

    @Test(arguments: matmulCases)
    func matrixProduct(_ testCase: MatmulCase) throws {
        let type = testCase.type
        // Unblocked formats get a ragged row length; the others 3 blocks (K) or 7 blocks of 32.
        let columns = type.blockSize == 1 ? 5 * 32 + 13 : type.blockSize == 256 ? 3 * 256 : 7 * 32
        let (result, expected, dequantized) = try Self.products(type, rows: 67, columns: columns, tokens: testCase.tokens,
                                                                device: TestDevice.shared, seed: UInt64(type.rawValue * 100 + UInt32(testCase.tokens)))
        let error = normalizedError(result, reference: expected)
        #expect(error < Self.matmulBounds[type]!, "\(testCase.testDescription): normalized error \(error) against the CPU's product")
        let decodingError = normalizedError(result, reference: dequantized)
        #expect(decodingError < Self.dequantizedBound, "\(testCase.testDescription): normalized error \(decodingError) against the dequantized weights")
        TestDevice.expectNoValidationMessages()
    }

    /// An output projection larger than one binding (lavapipe's 128 MiB limit, scaled down to 4 KiB
    /// here) is split into parts of whole rows, one dispatch each.
    @Test func outputProjectionLargerThanOneBinding() throws {
        let device = TestDevice.smallBindings
        for tokens in [1, 3] {
            let (result, _, dequantized) = try Self.products(.q8_0, rows: 301, columns: 256, tokens: tokens, device: device, seed: 7)
            let error = normalizedError(result, reference: dequantized)
            #expect(error < Self.dequantizedBound, "\(tokens) tokens: normalized error \(error)")
        }
        var generator = SplitMix64(seed: 8)
        let weights = generator.blocks(.q8_0, count: 301 * 256)
        let parts = try weights.withUnsafeBytes { raw in
            try DeviceMatrix(WeightMatrix(type: .q8_0, rows: 301, columns: 256, data: raw.baseAddress!), on: device).parts.count
        }
        #expect(parts == 21, "301 rows of 272 bytes in 4 KiB bindings: 14 rows a part")
        TestDevice.expectNoValidationMessages(device)
    }

    @Test func rmsNorm() throws {
        let device = TestDevice.shared
        var generator = SplitMix64(seed: 11)
        let rows = 5, width = 577, epsilon: Float = 1e-6
        let input = generator.normals(rows * width, scale: 3), weight = generator.normals(width)
        let source = try device.buffer(input), weights = try device.buffer(weight)
        try device.run { try $0.rmsNorm(source.range(), weight: weights.range(), into: source.range(), rows: rows, width: width, epsilon: epsilon) }
        let result = try device.download(source, count: input.count)
        // The CPU path's formula (Norm.swift): the sum of squares in double.
        var expected = input
        for r in 0..<rows {
            let sum = input[r * width..<(r + 1) * width].reduce(0.0) { $0 + Double($1 * $1) }
            let scale = 1 / (Float(sum / Double(width)) + epsilon).squareRoot()
            for i in 0..<width { expected[r * width + i] = input[r * width + i] * scale * weight[i] }
        }
        let error = normalizedError(result, reference: expected)
        #expect(error < 1e-12, "normalized error \(error)")
        TestDevice.expectNoValidationMessages()
    }

    @Test(arguments: [DeviceRoPEStyle.normal, .neox])
    func rope(style: DeviceRoPEStyle) throws {
        let device = TestDevice.shared
        var generator = SplitMix64(seed: style == .normal ? 21 : 22)
        let tokens = 3, heads = 5, headDimension = 64, rotated = 48
        let positions = [0, 17, 1_234]
        // The angle table as the CPU path fills it (RoPE.swift): θ multiplied by base^(-2/d) per pair.
        var angles: [Float] = []
        for position in positions {
            var theta = Float(position)
            for _ in 0..<rotated / 2 {
                angles += [cosf(theta), sinf(theta)]
                theta *= powf(10_000, -2 / Float(rotated))
            }
        }
        let input = generator.normals(tokens * heads * headDimension)
        let vectors = try device.buffer(input), table = try device.buffer(angles)
        try device.run {
            try $0.rope(vectors.range(), angles: table.range(), tokens: tokens, heads: heads, headDimension: headDimension,
                        rotated: rotated, style: style)
        }
        let result = try device.download(vectors, count: input.count)
        var expected = input
        for t in 0..<tokens {
            for h in 0..<heads {
                let head = (t * heads + h) * headDimension
                for pair in 0..<rotated / 2 {
                    let (i, j) = style == .normal ? (2 * pair, 2 * pair + 1) : (pair, pair + rotated / 2)
                    let c = angles[t * rotated + 2 * pair], s = angles[t * rotated + 2 * pair + 1]
                    expected[head + i] = input[head + i] * c - input[head + j] * s
                    expected[head + j] = input[head + i] * s + input[head + j] * c
                }
            }
        }
        let error = normalizedError(result, reference: expected)
        #expect(error < 1e-12, "normalized error \(error)")
        TestDevice.expectNoValidationMessages()
    }

    @Test func swiGLU() throws {
        let device = TestDevice.shared
        var generator = SplitMix64(seed: 31)
        let rows = 3, width = 1_001
        let gate = generator.normals(rows * width, scale: 2), up = generator.normals(rows * width)
        let gateBuffer = try device.buffer(gate), upBuffer = try device.buffer(up)
        try device.run { try $0.swiGLU(gate: gateBuffer.range(), up: upBuffer.range(), count: rows * width) }
        var expected = gate
        Self.cpu.swiGLU(gate: &expected, up: up, rows: rows, width: width)
        let error = normalizedError(try device.download(gateBuffer, count: gate.count), reference: expected)
        #expect(error < 1e-10, "normalized error \(error)")
        TestDevice.expectNoValidationMessages()
    }

    /// The CPU rounds the gate to f16 and GELU's result to f16 (llama.cpp's table) where the
    /// shader computes in f32: the bound is two f16 roundings (relative 2⁻¹¹ each, squared).
    @Test func geGLU() throws {
        let device = TestDevice.shared
        var generator = SplitMix64(seed: 37)
        let rows = 3, width = 1_001
        var gate = generator.normals(rows * width, scale: 3), up = generator.normals(rows * width)
        gate[0] = -12; gate[1] = 11 // past the table's range on both sides
        let gateBuffer = try device.buffer(gate), upBuffer = try device.buffer(up)
        try device.run { try $0.geGLU(gate: gateBuffer.range(), up: upBuffer.range(), count: rows * width) }
        var expected = gate
        Self.cpu.geGLU(gate: &expected, up: up, rows: rows, width: width)
        let error = normalizedError(try device.download(gateBuffer, count: gate.count), reference: expected)
        #expect(error < 2e-6, "normalized error \(error)")
        TestDevice.expectNoValidationMessages()
    }

    @Test func softmax() throws {
        let device = TestDevice.shared
        var generator = SplitMix64(seed: 41)
        let rows = 4, width = 333, scale: Float = 0.125
        let input = generator.normals(rows * width, scale: 20)
        let values = try device.buffer(input)
        try device.run { try $0.softmax(values.range(), rows: rows, width: width, scale: scale) }
        var expected = input
        for r in 0..<rows {
            let row = input[r * width..<(r + 1) * width].map { Double($0 * scale) }
            let maximum = row.max()!
            let sum = row.reduce(0) { $0 + exp($1 - maximum) }
            for i in 0..<width { expected[r * width + i] = Float(exp(row[i] - maximum) / sum) }
        }
        let error = normalizedError(try device.download(values, count: input.count), reference: expected)
        #expect(error < 1e-10, "normalized error \(error)")
        TestDevice.expectNoValidationMessages()
    }

    @Test func residualAndBias() throws {
        let device = TestDevice.shared
        let rows = 3, width = 5
        let destination = try device.buffer((0..<rows * width).map(Float.init)), bias = try device.buffer([1, 2, 3, 4, 5] as [Float])
        try device.run { try $0.add(bias.range(), to: destination.range(), count: rows * width, period: width) }
        #expect(try device.download(destination, count: rows * width) == (0..<rows * width).map { Float($0 + $0 % width + 1) })
        TestDevice.expectNoValidationMessages()
    }
}
