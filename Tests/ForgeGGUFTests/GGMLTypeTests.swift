import Testing
@testable import ForgeGGUF

@Suite struct GGMLTypeTests {
    /// ggml's type traits (ggml/src/ggml.c `type_traits`, block structs in ggml-common.h):
    /// on-disk id, name, elements per block, bytes per block.
    static let ggmlTraits: [(id: UInt32, name: String, blockSize: Int, bytesPerBlock: Int)] = [
        (0, "F32", 1, 4), (1, "F16", 1, 2), (2, "Q4_0", 32, 18), (3, "Q4_1", 32, 20),
        (6, "Q5_0", 32, 22), (7, "Q5_1", 32, 24), (8, "Q8_0", 32, 34), (9, "Q8_1", 32, 36),
        (10, "Q2_K", 256, 84), (11, "Q3_K", 256, 110), (12, "Q4_K", 256, 144), (13, "Q5_K", 256, 176),
        (14, "Q6_K", 256, 210), (15, "Q8_K", 256, 292), (16, "IQ2_XXS", 256, 66), (17, "IQ2_XS", 256, 74),
        (18, "IQ3_XXS", 256, 98), (19, "IQ1_S", 256, 50), (20, "IQ4_NL", 32, 18), (21, "IQ3_S", 256, 110),
        (22, "IQ2_S", 256, 82), (23, "IQ4_XS", 256, 136), (24, "I8", 1, 1), (25, "I16", 1, 2),
        (26, "I32", 1, 4), (27, "I64", 1, 8), (28, "F64", 1, 8), (29, "IQ1_M", 256, 56),
        (30, "BF16", 1, 2), (34, "TQ1_0", 256, 54), (35, "TQ2_0", 256, 66), (39, "MXFP4", 32, 17),
        (40, "NVFP4", 64, 36), (41, "Q1_0", 128, 18), (42, "Q2_0", 64, 18),
    ]

    @Test func tableMatchesGGML() throws {
        #expect(GGMLType.allCases.count == Self.ggmlTraits.count)
        for traits in Self.ggmlTraits {
            let type = try #require(GGMLType(rawValue: traits.id), "missing type \(traits.name)")
            #expect(type.name == traits.name)
            #expect(type.blockSize == traits.blockSize, "\(traits.name)")
            #expect(type.bytesPerBlock == traits.bytesPerBlock, "\(traits.name)")
            #expect(GGMLType(name: traits.name.lowercased()) == type)
        }
    }

    @Test func idsGGMLRemovedOrNeverUsedAreUnknown() {
        for id: UInt32 in [4, 5, 31, 32, 33, 36, 37, 38, 43, 1000] {
            #expect(GGMLType(rawValue: id) == nil)
        }
    }

    @Test func byteCountChecksBlocksAndOverflow() {
        #expect(GGMLType.q4_K.byteCount(elements: 512) == 288)
        #expect(GGMLType.f16.byteCount(elements: 3) == 6)
        #expect(GGMLType.q8_0.byteCount(elements: 33) == nil)
        #expect(GGMLType.f32.byteCount(elements: -4) == nil)
        #expect(GGMLType.f64.byteCount(elements: Int.max / 4) == nil)
    }
}
