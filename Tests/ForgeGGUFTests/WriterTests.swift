import Foundation
import Testing
@testable import ForgeGGUF

@Suite struct WriterTests {
    @Test func roundTripsEveryValueTypeNestedArraysAndTensors() throws {
        let writer = try syntheticWriter()
        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file.version == 3)
        #expect(file.keys.first == "general.architecture")
        #expect(file.keys.count == 23)
        #expect(file.metadata["test.uint8"] == .uint8(200))
        #expect(file.metadata["test.int8"] == .int8(-100))
        #expect(file.metadata["test.uint16"] == .uint16(60_000))
        #expect(file.metadata["test.int16"] == .int16(-30_000))
        #expect(file.metadata["llama.block_count"] == .uint32(2))
        #expect(file.metadata["test.int32"] == .int32(-2_000_000_000))
        #expect(file.metadata["llama.context_length"] == .uint64(128))
        #expect(file.metadata["test.int64"] == .int64(-9_000_000_000))
        #expect(file.metadata["llama.rope.freq_base"] == .float32(10_000))
        #expect(file.metadata["llama.attention.layer_norm_rms_epsilon"] == .float64(1e-5))
        #expect(file.metadata["test.bool"] == .bool(true))
        #expect(try file.string("general.name") == "tiny \"test\" model ✓")
        #expect(try file.stringArray("tokenizer.ggml.tokens") == (0..<40).map { "tok\($0)" })
        #expect(try file.floatArray("tokenizer.ggml.scores") == (0..<40).map { Float($0) / 4 })
        #expect(try file.integerArray("tokenizer.ggml.token_type") == [Int](repeating: 1, count: 40))
        #expect(file.metadata["test.flags"] == .array(.bool([true, false, true])))
        #expect(file.metadata["test.nested"] == .array(.array([.uint16([1, 2]), .string(["a", "b", "c"]), .array([.int8([-1])])])))

