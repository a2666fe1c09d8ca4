#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds a GGUF v3 file: metadata in insertion order, then tensors, each aligned.
/// `write(to:)` is atomic: the file appears complete under its name or not at all.
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

    public let alignment: Int
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [PendingTensor] = []

    public init(alignment: Int = GGUFFile.defaultAlignment) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.alignment = alignment
        if alignment != GGUFFile.defaultAlignment {
            set("general.alignment", .uint32(UInt32(alignment)))
        }
    }

    /// Sets a metadata value; setting a key again replaces its value in place.
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values.updateValue(value, forKey: key) == nil { keys.append(key) }
    }

    /// Adds a tensor whose bytes are already encoded in `type`. `shape[0]` is the row length.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], data: [UInt8]) throws {
        guard !tensors.contains(where: { $0.name == name }) else {
            throw WriteError(description: "duplicate tensor name \(name)")
        }
        guard !shape.isEmpty, shape.count <= GGUFFile.Limits.maxDimensions, shape.allSatisfy({ $0 > 0 }) else {
            throw WriteError(description: "tensor \(name): invalid shape \(shape)")
        }
        guard let bytes = type.byteCount(elements: shape.reduce(1, *)), shape[0] % type.blockSize == 0 else {
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
            while done < bytes.count {
                let n = Glibc_write(fd, bytes.baseAddress! + done, bytes.count - done)
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
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory.isEmpty ? "/" : directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
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
