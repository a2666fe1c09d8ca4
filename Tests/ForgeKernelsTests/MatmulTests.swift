import CForgeKernels
import ForgeGGUF
import ForgeKernels
import ForgeTestSupport
import Testing

/// Matrix products against a plain f64 reference built from the dequantized weights and the
/// dequantized activation blocks: every weight format, every kernel variant, awkward shapes.
@Suite struct MatmulTests {
    static let weightTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    static let variants = KernelVariant.allCases.filter(\.isSupported)

    /// The weight type's activation format as llama.cpp picks it.
    static func activationType(_ type: GGMLType) -> GGMLType {
        switch type {
        case .q4_0, .q5_0, .q8_0, .iq4_nl: .q8_0
        case .q4_1, .q5_1: .q8_1
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: .q8_K
        default: type
        }
    }

    struct Case {
        let weight: [UInt8]
        let matrix: (rows: Int, columns: Int)
        let input: [Float]
        let tokens: Int
    }

    static func makeCase(_ type: GGMLType, rows: Int, blocksPerRow: Int, tokens: Int, seed: UInt64) -> Case {
        var generator = SplitMix64(seed: seed)
        // Unblocked types get a ragged length so the vector loops' tails run too.
        let columns = type.blockSize == 1 ? blocksPerRow * 32 + 13 : blocksPerRow * type.blockSize
        let weight = randomBlocks(type, count: rows * columns, using: &generator)
        return Case(weight: weight, matrix: (rows, columns), input: generator.normals(tokens * columns), tokens: tokens)
    }

    /// The matrix product of the case's weights with the tokens `batch` (indices into its input rows,
    /// repeats allowed) as one batch, token after token.
    static func product(_ testCase: Case, _ type: GGMLType, of batch: [Int], context: ComputeContext) throws -> [Float] {
        let (rows, columns) = testCase.matrix
        let input = batch.flatMap { testCase.input[($0 * columns)..<(($0 + 1) * columns)] }
        var output = [Float](repeating: .nan, count: rows * batch.count)
        try testCase.weight.withUnsafeBytes { raw in
            let matrix = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
            context.matmul(matrix, input: input, output: &output, tokens: batch.count)
        }
        return output
    }

    /// Σ in f64 of dequantized weights × the activations after their conversion, plus the sum of
    /// magnitudes that bounds the float rounding error.
    static func reference(_ type: GGMLType, _ testCase: Case, variant: KernelVariant) throws -> (values: [Double], magnitudes: [Double]) {
        let (rows, columns) = testCase.matrix
        var weights = [Float](repeating: 0, count: rows * columns)
        try Quantization.dequantize(type, from: testCase.weight, to: &weights, count: weights.count)
        let activationType = activationType(type)
        var activations = [Float](repeating: 0, count: testCase.input.count)
        var encoded = [UInt8](repeating: 0, count: try #require(activationType.byteCount(elements: testCase.input.count)))
        #expect(forge_quantize_activations(variant.isa, activationType.rawValue, testCase.input, &encoded, Int64(testCase.input.count)) == 0)
        try Quantization.dequantize(activationType, from: encoded, to: &activations, count: activations.count)
        var values = [Double](repeating: 0, count: rows * testCase.tokens)
        var magnitudes = values
        for t in 0..<testCase.tokens {
            for r in 0..<rows {
                var sum = 0.0, magnitude = 0.0
                for c in 0..<columns {
                    let product = Double(weights[r * columns + c]) * Double(activations[t * columns + c])
                    sum += product
                    magnitude += abs(product)
                }
                if activationType == .q8_1 {
                    sum += q81OffsetCorrection(weight: testCase.weight, row: r, encoded: encoded, token: t, columns: columns,
                                               weightBlockBytes: type.bytesPerBlock)
                }
                values[t * rows + r] = sum
                magnitudes[t * rows + r] = magnitude
            }
        }
        return (values, magnitudes)
    }

    /// Q4_1/Q5_1 add the block offset m times the activation block's stored s, an f16 rounding
    /// of d·Σq, where the plain product would use d·Σq exactly: the difference, per block.
    static func q81OffsetCorrection(weight: [UInt8], row: Int, encoded: [UInt8], token: Int, columns: Int, weightBlockBytes: Int) -> Double {
        func half(_ bytes: [UInt8], _ offset: Int) -> Double {
            Double(Float(Float16(bitPattern: UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)))
        }
        let blocks = columns / 32
        var correction = 0.0
        for b in 0..<blocks {
            let weightBase = (row * blocks + b) * weightBlockBytes
            let activationBase = (token * blocks + b) * 36
            let quantSum = (0..<32).reduce(0) { $0 + Int(Int8(bitPattern: encoded[activationBase + 4 + $1])) }
            correction += half(weight, weightBase + 2) * (half(encoded, activationBase + 2) - half(encoded, activationBase) * Double(quantSum))
        }
        return correction
    }

    @Test(arguments: weightTypes, variants)
    func matchesFloat64Reference(_ type: GGMLType, variant: KernelVariant) throws {
        // 133 rows: not a multiple of the threads, the row grain or the panel; 11 tokens: two full
        // prefill tiles and a partial one; 35 tokens: lane panels of the K formats and 3 tokens past them.
        for (rows, blocksPerRow, tokens, threads) in [(1, 1, 1, 1), (37, 3, 1, 2), (67, 2, 5, 3), (9, 5, 2, 2), (133, 2, 11, 3),
                                                      (19, 2, 35, 2)] {
            let testCase = Self.makeCase(type, rows: rows, blocksPerRow: blocksPerRow, tokens: tokens, seed: UInt64(rows * 1000 + tokens))
            let context = try ComputeContext(threadCount: threads, variant: variant, calibration: .off)
            var output = [Float](repeating: .nan, count: rows * tokens)
            try testCase.weight.withUnsafeBytes { raw in
                let matrix = try WeightMatrix(type: type, rows: rows, columns: testCase.matrix.columns, data: raw.baseAddress!)
                context.matmul(matrix, input: testCase.input, output: &output, tokens: tokens)
            }
            let expected = try Self.reference(type, testCase, variant: variant)
            for i in 0..<output.count {
                let error = abs(Double(output[i]) - expected.values[i])
                #expect(error <= 2e-6 * expected.magnitudes[i] + 1e-30,
                        "\(type) \(variant) \(rows)×\(testCase.matrix.columns)×\(tokens) [\(i)]: \(output[i]) vs \(expected.values[i])")
            }
        }
    }

