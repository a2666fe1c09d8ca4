import CForgeKernels
import ForgeGGUF
import ForgeKernels
import ForgeTestSupport
import Testing

/// The prefill tiles decode a weight block once for several tokens; each token's result must be
/// bit-identical to that variant's dot product — except a full Q4_K/Q5_K tile on the SIMD
/// variants, which rounds in llama.cpp's repacked GEMM order and must stay within 1e-4 of it.
/// (One-token F32/F16 products on the SIMD variants take llama.cpp's decode order instead, tested below.)
@Suite struct TileTests {
    @Test(arguments: MatmulTests.weightTypes, MatmulTests.variants)
    func tileMatchesDotProduct(_ type: GGMLType, variant: KernelVariant) throws {
        var generator = SplitMix64(seed: 31)
        let activationType = MatmulTests.activationType(type)
        for blocks in [1, 2, 3, 7] {
            let columns = type.blockSize == 1 ? blocks * 32 + 5 : blocks * type.blockSize
            let weights = randomBlocks(type, count: columns, using: &generator)
            let rowBytes = try #require(activationType.byteCount(elements: columns))
            var activations = [UInt8](repeating: 0, count: rowBytes * 4)
            let input = generator.normals(columns * 4)
            #expect(forge_quantize_activations(variant.isa, activationType.rawValue, input, &activations, Int64(input.count)) == 0)
            for tokens in 1...Int(FORGE_TILE_TOKENS) {
                var tiled = [Float](repeating: .nan, count: tokens * 3)
                #expect(forge_dot_tokens(variant.isa, type.rawValue, Int64(columns), weights, activations, rowBytes,
                                         Int32(tokens), &tiled, 3) == 0)
                for t in 0..<tokens {
                    let single = activations.withUnsafeBytes { raw in
                        forge_dot(variant.isa, type.rawValue, Int64(columns), weights, raw.baseAddress! + t * rowBytes)
                    }
                    if Self.fullTileHasOwnOrder(type, variant: variant, tokens: tokens) {
                        #expect(abs(tiled[t * 3] - single) <= 1e-4 * max(1, abs(single)), "\(type) \(variant) \(columns) columns, token \(t) of \(tokens)")
                    } else {
                        #expect(tiled[t * 3].bitPattern == single.bitPattern, "\(type) \(variant) \(columns) columns, token \(t) of \(tokens)")
                    }
                }
            }
        }
    }

    /// The AVX2 and AVX-512 variants both follow llama.cpp's x86 float order for the formats of the
    /// real models, so they must agree bit for bit in every tile size (a one-token tile is the
    /// single dot product, as `tileMatchesDotProduct` checks).
    @Test(.enabled(if: KernelVariant.avx2.isSupported && KernelVariant.avx512.isSupported),
          arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K])
    func avx2AndAvx512GiveTheSameFloats(_ type: GGMLType) throws {
        var generator = SplitMix64(seed: 47)
        let activationType = MatmulTests.activationType(type)
        for blocks in [1, 2, 3, 7, 28] {
            let columns = blocks * type.blockSize
            let weights = randomBlocks(type, count: columns, using: &generator)
            let rowBytes = try #require(activationType.byteCount(elements: columns))
            var activations = [UInt8](repeating: 0, count: rowBytes * 4)
            let input = generator.normals(columns * 4)
            #expect(forge_quantize_activations(FORGE_ISA_AVX2, activationType.rawValue, input, &activations, Int64(input.count)) == 0)
            for tokens in 1...Int(FORGE_TILE_TOKENS) {
                var results: [[Float]] = []
                for isa in [FORGE_ISA_AVX2, FORGE_ISA_AVX512] {
                    var tiled = [Float](repeating: .nan, count: tokens)
                    #expect(forge_dot_tokens(isa, type.rawValue, Int64(columns), weights, activations, rowBytes, Int32(tokens), &tiled, 1) == 0)
                    results.append(tiled)
                }
                #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern), "\(type) \(columns) columns, \(tokens) tokens")
            }
        }
    }

    /// llama.cpp's repacked Q4_K GEMM (each group of 4 batch tokens) rounds once per 64 values, its
    /// GEMV (decode) once per super-block; the SIMD variants follow it, so only their full tiles differ.
    static func fullTileHasOwnOrder(_ type: GGMLType, variant: KernelVariant, tokens: Int) -> Bool {
        (type == .q4_K || type == .q5_K) && variant != .generic && tokens == Int(FORGE_TILE_TOKENS)
    }

    /// Matrix products of the 32-value formats take whole panels of rows × one or two full tiles of
    /// tokens where they fit (AVX-512), F16 and F32 panels of rows × up to 24 tokens in blocks of 6, one-token products row panels (where the context
    /// takes them) or the tile row by row, and the tile or the dot product for the rest; every entry
    /// must be bit-identical to the variant's dot product whichever path computed it.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .f16, .f32], MatmulTests.variants)
    func matmulEqualsDotProductBitForBit(_ type: GGMLType, variant: KernelVariant) throws {
        for decodeRows in DecodeRowOrder.allCases {
            try checkMatmulAgainstDotProduct(type, variant: variant, decodeRows: decodeRows)
        }
    }

    /// One-token products of the K formats take row panels (AVX-512, in each decode row order:
    /// eight rows in lockstep, adjacent or far apart as streams) or the tile row by row;
    /// each row must get the dot product's bits. 19 rows: two panels of 8 and one of 3; 67 rows:
    /// the pool's chunks as 8 streams of 3 or 2 rows and 3 rows left over.
    @Test(arguments: [GGMLType.q4_K, .q5_K, .q6_K], MatmulTests.variants)
    func oneTokenKProductsEqualTheDotProductBitForBit(_ type: GGMLType, variant: KernelVariant) throws {
        for decodeRows in DecodeRowOrder.allCases {
            try checkMatmulAgainstDotProduct(type, variant: variant, decodeRows: decodeRows,
                                             shapes: [(19, 3, 1), (7, 1, 1), (1, 5, 1), (16, 2, 1), (67, 1, 1)])
        }
    }

    // 10 rows: two panels and two rows left over; 13 tokens: an 8-token panel, a 4-token one and
    // one token by itself (float panels: blocks of 6, 6 and 1); 29 tokens: a 24-token float panel
    // and one of 5; 2 tokens: a float panel, or the tile. One token: row panels of 8 rows, a last
    // one of 3 (an odd row paired with itself), a single row. 16 tokens and more (AVX-512 32-value
    // formats): lane panels of whole token groups, the rest in panels; 70 tokens: two lane panel
    // calls; 40 blocks: a chunk of 32 and one of 8; 13 rows: an odd row paired with itself. 67
    // rows, one token: the pool's chunks of 24, 24 and 19 rows, each as 8 row streams of 3 or 2
    // rows (where the variant takes streams) and 3 rows left over.
    static let productShapes = [(10, 1, 9), (10, 3, 13), (4, 28, 4), (7, 2, 12), (6, 2, 5), (9, 2, 29), (5, 1, 2),
                                (19, 3, 1), (7, 1, 1), (1, 5, 1), (16, 28, 1), (67, 2, 1), (13, 40, 37), (3, 1, 16), (8, 2, 70)]

    /// `shapes`: (rows, blocks per row, tokens).
    func checkMatmulAgainstDotProduct(_ type: GGMLType, variant: KernelVariant, decodeRows: DecodeRowOrder,
                                      shapes: [(Int, Int, Int)] = productShapes) throws {
        let activationType = MatmulTests.activationType(type)
        for (rows, blocksPerRow, tokens) in shapes {
            let testCase = MatmulTests.makeCase(type, rows: rows, blocksPerRow: blocksPerRow, tokens: tokens, seed: UInt64(rows * 100 + blocksPerRow))
            let columns = testCase.matrix.columns
            let context = try ComputeContext(threadCount: 2, variant: variant, decodeRows: decodeRows, calibration: .off)
            var output = [Float](repeating: .nan, count: rows * tokens)
            try testCase.weight.withUnsafeBytes { raw in
                let matrix = try WeightMatrix(type: type, rows: rows, columns: columns, data: raw.baseAddress!)
                context.matmul(matrix, input: testCase.input, output: &output, tokens: tokens)
            }
            let rowBytes = try #require(activationType.byteCount(elements: columns))
            var activations = [UInt8](repeating: 0, count: rowBytes * tokens)
            #expect(forge_quantize_activations(variant.isa, activationType.rawValue, testCase.input, &activations, Int64(testCase.input.count)) == 0)
            let weightRowBytes = testCase.weight.count / rows
            for t in 0..<tokens {
                for r in 0..<rows {
                    // A one-token product is computed as llama.cpp computes a batch of one token.
                    let dot = tokens == 1 ? forge_dot_single : forge_dot
                    let single = testCase.weight.withUnsafeBytes { weights in
                        activations.withUnsafeBytes { raw in
                            dot(variant.isa, type.rawValue, Int64(columns), weights.baseAddress! + r * weightRowBytes, raw.baseAddress! + t * rowBytes)
                        }
                    }
                    #expect(output[t * rows + r].bitPattern == single.bitPattern, "\(type) \(variant) \(rows)×\(columns)×\(tokens), rows \(decodeRows): row \(r), token \(t)")
                }
            }
        }
    }

    /// Batches of 16 tokens or more of the K formats go through lane panels (AVX-512: tokens
    /// across the vector lanes), which must give each (row, token) the very floats of the tiles:
    /// a batch of 8–15 tokens holding the token at the same place in its group of 4 is the reference.
    @Test(arguments: [GGMLType.q4_K, .q5_K, .q6_K], MatmulTests.variants)
    func lanePanelsEqualTheTilesBitForBit(_ type: GGMLType, variant: KernelVariant) throws {
        // 37 tokens: two full lane groups, a partial one and a last token outside the groups of 4;
        // 70: two panel calls; 13 and 3 rows: a partial panel of 8 rows.
        for (rows, blocksPerRow, tokens) in [(13, 2, 37), (3, 1, 16), (8, 3, 70), (9, 1, 19)] {
            let testCase = MatmulTests.makeCase(type, rows: rows, blocksPerRow: blocksPerRow, tokens: tokens, seed: UInt64(rows * 10 + tokens))
            let columns = testCase.matrix.columns
            let context = try ComputeContext(threadCount: 2, variant: variant)
            let product = { (batch: [Int]) in try MatmulTests.product(testCase, type, of: batch, context: context) }
            let batch = try product(Array(0..<tokens))
            let grouped = tokens - tokens % 4
            var references: [(tokens: [Int], batch: [Float])] = []
            for first in stride(from: 0, to: grouped, by: 4) {
                let group = Array(first..<(first + 4))
                references.append((group + group, try product(group + group)))
            }
            if grouped < tokens {
                let batchTokens = Array(0..<8) + Array(grouped..<tokens)
                references.append((batchTokens, try product(batchTokens)))
            }
            for t in 0..<tokens {
                let reference = try #require(references.first { $0.tokens.contains(t) && ($0.tokens.count == 8 || t >= grouped) })
                let place = try #require(reference.tokens.lastIndex(of: t))
                for r in 0..<rows {
                    #expect(batch[t * rows + r].bitPattern == reference.batch[place * rows + r].bitPattern,
                            "\(type) \(variant) \(rows)×\(columns)×\(tokens): row \(r), token \(t)")
                }
            }
        }
    }

    /// In batches of 8 tokens or more the K formats take llama.cpp's tiled order (Q6_K: the wide
    /// tile); a tile of 2 to 4 tokens decodes each weight block once for all of them and must give
    /// each token the floats a tile of that token alone gives. A batch of 9 tokens ends in a
    /// one-token tile, so putting token k ninth yields its lone result.
    @Test(arguments: [GGMLType.q4_K, .q5_K, .q6_K], MatmulTests.variants)
    func batchTilesGiveEachTokenItsLoneTileFloats(_ type: GGMLType, variant: KernelVariant) throws {
        let (rows, blocksPerRow, tokens) = (6, 3, 11)
        let testCase = MatmulTests.makeCase(type, rows: rows, blocksPerRow: blocksPerRow, tokens: tokens, seed: 77)
        let context = try ComputeContext(threadCount: 2, variant: variant)
        let product = { (batch: [Int]) in try MatmulTests.product(testCase, type, of: batch, context: context) }
        // 10 tokens: tiles of 4, 4 and 2 (tokens 8 and 9 share the partial tile).
        let batch = try product(Array(0..<10))
        for t in [8, 9] {
            let lone = try product(Array(0..<8) + [t])
            for r in 0..<rows {
                #expect(batch[t * rows + r].bitPattern == lone[8 * rows + r].bitPattern, "\(type) \(variant): row \(r), token \(t)")
            }
        }
        // Full tiles keep their own order on the SIMD variants; within 1e-4 of the lone tile there,
        // bit-identical in the generic one.
        for t in 0..<8 {
            let lone = try product(Array(0..<8) + [t])
            for r in 0..<rows {
                let (tiled, single) = (batch[t * rows + r], lone[8 * rows + r])
                if variant != .generic && type != .q6_K {
                    #expect(abs(tiled - single) <= 1e-4 * max(1, abs(single)), "\(type) \(variant): row \(r), token \(t)")
                } else {
                    #expect(tiled.bitPattern == single.bitPattern, "\(type) \(variant): row \(r), token \(t)")
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

    /// The SIMD variants' F32 product follows llama.cpp's tinyBLAS for their vector width: one
    /// accumulator of fused multiply-adds (16 lanes on AVX-512, 8 on AVX2), a vector a step (the last
    /// step's missing lanes zero), then a halving tree (lanes i + i+width/2, down to 0 + 1): AVX-512's
    /// _mm512_reduce_add_ps and tinyBLAS's AVX2 hsum alike.
    @Test(arguments: [KernelVariant.avx2, .avx512].filter(\.isSupported))
    func floatProductFollowsTinyBLASOrder(_ variant: KernelVariant) {
        let width = variant == .avx512 ? 16 : 8
        var generator = SplitMix64(seed: 41)
        for columns in [16, 896, 576 + 7] {
            let weights = generator.normals(columns)
            let activations = generator.normals(columns)
            var lanes = [Float](repeating: 0, count: width)
            for start in stride(from: 0, to: columns, by: width) {
                for lane in 0..<width where start + lane < columns {
                    lanes[lane] = lanes[lane].addingProduct(weights[start + lane], activations[start + lane])
                }
            }
            var half = width / 2
            while half >= 1 {
                for lane in 0..<half { lanes[lane] = lanes[lane] + lanes[lane + half] }
                half /= 2
            }
            let product = weights.withUnsafeBytes { w in
                activations.withUnsafeBytes { a in forge_dot(variant.isa, GGMLType.f32.rawValue, Int64(columns), w.baseAddress!, a.baseAddress!) }
            }
            #expect(product.bitPattern == lanes[0].bitPattern, "\(variant) \(columns) columns: \(product) vs \(lanes[0])")
        }
    }

    /// One-token F32/F16 products in the SIMD variants follow ggml_vec_dot_f32/f16, which llama.cpp
    /// takes for a batch of one token: four chains of fused multiply-adds over steps of four
    /// vectors, combined 0 + 2 and 1 + 3, then the two; reduced as GGML_F32_VEC_REDUCE does for the
    /// width (AVX-512: _mm512_reduce_add_ps's halving tree; AVX2: lanes i + i+4, then two
    /// horizontal adds, (0 + 1) + (2 + 3)); the values left past the last full step added one
    /// rounded product at a time, in Float for F32 and in Double for F16.
    @Test(arguments: [KernelVariant.avx2, .avx512].filter(\.isSupported), [GGMLType.f32, .f16])
    func oneTokenFloatProductFollowsVecDotOrder(_ variant: KernelVariant, type: GGMLType) {
        let width = variant == .avx512 ? 16 : 8
        let step = 4 * width
        var generator = SplitMix64(seed: 43)
        for columns in [64, 896, 576 + 7, 100, 20] {
            var weights = generator.normals(columns)
            var activations = generator.normals(columns)
            if type == .f16 {
                weights = weights.map { Float(Float16($0)) }
                activations = activations.map { Float(Float16($0)) }
            }
            var chains = [[Float]](repeating: [Float](repeating: 0, count: width), count: 4)
            let full = columns - columns % step
            for start in stride(from: 0, to: full, by: step) {
                for chain in 0..<4 {
                    for lane in 0..<width {
                        let index = start + width * chain + lane
                        chains[chain][lane] = chains[chain][lane].addingProduct(weights[index], activations[index])
                    }
                }
            }
            var lanes = (0..<width).map { (chains[0][$0] + chains[2][$0]) + (chains[1][$0] + chains[3][$0]) }
            if variant == .avx512 {
                for half in [8, 4, 2, 1] {
                    for lane in 0..<half { lanes[lane] = lanes[lane] + lanes[lane + half] }
                }
            } else {
                let quarters = (0..<4).map { lanes[$0] + lanes[$0 + 4] }
                lanes[0] = (quarters[0] + quarters[1]) + (quarters[2] + quarters[3])
            }
            var expected = lanes[0]
            if type == .f16 {
                var sum = Double(lanes[0])
                for index in full..<columns { sum += Double(weights[index] * activations[index]) }
                expected = Float(sum)
            } else {
                for index in full..<columns { expected = expected + weights[index] * activations[index] }
            }
            let product: Float
            if type == .f16 {
                let weightHalves = weights.map { Float16($0).bitPattern }
                let activationHalves = activations.map { Float16($0).bitPattern }
                product = weightHalves.withUnsafeBytes { w in
                    activationHalves.withUnsafeBytes { a in forge_dot_single(variant.isa, type.rawValue, Int64(columns), w.baseAddress!, a.baseAddress!) }
                }
            } else {
                product = weights.withUnsafeBytes { w in
                    activations.withUnsafeBytes { a in forge_dot_single(variant.isa, type.rawValue, Int64(columns), w.baseAddress!, a.baseAddress!) }
                }
            }
            #expect(product.bitPattern == expected.bitPattern, "\(variant) \(type) \(columns) columns: \(product) vs \(expected)")
        }
    }
}
