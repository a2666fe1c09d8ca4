import CForgeKernels
import ForgeGGUF

/// Conversions between f32 values and the encoded blocks of the ggml tensor types.
public enum Quantization {
    /// Decodes `count` values (a multiple of the type's block size) from encoded blocks to f32.
    /// Supported: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K–Q6_K, Q8_K, IQ4_NL.
    public static func dequantize(_ type: GGMLType, from: UnsafeRawPointer, to: UnsafeMutablePointer<Float>, count: Int) throws {
        try validate(type, count: count)
        guard forge_dequantize(type.rawValue, from, to, Int64(count)) == 0 else {
            throw KernelError.unsupportedType(type, operation: "dequantization")
        }
    }

    /// Encodes `count` f32 values as `type`, byte for byte as ggml's reference quantizers
    /// (quantize_row_*_ref, ggml_fp32_to_fp16, ggml_fp32_to_bf16). Supported: F32, F16, BF16,
    /// Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q8_K.
    public static func quantize(_ type: GGMLType, from: UnsafePointer<Float>, to: UnsafeMutableRawPointer, count: Int) throws {
        try validate(type, count: count)
        guard forge_quantize_reference(type.rawValue, from, to, Int64(count)) == 0 else {
            throw KernelError.unsupportedType(type, operation: "quantization")
        }
    }

    private static func validate(_ type: GGMLType, count: Int) throws {
        guard count >= 0, count % type.blockSize == 0 else { throw KernelError.partialBlock(type, count: count) }
    }
}
