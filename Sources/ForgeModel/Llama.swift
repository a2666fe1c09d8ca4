/// Llama 2, 3, 3.1, 3.2 and the models that share its GGUF layout (Mistral, SmolLM, TinyLlama).
///
/// Per layer: RMSNorm → Q, K, V projections (no biases as published, accepted when present) → RoPE on
/// adjacent pairs (2i, 2i+1), with Llama 3's per-frequency factors from `rope_freqs.weight` when the
/// file has them → grouped-query attention → output projection → residual → RMSNorm → SwiGLU → residual.
/// The output head is `output.weight`, or the token embedding when the model ties them (SmolLM2).
enum Llama {
    static let architecture = Architecture(name: "llama", ropeStyle: .normal, requiresQKVBias: false)
}
