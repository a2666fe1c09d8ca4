#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Attention of one query head over one KV head's f32 cached rows, for a sequence's run of rows
/// that attention takes one at a time (see `Evaluator.planAttention`; f16 caches and tiled runs
/// go through the kernels of ComputeContext, in llama.cpp's order): online softmax, one pass
/// over the keys and values, everything in f32.
enum Attention {
    static func singlePrecision(
        query: UnsafePointer<Float>, keys: UnsafeRawPointer, values: UnsafeRawPointer, rowBytes: Int,
        length: Int, headDim: Int, scale: Float, output: UnsafeMutablePointer<Float>
    ) {
        for d in 0..<headDim { output[d] = 0 }
        var maximum = -Float.infinity, sum: Float = 0
        for j in 0..<length {
            let key = (keys + j * rowBytes).assumingMemoryBound(to: Float.self)
            let value = (values + j * rowBytes).assumingMemoryBound(to: Float.self)
            var score: Float = 0
            for d in 0..<headDim { score += query[d] * key[d] }
            score *= scale
            var rescale: Float = 1, weight: Float = 1
            if score > maximum {
                rescale = expf(maximum - score)
                maximum = score
                for d in 0..<headDim { output[d] *= rescale }
            } else {
                weight = expf(score - maximum)
            }
            for d in 0..<headDim { output[d] += value[d] * weight }
            sum = sum * rescale + weight
        }
        let inverse = sum == 0 ? 0 : 1 / sum
        for d in 0..<headDim { output[d] *= inverse }
    }
}
