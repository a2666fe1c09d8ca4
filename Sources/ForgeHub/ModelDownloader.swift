internal import AsyncHTTPClient
internal import Crypto
import ForgeGGUF
import Foundation

/// The outcome of `ModelDownloader.pull`.
public struct PullResult: Sendable, Equatable {
    public let path: String
    /// Lowercase hex SHA-256 of the stored file.
    public let sha256: String
    public let byteCount: Int
    /// The file was already in the cache; nothing was downloaded.
    public let alreadyPresent: Bool

    public init(path: String, sha256: String, byteCount: Int, alreadyPresent: Bool) {
        self.path = path
        self.sha256 = sha256
        self.byteCount = byteCount
        self.alreadyPresent = alreadyPresent
    }
}

/// Downloads GGUF files into the model cache.
///
/// Bytes go to `NAME.gguf.partial` in the cache; an interrupted pull is resumed from there with
/// an HTTP Range request. The SHA-256 is computed as bytes arrive (bytes kept from an earlier pull
/// are read back first), so checking it adds no pass over a multi-gigabyte file. The file gets its
/// final name only once it is complete, has the expected SHA-256 (when one is given) and parses as
/// GGUF. A file that fails either check is removed.
public struct ModelDownloader: Sendable {
    public var directory: String
    /// Seconds without receiving data before a transfer is abandoned (the partial file is kept).
    public var idleTimeout: Double

    public static let partialSuffix = ".partial"

    public init(directory: String = ModelCache.directory(), idleTimeout: Double = 60) {
        self.directory = directory
        self.idleTimeout = idleTimeout
    }

    /// Downloads `url` into the cache as `outputName` (default: the URL's last path component).
    public func pull(
        _ url: String,
        sha256: String? = nil,
        outputName: String? = nil,
        events: @escaping @Sendable (PullEvent) -> Void = { _ in }
    ) async throws -> PullResult {
        let source = try Self.validatedURL(url)
        let expected = try sha256.map(Self.normalizedChecksum)
        let name = try Self.fileName(outputName: outputName, url: source)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw HubError.fileSystem("cannot create the model cache \(directory): \(error.localizedDescription)")
        }
        let finalPath = directory + "/" + name
        if ModelCache.isRegularFile(finalPath) {
            return try existingFile(finalPath, expected: expected)
        }

        let partialPath = finalPath + Self.partialSuffix
        let fd = open(partialPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw HubError.fileSystem("cannot open \(partialPath): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw HubError.downloadInProgress(partialPath: partialPath)
        }
        do {
            return try await download(source, into: fd, partialPath: partialPath, finalPath: finalPath, expected: expected, events: events)
        } catch {
            // An empty partial file holds nothing worth resuming.
            if (try? fileSize(fd)) == 0 { unlink(partialPath) }
            throw error
        }
    }

