#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads little-endian values from a byte range, checking every read against the end.
/// Nothing here traps on bad input: every failure is a thrown `GGUFError`.
struct ByteCursor {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var offset: Int

    init(base: UnsafeRawPointer, count: Int, offset: Int = 0) {
        self.base = base
        self.count = count
        self.offset = offset
    }

    var remaining: Int { count - offset }

    mutating func skip(_ n: Int, field: String) throws {
        guard n >= 0, n <= remaining else {
            throw GGUFError(field: field, offset: offset, reason: "needs \(n) bytes but only \(remaining) remain (file truncated?)")
        }
        offset += n
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, field: String) throws -> T {
        let size = MemoryLayout<T>.size
        guard size <= remaining else {
            throw GGUFError(field: field, offset: offset, reason: "needs \(size) bytes but only \(remaining) remain (file truncated?)")
        }
        let value = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += size
        return value
    }

    /// A length or count stored as uint64, checked to be at most `limit`.
    mutating func readCount(field: String, limit: Int, what: String) throws -> Int {
        let start = offset
        let raw = try read(UInt64.self, field: field)
        guard raw <= UInt64(limit) else {
            throw GGUFError(field: field, offset: start, reason: "\(what) \(raw) exceeds the limit of \(limit)")
        }
        return Int(raw)
    }

    mutating func readBytes(_ n: Int, field: String) throws -> UnsafeRawBufferPointer {
        let start = offset
        try skip(n, field: field)
        return UnsafeRawBufferPointer(start: base + start, count: n)
    }

    /// A GGUF string: uint64 byte length, then UTF-8 bytes (no terminator). The length is
    /// checked against `maxLength` and the bytes left before anything is allocated.
    mutating func readString(field: String, maxLength: Int, what: String = "string") throws -> String {
        let start = offset
        let rawLength = try read(UInt64.self, field: field)
        guard rawLength <= UInt64(maxLength) else {
            throw GGUFError(field: field, offset: start, reason: "\(what) length \(rawLength) exceeds the limit of \(maxLength) bytes")
        }
        let length = Int(rawLength)
        guard length <= remaining else {
            throw GGUFError(field: field, offset: start, reason: "\(what) length \(length) runs past the end of the file (\(remaining) bytes remain)")
        }
        let bytes = try readBytes(length, field: field)
        // Decoding replaces invalid UTF-8, so the bytes are valid exactly when they come through
        // unchanged; on a vocabulary this is twice as fast as String(validating:as:).
        var string = String(decoding: bytes, as: UTF8.self)
        let unchanged = string.utf8.count == length && string.withUTF8 { decoded in
            guard let decodedStart = decoded.baseAddress, let originalStart = bytes.baseAddress else { return length == 0 }
            return memcmp(decodedStart, originalStart, length) == 0
        }
        guard unchanged else {
            throw GGUFError(field: field, offset: start + 8, reason: "\(what) is not valid UTF-8")
        }
        return string
    }
}
