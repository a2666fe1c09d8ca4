import CForgeKernels
import ForgeGGUF
import ForgeKernels
import ForgeTestSupport
import Testing

/// Encoders against the gguf package's quantizers, whose F16/BF16/Q8_0/Q4_x/Q5_x rounding
/// reproduces ggml's reference quantizers (gguf-py states bit-exactness for Q8_0 and BF16; its
/// F16 is numpy's round-to-nearest-even cast, the same rule as ggml_fp32_to_fp16).
@Suite struct QuantizationTests {
    @Test(arguments: [GGMLType.f16, .bf16, .q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func byteIdenticalToGGUFPackage(_ type: GGMLType) throws {
        let input = try Fixtures.floats("quantize/\(type.name).input.f32")
        let expected = [UInt8](try Fixtures.data("quantize/\(type.name).blocks"))
        var encoded = [UInt8](repeating: 0, count: try #require(type.byteCount(elements: input.count)))
        try Quantization.quantize(type, from: input, to: &encoded, count: input.count)
        #expect(encoded.count == expected.count)
        let differing = zip(encoded, expected).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.isEmpty, "\(type): bytes differ at \(differing.prefix(8))")
    }

    @Test func nanEncodingFollowsGGML() throws {
        // gguf-py leaves NaN payloads to numpy; ggml makes every NaN a quiet NaN with the sign kept.
        let values: [Float] = [.nan, -.nan, Float(bitPattern: 0x7f80_0001)]
        var halves = [UInt16](repeating: 0, count: 3)
        try Quantization.quantize(.f16, from: values, to: &halves, count: 3)
        #expect(halves == [0x7e00, 0xfe00, 0x7e00])
        try Quantization.quantize(.bf16, from: values, to: &halves, count: 3)
        #expect(halves == [0x7fc0, 0xffc0, 0x7fc0])
    }

    @Test func q8KKeepsSubBlockSums() throws {
        var generator = SplitMix64(seed: 7)
        let input = generator.normals(512, scale: 3)
        var encoded = [UInt8](repeating: 0, count: 2 * 292)
        try Quantization.quantize(.q8_K, from: input, to: &encoded, count: 512)
        var decoded = [Float](repeating: 0, count: 512)
        try Quantization.dequantize(.q8_K, from: encoded, to: &decoded, count: 512)
        for block in 0..<2 {
            let base = block * 292
            let values = (0..<256).map { Int(Int8(bitPattern: encoded[base + 4 + $0])) }
            // The largest magnitude maps to ±127 and the scale reproduces every value within half a step.
            #expect(values.map(abs).max() == 127)
            let amax = input[block * 256..<(block + 1) * 256].map(abs).max() ?? 0
            for j in 0..<256 {
                #expect(abs(decoded[block * 256 + j] - input[block * 256 + j]) <= amax / 127 * 0.5001)
            }
            for sub in 0..<16 {
                let stored = Int(Int16(bitPattern: UInt16(encoded[base + 260 + 2 * sub]) | UInt16(encoded[base + 261 + 2 * sub]) << 8))
                #expect(stored == values[sub * 16..<(sub + 1) * 16].reduce(0, +))
            }
        }
    }

    /// llama.cpp's x86 backend quantizes Q8_0/Q8_1 activations with 127/amax and round-half-even
    /// (not the reference's 1/d and round-half-away); stated here independently of the C code.
    @Test(arguments: KernelVariant.allCases.filter(\.isSupported))
    func activationQuantizationMatchesLlamaCppX86(_ variant: KernelVariant) throws {
        var generator = SplitMix64(seed: 11)
        var input = generator.normals(32 * 40, scale: 2)
        // amax 127 makes the multiplier exactly 1, so these are exact .5 ties.
        for j in 0..<32 { input[j] = j == 0 ? 127 : Float(j - 16) + 0.5 }
        for j in 32..<64 { input[j] = 0 }
        for type in [GGMLType.q8_0, .q8_1] {
            var encoded = [UInt8](repeating: 0, count: try #require(type.byteCount(elements: input.count)))
            let status = forge_quantize_activations(variant.isa, type.rawValue, input, &encoded, Int64(input.count))
            #expect(status == 0)
            for block in 0..<input.count / 32 {
                let values = input[block * 32..<(block + 1) * 32]
                let amax = values.map(abs).max() ?? 0
                let inverse: Float = amax != 0 ? 127 / amax : 0
                let base = block * type.bytesPerBlock
                let quantsOffset = type == .q8_0 ? 2 : 4
                let expected = values.map { Int8(($0 * inverse).rounded(.toNearestOrEven)) }
                let stored = (0..<32).map { Int8(bitPattern: encoded[base + quantsOffset + $0]) }
                #expect(stored == expected, "\(type) block \(block)")
                #expect(UInt16(encoded[base]) | UInt16(encoded[base + 1]) << 8 == Float16(amax / 127).bitPattern)
                if type == .q8_1 {
                    let sum = Float(expected.reduce(0) { $0 + Int($1) })
                    #expect(UInt16(encoded[base + 2]) | UInt16(encoded[base + 3]) << 8 == Float16(amax / 127 * sum).bitPattern)
                }
            }
        }
    }

    /// The activation format is a contract between the variants: every variant must produce the
    /// generic encoder's bytes (NaN excluded: vector conversions keep NaN payloads).
    @Test(arguments: KernelVariant.allCases.filter { $0.isSupported && $0 != .generic })
    func activationEncodingIdenticalAcrossVariants(_ variant: KernelVariant) throws {
        var generator = SplitMix64(seed: 5)
        var input = generator.normals(256 * 6, scale: 4)
        for j in 0..<256 { input[j] = 0 }
        for j in 256..<512 { input[j] = Float(j % 7) - 3 }                 // repeated extremes of both signs
        for j in 512..<768 { input[j] = input[j] * 1e-30 }                // subnormal range for f16
        input[800] = 70000                                                // overflows f16
        for type in [GGMLType.q8_0, .q8_1, .q8_K, .f16, .bf16, .f32] {
            let size = try #require(type.byteCount(elements: input.count))
            var generic = [UInt8](repeating: 0xAA, count: size)
            var vector = [UInt8](repeating: 0x55, count: size)
            #expect(forge_quantize_activations(FORGE_ISA_GENERIC, type.rawValue, input, &generic, Int64(input.count)) == 0)
            #expect(forge_quantize_activations(variant.isa, type.rawValue, input, &vector, Int64(input.count)) == 0)
            let differing = zip(generic, vector).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
            #expect(differing.isEmpty, "\(type) \(variant): bytes differ at \(differing.prefix(8))")
        }
    }

    @Test func rejectsTypesWithoutAnEncoder() {
        let input = [Float](repeating: 1, count: 256)
        var output = [UInt8](repeating: 0, count: 1024)
        #expect(throws: KernelError.unsupportedType(.q4_K, operation: "quantization")) {
            try Quantization.quantize(.q4_K, from: input, to: &output, count: 256)
        }
        #expect(throws: KernelError.partialBlock(.q8_0, count: 48)) {
            try Quantization.quantize(.q8_0, from: input, to: &output, count: 48)
        }
    }
}
