import ForgeGGUF
import ForgeKernels
import Testing

/// Dequantization against the `gguf` PyPI package's numpy dequantizers (fixtures made once by
/// scripts/make-kernel-fixtures.py from random blocks).
@Suite struct DequantizationTests {
    static let fixtureTypes: [GGMLType] = [.f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .iq4_nl, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

    @Test(arguments: fixtureTypes)
    func matchesGGUFPackage(_ type: GGMLType) throws {
        let blocks = try Fixtures.data("dequantize/\(type.name).blocks")
        let expected = try Fixtures.floats("dequantize/\(type.name).f32")
        #expect(blocks.count == expected.count / type.blockSize * type.bytesPerBlock)
        var decoded = [Float](repeating: .nan, count: expected.count)
        try blocks.withUnsafeBytes { raw in
            try Quantization.dequantize(type, from: raw.baseAddress!, to: &decoded, count: expected.count)
        }
        var mismatches = 0
        for (value, reference) in zip(decoded, expected) {
            // numpy evaluates the same products in another order for some formats: allow one
            // rounding of difference, nothing more.
            let tolerance = reference.isFinite ? max(abs(reference).ulp * 2, Float.leastNormalMagnitude) : 0
            if !(sameFloat(value, reference) || abs(value - reference) <= tolerance) { mismatches += 1 }
        }
        #expect(mismatches == 0, "\(mismatches) of \(expected.count) \(type) values differ from gguf-py")
    }

    @Test func rejectsPartialBlocksAndUnknownTypes() throws {
        var output = [Float](repeating: 0, count: 64)
        let input = [UInt8](repeating: 0, count: 256)
        input.withUnsafeBytes { raw in
            #expect(throws: KernelError.partialBlock(.q4_0, count: 33)) {
                try Quantization.dequantize(.q4_0, from: raw.baseAddress!, to: &output, count: 33)
            }
            #expect(throws: KernelError.unsupportedType(.iq2_xxs, operation: "dequantization")) {
                try Quantization.dequantize(.iq2_xxs, from: raw.baseAddress!, to: &output, count: 256)
            }
        }
    }

    @Test func q8BlocksDecodeAsScaleTimesValue() throws {
        // Q8_1 and Q8_K are activation formats gguf-py cannot decode; their layout is simple enough
        // to state here: Q8_1 = f16 d, f16 s, 32 × i8; Q8_K = f32 d, 256 × i8, 16 × i16 sums.
        var q81 = [UInt8](repeating: 0, count: 36)
        let half = Float16(0.5).bitPattern
        q81[0] = UInt8(half & 0xff)
        q81[1] = UInt8(half >> 8)
        for j in 0..<32 { q81[4 + j] = UInt8(bitPattern: Int8(j - 16)) }
        var decoded = [Float](repeating: 0, count: 32)
        try Quantization.dequantize(.q8_1, from: q81, to: &decoded, count: 32)
        #expect(decoded == (0..<32).map { Float($0 - 16) * 0.5 })

        var q8k = [UInt8](repeating: 0, count: 292)
        withUnsafeBytes(of: Float(0.25).bitPattern.littleEndian) { q8k.replaceSubrange(0..<4, with: $0) }
        for j in 0..<256 { q8k[4 + j] = UInt8(bitPattern: Int8(truncatingIfNeeded: j * 7 - 900)) }
        var decodedK = [Float](repeating: 0, count: 256)
        try Quantization.dequantize(.q8_K, from: q8k, to: &decodedK, count: 256)
        #expect(decodedK == (0..<256).map { Float(Int8(truncatingIfNeeded: $0 * 7 - 900)) * 0.25 })
    }
}
