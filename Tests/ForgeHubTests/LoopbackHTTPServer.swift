import Foundation
import Hummingbird
import Logging

/// A Hummingbird application on 127.0.0.1 for download tests: serves byte arrays by path with
/// Range support, redirects, and misbehaves on demand.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// What the server does with a request for a file; one fault is used per file request, in order,
    /// then requests are served normally.
    enum Fault: Sendable {
        /// Announce the full length, send this many body bytes, then close the connection once the
        /// client has stored them in `partialFile`. (AsyncHTTPClient drops bytes it has read but
        /// not yet handed over when a connection fails, so closing at once would cut the file at
        /// a size that depends on timing.)
        case closeAfter(Int, partialFile: String)
        /// Answer 200 with the whole file even when a Range was asked.
        case ignoreRange
        /// Answer with this status and a short text body.
        case status(Int)
        /// Answer 206 with bytes from the start of the file whatever Range was asked.
        case wrongRangeStart
        /// Send this many body bytes, then nothing until the test's body returns.
        case stallAfter(Int)
    }

    struct Request: Sendable, Equatable {
        let path: String
        let range: String?
        let acceptEncoding: String?
    }

    private let files: [String: [UInt8]]
    private let redirects: [String: String]
    private let lock = NSLock()
    // Guarded by `lock`.
    private var faults: [Fault]
    private var log: [Request] = []
    private var port = 0
    private var released = false
    private var stalled: [CheckedContinuation<Void, Never>] = []

    init(files: [String: [UInt8]], redirects: [String: String] = [:], faults: [Fault] = []) {
        self.files = files
        self.redirects = redirects
        self.faults = faults
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(lock.withLock { port })\(path)" }

    var requests: [Request] {
        lock.withLock { log }
    }

    /// Listens on a free port while `body` runs, then releases stalled responses and stops.
    func serving(_ body: () async throws -> Void) async throws {
        let router = Router()
        router.get("**") { request, _ in self.respond(to: request) }
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { portContinuation.yield($0.localAddress?.port ?? 0) },
            logger: Logger(label: "loopback-http-server") { _ in SwiftLogNoOpLogHandler() }
        )
        let running = Task {
            defer { portContinuation.finish() }
            try await application.runService(gracefulShutdownSignals: [])
        }
        let outcome: Result<Void, any Error>
        do {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                try await running.value
                throw ServerError("the server stopped before listening")
            }
            lock.withLock { self.port = port }
            try await body()
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        releaseStalledResponses()
        running.cancel()
        _ = await running.result
        try outcome.get()
    }

    private func respond(to request: Hummingbird.Request) -> Response {
        let path = request.uri.path
        let range = request.headers[.range]
        lock.withLock { log.append(Request(path: path, range: range, acceptEncoding: request.headers[.acceptEncoding])) }

        if let location = redirects[path] {
            return Response(status: .found, headers: [.location: location])
        }
        guard let file = files[path] else {
            return Response(status: .notFound, body: ResponseBody(byteBuffer: ByteBuffer(string: "not found")))
        }
        let fault: Fault? = lock.withLock { faults.isEmpty ? nil : faults.removeFirst() }
        let requestedStart = range.flatMap(Self.rangeStart)
        switch fault {
        case .status(let code):
            return Response(status: .init(code: code), body: ResponseBody(byteBuffer: ByteBuffer(string: "fault")))
        case .ignoreRange:
            return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file)))
        case .wrongRangeStart:
            return Response(
                status: .partialContent, headers: [.contentRange: "bytes 0-\(file.count - 1)/\(file.count)"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: file)))
        case .closeAfter(let count, let partialFile):
            let start = requestedStart ?? 0
            let body = file[min(start, file.count)...]
            return partial(file, from: start, body: ResponseBody(contentLength: body.count) { writer in
                try await writer.write(ByteBuffer(bytes: body.prefix(count)))
                try await Self.waitUntil(partialFile, holds: start + count)
                throw ServerError("closing the connection early")
            })
        case .stallAfter(let count):
            return Response(status: .ok, body: ResponseBody(contentLength: file.count) { writer in
                try await writer.write(ByteBuffer(bytes: file.prefix(count)))
                await self.stall()
                throw ServerError("stalled until the test ended")
            })
        case nil:
            guard let start = requestedStart else {
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file)))
            }
            guard start < file.count else {
                return Response(status: .rangeNotSatisfiable, headers: [.contentRange: "bytes */\(file.count)"])
            }
            return partial(file, from: start, body: ResponseBody(byteBuffer: ByteBuffer(bytes: file[start...])))
        }
    }

    /// 206 with a Content-Range when a range was asked from byte `start` > 0, else 200.
    private func partial(_ file: [UInt8], from start: Int, body: ResponseBody) -> Response {
        guard start > 0 else { return Response(status: .ok, body: body) }
        return Response(status: .partialContent, headers: [.contentRange: "bytes \(start)-\(file.count - 1)/\(file.count)"], body: body)
    }

    /// `bytes=N-` → N; other forms are not used by the client under test.
    private static func rangeStart(_ header: String) -> Int? {
        guard header.hasPrefix("bytes="), header.hasSuffix("-") else { return nil }
        return Int(header.dropFirst("bytes=".count).dropLast())
    }

    /// Polls the file's size, for ten seconds at most.
    private static func waitUntil(_ path: String, holds size: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let stored = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            if stored ?? 0 >= size { return }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    private func stall() async {
        await withCheckedContinuation { continuation in
            let resumeNow = lock.withLock {
                if !released { stalled.append(continuation) }
                return released
            }
            if resumeNow { continuation.resume() }
        }
    }

    private func releaseStalledResponses() {
        let waiting = lock.withLock {
            released = true
            defer { stalled.removeAll() }
            return stalled
        }
        for continuation in waiting { continuation.resume() }
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
