#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF v3 file: metadata in insertion order, then tensors, each aligned.
/// `write(to:)` is atomic: the file appears complete under its name or not at all, and it
/// refuses metadata the reader would reject. `serialized()` writes whatever it was given, so
/// tests can also build files that must be rejected.
public struct GGUFWriter: Sendable {
    public struct WriteError: Error, CustomStringConvertible {
        public let description: String
    }

    private struct PendingTensor: Sendable {
        let name: String
        let type: GGMLType
        let shape: [Int]
        let data: [UInt8]
    }

    /// The data alignment: the one given to `init`, or a valid `general.alignment` set later.
    public private(set) var alignment: Int
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [PendingTensor] = []

    /// `alignment` is a constant of the calling code, not input, so a bad one is a programming
    /// error: it must be a power of two no larger than `GGUFFile.Limits.maxAlignment`.
    public init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(Self.isValidAlignment(alignment), "alignment must be a power of two up to \(GGUFFile.Limits.maxAlignment)")
        self.alignment = alignment
        if alignment != GGUFFile.defaultAlignment {
            set("general.alignment", .uint32(UInt32(alignment)))
        }
    }

    /// Sets a metadata value; setting a key again replaces its value in place.
    /// A valid uint32 `general.alignment` also changes the alignment tensors are written with.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
        if key == Self.alignmentKey, case .uint32(let a) = value, Self.isValidAlignment(Int(a)) {
            alignment = Int(a)
        }
    }

    private static let alignmentKey = "general.alignment"

    private static func isValidAlignment(_ alignment: Int) -> Bool {
        alignment > 0 && alignment & (alignment - 1) == 0 && alignment <= GGUFFile.Limits.maxAlignment
    }

    /// Adds a tensor whose bytes are already encoded in `type`. `shape[0]` is the row length.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], data: [UInt8]) throws {
        guard !name.isEmpty, name.utf8.count <= GGUFFile.Limits.maxTensorNameLength else {
            throw WriteError(description: "tensor name \"\(name)\" must be 1 to \(GGUFFile.Limits.maxTensorNameLength) bytes")
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw WriteError(description: "duplicate tensor name \(name)")
        }
        guard !shape.isEmpty, shape.count <= GGUFFile.Limits.maxDimensions, shape.allSatisfy({ $0 > 0 }) else {
            throw WriteError(description: "tensor \(name): invalid shape \(shape)")
        }
        let (elements, overflow) = shape.reduce((1, false)) { product, dimension in
            let next = product.0.multipliedReportingOverflow(by: dimension)
            return (next.partialValue, product.1 || next.overflow)
        }
        guard !overflow, let bytes = type.byteCount(elements: elements), shape[0] % type.blockSize == 0 else {
            throw WriteError(description: "tensor \(name): shape \(shape) does not fit \(type.name) blocks")
        }
        guard bytes == data.count else {
            throw WriteError(description: "tensor \(name): \(data.count) bytes given, \(type.name) \(shape) needs \(bytes)")
        }
        tensors.append(PendingTensor(name: name, type: type, shape: shape, data: data))
    }

    /// Adds an F32 tensor.
    public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws {
        let data = floats.withUnsafeBytes { Array($0) }
        try addTensor(name: name, type: .f32, shape: shape, data: data)
    }

    /// The whole file as bytes.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(tensors.reduce(4096) { $0 + $1.data.count + alignment })
        appendHeader(to: &out)
        for tensor in tensors {
            pad(&out)
            out.append(contentsOf: tensor.data)
        }
        return out
    }

    /// Writes the file atomically: a temporary file beside `path`, fsync, rename.
    /// On any error the temporary file is removed and nothing is left at `path`.
    public func write(to path: String) throws {
        try validateMetadata()
        var header: [UInt8] = []
        appendHeader(to: &header)
        try AtomicFile.write(to: path) { sink in
            try sink.write(header)
            var position = header.count
            for tensor in tensors {
                let padding = (alignment - position % alignment) % alignment
                try sink.write([UInt8](repeating: 0, count: padding))
                try sink.write(tensor.data)
                position += padding + tensor.data.count
            }
        }
    }

    /// Rejects what the reader would reject, before any file is created.
    private func validateMetadata() throws {
        for key in keys {
            guard !key.isEmpty, key.utf8.count <= GGUFFile.Limits.maxKeyLength else {
                throw WriteError(description: "metadata key \"\(key)\" must be 1 to \(GGUFFile.Limits.maxKeyLength) bytes")
            }
            guard let value = values[key] else { continue }
            if key == Self.alignmentKey, value != .uint32(UInt32(alignment)) {
                throw WriteError(description: "\(key) must be a uint32 power of two up to \(GGUFFile.Limits.maxAlignment)")
            }
            try validate(value, key: key, depth: 0)
        }
    }

    private func validate(_ value: GGUFValue, key: String, depth: Int) throws {
        switch value {
        case .string(let string):
            guard string.utf8.count <= GGUFFile.Limits.maxStringLength else {
                throw WriteError(description: "\(key): string longer than \(GGUFFile.Limits.maxStringLength) bytes")
            }
        case .array(let array):
            try validate(array, key: key, depth: depth + 1)
        default:
            break
        }
    }

    private func validate(_ array: GGUFArray, key: String, depth: Int) throws {
        guard depth <= GGUFFile.Limits.maxArrayDepth else {
            throw WriteError(description: "\(key): arrays nested deeper than \(GGUFFile.Limits.maxArrayDepth)")
        }
        guard array.count <= GGUFFile.Limits.maxArrayLength else {
            throw WriteError(description: "\(key): array longer than \(GGUFFile.Limits.maxArrayLength)")
        }
        switch array {
        case .string(let strings):
            for string in strings { try validate(.string(string), key: key, depth: depth) }
        case .array(let nested):
            for element in nested { try validate(element, key: key, depth: depth + 1) }
        default:
            break
        }
    }

    private func appendHeader(to out: inout [UInt8]) {
        out.append(contentsOf: Array("GGUF".utf8))
        append(UInt32(3), to: &out)
        append(UInt64(tensors.count), to: &out)
        append(UInt64(keys.count), to: &out)
        for key in keys {
            appendString(key, to: &out)
            // Every key in `keys` has a value: `set` adds both together.
            let value = values[key] ?? .bool(false)
            append(value.type.rawValue, to: &out)
            appendValue(value, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            appendString(tensor.name, to: &out)
            append(UInt32(tensor.shape.count), to: &out)
            for dimension in tensor.shape { append(UInt64(dimension), to: &out) }
            append(tensor.type.rawValue, to: &out)
            append(UInt64(offset), to: &out)
            offset += tensor.data.count
            offset = (offset + alignment - 1) / alignment * alignment
        }
        pad(&out)
    }

    private func pad(_ out: inout [UInt8]) {
        let padding = (alignment - out.count % alignment) % alignment
        out.append(contentsOf: repeatElement(0, count: padding))
    }

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendString(_ string: String, to out: inout [UInt8]) {
        append(UInt64(string.utf8.count), to: &out)
        out.append(contentsOf: string.utf8)
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .bool(let v): append(UInt8(v ? 1 : 0), to: &out)
        case .string(let v): appendString(v, to: &out)
        case .array(let array): appendArray(array, to: &out)
        }
    }

    private func appendArray(_ array: GGUFArray, to out: inout [UInt8]) {
        append(array.elementType.rawValue, to: &out)
        append(UInt64(array.count), to: &out)
        if case .array(let nested) = array {
            for element in nested { appendArray(element, to: &out) }
            return
        }
        for i in 0..<array.count { appendValue(array[i], to: &out) }
    }
}

