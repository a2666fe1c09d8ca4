#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Attention of one query head over one KV head's cached rows, as llama.cpp's CPU flash
/// attention computes it (online softmax, one pass over the keys and values).
enum Attention {
    /// Decode and short prompts: Q rounded to f16, scores in f32, the V accumulator in f16.
    /// The arithmetic follows ggml's AVX-512 build operation for operation (fused multiply-adds,
    /// the reduction tree of its f16 dot product), so the result is the same to the bit: these
    /// models amplify a last-bit difference into a flipped activation rounding a few layers on.
    static func halfPrecision(
        query: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, rowBytes: Int,
        length: Int, headDim: Int, scale: Float, output: UnsafeMutablePointer<Float>
    ) {
        withUnsafeTemporaryAllocation(of: Float16.self, capacity: 2 * headDim) { scratch in
            let q16 = scratch.baseAddress!, accumulator = q16 + headDim
            for d in 0..<headDim {
                q16[d] = Float16(query[d])
                accumulator[d] = 0
            }
            var maximum = -Float.infinity, sum: Float = 0
            for j in 0..<length {
                let key = (keys + j * rowBytes).assumingMemoryBound(to: Float16.self)
                let value = (values + j * rowBytes).assumingMemoryBound(to: Float16.self)
                let score = dotHalf(q16, key, headDim) * scale
                var rescale: Float = 1, weight: Float = 1
                if score > maximum {
                    rescale = expf(maximum - score)
                    maximum = score
                    for d in 0..<headDim { accumulator[d] = Float16(Float(accumulator[d]) * rescale) }
                } else {
                    weight = expf(score - maximum)
                }
                for d in 0..<headDim {
                    accumulator[d] = Float16(Float(accumulator[d]).addingProduct(Float(value[d]), weight))
                }
                sum = weight.addingProduct(sum, rescale)
            }
            let inverse = sum == 0 ? 0 : 1 / sum
            for d in 0..<headDim { output[d] = Float(accumulator[d]) * inverse }
        }
    }

    /// Long prompts, and f32 caches: everything in f32.
    static func singlePrecision(
        query: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, type: KVCacheType, rowBytes: Int,
        length: Int, headDim: Int, scale: Float, output: UnsafeMutablePointer<Float>
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: headDim) { scratch in
            let row = scratch.baseAddress!
            func load(_ base: UnsafeRawPointer, _ j: Int) {
                let p = base + j * rowBytes
                switch type {
                case .f16:
                    let h = p.assumingMemoryBound(to: Float16.self)
                    for d in 0..<headDim { row[d] = Float(h[d]) }
                case .f32:
                    row.update(from: p.assumingMemoryBound(to: Float.self), count: headDim)
                }
            }
            for d in 0..<headDim { output[d] = 0 }
            var maximum = -Float.infinity, sum: Float = 0
            for j in 0..<length {
                load(keys, j)
                var score: Float = 0
                for d in 0..<headDim { score += query[d] * row[d] }
                score *= scale
                var rescale: Float = 1, weight: Float = 1
                if score > maximum {
                    rescale = expf(maximum - score)
                    maximum = score
                    for d in 0..<headDim { output[d] *= rescale }
                } else {
                    weight = expf(score - maximum)
                }
                load(values, j)
                for d in 0..<headDim { output[d] += row[d] * weight }
                sum = sum * rescale + weight
            }
            let inverse = sum == 0 ? 0 : 1 / sum
            for d in 0..<headDim { output[d] *= inverse }
        }
    }

    /// ggml_vec_dot_f16 as its AVX-512 build computes it: four 16-lane accumulators over steps
    /// of 64 elements, folded 0+2, 1+3, 0+1, then halved 16 → 8 → 4 → 2 → 1; a tail in double.
    @inline(__always)
    private static func dotHalf(_ a: UnsafePointer<Float16>, _ b: UnsafePointer<Float16>, _ count: Int) -> Float {
        let whole = count / 64 * 64
        var lanes = (SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>(), SIMD16<Float>())
        var i = 0
        while i < whole {
            for l in 0..<16 {
                lanes.0[l] = lanes.0[l].addingProduct(Float(a[i + l]), Float(b[i + l]))
                lanes.1[l] = lanes.1[l].addingProduct(Float(a[i + 16 + l]), Float(b[i + 16 + l]))
                lanes.2[l] = lanes.2[l].addingProduct(Float(a[i + 32 + l]), Float(b[i + 32 + l]))
                lanes.3[l] = lanes.3[l].addingProduct(Float(a[i + 48 + l]), Float(b[i + 48 + l]))
            }
            i += 64
        }
        let folded = (lanes.0 + lanes.2) + (lanes.1 + lanes.3)
        let eight = folded.highHalf + folded.lowHalf
        let four = eight.highHalf + eight.lowHalf
        var total = Double((four[0] + four[2]) + (four[1] + four[3]))
        while i < count {
            total += Double(Float(a[i]) * Float(b[i]))
            i += 1
        }
        return Float(total)
    }
}
