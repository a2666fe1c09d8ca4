import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// One HTTP GET that appends the response body to a partial file, asking for the bytes after
/// those already present. URLSession follows redirects (Hugging Face `resolve` URLs redirect to
/// a CDN) and keeps the Range header on the way.
final class HTTPRangeTransfer: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    enum Outcome {
        /// The body was received whole; the hasher has seen every byte of the file.
        case complete(SHA256)
        /// 416: the server cannot send bytes from the partial file's size on; carries the
        /// remote size when the server gave it.
        case rangeNotSatisfiable(remoteSize: Int?)
    }

    private let url: URL
    private let fd: Int32
    private let partialPath: String
    private let events: @Sendable (PullEvent) -> Void

    // The state below is set before the task starts, then touched only by delegate callbacks,
    // which URLSession runs one at a time on its serial delegate queue.
    private var written: Int
    private var resumedFrom: Int
    private var total: Int?
    private var hasher: SHA256
    private var startTime = DispatchTime.now()
    private var failure: HubError?
    private var outcome: Outcome?
    private var continuation: CheckedContinuation<Outcome, Error>?
    /// Shared with the cancellation handler, which may run on any thread, before or after the task starts.
    private let cancellation = LockedState(Cancellation())

    private struct Cancellation {
        var cancelled = false
        var task: URLSessionDataTask?
    }

    init(
        url: URL, fd: Int32, partialPath: String, startOffset: Int, hasher: SHA256,
        events: @escaping @Sendable (PullEvent) -> Void
    ) {
        self.url = url
        self.fd = fd
        self.partialPath = partialPath
        self.written = startOffset
        self.resumedFrom = startOffset
        self.hasher = hasher
        self.events = events
    }

    func run(idleTimeout: Double) async throws -> Outcome {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = idleTimeout
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: self, delegateQueue: nil)
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: idleTimeout)
        if written > 0 {
            request.setValue("bytes=\(written)-", forHTTPHeaderField: "Range")
        }
        // A compressed body would make byte offsets meaningless for resuming.
        request.setValue("identity", forHTTPHeaderField: "Accept-Encoding")
        request.setValue("forge", forHTTPHeaderField: "User-Agent")
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                self.continuation = continuation
                let started: Bool = cancellation.withLock {
                    guard !$0.cancelled else { return false }
                    $0.task = session.dataTask(with: request)
                    $0.task?.resume()
                    return true
                }
                if !started {
                    self.continuation = nil
                    session.invalidateAndCancel()
                    continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            cancellation.withLock {
                $0.cancelled = true
                $0.task?.cancel()
            }
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        let source = url.absoluteString
        guard let http = response as? HTTPURLResponse else {
            failure = .badResume(url: source, reason: "the answer is not HTTP")
            return completionHandler(.cancel)
        }
        let contentRange = http.value(forHTTPHeaderField: "Content-Range").flatMap(ContentRange.init)
        switch http.statusCode {
        case 206:
            guard let contentRange, let first = contentRange.first else {
                failure = .badResume(url: source, reason: "a partial answer (206) without a usable Content-Range")
                return completionHandler(.cancel)
            }
            guard first == written else {
                failure = .badResume(url: source, reason: "asked for bytes from \(written), the server sent bytes from \(first)")
                return completionHandler(.cancel)
            }
            total = contentRange.total ?? contentRange.last.map { $0 + 1 }
        case 200:
            if written > 0 {
                // The server ignored the Range header and sends the whole file.
                guard ftruncate(fd, 0) == 0 else {
                    failure = .fileSystem("cannot truncate \(partialPath): \(String(cString: strerror(errno)))")
                    return completionHandler(.cancel)
                }
                events(.restarted(reason: "the server does not support resuming; downloading from the start"))
                written = 0
                resumedFrom = 0
                hasher = SHA256()
            }
            total = http.expectedContentLength >= 0 ? Int(http.expectedContentLength) : nil
        case 416 where written > 0:
            outcome = .rangeNotSatisfiable(remoteSize: contentRange?.total)
            return completionHandler(.cancel)
        default:
            failure = .httpStatus(code: http.statusCode, url: source)
            return completionHandler(.cancel)
        }
        startTime = .now()
        reportProgress()
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard failure == nil else { return }
        let error: String? = data.withUnsafeBytes { bytes in
            hasher.update(bytes)
            return writeAll(bytes, at: written)
        }
        if let error {
            failure = .fileSystem("writing \(partialPath): \(error)")
            return dataTask.cancel()
        }
        written += data.count
        if let total, written > total {
            failure = .badResume(url: url.absoluteString, reason: "the server sent more than the \(total) bytes it announced")
            return dataTask.cancel()
        }
        reportProgress()
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        let result: Result<Outcome, Error>
        if let failure {
            result = .failure(failure)
        } else if let outcome {
            result = .success(outcome)
        } else if let error {
            result = .failure(incomplete(reason: error.localizedDescription))
        } else if let total, written != total {
            result = .failure(incomplete(reason: "the connection closed early"))
        } else {
            result = .success(.complete(hasher))
        }
        continuation?.resume(with: result)
        continuation = nil
        session.finishTasksAndInvalidate()
    }

    private func incomplete(reason: String) -> HubError {
        .transferIncomplete(url: url.absoluteString, received: written, expected: total, reason: reason, partialPath: partialPath)
    }

    private func reportProgress() {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - startTime.uptimeNanoseconds) / 1e9
        events(.progress(DownloadProgress(received: written, total: total, resumedFrom: resumedFrom, elapsed: elapsed)))
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

/// A value behind a lock.
final class LockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
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
