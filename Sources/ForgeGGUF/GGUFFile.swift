#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One tensor of a GGUF file: its place in the data section and its geometry.
/// `shape[0]` is the row length (the contiguous dimension), as in ggml's `ne`.
public struct GGUFTensor: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    public let shape: [Int]
    /// Offset from the start of the data section.
    public let offset: Int
    public let byteCount: Int

    public var elementCount: Int { shape.reduce(1, *) }
    public var rowLength: Int { shape[0] }
    public var rowCount: Int { elementCount / shape[0] }
    public var bytesPerRow: Int { byteCount / rowCount }
}

/// A GGUF file, memory-mapped read-only and validated before anything uses it.
/// No tensor bytes are copied: `data(for:)` points into the mapping, which lives as
/// long as this object.
public final class GGUFFile: @unchecked Sendable {
    public static let defaultAlignment = 32
    /// Limits that keep a hostile file from making the reader allocate without bound.
    public enum Limits {
        public static let maxStringLength = 64 << 20
        public static let maxKeyLength = 4096
        public static let maxTensorNameLength = 63
        public static let maxArrayLength = 1 << 26
        public static let maxArrayDepth = 3
        public static let maxDimensions = 4
        public static let maxAlignment = 1 << 20
    }

    public let version: Int
    /// Metadata keys in file order.
    public let keys: [String]
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensor]
    public let alignment: Int
    /// Absolute offset of the data section.
    public let dataOffset: Int
    public let fileSize: Int
    public let path: String?

    private let base: UnsafeRawPointer
    private let release: @Sendable () -> Void
    private let tensorIndex: [String: Int]

    /// Maps the file at `path` read-only and parses it.
    public convenience init(path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw GGUFError(field: "file", offset: nil, reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError(field: "file", offset: nil, reason: "cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(field: "file", offset: nil, reason: "\(path) is not a regular file")
        }
        let size = Int(info.st_size)
        guard size > 0 else {
            throw GGUFError(field: "magic", offset: 0, reason: "\(path) is empty")
        }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw GGUFError(field: "file", offset: nil, reason: "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        let address = UInt(bitPattern: mapping)
        try self.init(base: UnsafeRawPointer(mapping), count: size, path: path) {
            munmap(UnsafeMutableRawPointer(bitPattern: address), size)
        }
    }

    /// Parses a file held in memory (tests, and files not on disk). The bytes are copied.
    public convenience init(bytes: [UInt8]) throws {
        let count = max(bytes.count, 1)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: bytes.count) }
        let address = UInt(bitPattern: buffer)
        try self.init(base: UnsafeRawPointer(buffer), count: bytes.count, path: nil) {
            UnsafeMutableRawPointer(bitPattern: address)?.deallocate()
        }
    }

    private init(base: UnsafeRawPointer, count: Int, path: String?, release: @escaping @Sendable () -> Void) throws {
        self.base = base
        self.release = release
        self.path = path
        self.fileSize = count
        do {
            var parser = Parser(cursor: ByteCursor(base: base, count: count))
            try parser.parse()
            version = parser.version
            keys = parser.keys
            metadata = parser.metadata
            tensors = parser.tensors
            alignment = parser.alignment
            dataOffset = parser.dataOffset
            tensorIndex = Dictionary(uniqueKeysWithValues: parser.tensors.enumerated().map { ($1.name, $0) })
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    public func tensor(named name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// The tensor's bytes, in place in the mapping.
    public func data(for tensor: GGUFTensor) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + dataOffset + tensor.offset, count: tensor.byteCount)
    }

    /// The whole file's bytes, in place.
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: fileSize) }
}

// MARK: - Typed metadata access

extension GGUFFile {
    private func require(_ key: String) throws -> GGUFValue {
        guard let value = metadata[key] else {
            throw GGUFError(field: key, offset: nil, reason: "missing metadata key")
        }
        return value
    }

    private func wrongType(_ key: String, _ value: GGUFValue, expected: String) -> GGUFError {
        var actual = value.type.description
        if case .array(let array) = value { actual = "array of \(array.elementType)" }
        return GGUFError(field: key, offset: nil, reason: "expected \(expected), found \(actual)")
    }

    public func string(_ key: String) throws -> String {
        let value = try require(key)
        guard case .string(let s) = value else { throw wrongType(key, value, expected: "string") }
        return s
    }

    public func optionalString(_ key: String) throws -> String? {
        metadata[key] == nil ? nil : try string(key)
    }

    /// An integer of any width, converted to Int.
    public func integer(_ key: String) throws -> Int {
        let value = try require(key)
        guard let int = value.intValue else { throw wrongType(key, value, expected: "integer") }
        return int
    }