    private func download(
        _ url: URL, into fd: Int32, partialPath: String, finalPath: String, expected: String?,
        events: @escaping @Sendable (PullEvent) -> Void
    ) async throws -> PullResult {
        events(.started(url: url.absoluteString, destination: finalPath, resumingFrom: try fileSize(fd)))
        let transfer = HTTPRangeTransfer(url: url, fd: fd, partialPath: partialPath, events: events)
        let configuration = HTTPRangeTransfer.clientConfiguration(idleTimeout: idleTimeout)
        let digest = try await HTTPClient.withHTTPClient(configuration: configuration) { client in
            var restarted = false
            while true {
                let start = try fileSize(fd)
                // The checksum is computed as the bytes arrive; bytes kept from before are read back first.
                var hasher = SHA256()
                try hasher.update(fileDescriptor: fd, length: start)
                switch try await transfer.run(client: client, startOffset: start, hasher: hasher) {
                case .complete(let received):
                    return received.finalize()
                case .rangeNotSatisfiable(let remoteSize) where remoteSize == start:
                    // The previous pull received every byte but stopped before verifying.
                    return hasher.finalize()
                case .rangeNotSatisfiable(let remoteSize):
                    guard !restarted else {
                        throw HubError.badResume(url: url.absoluteString, reason: "the server refuses every range, even from byte 0")
                    }
                    restarted = true
                    let size = remoteSize.map { "the file is now \($0) bytes" } ?? "the server gave no size"
                    events(.restarted(reason: "the partial file (\(start) bytes) does not fit the remote file (\(size))"))
                    guard ftruncate(fd, 0) == 0 else {
                        throw HubError.fileSystem("cannot truncate \(partialPath): \(String(cString: strerror(errno)))")
                    }
                }
            }
        }
        guard fsync(fd) == 0 else {
            throw HubError.fileSystem("cannot sync \(partialPath): \(String(cString: strerror(errno)))")
        }
        events(.verifying(path: partialPath))
        let name = (finalPath as NSString).lastPathComponent
        let actual = digest.hex
        if let expected, actual != expected {
            unlink(partialPath)
            throw HubError.checksumMismatch(name: name, expected: expected, actual: actual)
        }
        do {
            _ = try GGUFFile(path: partialPath)
        } catch {
            unlink(partialPath)
            throw HubError.notGGUF(name: name, reason: "\(error)")
        }
        guard rename(partialPath, finalPath) == 0 else {
            throw HubError.fileSystem("cannot rename \(partialPath) to \(finalPath): \(String(cString: strerror(errno)))")
        }
        syncDirectory()
        events(.finished(path: finalPath, sha256: actual))
        return PullResult(path: finalPath, sha256: actual, byteCount: try fileSize(fd), alreadyPresent: false)
    }

    private func existingFile(_ path: String, expected: String?) throws -> PullResult {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw HubError.fileSystem("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let actual = try SHA256.hash(fileDescriptor: fd).hex
        if let expected, actual != expected {
            throw HubError.existingFileMismatch(path: path, expected: expected, actual: actual)
        }
        return PullResult(path: path, sha256: actual, byteCount: try fileSize(fd), alreadyPresent: true)
    }

    private func syncDirectory() {
        let dirfd = open(directory, O_RDONLY | O_CLOEXEC)
        guard dirfd >= 0 else { return }
        fsync(dirfd)
        close(dirfd)
    }

    /// An http or https URL with a host.
    public static func validatedURL(_ text: String) throws(HubError) -> URL {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw .invalidURL(text, reason: "not a URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw .invalidURL(text, reason: "only http and https URLs can be pulled")
        }
        guard let host = url.host, !host.isEmpty else {
            throw .invalidURL(text, reason: "the URL has no host")
        }
        return url
    }

    /// The checksum in lowercase; it must be 64 hex digits.
    public static func normalizedChecksum(_ text: String) throws(HubError) -> String {
        let lowered = text.lowercased()
        guard lowered.utf8.count == 64, lowered.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw .invalidChecksum(text)
        }
        return lowered
    }

    /// The name the model gets in the cache: `outputName`, or the URL's last path component.
    public static func fileName(outputName: String?, url: URL) throws(HubError) -> String {
        if let outputName {
            if let problem = problem(withName: outputName) { throw .invalidOutputName(outputName, reason: problem) }
            return outputName
        }
        let derived = url.lastPathComponent
        if let problem = problem(withName: derived) {
            throw .invalidOutputName(derived, reason: "\(problem) (derived from the URL; pass --output NAME.gguf)")
        }
        return derived
    }

    private static func problem(withName name: String) -> String? {
        if name.isEmpty || name == "/" { return "the name is empty" }
        if name.contains("/") { return "a name in the cache cannot contain '/'" }
        if name.hasPrefix(".") { return "a name in the cache cannot start with '.'" }
        if !name.lowercased().hasSuffix(".gguf") { return "the name must end in .gguf" }
        return nil
    }
}

func fileSize(_ fd: Int32) throws(HubError) -> Int {
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        throw .fileSystem("cannot stat a download file: \(String(cString: strerror(errno)))")
    }
    return Int(info.st_size)
}
