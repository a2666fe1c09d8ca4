#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Streaming SHA-256 (FIPS 180-4). Feed bytes in any chunking with `update`, then `finalize`.
///
/// Written here rather than taken from a package: Forge only needs it to check downloads, and
/// the one hot loop below keeps the schedule and state in locals so it runs without bounds checks.
public struct SHA256: Sendable {
    public static let digestByteCount = 32
    static let blockByteCount = 64

    private var h0: UInt32 = 0x6a09_e667
    private var h1: UInt32 = 0xbb67_ae85
    private var h2: UInt32 = 0x3c6e_f372
    private var h3: UInt32 = 0xa54f_f53a
    private var h4: UInt32 = 0x510e_527f
    private var h5: UInt32 = 0x9b05_688c
    private var h6: UInt32 = 0x1f83_d9ab
    private var h7: UInt32 = 0x5be0_cd19
    /// Bytes of an incomplete block waiting for more input; always fewer than 64.
    private var pending: [UInt8] = []
    private var byteCount: UInt64 = 0

    public init() {}

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        byteCount &+= UInt64(bytes.count)
        var start = 0
        if !pending.isEmpty {
            let taken = min(Self.blockByteCount - pending.count, bytes.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base, count: taken))
            start = taken
            guard pending.count == Self.blockByteCount else { return }
            pending.withUnsafeBytes { compress(blocks: $0.baseAddress!, count: 1) }
            pending.removeAll(keepingCapacity: true)
        }
        let wholeBlocks = (bytes.count - start) / Self.blockByteCount
        if wholeBlocks > 0 {
            compress(blocks: base + start, count: wholeBlocks)
            start += wholeBlocks * Self.blockByteCount
        }
        if start < bytes.count {
            pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: bytes.count - start))
        }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest of everything fed so far. The hasher itself is left unchanged.
    public func finalize() -> [UInt8] {
        var copy = self
        let bitLength = byteCount &* 8
        // Padding: 0x80, zeros up to 56 mod 64, then the message length in bits, big-endian.
        let zeroCount = (Self.blockByteCount + 55 - pending.count) % Self.blockByteCount
        var tail: [UInt8] = [0x80] + [UInt8](repeating: 0, count: zeroCount)
        withUnsafeBytes(of: bitLength.bigEndian) { tail.append(contentsOf: $0) }
        let savedCount = copy.byteCount
        copy.update(tail)
        copy.byteCount = savedCount
        var digest: [UInt8] = []
        digest.reserveCapacity(Self.digestByteCount)
        for word in [copy.h0, copy.h1, copy.h2, copy.h3, copy.h4, copy.h5, copy.h6, copy.h7] {
            withUnsafeBytes(of: word.bigEndian) { digest.append(contentsOf: $0) }
        }
        return digest
    }

    /// Lowercase hex of the digest, as `sha256sum` prints it.
    public func hexDigest() -> String {
        Self.hex(finalize())
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(digest.count * 2)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The digest of a whole open file, read with `pread`.
    public static func hash(fileDescriptor fd: Int32) throws(HubError) -> [UInt8] {
        var hasher = SHA256()
        try hasher.update(fileDescriptor: fd)
        return hasher.finalize()
    }

    /// Feeds the first `length` bytes of an open file (all of it when nil), read with `pread`.
    public mutating func update(fileDescriptor fd: Int32, length: Int? = nil) throws(HubError) {
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
            update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += n
        }
    }

    private mutating func compress(blocks: UnsafeRawPointer, count: Int) {
        var s0 = h0, s1 = h1, s2 = h2, s3 = h3, s4 = h4, s5 = h5, s6 = h6, s7 = h7
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { schedule in
            let w = schedule.baseAddress!
            Self.roundConstants.withUnsafeBufferPointer { constants in
                let k = constants.baseAddress!
                for blockIndex in 0..<count {
                    let block = blocks + blockIndex &* Self.blockByteCount
                    for i in 0..<16 {
                        w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: i &* 4, as: UInt32.self))
                    }
                    for i in 16..<64 {
                        let x = w[i &- 15], y = w[i &- 2]
                        let sigma0 = rotr(x, 7) ^ rotr(x, 18) ^ (x &>> 3)
                        let sigma1 = rotr(y, 17) ^ rotr(y, 19) ^ (y &>> 10)
                        w[i] = w[i &- 16] &+ sigma0 &+ w[i &- 7] &+ sigma1
                    }
                    // Adding the constants in a separate pass frees a register in the rounds.
                    for i in 0..<64 { w[i] &+= k[i] }
                    var a = s0, b = s1, c = s2, d = s3, e = s4, f = s5, g = s6, h = s7
                    var previousXor = b ^ c
                    // Straight-line calls with constant offsets: no loop counter competes for registers.
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 8)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 16)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 24)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 32)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 40)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 48)
                    eightRounds(&a, &b, &c, &d, &e, &f, &g, &h, &previousXor, w + 56)
                    s0 &+= a; s1 &+= b; s2 &+= c; s3 &+= d
                    s4 &+= e; s5 &+= f; s6 &+= g; s7 &+= h
                }
            }
        }
        h0 = s0; h1 = s1; h2 = s2; h3 = s3; h4 = s4; h5 = s5; h6 = s6; h7 = s7
    }

    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 {
    (x &>> n) | (x &<< (32 &- n))
}

/// Eight rounds with the variables' roles rotated, instead of shifting eight values through each round.
@inline(__always)
private func eightRounds(
    _ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32,
    _ e: inout UInt32, _ f: inout UInt32, _ g: inout UInt32, _ h: inout UInt32,
    _ previousXor: inout UInt32, _ w: UnsafeMutablePointer<UInt32>
) {
    round(a, b, c, &d, e, f, g, &h, w[0], &previousXor)
    round(h, a, b, &c, d, e, f, &g, w[1], &previousXor)
    round(g, h, a, &b, c, d, e, &f, w[2], &previousXor)
    round(f, g, h, &a, b, c, d, &e, w[3], &previousXor)
    round(e, f, g, &h, a, b, c, &d, w[4], &previousXor)
    round(d, e, f, &g, h, a, b, &c, w[5], &previousXor)
    round(c, d, e, &f, g, h, a, &b, w[6], &previousXor)
    round(b, c, d, &e, f, g, h, &a, w[7], &previousXor)
}

/// One SHA-256 round: only `d` and `h` change; the caller rotates the roles of the eight variables.
/// `previousXor` carries `a ^ b` to the next round, where it is `b ^ c`, saving an operation in Maj.
@inline(__always)
private func round(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
    _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32,
    _ scheduledWord: UInt32, _ previousXor: inout UInt32
) {
    let sum1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
    let choice = ((f ^ g) & e) ^ g
    let t1 = h &+ sum1 &+ choice &+ scheduledWord
    let sum0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
    let aXorB = a ^ b
    let majority = (aXorB & previousXor) ^ b
    previousXor = aXorB
    d &+= t1
    h = t1 &+ sum0 &+ majority
}