    public func optionalInteger(_ key: String) throws -> Int? {
        metadata[key] == nil ? nil : try integer(key)
    }

    /// A float32 or float64 (integers are accepted too: some converters write them).
    public func float(_ key: String) throws -> Double {
        let value = try require(key)
        guard let double = value.doubleValue else { throw wrongType(key, value, expected: "float") }
        return double
    }

    public func optionalFloat(_ key: String) throws -> Double? {
        metadata[key] == nil ? nil : try float(key)
    }

    public func bool(_ key: String) throws -> Bool {
        let value = try require(key)
        guard case .bool(let b) = value else { throw wrongType(key, value, expected: "bool") }
        return b
    }

    public func optionalBool(_ key: String) throws -> Bool? {
        metadata[key] == nil ? nil : try bool(key)
    }

    public func array(_ key: String) throws -> GGUFArray {
        let value = try require(key)
        guard case .array(let a) = value else { throw wrongType(key, value, expected: "array") }
        return a
    }

    public func stringArray(_ key: String) throws -> [String] {
        let value = try require(key)
        guard case .array(.string(let strings)) = value else { throw wrongType(key, value, expected: "array of string") }
        return strings
    }

    public func optionalStringArray(_ key: String) throws -> [String]? {
        metadata[key] == nil ? nil : try stringArray(key)
    }

    public func integerArray(_ key: String) throws -> [Int] {
        let value = try require(key)
        guard case .array(let a) = value, let ints = a.intValues else { throw wrongType(key, value, expected: "array of integer") }
        return ints
    }

    public func optionalIntegerArray(_ key: String) throws -> [Int]? {
        metadata[key] == nil ? nil : try integerArray(key)
    }

    public func floatArray(_ key: String) throws -> [Float] {
        let value = try require(key)
        guard case .array(let a) = value, let floats = a.floatValues else { throw wrongType(key, value, expected: "array of float") }
        return floats
    }

    public func optionalFloatArray(_ key: String) throws -> [Float]? {
        metadata[key] == nil ? nil : try floatArray(key)
    }
}

// MARK: - Parsing

private struct Parser {
    var cursor: ByteCursor
    var version = 0
    var keys: [String] = []
    var metadata: [String: GGUFValue] = [:]
    var tensors: [GGUFTensor] = []
    var alignment = GGUFFile.defaultAlignment
    var dataOffset = 0

    typealias Limits = GGUFFile.Limits

    mutating func parse() throws {
        let magic = try cursor.read(UInt32.self, field: "magic")
        guard magic == 0x4655_4747 else {
            throw GGUFError(field: "magic", offset: 0, reason: "not a GGUF file (expected the bytes \"GGUF\")")
        }
        let rawVersion = try cursor.read(UInt32.self, field: "version")
        switch rawVersion {
        case 2, 3: version = Int(rawVersion)
        case 1: throw GGUFError(field: "version", offset: 4, reason: "GGUF version 1 is not supported (2 and 3 are)")
        default:
            if rawVersion.byteSwapped == 2 || rawVersion.byteSwapped == 3 {
                throw GGUFError(field: "version", offset: 4, reason: "byte-swapped version \(rawVersion.byteSwapped): big-endian GGUF files are not supported")
            }
            throw GGUFError(field: "version", offset: 4, reason: "unsupported version \(rawVersion) (2 and 3 are supported)")
        }
        // The smallest tensor info is 32 bytes (empty name, one dimension) and the
        // smallest key-value pair 13, so counts beyond what the file could hold are lies.
        let tensorCount = try cursor.readCount(field: "tensor_count", limit: cursor.remaining / 32, what: "tensor count")
        let kvCount = try cursor.readCount(field: "metadata_kv_count", limit: cursor.remaining / 13, what: "metadata count")

        keys.reserveCapacity(kvCount)
        for index in 0..<kvCount {
            let keyOffset = cursor.offset
            let key = try cursor.readString(field: "metadata key #\(index)", maxLength: Limits.maxKeyLength)
            guard !key.isEmpty else {
                throw GGUFError(field: "metadata key #\(index)", offset: keyOffset, reason: "empty key")
            }
            guard metadata[key] == nil else {
                throw GGUFError(field: key, offset: keyOffset, reason: "duplicate metadata key")
            }
            let typeOffset = cursor.offset
            let rawType = try cursor.read(UInt32.self, field: "\(key) type")
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(field: key, offset: typeOffset, reason: "unknown value type \(rawType)")
            }
            let value = try readValue(type, field: key, depth: 0)
            keys.append(key)
            metadata[key] = value
        }

