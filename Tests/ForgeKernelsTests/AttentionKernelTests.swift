import Foundation
import ForgeKernels
import ForgeTestSupport
import Testing

/// The attention and SwiGLU kernels follow llama.cpp's operation order, so every variant must give
/// the same bits, and the results must be a softmax attention (checked against plain f64 loops).
@Suite struct AttentionKernelTests {
    static let headDimension = 80
    static let kvHeads = 2
    static let keyCount = 150

    struct Cache {
        var keys: [Float16]
        var values: [Float16]
        var rowBytes: Int { AttentionKernelTests.kvHeads * AttentionKernelTests.headDimension * 2 }

        init(generator: inout SplitMix64) {
            let count = AttentionKernelTests.keyCount * AttentionKernelTests.kvHeads * AttentionKernelTests.headDimension
            keys = generator.normals(count, scale: 1.5).map { Float16($0) }
            values = generator.normals(count).map { Float16($0) }
        }

        /// softmax(q·Kᵀ·scale)·V over keys first..<length of KV head `head`, in f64.
        func reference(query: ArraySlice<Float>, head: Int, length: Int, first: Int = 0, scale: Double) -> [Double] {
            let d = AttentionKernelTests.headDimension, stride = AttentionKernelTests.kvHeads * d
            let seen = Array(first..<length)
            let scores = seen.map { j in
                (0..<d).reduce(0.0) { $0 + Double(query[query.startIndex + $1]) * Double(keys[j * stride + head * d + $1]) } * scale
            }
            let top = scores.max() ?? 0
            let weights = scores.map { Foundation.exp($0 - top) }
            let total = weights.reduce(0, +)
            return (0..<d).map { e in zip(seen, weights).reduce(0.0) { $0 + $1.1 * Double(values[$1.0 * stride + head * d + e]) } / total }
        }
    }

    static func close(_ actual: ArraySlice<Float>, _ expected: [Double], tolerance: Double) -> Bool {
        zip(actual, expected).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
    }

