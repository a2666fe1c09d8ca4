import ForgeHub
import Foundation
import Testing

struct SHA256Tests {
    /// FIPS 180-4 / NIST example vectors.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ])
    func knownVectors(message: String, digest: String) {
        #expect(SHA256.hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test func millionAs() {
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hasher.update(chunk) }
        #expect(hasher.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func chunkingDoesNotChangeTheDigest() {
        var generator = SplitMix(seed: 42)
        let message = (0..<10_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let whole = SHA256.hash(message)
        for _ in 0..<20 {
            var hasher = SHA256()
            var offset = 0
            while offset < message.count {
                let length = min(Int(generator.next() % 150), message.count - offset)
                hasher.update(Array(message[offset..<offset + length]))
                offset += length
            }
            #expect(hasher.finalize() == whole)
        }
    }

    @Test func finalizeLeavesTheHasherUsable() {
        var hasher = SHA256()
        hasher.update(Array("ab".utf8))
        _ = hasher.finalize()
        hasher.update(Array("c".utf8))
        #expect(hasher.hexDigest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    /// Lengths around the padding boundaries (55/56/64 bytes) and a multi-megabyte file,
    /// checked against the system's sha256sum.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/sha256sum"), "needs /usr/bin/sha256sum"))
    func matchesSha256sum() throws {
        let directory = NSTemporaryDirectory() + "/forge-sha256-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var generator = SplitMix(seed: 7)
        let lengths = [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 3 * 1024 * 1024 + 17]
        var paths: [String] = []
        for length in lengths {
            let path = directory + "/\(length).bin"
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next() >> 7) }
            _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
            paths.append(path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = paths
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let expected = Dictionary(uniqueKeysWithValues: text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ", maxSplits: 1)
            return (fields[1].trimmingCharacters(in: CharacterSet(charactersIn: " *")), String(fields[0]))
        })
        #expect(expected.count == paths.count)
        for path in paths {
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            #expect(SHA256.hex(try SHA256.hash(fileDescriptor: fd)) == expected[path], "\(path)")
        }
    }
}

/// Deterministic test data.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
