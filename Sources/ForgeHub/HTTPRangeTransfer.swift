internal import AsyncHTTPClient
internal import Crypto
import Foundation

/// One HTTP GET that appends the response body to a partial file, asking for the bytes after
/// those already present. The client follows redirects (Hugging Face `resolve` URLs redirect to
/// a CDN) and keeps the Range header on the way.
struct HTTPRangeTransfer {
    enum Outcome {
        /// The body was received whole; the hasher has seen every byte of the file.
        case complete(SHA256)
        /// 416: the server cannot send bytes from the partial file's size on; carries the
        /// remote size when the server gave it.
        case rangeNotSatisfiable(remoteSize: Int?)
    }

    let url: URL
    let fd: Int32
    let partialPath: String
    let events: @Sendable (PullEvent) -> Void

    /// What a pull's client needs: redirects followed, bodies left as sent (a compressed body
    /// would make byte offsets meaningless for resuming), and `idleTimeout` seconds at most
    /// without data.
    static func clientConfiguration(idleTimeout: Double) -> HTTPClient.Configuration {
        let idle = Int64(idleTimeout * 1000)
        return HTTPClient.Configuration(
            redirectConfiguration: .follow(max: 10, allowCycles: false),
            timeout: .init(connect: .milliseconds(idle), read: .milliseconds(idle)),
            decompression: .disabled
        )
    }

    /// Receives the bytes after the first `startOffset` of the file, which `hasher` has seen.
    func run(client: HTTPClient, startOffset: Int, hasher: SHA256) async throws -> Outcome {
        var written = startOffset
        var resumedFrom = startOffset
        var hasher = hasher
        var request = HTTPClientRequest(url: url.absoluteString)
        if written > 0 {
            request.headers.add(name: "Range", value: "bytes=\(written)-")
        }
        request.headers.add(name: "Accept-Encoding", value: "identity")
        request.headers.add(name: "User-Agent", value: "forge")
        let response: HTTPClientResponse
        do {
            // No overall deadline: a large file may take hours; the idle timeout bounds a stall.
            response = try await client.execute(request, deadline: .distantFuture)
        } catch {
            throw incomplete(received: written, expected: nil, error)
        }

        let source = url.absoluteString
        let total: Int?
        let contentRange = response.headers.first(name: "Content-Range").flatMap(ContentRange.init)
        switch response.status.code {
        case 206:
            guard let contentRange, let first = contentRange.first else {
                throw HubError.badResume(url: source, reason: "a partial answer (206) without a usable Content-Range")
            }
            guard first == written else {
                throw HubError.badResume(url: source, reason: "asked for bytes from \(written), the server sent bytes from \(first)")
            }
            total = contentRange.total ?? contentRange.last.map { $0 + 1 }
        case 200:
            if written > 0 {
                // The server ignored the Range header and sends the whole file.
                guard ftruncate(fd, 0) == 0 else {
                    throw HubError.fileSystem("cannot truncate \(partialPath): \(String(cString: strerror(errno)))")
                }
                events(.restarted(reason: "the server does not support resuming; downloading from the start"))
                written = 0
                resumedFrom = 0
                hasher = SHA256()
            }
            total = response.headers.first(name: "Content-Length").flatMap { Int($0) }
        case 416 where written > 0:
            return .rangeNotSatisfiable(remoteSize: contentRange?.total)
        default:
            throw HubError.httpStatus(code: Int(response.status.code), url: source)
        }

        let started = ContinuousClock.now
        func reportProgress() {
            let elapsed = (ContinuousClock.now - started) / .seconds(1)
            events(.progress(DownloadProgress(received: written, total: total, resumedFrom: resumedFrom, elapsed: elapsed)))
        }
        reportProgress()
        do {
            for try await chunk in response.body {
                let failure: String? = chunk.withUnsafeReadableBytes { bytes in
                    hasher.update(bufferPointer: bytes)
                    return writeAll(bytes, at: written)
                }
                if let failure {
                    throw HubError.fileSystem("writing \(partialPath): \(failure)")
                }
                written += chunk.readableBytes
                if let total, written > total {
                    throw HubError.badResume(url: source, reason: "the server sent more than the \(total) bytes it announced")
                }
                reportProgress()
            }
        } catch let error as HubError {
            throw error
        } catch {
            throw incomplete(received: written, expected: total, error)
        }
        if let total, written != total {
            throw HubError.transferIncomplete(
                url: source, received: written, expected: total, reason: "the connection closed early", partialPath: partialPath)
        }
        return .complete(hasher)
    }

    private func incomplete(received: Int, expected: Int?, _ error: any Error) -> HubError {
        let clientError = error as? HTTPClientError
        let reason = if clientError == .readTimeout || clientError == .connectTimeout {
            "no data within the idle timeout"
        } else if clientError == .remoteConnectionClosed {
            "the connection closed early"
        } else if clientError == .cancelled || error is CancellationError {
            "cancelled"
        } else {
            "\(error)"
        }
        return .transferIncomplete(url: url.absoluteString, received: received, expected: expected, reason: reason, partialPath: partialPath)
    }

    /// Writes all of `bytes` at `offset`; returns the system's error message on failure.
    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> String? {
        guard let base = bytes.baseAddress else { return nil }
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, base + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            done += n
        }
        return nil
    }
}

/// A `Content-Range` header: `bytes FIRST-LAST/TOTAL`, `bytes FIRST-LAST/*` or `bytes */TOTAL`.
struct ContentRange: Equatable {
    var first: Int?
    var last: Int?
    var total: Int?

    init?(_ header: String) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard trimmed.lowercased().hasPrefix("bytes ") else { return nil }
        let parts = trimmed.dropFirst("bytes ".count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[1] != "*" {
            guard let total = Int(parts[1]), total >= 0 else { return nil }
            self.total = total
        }
        if parts[0] != "*" {
            let bounds = parts[0].split(separator: "-", omittingEmptySubsequences: false)
            guard bounds.count == 2, let first = Int(bounds[0]), let last = Int(bounds[1]), first >= 0, last >= first else {
                return nil
            }
            self.first = first
            self.last = last
        }
    }
}