    @Test func groupsAgreeAcrossVariantsAndWithTheReference() throws {
        var generator = SplitMix64(seed: 7)
        let cache = Cache(generator: &generator)
        let d = Self.headDimension, heads = 7, scale: Float = 0.11
        let queries = generator.normals(heads * d)
        // (length, keys per chunk, first key): whole runs, and runs split into chunks merged as
        // llama.cpp's split decode path merges them (an uneven last chunk included); sliding
        // windows whose first key lies inside the first chunk, and past it (a chunk left empty).
        let cases = [(1, 1, 0), (63, 63, 0), (Self.keyCount, Self.keyCount, 0), (Self.keyCount, 75, 0), (Self.keyCount, 64, 0),
                     (Self.keyCount, 64, 10), (Self.keyCount, 64, 70), (Self.keyCount, Self.keyCount, 149)]
        // Variant after variant, one output per case.
        var results: [[Float]] = []
        for variant in MatmulTests.variants {
            let context = try ComputeContext(threadCount: 1, variant: variant)
            for (length, chunk, first) in cases {
                var outputs = [Float](repeating: .nan, count: heads * d)
                cache.keys.withUnsafeBytes { k in
                    cache.values.withUnsafeBytes { v in
                        context.attendGroup(queries: queries, outputs: &outputs, heads: heads, keys: k.baseAddress! + d * 2,
                                            values: v.baseAddress! + d * 2, rowBytes: cache.rowBytes, length: length, first: first,
                                            chunk: chunk, headDimension: d, scale: scale)
                    }
                }
                for h in 0..<heads {
                    let expected = cache.reference(query: queries[h * d..<(h + 1) * d], head: 1, length: length, first: first,
                                                   scale: Double(scale))
                    // Q and the V accumulator are rounded to f16, as llama.cpp does.
                    #expect(Self.close(outputs[h * d..<(h + 1) * d], expected, tolerance: 2e-2),
                            "\(variant) head \(h) length \(length) chunk \(chunk) first \(first)")
                }
                results.append(outputs)
            }
        }
        for (index, outputs) in results.enumerated() {
            #expect(outputs.map(\.bitPattern) == results[index % cases.count].map(\.bitPattern), "case \(cases[index % cases.count])")
        }
        // Splitting changes the rounding, not the attention: a split run differs from the whole run
        // only in the last bits.
        #expect(results[3] != results[2] || results[4] != results[2], "the chunked merge is a different float order")
    }

    /// llama.cpp's KV view for a one-row batch is the used cells rounded up to 256 (within the
    /// context rounded up to 256); from 512 rows on each thread takes an equal chunk of it.
    @Test func decodeChunksFollowLlamaCppsKVView() {
        #expect(ComputeContext.decodeChunk(length: 1, contextSize: 4096, threadCount: 2) == 1)
        #expect(ComputeContext.decodeChunk(length: 256, contextSize: 4096, threadCount: 2) == 256)
        #expect(ComputeContext.decodeChunk(length: 257, contextSize: 4096, threadCount: 2) == 256)
        #expect(ComputeContext.decodeChunk(length: 513, contextSize: 4096, threadCount: 2) == 384)
        #expect(ComputeContext.decodeChunk(length: 513, contextSize: 4096, threadCount: 3) == 256)
        #expect(ComputeContext.decodeChunk(length: 300, contextSize: 300, threadCount: 2) == 256)
        #expect(ComputeContext.decodeChunk(length: 200, contextSize: 200, threadCount: 2) == 200)
        #expect(ComputeContext.decodeChunk(length: 600, contextSize: 4096, threadCount: 1) == 768)
    }

    /// Windowed rows see keys from `first` on: some start inside a later key tile than others.
    @Test(arguments: [1, 37, 64], [false, true])
    func tilesAgreeAcrossVariantsAndWithTheReference(rowCount: Int, windowed: Bool) throws {
        var generator = SplitMix64(seed: 11 + UInt64(rowCount))
        let cache = Cache(generator: &generator)
        let d = Self.headDimension, scale: Float = 0.11
        let queries = generator.normals(rowCount * d)
        let lengths = (0..<rowCount).map { 1 + ($0 * 53 + 17) % Self.keyCount }
        let firsts = lengths.enumerated().map { windowed && $0.offset % 3 != 2 ? ($0.element * 2) / 3 : 0 }
        var results: [[Float]] = []
        for variant in MatmulTests.variants {
            let context = try ComputeContext(threadCount: 1, variant: variant)
            var outputs = [Float](repeating: .nan, count: rowCount * d)
            queries.withUnsafeBufferPointer { q in
                outputs.withUnsafeMutableBufferPointer { o in
                    let rows = (0..<rowCount).map {
                        AttentionTileRow(query: q.baseAddress! + $0 * d, output: o.baseAddress! + $0 * d, length: lengths[$0],
                                         first: firsts[$0])
                    }
                    cache.keys.withUnsafeBytes { k in
                        cache.values.withUnsafeBytes { v in
                            rows.withUnsafeBufferPointer { r in
                                context.attendTile(r, element: .f16, keys: k.baseAddress!, values: v.baseAddress!,
                                                   rowBytes: cache.rowBytes, headDimension: d, scale: scale)
                            }
                        }
                    }
                }
            }
            for r in 0..<rowCount {
                let expected = cache.reference(query: queries[r * d..<(r + 1) * d], head: 0, length: lengths[r], first: firsts[r],
                                               scale: Double(scale))
                #expect(Self.close(outputs[r * d..<(r + 1) * d], expected, tolerance: 1e-4),
                        "\(variant) row \(r) keys \(firsts[r])..<\(lengths[r])")
            }
            results.append(outputs)
        }
        #expect(results.allSatisfy { $0.map(\.bitPattern) == results[0].map(\.bitPattern) })
    }

    @Test func swiGLUAgreesAcrossVariantsAndWithTheReference() throws {
        var generator = SplitMix64(seed: 5)
        let rows = 3, width = 16 * 5 + 7
        let gate = generator.normals(rows * width, scale: 4), up = generator.normals(rows * width)
        var results: [[Float]] = []
        for variant in MatmulTests.variants {
            let context = try ComputeContext(threadCount: 2, variant: variant)
            var out = gate
            out.withUnsafeMutableBufferPointer { context.swiGLU(gate: $0.baseAddress!, up: up, rows: rows, width: width) }
            for i in out.indices {
                let g = Double(gate[i]), expected = g / (1 + Foundation.exp(-g)) * Double(up[i])
                #expect(abs(Double(out[i]) - expected) <= 1e-5 * max(1, abs(expected)), "\(variant) element \(i)")
            }
            results.append(out)
        }
        #expect(results.allSatisfy { $0.map(\.bitPattern) == results[0].map(\.bitPattern) })
    }
}
