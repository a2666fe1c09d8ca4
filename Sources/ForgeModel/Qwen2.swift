/// Qwen2 and Qwen2.5.
///
/// The Llama layout with two differences: Q, K and V projections carry biases, and RoPE rotates
/// pairs offset by half the rotary dimension (i, i + d/2), llama.cpp's NEOX style. The output head
/// is separate in the larger models and tied to the token embedding in some small ones.
enum Qwen2 {
    static let architecture = Architecture(name: "qwen2") { loader, index, c in
        try Llama.Layer(loader, index, c, ropeStyle: .neox, requiresBiases: true)
    }
}
