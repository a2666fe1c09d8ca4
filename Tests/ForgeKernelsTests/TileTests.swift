import CForgeKernels
import ForgeGGUF
import ForgeKernels
import Testing

/// The prefill tiles decode a weight block once for several tokens; each token's result must be
/// bit-identical to that variant's single-token dot product, so prompt and decode agree exactly.
@Suite struct TileTests {
    @Test(arguments: MatmulTests.weightTypes, MatmulTests.variants)
    func tileEqualsDotProductBitForBit(_ type: GGMLType, variant: KernelVariant) throws {
        var generator = SeededGenerator(seed: 31)
        let activationType = MatmulTests.activationType(type)
        for blocks in [1, 2, 3, 7] {
            let columns = type.blockSize == 1 ? blocks * 32 + 5 : blocks * type.blockSize
            let weights = randomBlocks(type, count: columns, using: &generator)
            let rowBytes = try #require(activationType.byteCount(elements: columns))
            var activations = [UInt8](repeating: 0, count: rowBytes * 4)
            let input = generator.normals(columns * 4)
            #expect(forge_quantize_activations(isaOf(variant), activationType.rawValue, input, &activations, Int64(input.count)) == 0)
            for tokens in 1...Int(FORGE_TILE_TOKENS) {
                var tiled = [Float](repeating: .nan, count: tokens * 3)
                #expect(forge_dot_tokens(isaOf(variant), type.rawValue, Int64(columns), weights, activations, rowBytes,
                                         Int32(tokens), &tiled, 3) == 0)
                for t in 0..<tokens {
                    let single = activations.withUnsafeBytes { raw in
                        forge_dot(isaOf(variant), type.rawValue, Int64(columns), weights, raw.baseAddress! + t * rowBytes)
                    }
                    #expect(tiled[t * 3].bitPattern == single.bitPattern, "\(type) \(variant) \(columns) columns, token \(t) of \(tokens)")
                }
            }
        }
    }

    @Test func rejectsTokenCountsOutsideTheTile() {
        var out = [Float](repeating: 0, count: 8)
        let bytes = [UInt8](repeating: 0, count: 34 * 8)
        #expect(forge_dot_tokens(FORGE_ISA_GENERIC, GGMLType.q8_0.rawValue, 32, bytes, bytes, 34, 0, &out, 1) == -1)
        #expect(forge_dot_tokens(FORGE_ISA_GENERIC, GGMLType.q8_0.rawValue, 32, bytes, bytes, 34, 5, &out, 1) == -1)
        #expect(forge_dot_tokens(FORGE_ISA_GENERIC, GGMLType.q4_K.rawValue + 100, 32, bytes, bytes, 34, 1, &out, 1) == -1)
    }
}
