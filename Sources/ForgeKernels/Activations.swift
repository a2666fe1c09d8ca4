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