    @Test func quantizedProductStaysCloseToExactProduct() throws {
        // The activation quantization itself must not move results far from the f32 product.
        var generator = SplitMix64(seed: 99)
        let rows = 24, columns = 512
        let weights = generator.normals(rows * columns, scale: 0.1)
        let input = generator.normals(columns)
        var encoded = [UInt8](repeating: 0, count: rows * columns / 32 * 34)
        try Quantization.quantize(.q8_0, from: weights, to: &encoded, count: weights.count)
        let context = try ComputeContext(threadCount: 2, variant: .best, calibration: .off)
        var output = [Float](repeating: 0, count: rows)
        try encoded.withUnsafeBytes { raw in
            context.matmul(try WeightMatrix(type: .q8_0, rows: rows, columns: columns, data: raw.baseAddress!),
                           input: input, output: &output, tokens: 1)
        }
        for r in 0..<rows {
            let exact = (0..<columns).reduce(0.0) { $0 + Double(weights[r * columns + $1]) * Double(input[$1]) }
            let scale = (0..<columns).reduce(0.0) { $0 + abs(Double(weights[r * columns + $1]) * Double(input[$1])) }
            #expect(abs(Double(output[r]) - exact) <= 0.02 * scale)
        }
    }

    @Test func weightMatrixRejectsBadShapes() throws {
        let bytes = [UInt8](repeating: 0, count: 64)
        try bytes.withUnsafeBytes { raw in
            let base = try #require(raw.baseAddress)
            #expect(throws: KernelError.partialBlock(.q4_K, count: 100)) {
                try WeightMatrix(type: .q4_K, rows: 1, columns: 100, data: base)
            }
            #expect(throws: KernelError.unsupportedType(.iq2_xs, operation: "matrix multiplication")) {
                try WeightMatrix(type: .iq2_xs, rows: 1, columns: 256, data: base)
            }
            #expect(throws: KernelError.invalidShape(rows: 1, columns: 0)) {
                try WeightMatrix(type: .f32, rows: 1, columns: 0, data: base)
            }
            #expect(throws: KernelError.invalidShape(rows: Int.max, columns: 32)) {
                try WeightMatrix(type: .q8_0, rows: Int.max, columns: 32, data: base)
            }
            let matrix = try WeightMatrix(type: .q5_0, rows: 3, columns: 64, data: base)
            #expect(matrix.bytesPerRow == 44)
        }
    }
}
