import ForgeKernels
import Foundation
import Testing
@testable import ForgeGGUF

/// Builds GGUF bytes field by field, so a test can break exactly one field and know its offset.
struct GGUFBytes {
    private(set) var bytes: [UInt8] = []
    var count: Int { bytes.count }

    /// Magic, version and the two counts.
    static func header(version: UInt32 = 3, tensors: UInt64, keyValues: UInt64) -> GGUFBytes {
        var b = GGUFBytes()
        b.raw(Array("GGUF".utf8))
        b.u32(version)
        b.u64(tensors)
        b.u64(keyValues)
        return b
    }

    mutating func raw(_ data: [UInt8]) { bytes += data }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func string(_ s: String) {
        u64(UInt64(s.utf8.count))
        bytes += Array(s.utf8)
    }

    /// A key with a uint32 value.
    mutating func keyUInt32(_ key: String, _ value: UInt32) {
        string(key)
        u32(GGUFValueType.uint32.rawValue)
        u32(value)
    }

    /// A tensor info; returns the offset of its data offset field.
    @discardableResult
    mutating func tensorInfo(_ name: String, shape: [UInt64], type: UInt32, offset: UInt64) -> Int {
        string(name)
        u32(UInt32(shape.count))
        for dimension in shape { u64(dimension) }
        u32(type)
        let field = count
        u64(offset)
        return field
    }

    /// Zero bytes up to the next multiple of `alignment`.
    mutating func pad(to alignment: Int = 32) {
        bytes += [UInt8](repeating: 0, count: (alignment - count % alignment) % alignment)
    }

    mutating func zeros(_ n: Int) { bytes += [UInt8](repeating: 0, count: n) }
}

/// Expects `bytes` to be rejected with a `GGUFError` whose field contains `field`, at `offset`.
func expectRejection(
    _ bytes: [UInt8], field: String, offset: Int?, reason: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        _ = try GGUFFile(bytes: bytes)
        Issue.record("the file was accepted; expected an error naming \(field)", sourceLocation: sourceLocation)
    } catch let error as GGUFError {
        #expect(error.field.contains(field), "field: \(error)", sourceLocation: sourceLocation)
        #expect(error.offset == offset, "offset: \(error)", sourceLocation: sourceLocation)
        if let reason {
            #expect(error.reason.contains(reason), "reason: \(error)", sourceLocation: sourceLocation)
        }
        #expect(error.description.contains(field), sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected error type: \(error)", sourceLocation: sourceLocation)
    }
}

/// A small file that uses every metadata value type, nested arrays and several tensor types.
func syntheticWriter(alignment: Int = GGUFFile.defaultAlignment) throws -> GGUFWriter {
    var writer = GGUFWriter(alignment: alignment)
    writer.set("general.architecture", .string("llama"))
    writer.set("general.name", .string("tiny \"test\" model ✓"))
    writer.set("llama.block_count", .uint32(2))
    writer.set("llama.context_length", .uint64(128))
    writer.set("llama.rope.freq_base", .float32(10_000))
    writer.set("llama.attention.layer_norm_rms_epsilon", .float64(1e-5))
    writer.set("test.uint8", .uint8(200))
    writer.set("test.int8", .int8(-100))
    writer.set("test.uint16", .uint16(60_000))
    writer.set("test.int16", .int16(-30_000))
    writer.set("test.int32", .int32(-2_000_000_000))
    writer.set("test.int64", .int64(-9_000_000_000))
    writer.set("test.bool", .bool(true))
    writer.set("tokenizer.ggml.model", .string("gpt2"))
    writer.set("tokenizer.ggml.tokens", .array(.string((0..<40).map { "tok\($0)" })))
    writer.set("tokenizer.ggml.scores", .array(.float32((0..<40).map { Float($0) / 4 })))
    writer.set("tokenizer.ggml.token_type", .array(.int32([Int32](repeating: 1, count: 40))))
    writer.set("tokenizer.ggml.merges", .array(.string(["t o", "to k"])))
    writer.set("tokenizer.ggml.bos_token_id", .uint32(1))
    writer.set("tokenizer.ggml.eos_token_id", .uint32(2))
    writer.set("tokenizer.chat_template", .string("{% for m in messages %}{{ m.content }}{% endfor %}"))
    writer.set("test.flags", .array(.bool([true, false, true])))
    writer.set("test.nested", .array(.array([.uint16([1, 2]), .string(["a", "b", "c"]), .array([.int8([-1])])])))
    var random = SplitMix64(seed: 7)
    try writer.addTensor(name: "token_embd.weight", shape: [8, 40], floats: (0..<320).map { _ in Float.random(in: -1...1, using: &random) })
    try writer.addTensor(name: "blk.0.attn_q.weight", type: .q8_0, shape: [64, 3], data: (0..<(2 * 3 * 34)).map { _ in UInt8.random(in: 0...255, using: &random) })
    try writer.addTensor(name: "blk.0.ffn_down.weight", type: .q4_K, shape: [256, 2], data: (0..<(2 * 144)).map { _ in UInt8.random(in: 0...255, using: &random) })
    try writer.addTensor(name: "output_norm.weight", type: .f16, shape: [8], data: (0..<16).map { _ in UInt8.random(in: 0...255, using: &random) })
    return writer
}

/// A fresh empty directory under the system's temporary directory.
func makeTemporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("forge-gguf-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
