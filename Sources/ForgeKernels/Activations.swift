import CForgeKernels

/// Elementwise activations in llama.cpp's CPU floats: a last-bit difference here would flip the
/// rounding of 8-bit activations in the next quantized matrix product and grow from layer to layer.
public enum Activations {
    /// gate ← silu(gate) ⊙ up over `rows` rows of `width` values, as llama.cpp's CPU SwiGLU computes
    /// them (its own exp approximation on groups of 16 values, libm's expf on the rest of a row).
    public static func swiGLU(gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, rows: Int, width: Int,
                              variant: KernelVariant = .best) {
        forge_swiglu(variant.isa, Int64(rows), Int64(width), gate, up)
    }
}