        if let value = metadata["general.alignment"] {
            guard case .uint32(let a) = value else {
                throw GGUFError(field: "general.alignment", offset: nil, reason: "must be uint32, found \(value.type)")
            }
            guard a > 0, a & (a - 1) == 0, a <= Limits.maxAlignment else {
                throw GGUFError(field: "general.alignment", offset: nil, reason: "\(a) is not a power of two between 1 and \(Limits.maxAlignment)")
            }
            alignment = Int(a)
        }

        var names = Set<String>()
        tensors.reserveCapacity(tensorCount)
        for index in 0..<tensorCount {
            let tensor = try readTensorInfo(index: index)
            guard names.insert(tensor.name).inserted else {
                throw GGUFError(field: "tensor \(tensor.name)", offset: nil, reason: "duplicate tensor name")
            }
            tensors.append(tensor)
        }

        let infoEnd = cursor.offset
        let (padded, overflow) = infoEnd.addingReportingOverflow(alignment - 1)
        dataOffset = overflow ? Int.max : padded / alignment * alignment
        try validateTensorPlacement(infoEnd: infoEnd)
    }

    private mutating func readTensorInfo(index: Int) throws -> GGUFTensor {
        let start = cursor.offset
        let name = try cursor.readString(field: "tensor #\(index) name", maxLength: Int.max)
        guard name.utf8.count <= Limits.maxTensorNameLength else {
            throw GGUFError(field: "tensor #\(index) name", offset: start, reason: "name is \(name.utf8.count) bytes, longer than \(Limits.maxTensorNameLength)")
        }
        let field = "tensor \(name)"
        let dimsOffset = cursor.offset
        let dimCount = try cursor.read(UInt32.self, field: "\(field) n_dims")
        guard dimCount >= 1, dimCount <= Limits.maxDimensions else {
            throw GGUFError(field: "\(field) n_dims", offset: dimsOffset, reason: "\(dimCount) dimensions (1 to \(Limits.maxDimensions) allowed)")
        }
        var shape: [Int] = []
        var elements = 1
        for d in 0..<Int(dimCount) {
            let dimOffset = cursor.offset
            let raw = try cursor.read(UInt64.self, field: "\(field) dimension \(d)")
            guard raw > 0, raw <= UInt64(Int64.max) else {
                let shown = raw > UInt64(Int64.max) ? String(Int64(bitPattern: raw)) : String(raw)
                throw GGUFError(field: "\(field) dimension \(d)", offset: dimOffset, reason: "dimension \(shown) must be positive")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: Int(raw))
            guard !overflow else {
                throw GGUFError(field: "\(field) dimension \(d)", offset: dimOffset, reason: "element count overflows")
            }
            elements = product
            shape.append(Int(raw))
        }
        let typeOffset = cursor.offset
        let rawType = try cursor.read(UInt32.self, field: "\(field) type")
        guard let type = GGMLType(rawValue: rawType) else {
            throw GGUFError(field: "\(field) type", offset: typeOffset, reason: "unknown tensor type \(rawType)")
        }
        guard shape[0] % type.blockSize == 0 else {
            throw GGUFError(field: "\(field) dimension 0", offset: dimsOffset + 4, reason: "row length \(shape[0]) is not a multiple of \(type.name)'s block size \(type.blockSize)")
        }
        guard let bytes = type.byteCount(elements: elements) else {
            throw GGUFError(field: "\(field) size", offset: dimsOffset, reason: "byte size overflows")
        }
        let offsetOffset = cursor.offset
        let rawOffset = try cursor.read(UInt64.self, field: "\(field) offset")
        guard rawOffset <= UInt64(Int.max) else {
            throw GGUFError(field: "\(field) offset", offset: offsetOffset, reason: "offset \(rawOffset) is past the end of the file")
        }
        return GGUFTensor(name: name, type: type, shape: shape, offset: Int(rawOffset), byteCount: bytes)
    }

    private func validateTensorPlacement(infoEnd: Int) throws {
        guard !tensors.isEmpty else { return }
        guard dataOffset <= cursor.count else {
            throw GGUFError(field: "tensor data", offset: infoEnd, reason: "data section starts at \(dataOffset), past the end of the \(cursor.count)-byte file (truncated?)")
        }
        let dataSize = cursor.count - dataOffset
        for tensor in tensors {
            guard tensor.offset % alignment == 0 else {
                throw GGUFError(field: "tensor \(tensor.name) offset", offset: dataOffset + tensor.offset, reason: "offset \(tensor.offset) is not a multiple of the alignment \(alignment)")
            }
            let (end, overflow) = tensor.offset.addingReportingOverflow(tensor.byteCount)
            guard !overflow, end <= dataSize else {
                throw GGUFError(field: "tensor \(tensor.name) data", offset: overflow ? tensor.offset : dataOffset + tensor.offset, reason: "\(tensor.byteCount) bytes at data offset \(tensor.offset) run past the end of the file (\(dataSize) data bytes; truncated download?)")
            }
        }
        let ordered = tensors.sorted { $0.offset < $1.offset }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.offset + previous.byteCount > next.offset {
            throw GGUFError(field: "tensor \(next.name) offset", offset: dataOffset + next.offset, reason: "overlaps tensor \(previous.name)")
        }
    }

    private mutating func readValue(_ type: GGUFValueType, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try cursor.read(UInt8.self, field: field))
        case .int8: return .int8(try cursor.read(Int8.self, field: field))
        case .uint16: return .uint16(try cursor.read(UInt16.self, field: field))
        case .int16: return .int16(try cursor.read(Int16.self, field: field))
        case .uint32: return .uint32(try cursor.read(UInt32.self, field: field))
        case .int32: return .int32(try cursor.read(Int32.self, field: field))
        case .uint64: return .uint64(try cursor.read(UInt64.self, field: field))
        case .int64: return .int64(try cursor.read(Int64.self, field: field))
        case .float32: return .float32(Float(bitPattern: try cursor.read(UInt32.self, field: field)))
        case .float64: return .float64(Double(bitPattern: try cursor.read(UInt64.self, field: field)))
        case .bool: return .bool(try readBool(field: field))
        case .string: return .string(try cursor.readString(field: field, maxLength: Limits.maxStringLength))
        case .array: return .array(try readArray(field: field, depth: depth + 1))
        }
    }

    private mutating func readBool(field: String) throws -> Bool {
        let start = cursor.offset
        let byte = try cursor.read(UInt8.self, field: field)
        guard byte <= 1 else {
            throw GGUFError(field: field, offset: start, reason: "bool byte is \(byte), not 0 or 1")
        }
        return byte == 1
    }

    private mutating func readArray(field: String, depth: Int) throws -> GGUFArray {
        let start = cursor.offset
        guard depth <= Limits.maxArrayDepth else {
            throw GGUFError(field: field, offset: start, reason: "arrays nested deeper than \(Limits.maxArrayDepth)")
        }
        let rawType = try cursor.read(UInt32.self, field: "\(field) element type")
        guard let type = GGUFValueType(rawValue: rawType) else {
            throw GGUFError(field: field, offset: start, reason: "unknown array element type \(rawType)")
        }
        let countOffset = cursor.offset
        // Each element takes at least one byte (strings and arrays at least eight), so a
        // count beyond that is rejected before anything is allocated.
        let minimumElementSize = switch type {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
        let count = try cursor.readCount(field: "\(field) length", limit: Limits.maxArrayLength, what: "array length")
        guard count <= (cursor.remaining) / minimumElementSize else {
            throw GGUFError(field: "\(field) length", offset: countOffset, reason: "array of \(count) \(type) elements runs past the end of the file")
        }
        switch type {
        case .uint8: return .uint8(try readScalars(count, field: field))
        case .int8: return .int8(try readScalars(count, field: field))
        case .uint16: return .uint16(try readScalars(count, field: field))
        case .int16: return .int16(try readScalars(count, field: field))
        case .uint32: return .uint32(try readScalars(count, field: field))
        case .int32: return .int32(try readScalars(count, field: field))
        case .uint64: return .uint64(try readScalars(count, field: field))
        case .int64: return .int64(try readScalars(count, field: field))
        case .float32: return .float32(try readScalars(count, field: field).map { (bits: UInt32) in Float(bitPattern: bits) })
        case .float64: return .float64(try readScalars(count, field: field).map { (bits: UInt64) in Double(bitPattern: bits) })
        case .bool:
            var values: [Bool] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try readBool(field: field)) }
            return .bool(values)
        case .string:
            var values: [String] = []
            values.reserveCapacity(count)
            for i in 0..<count {
                values.append(try cursor.readString(field: "\(field)[\(i)]", maxLength: Limits.maxStringLength))
            }
            return .string(values)
        case .array:
            var values: [GGUFArray] = []
            values.reserveCapacity(count)
            for i in 0..<count {
                values.append(try readArray(field: "\(field)[\(i)]", depth: depth + 1))
            }
            return .array(values)
        }
    }

    private mutating func readScalars<T: FixedWidthInteger>(_ count: Int, field: String) throws -> [T] {
        let bytes = try cursor.readBytes(count * MemoryLayout<T>.size, field: field)
        return (0..<count).map { T(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }
}
