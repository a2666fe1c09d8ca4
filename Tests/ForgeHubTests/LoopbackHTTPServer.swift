import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A small HTTP/1.1 server on 127.0.0.1 for download tests: serves byte arrays by path with
/// Range support, redirects, and misbehaves on demand. One connection at a time, each closed
/// after its response; every socket has a timeout so a confused client cannot hang a test.
final class LoopbackHTTPServer: @unchecked Sendable {
    /// What the server does with a request for a file; one fault is used per file request, in order,
    /// then requests are served normally.
    enum Fault: Sendable {
        /// Announce the full length, send this many body bytes, then close the connection.
        case closeAfter(Int)
        /// Answer 200 with the whole file even when a Range was asked.
        case ignoreRange
        /// Answer with this status and a short text body.
        case status(Int)
        /// Answer 206 with bytes from the start of the file whatever Range was asked.
        case wrongRangeStart
        /// Send this many body bytes, then nothing, keeping the connection open until the client leaves.
        case stallAfter(Int)
    }

    struct Request: Sendable, Equatable {
        let path: String
        let range: String?
        let acceptEncoding: String?
    }

    let port: UInt16
    private let listener: Int32
    private let files: [String: [UInt8]]
    private let redirects: [String: String]
    private let lock = NSLock()
    private let stopped = DispatchSemaphore(value: 0)
    // Guarded by `lock`.
    private var faults: [Fault]
    private var log: [Request] = []
    private var running = true

    private static let socketTimeoutSeconds = 5

    init(files: [String: [UInt8]], redirects: [String: String] = [:], faults: [Fault] = []) throws {
        self.files = files
        self.redirects = redirects
        self.faults = faults
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ServerError("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            close(listener)
            throw ServerError("bind/listen on 127.0.0.1: \(String(cString: strerror(errno)))")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        self.listener = listener
        port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in
            acceptLoop()
            stopped.signal()
        }
        thread.start()
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    var requests: [Request] {
        lock.withLock { log }
    }

    /// Stops accepting, waits for the server thread and closes the listening socket.
    func stop() {
        lock.withLock { running = false }
        stopped.wait()
        close(listener)
    }

    private var isRunning: Bool { lock.withLock { running } }

    private func acceptLoop() {
        while isRunning {
            var pending = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&pending, 1, 50) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            var timeout = timeval(tv_sec: Self.socketTimeoutSeconds, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        guard let head = readHead(connection) else { return }
        let lines = head.components(separatedBy: "\r\n")
        let requestLine = lines[0].split(separator: " ")
        guard requestLine.count == 3, requestLine[0] == "GET" else {
            return respond(connection, status: 400, headers: [:], body: Array("bad request".utf8))
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let path = String(requestLine[1])
        lock.withLock { log.append(Request(path: path, range: headers["range"], acceptEncoding: headers["accept-encoding"])) }

        if let location = redirects[path] {
            return respond(connection, status: 302, headers: ["Location": location], body: [])
        }
        guard let file = files[path] else {
            return respond(connection, status: 404, headers: [:], body: Array("not found".utf8))
        }
        let fault: Fault? = lock.withLock { faults.isEmpty ? nil : faults.removeFirst() }
        let requestedStart = headers["range"].flatMap(Self.rangeStart)
        switch fault {
        case .status(let code):
            respond(connection, status: code, headers: [:], body: Array("fault".utf8))
        case .ignoreRange:
            respond(connection, status: 200, headers: [:], body: file)
        case .wrongRangeStart:
            respond(connection, status: 206, headers: ["Content-Range": "bytes 0-\(file.count - 1)/\(file.count)"], body: file)
        case .closeAfter(let count):
            let start = requestedStart ?? 0
            let body = Array(file[min(start, file.count)...])
            sendHead(connection, status: requestedStart == nil ? 200 : 206, headers: rangeHeaders(start: start, size: file.count, body: body))
            sendAll(connection, Array(body.prefix(count)))
        case .stallAfter(let count):
            sendHead(connection, status: 200, headers: ["Content-Length": "\(file.count)"])
            sendAll(connection, Array(file.prefix(count)))
            waitForClientToLeave(connection)
        case nil:
            guard let start = requestedStart else {
                return respond(connection, status: 200, headers: [:], body: file)
            }
            guard start < file.count else {
                return respond(connection, status: 416, headers: ["Content-Range": "bytes */\(file.count)"], body: [])
            }
            let body = Array(file[start...])
            respond(connection, status: 206, headers: rangeHeaders(start: start, size: file.count, body: body), body: body)
        }
    }

    private func rangeHeaders(start: Int, size: Int, body: [UInt8]) -> [String: String] {
        var headers = ["Content-Length": "\(body.count)"]
        if start > 0 { headers["Content-Range"] = "bytes \(start)-\(size - 1)/\(size)" }
        return headers
    }

    /// `bytes=N-` → N; other forms are not used by the client under test.
    private static func rangeStart(_ header: String) -> Int? {
        guard header.hasPrefix("bytes="), header.hasSuffix("-") else { return nil }
        return Int(header.dropFirst("bytes=".count).dropLast())
    }

    private func readHead(_ connection: Int32) -> String? {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let terminator = Array("\r\n\r\n".utf8)
        while received.count < 64 * 1024 {
            let n = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            received.append(contentsOf: chunk[0..<n])
            if let end = received.firstRange(of: terminator) {
                return String(decoding: received[..<end.lowerBound], as: UTF8.self)
            }
        }
        return nil
    }

    private func respond(_ connection: Int32, status: Int, headers: [String: String], body: [UInt8]) {
        var all = headers
        all["Content-Length"] = "\(body.count)"
        sendHead(connection, status: status, headers: all)
        sendAll(connection, body)
    }

    private func sendHead(_ connection: Int32, status: Int, headers: [String: String]) {
        var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\nConnection: close\r\n"
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        sendAll(connection, Array((head + "\r\n").utf8))
    }

    private func sendAll(_ connection: Int32, _ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(connection, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Blocks until the client closes the connection, the socket timeout passes or the server stops.
    private func waitForClientToLeave(_ connection: Int32) {
        var waited = 0
        var scratch = [UInt8](repeating: 0, count: 256)
        while isRunning, waited < Self.socketTimeoutSeconds * 1000 {
            var pending = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            if poll(&pending, 1, 50) > 0 {
                let n = scratch.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
            }
            waited += 50
        }
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 206: "Partial Content"
        case 302: "Found"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 416: "Range Not Satisfiable"
        case 500: "Internal Server Error"
        default: "Status"
        }
    }

    struct ServerError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
