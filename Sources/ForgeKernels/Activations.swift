#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CForgeKernels

extension ComputeContext {
    /// gate ← silu(gate) ⊙ up for `rows` rows of `width` values, rounded as llama.cpp's AVX-512
    /// build rounds its fused SwiGLU (its vectorized exponential), rows split across the pool.
    public func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, rows: Int, width: Int) {
        parallelFor(rows) { range in
            forge_swiglu(variant.isa, gate + range.lowerBound * width, up + range.lowerBound * width, Int64(range.count), Int64(width))
        }
    }
}

extension ComputeContext {
    /// gate ← gelu(gate) ⊙ up with GELU's tanh form, as llama.cpp's CPU backend computes its GeGLU:
    /// GELU looked up for the f16-rounded gate in a table of f16 results, 0 below −10, the identity
    /// above 10; rows split across the pool.
    public func geGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, rows: Int, width: Int) {
        let table = geluTable
        parallelFor(rows) { range in
            table.withUnsafeBufferPointer { gelu in
                for i in range.lowerBound * width..<range.upperBound * width {
                    let x = gate[i]
                    gate[i] = x <= -10 ? 0 : x >= 10 ? x * up[i] : Float(gelu[Int(Float16(x).bitPattern)]) * up[i]
                }
            }
        }
    }
}

/// GELU (tanh form) of every f16 value, rounded to f16, computed as ggml fills its table (its
/// compiler fuses 1 + a·x·x into one multiply-add).
private let geluTable: [Float16] = (0..<65536).map { bits in
    let x = Float(Float16(bitPattern: UInt16(bits)))
    let inner = Float(1).addingProduct(0.044715 * x, x)
    return Float16(0.5 * x * (1 + tanhf(0.79788456080286535587989211986876 * x * inner)))
}
