import Foundation
import Testing
@testable import ForgeGGUF

/// One hand-made file per way a GGUF file can be wrong. Each expects the error to name the
/// field and the byte offset where it starts. Offsets: the header is 24 bytes (magic, version,
/// tensor count, key-value count); a key string is 8 bytes of length plus its bytes.
@Suite struct RejectionTests {
    /// A file with one key and one F32 tensor of `elements` values, tensor data included.
    private func validFile(keyValue: (String, UInt32) = ("general.block_count", 1), elements: UInt64 = 8) -> [UInt8] {
        var b = GGUFBytes.header(tensors: 1, keyValues: 1)
        b.keyUInt32(keyValue.0, keyValue.1)
        b.tensorInfo("t", shape: [elements], type: GGMLType.f32.rawValue, offset: 0)
        b.pad()
        b.zeros(Int(elements) * 4)
        return b.bytes
    }

    @Test func theBaselineFileLoads() throws {
        let file = try GGUFFile(bytes: validFile())
        #expect(file.tensors.map(\.name) == ["t"])
        #expect(try file.integer("general.block_count") == 1)
        #expect(file.data(for: file.tensors[0]).count == 32)
    }

    @Test func badMagic() {
        var bytes = validFile()
        bytes[3] = UInt8(ascii: "L")
        expectRejection(bytes, field: "magic", offset: 0, reason: "not a GGUF file")
        expectRejection(Array("GG".utf8), field: "magic", offset: 0, reason: "needs 4 bytes")
        expectRejection([], field: "magic", offset: 0)
    }

    @Test func unsupportedVersion() {
        for version: UInt32 in [0, 1, 4, 1000] {
            var b = GGUFBytes.header(version: version, tensors: 0, keyValues: 0)
            b.zeros(16)
            expectRejection(b.bytes, field: "version", offset: 4, reason: "version")
        }
    }

    @Test func version2ReadsLikeVersion3() throws {
        var bytes = try syntheticWriter().serialized()
        let version3 = try GGUFFile(bytes: bytes)
        bytes[4] = 2
        let version2 = try GGUFFile(bytes: bytes)
        #expect(version2.version == 2)
        #expect(version2.keys == version3.keys)
        #expect(version2.metadata == version3.metadata)
        #expect(version2.tensors == version3.tensors)
    }

