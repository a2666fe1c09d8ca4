internal import Crypto
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SHA256 {
    /// The digest of a whole open file, read with `pread`.
    static func hash(fileDescriptor fd: Int32) throws(HubError) -> SHA256Digest {
        var hasher = SHA256()
        try hasher.update(fileDescriptor: fd)
        return hasher.finalize()
    }

    /// Feeds the first `length` bytes of an open file (all of it when nil), read with `pread`.
    mutating func update(fileDescriptor fd: Int32, length: Int? = nil) throws(HubError) {
        let chunk = 4 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        var offset = 0
        while length.map({ offset < $0 }) ?? true {
            let wanted = min(chunk, (length ?? Int.max) - offset)
            let n = pread(fd, buffer.baseAddress, wanted, off_t(offset))
            if n < 0 {
                if errno == EINTR { continue }
                throw HubError.fileSystem("reading for the checksum: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                if length == nil { break }
                throw HubError.fileSystem("file ended at byte \(offset) while computing its checksum")
            }
            update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += n
        }
    }
}

extension SHA256Digest {
    /// Lowercase hex, as `sha256sum` prints it.
    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0f)]] }, as: UTF8.self)
    }
}