/// Writes a file so that it appears complete under its name or not at all.
public enum AtomicFile {
    public struct Sink {
        fileprivate let fd: Int32
        fileprivate let path: String

        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            var done = 0
            guard let start = bytes.baseAddress else { return }
            while done < bytes.count {
                let n = Glibc_write(fd, start + done, bytes.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw GGUFWriter.WriteError(description: "writing \(path): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    /// Calls `body` with a sink on a temporary file beside `path`; when it returns,
    /// syncs and renames the file into place. On error removes the temporary file.
    public static func write(to path: String, _ body: (Sink) throws -> Void) throws {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory.isEmpty ? "/" : directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress.map { mkstemp($0) } ?? -1
        }
        guard fd >= 0 else {
            throw GGUFWriter.WriteError(description: "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        }
        let temporary = String(cString: template.map { UInt8(bitPattern: $0) } + [0])
        var succeeded = false
        defer {
            if !succeeded { unlink(temporary) }
        }
        do {
            defer { close(fd) }
            try body(Sink(fd: fd, path: temporary))
            guard fsync(fd) == 0 else {
                throw GGUFWriter.WriteError(description: "syncing \(temporary): \(String(cString: strerror(errno)))")
            }
            fchmod(fd, 0o644)
        }
        guard rename(temporary, path) == 0 else {
            throw GGUFWriter.WriteError(description: "renaming to \(path): \(String(cString: strerror(errno)))")
        }
        succeeded = true
        let dirfd = open(directory.isEmpty ? "/" : directory, O_RDONLY)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}

#if canImport(Glibc)
private let Glibc_write = Glibc.write
#elseif canImport(Darwin)
private let Glibc_write = Darwin.write
#endif
