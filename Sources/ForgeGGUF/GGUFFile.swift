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
/// long as this object. (A file truncated by another process while mapped can still
/// fault on access, as with any mapping; the file is checked whole at load.)
public final class GGUFFile: @unchecked Sendable {
    public static let defaultAlignment = 32
    /// Limits that keep a hostile file from making the reader allocate without bound. Every
    /// count and length is also checked against the bytes that remain before anything is
    /// reserved, so what the reader allocates is a small multiple of the file's header size.
    public enum Limits {
        /// Real models have at most a few thousand tensors and a few hundred keys; these caps
        /// keep a file of millions of tiny entries from costing gigabytes of bookkeeping.
        public static let maxTensorCount = 1 << 20
        public static let maxKeyValueCount = 1 << 20
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
            throw GGUFError(field: "file", offset: nil, reason: "\(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw GGUFError(field: "file", offset: nil, reason: "\(path): \(String(cString: strerror(errno)))")
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
        // The header and metadata now live in Swift values, so their pages (mostly the tokenizer's
        // strings: 2 MB for a 49,152-token vocabulary) need not stay resident; llama.cpp, which
        // reads them with fread, does not keep them either. Reading them again maps them back in.
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        let metadataPages = dataOffset / pageSize * pageSize
        if metadataPages > 0 { madvise(mapping, metadataPages, MADV_DONTNEED) }
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

    /// Bytes of all tensor data (llama.cpp's model "size").
    public var tensorByteCount: Int { tensors.reduce(0) { $0 + $1.byteCount } }

    /// Elements of all tensors (llama.cpp's "params").
    public var tensorElementCount: Int { tensors.reduce(0) { $0 + $1.elementCount } }

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
    /// Where each key's value type code sits, so that errors found after parsing can point at it.
    private var valueTypeOffsets: [String: Int]
    /// Where each tensor's info starts and where its data offset field sits, in tensor order.
    private var tensorInfoOffsets: [(info: Int, dataOffsetField: Int)]

    init(cursor: ByteCursor) {
        self.cursor = cursor
        valueTypeOffsets = [:]
        tensorInfoOffsets = []
    }

    typealias Limits = GGUFFile.Limits

    /// The smallest possible tensor info (a one-byte name, one dimension) and key-value pair
    /// (a one-byte key, a one-byte value): counts that need more bytes than remain are lies.
    static let minimumTensorInfoSize = 8 + 1 + 4 + 8 + 4 + 8
    static let minimumKeyValueSize = 8 + 1 + 4 + 1

    mutating func parse() throws {
        try parseHeader()
        let (tensorCount, kvCount) = try readCounts()
        try readMetadata(count: kvCount)
        try readAlignment()
        try readTensorInfos(count: tensorCount)
        let infoEnd = cursor.offset
        let (padded, overflow) = infoEnd.addingReportingOverflow(alignment - 1)
        dataOffset = overflow ? Int.max : padded / alignment * alignment
        try validateTensorPlacement(infoEnd: infoEnd)
    }

    private mutating func parseHeader() throws {
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
    }

    private mutating func readCounts() throws -> (tensors: Int, keyValues: Int) {
        let tensorCountOffset = cursor.offset
        let rawTensorCount = try cursor.read(UInt64.self, field: "tensor_count")
        let kvCountOffset = cursor.offset
        let rawKVCount = try cursor.read(UInt64.self, field: "metadata_kv_count")
        guard rawTensorCount <= UInt64(Limits.maxTensorCount) else {
            throw GGUFError(field: "tensor_count", offset: tensorCountOffset, reason: "\(rawTensorCount) tensors exceeds the limit of \(Limits.maxTensorCount)")
        }
        guard rawKVCount <= UInt64(Limits.maxKeyValueCount) else {
            throw GGUFError(field: "metadata_kv_count", offset: kvCountOffset, reason: "\(rawKVCount) key-value pairs exceeds the limit of \(Limits.maxKeyValueCount)")
        }
        let available = cursor.remaining
        guard rawTensorCount <= UInt64(available / Self.minimumTensorInfoSize) else {
            throw GGUFError(field: "tensor_count", offset: tensorCountOffset, reason: "\(rawTensorCount) tensors cannot fit in the \(available) bytes that follow")
        }
        let tensorCount = Int(rawTensorCount)
        let availableForMetadata = available - tensorCount * Self.minimumTensorInfoSize
        guard rawKVCount <= UInt64(availableForMetadata / Self.minimumKeyValueSize) else {
            throw GGUFError(field: "metadata_kv_count", offset: kvCountOffset, reason: "\(rawKVCount) key-value pairs and \(tensorCount) tensor infos cannot fit in the \(available) bytes that follow")
        }
        return (tensorCount, Int(rawKVCount))
    }

    private mutating func readMetadata(count: Int) throws {
        keys.reserveCapacity(count)
        for index in 0..<count {
            let keyOffset = cursor.offset
            let keyField = "metadata key #\(index)"
            let key = try cursor.readString(field: keyField, maxLength: Limits.maxKeyLength, what: "key")
            guard !key.isEmpty else {
                throw GGUFError(field: keyField, offset: keyOffset, reason: "empty key")
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
            valueTypeOffsets[key] = typeOffset
        }
    }

    private mutating func readAlignment() throws {
        let key = "general.alignment"
        guard let value = metadata[key], let typeOffset = valueTypeOffsets[key] else { return }
        guard case .uint32(let a) = value else {
            throw GGUFError(field: key, offset: typeOffset, reason: "must be uint32, found \(value.type)")
        }
        guard a > 0, a & (a - 1) == 0, a <= Limits.maxAlignment else {
            throw GGUFError(field: key, offset: typeOffset + 4, reason: "\(a) is not a power of two between 1 and \(Limits.maxAlignment)")
        }
        alignment = Int(a)
    }

    private mutating func readTensorInfos(count: Int) throws {
        var firstIndexByName: [String: Int] = [:]
        firstIndexByName.reserveCapacity(count)
        tensors.reserveCapacity(count)
        tensorInfoOffsets.reserveCapacity(count)
        for index in 0..<count {
            let infoOffset = cursor.offset
            let tensor = try readTensorInfo(index: index)
            if let first = firstIndexByName.updateValue(index, forKey: tensor.name) {
                throw GGUFError(field: "tensor #\(index) name", offset: infoOffset, reason: "duplicate tensor name \(tensor.name) (first used by tensor #\(first))")
            }
            tensors.append(tensor)
        }
    }

    private mutating func readTensorInfo(index: Int) throws -> GGUFTensor {
        let start = cursor.offset
        let nameField = "tensor #\(index) name"
        let name = try cursor.readString(field: nameField, maxLength: Limits.maxTensorNameLength, what: "tensor name")
        guard !name.isEmpty else {
            throw GGUFError(field: nameField, offset: start, reason: "empty tensor name")
        }
        let field = "tensor \(name)"
        let dimsOffset = cursor.offset
        let dimCount = try cursor.read(UInt32.self, field: "\(field) n_dims")
        guard dimCount >= 1, dimCount <= Limits.maxDimensions else {
            throw GGUFError(field: "\(field) n_dims", offset: dimsOffset, reason: "\(dimCount) dimensions (1 to \(Limits.maxDimensions) allowed)")
        }
        var shape: [Int] = []
        shape.reserveCapacity(Int(dimCount))
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
            throw GGUFError(field: "\(field) size", offset: dimsOffset, reason: "\(elements) \(type.name) elements overflow a byte size")
        }
        let offsetField = cursor.offset
        let rawOffset = try cursor.read(UInt64.self, field: "\(field) offset")
        guard rawOffset <= UInt64(cursor.count) else {
            throw GGUFError(field: "\(field) offset", offset: offsetField, reason: "data offset \(rawOffset) is past the end of the \(cursor.count)-byte file")
        }
        tensorInfoOffsets.append((start, offsetField))
        return GGUFTensor(name: name, type: type, shape: shape, offset: Int(rawOffset), byteCount: bytes)
    }

    private func validateTensorPlacement(infoEnd: Int) throws {
        guard !tensors.isEmpty else { return }
        guard dataOffset <= cursor.count else {
            throw GGUFError(field: "tensor data", offset: infoEnd, reason: "data section starts at \(dataOffset), past the end of the \(cursor.count)-byte file (truncated?)")
        }
        let dataSize = cursor.count - dataOffset
        for (tensor, offsets) in zip(tensors, tensorInfoOffsets) {
            let field = "tensor \(tensor.name) offset"
            guard tensor.offset % alignment == 0 else {
                throw GGUFError(field: field, offset: offsets.dataOffsetField, reason: "data offset \(tensor.offset) is not a multiple of the alignment \(alignment)")
            }
            let (end, overflow) = tensor.offset.addingReportingOverflow(tensor.byteCount)
            guard !overflow, end <= dataSize else {
                throw GGUFError(field: field, offset: offsets.dataOffsetField, reason: "\(tensor.byteCount) bytes at data offset \(tensor.offset) (file byte \(dataOffset + tensor.offset)) run past the end of the \(cursor.count)-byte file (truncated download?)")
            }
        }
        let order = tensors.indices.sorted { tensors[$0].offset < tensors[$1].offset }
        for (previous, next) in zip(order, order.dropFirst()) {
            let earlier = tensors[previous], later = tensors[next]
            guard earlier.offset + earlier.byteCount <= later.offset else {
                throw GGUFError(field: "tensor \(later.name) offset", offset: tensorInfoOffsets[next].dataOffsetField, reason: "data offset \(later.offset) overlaps tensor \(earlier.name) (data offsets \(earlier.offset) to \(earlier.offset + earlier.byteCount))")
            }
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
        // Every element takes at least this many bytes, so a count beyond what remains is
        // rejected before anything is allocated; memory stays proportional to the file.
        let minimumElementSize = switch type {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
        let count = try cursor.readCount(field: "\(field) length", limit: Limits.maxArrayLength, what: "array length")
        guard count <= cursor.remaining / minimumElementSize else {
            throw GGUFError(field: "\(field) length", offset: countOffset, reason: "array of \(count) \(type) elements runs past the end of the file (\(cursor.remaining) bytes remain)")
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
            for index in 0..<count {
                values.append(try element(index, of: field) { try $0.readBool(field: field) })
            }
            return .bool(values)
        case .string:
            var values: [String] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                values.append(try element(index, of: field) { try $0.cursor.readString(field: field, maxLength: Limits.maxStringLength) })
            }
            return .string(values)
        case .array:
            var values: [GGUFArray] = []
            values.reserveCapacity(count)
            for index in 0..<count {
                values.append(try readArray(field: "\(field)[\(index)]", depth: depth + 1))
            }
            return .array(values)
        }
    }

    /// Reads one array element, naming it `field[index]` only when it fails: building that
    /// name for each of a vocabulary's 150,000 strings would cost more than reading them.
    private mutating func element<T>(_ index: Int, of field: String, _ read: (inout Parser) throws -> T) throws -> T {
        do {
            return try read(&self)
        } catch let error as GGUFError {
            throw GGUFError(field: "\(field)[\(index)]", offset: error.offset, reason: error.reason)
        }
    }

    private mutating func readScalars<T: FixedWidthInteger>(_ count: Int, field: String) throws -> [T] {
        let bytes = try cursor.readBytes(count * MemoryLayout<T>.size, field: field)
        return (0..<count).map { T(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }
}