        #expect(file.tensors.map(\.name) == ["token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight", "output_norm.weight"])
        #expect(file.tensors.map(\.type) == [.f32, .q8_0, .q4_K, .f16])
        #expect(file.tensors.map(\.shape) == [[8, 40], [64, 3], [256, 2], [8]])
        #expect(file.tensors.map(\.byteCount) == [1280, 204, 288, 16])
        #expect(file.dataOffset % file.alignment == 0)
        for tensor in file.tensors {
            #expect(tensor.offset % file.alignment == 0)
        }
        let q8 = try #require(file.tensor(named: "blk.0.attn_q.weight"))
        #expect(q8.rowCount == 3)
        #expect(q8.bytesPerRow == 68)
    }

    @Test func tensorBytesRoundTrip() throws {
        var writer = GGUFWriter()
        let floats: [Float] = (0..<24).map { Float($0) * 0.5 - 3 }
        let q4: [UInt8] = (0..<(4 * 20)).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        try writer.addTensor(name: "a", shape: [6, 4], floats: floats)
        try writer.addTensor(name: "b", type: .q4_1, shape: [32, 4], data: q4)
        let file = try GGUFFile(bytes: writer.serialized())
        let a = try #require(file.tensor(named: "a"))
        let b = try #require(file.tensor(named: "b"))
        #expect(Array(file.data(for: a).bindMemory(to: Float.self)) == floats)
        #expect(Array(file.data(for: b)) == q4)
    }

    @Test(arguments: [1, 8, 32, 64, 4096])
    func alignmentIsHonoured(alignment: Int) throws {
        var writer = GGUFWriter(alignment: alignment)
        try writer.addTensor(name: "odd", type: .i8, shape: [3], data: [1, 2, 3])
        try writer.addTensor(name: "next", type: .i8, shape: [5], data: [4, 5, 6, 7, 8])
        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file.alignment == alignment)
        #expect(file.dataOffset % alignment == 0)
        #expect(file.tensors.allSatisfy { $0.offset % alignment == 0 })
        #expect(file.tensors[1].offset == max(alignment, 3))
        #expect(Array(file.data(for: file.tensors[1])) == [4, 5, 6, 7, 8])
        if alignment == GGUFFile.defaultAlignment {
            #expect(file.metadata["general.alignment"] == nil)
        } else {
            #expect(try file.integer("general.alignment") == alignment)
        }
    }

    @Test func settingAValidAlignmentKeyChangesTheAlignment() throws {
        var writer = GGUFWriter()
        writer.set("general.alignment", .uint32(128))
        #expect(writer.alignment == 128)
        try writer.addTensor(name: "t", type: .i8, shape: [3], data: [1, 2, 3])
        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file.dataOffset % 128 == 0)
    }

    @Test func settingAKeyAgainReplacesItInPlace() throws {
        var writer = GGUFWriter()
        writer.set("a", .uint8(1))
        writer.set("b", .uint8(2))
        writer.set("a", .string("again"))
        let file = try GGUFFile(bytes: writer.serialized())
        #expect(file.keys == ["a", "b"])
        #expect(try file.string("a") == "again")
    }

    @Test func writtenFileEqualsSerializedBytes() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let writer = try syntheticWriter(alignment: 64)
        let path = directory + "/tiny.gguf"
        try writer.write(to: path)
        let written = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(Array(written) == writer.serialized())
        let file = try GGUFFile(path: path)
        #expect(file.path == path)
        #expect(file.fileSize == written.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["tiny.gguf"])
    }

    @Test func addTensorRejectsWhatTheReaderWouldReject() throws {
        var writer = GGUFWriter()
        try writer.addTensor(name: "t", shape: [2], floats: [1, 2])
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "t", shape: [1], floats: [1]) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "", shape: [1], floats: [1]) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: String(repeating: "x", count: 64), shape: [1], floats: [1]) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "u", shape: [], floats: []) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "u", shape: [1, 1, 1, 1, 1], floats: [1]) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "u", shape: [0], floats: []) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "u", shape: [2], floats: [1]) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "u", type: .q8_0, shape: [16], data: [UInt8](repeating: 0, count: 17)) }
        #expect(throws: GGUFWriter.WriteError.self) { try writer.addTensor(name: "u", type: .f32, shape: [1 << 32, 1 << 32], data: []) }
    }

    @Test func writeRejectsMetadataTheReaderWouldReject() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/bad.gguf"
        let cases: [(String, GGUFValue)] = [
            ("", .uint8(1)),
            (String(repeating: "k", count: GGUFFile.Limits.maxKeyLength + 1), .uint8(1)),
            ("general.alignment", .uint32(48)),
            ("general.alignment", .uint64(64)),
            ("deep", .array(.array([.array([.array([.uint8([1])])])]))),
        ]
        for (key, value) in cases {
            var writer = GGUFWriter()
            writer.set(key, value)
            #expect(throws: GGUFWriter.WriteError.self) { try writer.write(to: path) }
            #expect(throws: GGUFError.self) { try GGUFFile(bytes: writer.serialized()) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func anErrorMidWriteLeavesNoFileAndNoTemporaryFile() throws {
        struct Interrupted: Error {}
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.gguf"
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: path) { sink in
                try sink.write([UInt8](repeating: 7, count: 100_000))
                throw Interrupted()
            }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func anErrorMidWriteKeepsThePreviousFile() throws {
        struct Interrupted: Error {}
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.gguf"
        try syntheticWriter().write(to: path)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: path) { sink in
                try sink.write([1, 2, 3])
                throw Interrupted()
            }
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.gguf"])
    }

    @Test func writingIntoAMissingDirectoryFailsCleanly() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(throws: GGUFWriter.WriteError.self) {
            try syntheticWriter().write(to: directory + "/missing/model.gguf")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    @Test func aFailedRenameRemovesTheTemporaryFile() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A non-empty directory in the way makes rename(2) fail after the data is written.
        let path = directory + "/occupied"
        try FileManager.default.createDirectory(atPath: path + "/inside", withIntermediateDirectories: true)
        #expect(throws: GGUFWriter.WriteError.self) { try syntheticWriter().write(to: path) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["occupied"])
    }
}
