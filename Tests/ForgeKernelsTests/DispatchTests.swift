import CForgeKernels
import ForgeGGUF
import ForgeKernels
import ForgeTestSupport
import Testing

/// A variant without a kernel for a weight type takes the next variant's (AVX-512 → AVX2 →
/// generic), not the generic one straight away.
@Suite struct DispatchTests {
    /// AVX-512 has no BF16 or IQ4_NL kernels: its products of them are AVX2's, bit for bit, which
    /// add in another order than the generic ones (checked, so the inputs can tell them apart).
    @Test(.enabled(if: KernelVariant.avx512.isSupported, "needs a CPU with AVX-512"), arguments: [GGMLType.bf16, .iq4_nl])
    func avx512TakesTheAvx2KernelItLacks(_ type: GGMLType) throws {
        var generator = SplitMix64(seed: 53)
        let activationType = MatmulTests.activationType(type)
        var differsFromGeneric = false
        for blocks in [7, 28, 64] {
            let columns = blocks * 32
            let weights = randomBlocks(type, count: columns, using: &generator)
            let rowBytes = try #require(activationType.byteCount(elements: columns))
            var activations = [UInt8](repeating: 0, count: rowBytes)
            let input = generator.normals(columns)
            #expect(forge_quantize_activations(FORGE_ISA_AVX2, activationType.rawValue, input, &activations, Int64(columns)) == 0)
            let products = [FORGE_ISA_AVX512, FORGE_ISA_AVX2, FORGE_ISA_GENERIC].map {
                forge_dot($0, type.rawValue, Int64(columns), weights, activations)
            }
            #expect(products[0].bitPattern == products[1].bitPattern, "\(type) \(columns) columns: \(products[0]) vs \(products[1])")
            differsFromGeneric = differsFromGeneric || products[1].bitPattern != products[2].bitPattern
        }
        #expect(differsFromGeneric, "\(type): AVX2 and generic gave the same bits on every input")

        // Whole matrix products too: one token and a batch.
        for tokens in [1, 11] {
            let testCase = MatmulTests.makeCase(type, rows: 9, blocksPerRow: 5, tokens: tokens, seed: UInt64(tokens))
            let outputs = try [KernelVariant.avx512, .avx2].map { variant in
                try MatmulTests.product(testCase, type, of: Array(0..<tokens),
                                        context: try ComputeContext(threadCount: 2, variant: variant, calibration: .off))
            }
            #expect(outputs[0].map(\.bitPattern) == outputs[1].map(\.bitPattern), "\(type), \(tokens) tokens")
        }
    }
}