    @Test func filesThatCannotBeRead() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let empty = directory + "/empty.gguf"
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(throws: GGUFError(field: "magic", offset: 0, reason: "\(empty) is empty")) { try GGUFFile(path: empty) }
        #expect(throws: GGUFError(field: "file", offset: nil, reason: "\(directory) is not a regular file")) { try GGUFFile(path: directory) }
        let missing = directory + "/missing.gguf"
        let error = #expect(throws: GGUFError.self) { try GGUFFile(path: missing) }
        #expect(error?.description == "cannot read GGUF file: \(missing): No such file or directory")
    }

    @Test func byteSwappedVersion() {
        var b = GGUFBytes.header(version: UInt32(3).byteSwapped, tensors: 0, keyValues: 0)
        b.zeros(16)
        expectRejection(b.bytes, field: "version", offset: 4, reason: "byte-swapped")
    }

    @Test func truncatedHeader() {
        let header = GGUFBytes.header(tensors: 0, keyValues: 0).bytes
        expectRejection(Array(header[..<12]), field: "tensor_count", offset: 8, reason: "needs 8 bytes")
        expectRejection(Array(header[..<20]), field: "metadata_kv_count", offset: 16, reason: "needs 8 bytes")
    }

    @Test func tensorCountThatCannotFit() {
        for count: UInt64 in [3, 1 << 19] {
            var b = GGUFBytes.header(tensors: count, keyValues: 0)
            b.zeros(70)
            expectRejection(b.bytes, field: "tensor_count", offset: 8, reason: "cannot fit")
        }
    }

    @Test func countsOverTheCap() {
        var tensors = GGUFBytes.header(tensors: UInt64(GGUFFile.Limits.maxTensorCount) + 1, keyValues: 0)
        tensors.zeros(70)
        expectRejection(tensors.bytes, field: "tensor_count", offset: 8, reason: "exceeds the limit")
        var keyValues = GGUFBytes.header(tensors: 0, keyValues: UInt64(GGUFFile.Limits.maxKeyValueCount) + 1)
        keyValues.zeros(70)
        expectRejection(keyValues.bytes, field: "metadata_kv_count", offset: 16, reason: "exceeds the limit")
    }

    @Test func keyValueCountThatCannotFit() {
        for count: UInt64 in [8, 1 << 19] {
            var b = GGUFBytes.header(tensors: 0, keyValues: count)
            b.keyUInt32("general.block_count", 1)
            b.zeros(70)
            expectRejection(b.bytes, field: "metadata_kv_count", offset: 16, reason: "cannot fit")
        }
    }

    @Test func stringLengthPastTheEnd() {
        var key = GGUFBytes.header(tensors: 0, keyValues: 1)
        key.u64(50)
        key.raw(Array("abcdefghij".utf8))
        expectRejection(key.bytes, field: "metadata key #0", offset: 24, reason: "runs past the end")

        var value = GGUFBytes.header(tensors: 0, keyValues: 1)
        value.string("k")
        value.u32(GGUFValueType.string.rawValue)
        value.u64(1000)
        value.raw(Array("0123456789".utf8))
        expectRejection(value.bytes, field: "k", offset: 37, reason: "runs past the end")
    }

    @Test func stringLengthOverTheCap() {
        var key = GGUFBytes.header(tensors: 0, keyValues: 1)
        key.u64(UInt64(GGUFFile.Limits.maxKeyLength + 1))
        key.zeros(GGUFFile.Limits.maxKeyLength + 16)
        expectRejection(key.bytes, field: "metadata key #0", offset: 24, reason: "exceeds the limit")

        var value = GGUFBytes.header(tensors: 0, keyValues: 1)
        value.string("k")
        value.u32(GGUFValueType.string.rawValue)
        value.u64(1 << 40)
        value.zeros(16)
        expectRejection(value.bytes, field: "k", offset: 37, reason: "exceeds the limit")
    }

    @Test func invalidUTF8() throws {
        func keyed(_ key: [UInt8]) -> [UInt8] {
            var b = GGUFBytes.header(tensors: 0, keyValues: 1)
            b.u64(UInt64(key.count))
            b.raw(key)
            b.u32(GGUFValueType.uint8.rawValue)
            b.u8(0)
            return b.bytes
        }
        // Stray bytes, a cut-off sequence, an overlong encoding, a surrogate, a cut-off U+FFFD.
        for bad: [UInt8] in [[0xFF, 0xFE], [0x61, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xEF, 0xBF]] {
            expectRejection(keyed(bad), field: "metadata key #0", offset: 32, reason: "not valid UTF-8")
        }
        // A real replacement character and other multi-byte text are valid.
        for good in ["\u{FFFD}", "é✓🦙", "Ġhello"] {
            #expect(try GGUFFile(bytes: keyed(Array(good.utf8))).keys == [good])
        }
    }

    @Test func arrayLengthPastTheEndOrOverTheCap() {
        func arrayFile(type: GGUFValueType, count: UInt64, payload: Int) -> [UInt8] {
            var b = GGUFBytes.header(tensors: 0, keyValues: 1)
            b.string("a")
            b.u32(GGUFValueType.array.rawValue)
            b.u32(type.rawValue)
            b.u64(count)
            b.zeros(payload)
            return b.bytes
        }
        expectRejection(arrayFile(type: .uint8, count: 100, payload: 10), field: "a length", offset: 41, reason: "runs past the end")
        expectRejection(arrayFile(type: .uint64, count: 2, payload: 10), field: "a length", offset: 41, reason: "runs past the end")
        expectRejection(arrayFile(type: .string, count: 1 << 20, payload: 64), field: "a length", offset: 41, reason: "runs past the end")
        expectRejection(arrayFile(type: .uint8, count: UInt64(GGUFFile.Limits.maxArrayLength) + 1, payload: 10), field: "a length", offset: 41, reason: "exceeds the limit")
        expectRejection(arrayFile(type: .uint8, count: .max, payload: 10), field: "a length", offset: 41, reason: "exceeds the limit")
    }

    @Test func stringElementPastTheEndNamesItsIndex() {
        var b = GGUFBytes.header(tensors: 0, keyValues: 1)
        b.string("tokens")
        b.u32(GGUFValueType.array.rawValue)
        b.u32(GGUFValueType.string.rawValue)
        b.u64(3)
        b.string("ab")
        b.string("cd")
        let third = b.count
        b.u64(40)
        b.raw(Array("short".utf8))
        expectRejection(b.bytes, field: "tokens[2]", offset: third, reason: "runs past the end")
    }

    @Test func unknownValueType() {
        var b = GGUFBytes.header(tensors: 0, keyValues: 1)
        b.string("k")
        b.u32(13)
        b.u32(0)
        expectRejection(b.bytes, field: "k", offset: 33, reason: "unknown value type 13")
    }

    @Test func unknownArrayElementType() {
        var b = GGUFBytes.header(tensors: 0, keyValues: 1)
        b.string("a")
        b.u32(GGUFValueType.array.rawValue)
        b.u32(99)
        b.u64(1)
        b.u32(0)
        expectRejection(b.bytes, field: "a", offset: 37, reason: "unknown array element type 99")
    }

    @Test func arraysNestedTooDeep() throws {
        /// `depth` array headers around one uint8 array element.
        func nested(depth: Int) -> [UInt8] {
            var b = GGUFBytes.header(tensors: 0, keyValues: 1)
            b.string("n")
            b.u32(GGUFValueType.array.rawValue)
            for _ in 1..<depth {
                b.u32(GGUFValueType.array.rawValue)
                b.u64(1)
            }
            b.u32(GGUFValueType.uint8.rawValue)
            b.u64(1)
            b.u8(42)
            return b.bytes
        }
        let allowed = try GGUFFile(bytes: nested(depth: GGUFFile.Limits.maxArrayDepth))
        #expect(allowed.metadata["n"] == .array(.array([.array([.uint8([42])])])))
        // Level 1 starts at 37; each level's element type and count take 12 bytes.
        expectRejection(nested(depth: GGUFFile.Limits.maxArrayDepth + 1), field: "n[0][0][0]", offset: 37 + 3 * 12, reason: "nested deeper")
    }

    @Test func boolOtherThanZeroOrOne() {
        var scalar = GGUFBytes.header(tensors: 0, keyValues: 1)
        scalar.string("b")
        scalar.u32(GGUFValueType.bool.rawValue)
        scalar.u8(2)
        scalar.zeros(4)
        expectRejection(scalar.bytes, field: "b", offset: 37, reason: "bool byte is 2")

        var array = GGUFBytes.header(tensors: 0, keyValues: 1)
        array.string("b")
        array.u32(GGUFValueType.array.rawValue)
        array.u32(GGUFValueType.bool.rawValue)
        array.u64(3)
        array.raw([1, 0, 7])
        expectRejection(array.bytes, field: "b[2]", offset: 51, reason: "bool byte is 7")
    }

    @Test func emptyKey() {
        var b = GGUFBytes.header(tensors: 0, keyValues: 1)
        b.keyUInt32("", 1)
        expectRejection(b.bytes, field: "metadata key #0", offset: 24, reason: "empty key")
    }

    @Test func duplicateKey() {
        var b = GGUFBytes.header(tensors: 0, keyValues: 2)
        b.keyUInt32("a", 1)
        b.keyUInt32("a", 2)
        expectRejection(b.bytes, field: "a", offset: 41, reason: "duplicate metadata key")
    }

    @Test func duplicateTensorName() {
        var b = GGUFBytes.header(tensors: 2, keyValues: 0)
        b.tensorInfo("t", shape: [8], type: GGMLType.f32.rawValue, offset: 0)
        b.tensorInfo("t", shape: [8], type: GGMLType.f32.rawValue, offset: 32)
        b.pad()
        b.zeros(64)
        expectRejection(b.bytes, field: "tensor #1 name", offset: 57, reason: "duplicate tensor name t")
    }

    @Test func emptyOrOverLongTensorName() throws {
        func named(_ name: String) -> [UInt8] {
            var b = GGUFBytes.header(tensors: 1, keyValues: 0)
            b.tensorInfo(name, shape: [8], type: GGMLType.f32.rawValue, offset: 0)
            b.pad()
            b.zeros(32)
            return b.bytes
        }
        let longest = String(repeating: "n", count: GGUFFile.Limits.maxTensorNameLength)
        #expect(try GGUFFile(bytes: named(longest)).tensors[0].name == longest)
        expectRejection(named(longest + "n"), field: "tensor #0 name", offset: 24, reason: "exceeds the limit of 63")
        expectRejection(named(""), field: "tensor #0 name", offset: 24, reason: "empty tensor name")
    }

    @Test func alignmentOfTheWrongTypeOrValue() throws {
        let key = "general.alignment"
        // The type code follows the key at 24 + 8 + 17; the value follows the type code.
        let typeOffset = 24 + 8 + key.utf8.count
        func withAlignment(_ write: (inout GGUFBytes) -> Void) -> [UInt8] {
            var b = GGUFBytes.header(tensors: 1, keyValues: 1)
            b.string(key)
            write(&b)
            b.tensorInfo("t", shape: [8], type: GGMLType.f32.rawValue, offset: 0)
            b.pad(to: 64)
            b.zeros(32)
            return b.bytes
        }
        let valid = try GGUFFile(bytes: withAlignment { $0.u32(GGUFValueType.uint32.rawValue); $0.u32(64) })
        #expect(valid.alignment == 64)
        #expect(valid.dataOffset % 64 == 0)

        expectRejection(withAlignment { $0.u32(GGUFValueType.uint64.rawValue); $0.u64(64) }, field: key, offset: typeOffset, reason: "must be uint32")
        expectRejection(withAlignment { $0.u32(GGUFValueType.string.rawValue); $0.string("64") }, field: key, offset: typeOffset, reason: "must be uint32")
        for bad: UInt32 in [0, 48, 1 << 30, .max] {
            expectRejection(withAlignment { $0.u32(GGUFValueType.uint32.rawValue); $0.u32(bad) }, field: key, offset: typeOffset + 4, reason: "not a power of two")
        }
    }

    @Test func wrongDimensionCount() {
        for dims in [[UInt64](), [2, 2, 2, 2, 2]] {
            var b = GGUFBytes.header(tensors: 1, keyValues: 0)
            b.tensorInfo("t", shape: dims, type: GGMLType.f32.rawValue, offset: 0)
            b.pad()
            b.zeros(128)
            expectRejection(b.bytes, field: "tensor t n_dims", offset: 33, reason: "dimensions")
        }
    }

    @Test func dimensionZeroNegativeOrOverflowing() {
        func shaped(_ shape: [UInt64]) -> [UInt8] {
            var b = GGUFBytes.header(tensors: 1, keyValues: 0)
            b.tensorInfo("t", shape: shape, type: GGMLType.f32.rawValue, offset: 0)
            b.pad()
            b.zeros(64)
            return b.bytes
        }
        // n_dims at 33, dimension d at 37 + 8d.
        expectRejection(shaped([4, 0]), field: "tensor t dimension 1", offset: 45, reason: "must be positive")
        expectRejection(shaped([UInt64(bitPattern: -5)]), field: "tensor t dimension 0", offset: 37, reason: "-5")
        expectRejection(shaped([1 << 32, 1 << 32]), field: "tensor t dimension 1", offset: 45, reason: "overflows")
    }

    @Test func unknownTensorType() {
        for type: UInt32 in [4, 5, 31, 36, 38, 43, .max] {
            var b = GGUFBytes.header(tensors: 1, keyValues: 0)
            b.tensorInfo("t", shape: [32], type: type, offset: 0)
            b.pad()
            b.zeros(128)
            expectRejection(b.bytes, field: "tensor t type", offset: 45, reason: "unknown tensor type \(type)")
        }
    }

    @Test func rowLengthNotAMultipleOfTheBlockSize() {
        for (type, rowLength): (GGMLType, UInt64) in [(.q8_0, 48), (.q4_K, 896), (.q1_0, 64)] {
            var b = GGUFBytes.header(tensors: 1, keyValues: 0)
            b.tensorInfo("t", shape: [rowLength, 2], type: type.rawValue, offset: 0)
            b.pad()
            b.zeros(4096)
            expectRejection(b.bytes, field: "tensor t dimension 0", offset: 37, reason: "not a multiple of \(type.name)'s block size")
        }
    }

    @Test func byteSizeOverflow() {
        var b = GGUFBytes.header(tensors: 1, keyValues: 0)
        b.tensorInfo("t", shape: [1 << 61], type: GGMLType.f32.rawValue, offset: 0)
        b.pad()
        expectRejection(b.bytes, field: "tensor t size", offset: 33, reason: "overflow")
    }

    @Test func unalignedTensorOffset() {
        var b = GGUFBytes.header(tensors: 1, keyValues: 0)
        let field = b.tensorInfo("t", shape: [8], type: GGMLType.f32.rawValue, offset: 16)
        b.pad()
        b.zeros(64)
        expectRejection(b.bytes, field: "tensor t offset", offset: field, reason: "not a multiple of the alignment 32")
    }

    @Test func overlappingTensors() {
        var b = GGUFBytes.header(tensors: 2, keyValues: 0)
        b.tensorInfo("first", shape: [16], type: GGMLType.f32.rawValue, offset: 0)
        let second = b.tensorInfo("second", shape: [16], type: GGMLType.f32.rawValue, offset: 32)
        b.pad()
        b.zeros(128)
        expectRejection(b.bytes, field: "tensor second offset", offset: second, reason: "overlaps tensor first")
    }

    @Test func tensorDataPastTheEndOfATruncatedFile() {
        var b = GGUFBytes.header(tensors: 1, keyValues: 0)
        let field = b.tensorInfo("t", shape: [64], type: GGMLType.f32.rawValue, offset: 0)
        b.pad()
        b.zeros(100)
        expectRejection(b.bytes, field: "tensor t offset", offset: field, reason: "truncated download")

        var far = GGUFBytes.header(tensors: 1, keyValues: 0)
        let farField = far.tensorInfo("t", shape: [8], type: GGMLType.f32.rawValue, offset: 1 << 40)
        far.pad()
        far.zeros(32)
        expectRejection(far.bytes, field: "tensor t offset", offset: farField, reason: "past the end")
    }

    @Test func dataSectionPastTheEnd() {
        var b = GGUFBytes.header(tensors: 1, keyValues: 0)
        b.tensorInfo("t", shape: [1], type: GGMLType.f32.rawValue, offset: 0)
        let infoEnd = b.count
        expectRejection(b.bytes, field: "tensor data", offset: infoEnd, reason: "past the end")
    }

    @Test func typedGettersNameTheKey() throws {
        let file = try GGUFFile(bytes: validFile())
        #expect(throws: GGUFError(field: "llama.block_count", offset: nil, reason: "missing metadata key")) {
            try file.integer("llama.block_count")
        }
        #expect(throws: GGUFError(field: "general.block_count", offset: nil, reason: "expected string, found uint32")) {
            try file.string("general.block_count")
        }
        #expect(try file.optionalString("general.name") == nil)
        let error = #expect(throws: GGUFError.self) { try file.stringArray("general.block_count") }
        #expect(error?.description == "GGUF metadata: general.block_count: expected array of string, found uint32")
    }
}
