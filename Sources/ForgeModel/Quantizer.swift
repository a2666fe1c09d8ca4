import ForgeGGUF
import ForgeKernels

/// Converts a model file to another weight type, as llama.cpp's quantize tool does: every
/// matrix (two or more dimensions) becomes `type`; vectors (norms, biases) keep their type;
/// metadata is carried over with `general.file_type` set. The output is written atomically.
public enum Quantizer {
    /// Target types and their `general.file_type` (llama_ftype) values.
    public static let fileTypes: [GGMLType: UInt32] = [.f32: 0, .f16: 1, .q8_0: 7, .bf16: 32]

    public static func quantize(input: String, output: String, to type: GGMLType) throws {
        guard let fileType = fileTypes[type] else {
            let known = fileTypes.keys.map(\.name).sorted().joined(separator: ", ")
            throw ModelError("cannot quantize to \(type.name) (supported: \(known))")
        }
        let source = try GGUFFile(path: input)
        var writer = GGUFWriter(alignment: source.alignment)
        for key in source.keys where key != "general.alignment" {
            if let value = source.metadata[key] { writer.set(key, value) }
        }
        writer.set("general.file_type", .uint32(fileType))
        for tensor in source.tensors {
            let bytes = source.data(for: tensor)
            let converted: [UInt8]
            let targetType = tensor.shape.count >= 2 ? type : tensor.type
            if targetType == tensor.type {
                converted = Array(bytes)
            } else {
                converted = try convert(tensor, bytes: bytes, to: targetType)
            }
            do {
                try writer.addTensor(name: tensor.name, type: targetType, shape: tensor.shape, data: converted)
            } catch {
                throw ModelError("tensor \(tensor.name): \(error)")
            }
        }
        try writer.write(to: output)
    }

    /// Dequantizes one row at a time to f32 and encodes it in `type`.
    private static func convert(_ tensor: GGUFTensor, bytes: UnsafeRawBufferPointer, to type: GGMLType) throws -> [UInt8] {
        guard tensor.rowLength % type.blockSize == 0, let rowBytes = type.byteCount(elements: tensor.rowLength) else {
            throw ModelError("tensor \(tensor.name): rows of \(tensor.rowLength) do not fit \(type.name) blocks of \(type.blockSize)")
        }
        var out = [UInt8](repeating: 0, count: rowBytes * tensor.rowCount)
        var row = [Float](repeating: 0, count: tensor.rowLength)
        guard let base = bytes.baseAddress else { return out }
        try out.withUnsafeMutableBytes { destination in
            try row.withUnsafeMutableBufferPointer { values in
                for r in 0..<tensor.rowCount {
                    try Quantization.dequantize(tensor.type, from: base + r * tensor.bytesPerRow, to: values.baseAddress!, count: tensor.rowLength)
                    try Quantization.quantize(type, from: values.baseAddress!, to: destination.baseAddress! + r * rowBytes, count: tensor.rowLength)
                }
            }
        }
        return out
    }
}
