import Crypto
import ForgeGGUF
import Foundation
import Testing
import ForgeHub

/// A small valid GGUF (about 200 KB, so bodies arrive in many chunks), with deterministic contents.
private let modelBytes: [UInt8] = {
    var writer = GGUFWriter()
    writer.set("general.architecture", .string("llama"))
    writer.set("general.name", .string("pull-test"))
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    let floats = (0..<50_000).map { _ -> Float in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 1000) / 1000
    }
    // The shape is fixed and the data sized to match, so this cannot fail.
    try? writer.addTensor(name: "token_embd.weight", shape: [500, 100], floats: floats)
    return writer.serialized()
}()

private let modelSHA256 = sha256(modelBytes)

/// Lowercase hex, as `sha256sum` prints it and `PullResult` reports it.
private func sha256(_ bytes: [UInt8]) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

/// A fresh cache directory, removed when the test ends.
private final class TemporaryCache {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/forge-hub-test-XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw LoopbackHTTPServer.ServerError("mkdtemp failed")
        }
        path = String(cString: created)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    /// Where a pull writes `name` until it is complete.
    func partial(_ name: String) -> String { path + "/" + name + ModelDownloader.partialSuffix }

    func bytes(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path + "/" + name).map { Array($0) }
    }
}

/// Collects the events a pull reports.
private final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [PullEvent] = []

    func record(_ event: PullEvent) { lock.withLock { events.append(event) } }
    var all: [PullEvent] { lock.withLock { events } }
    var restarts: [String] {
        all.compactMap { if case .restarted(let reason) = $0 { reason } else { nil } }
    }
}

/// No test here waits for this timeout. It is long because the server and the client run on the
/// cooperative pool, which the rest of the suite may keep busy for seconds.
private func downloader(_ cache: TemporaryCache) -> ModelDownloader {
    ModelDownloader(directory: cache.path, idleTimeout: 30)
}

/// Runs `body` and returns the HubError it throws (nil, and a recorded failure, if it throws none).
private func hubError(_ body: () async throws -> Void) async -> HubError? {
    do {
        try await body()
        Issue.record("expected an error")
        return nil
    } catch let error as HubError {
        return error
    } catch {
        Issue.record("expected a HubError, got \(error)")
        return nil
    }
}

@Suite(.timeLimit(.minutes(1)))
struct PullTests {
    @Test func fullDownloadVerifiesAndStoresTheFile() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/models/tiny.gguf": modelBytes])
        try await server.serving {
            let events = EventLog()

            let result = try await downloader(cache).pull(server.url("/models/tiny.gguf"), sha256: modelSHA256.uppercased(), events: events.record)

            #expect(result == PullResult(path: cache.path + "/tiny.gguf", sha256: modelSHA256, byteCount: modelBytes.count, alreadyPresent: false))
            #expect(cache.contents == ["tiny.gguf"])
            #expect(cache.bytes("tiny.gguf") == modelBytes)
            #expect(server.requests == [.init(path: "/models/tiny.gguf", range: nil, acceptEncoding: "identity")])
            let last = events.all.compactMap { if case .progress(let p) = $0 { p } else { nil } }.last
            #expect(last?.received == modelBytes.count)
            #expect(last?.total == modelBytes.count)
            #expect(events.all.last == .finished(path: result.path, sha256: modelSHA256))
        }
    }

    @Test func secondPullFindsTheFileAndDownloadsNothing() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes])
        try await server.serving {
            _ = try await downloader(cache).pull(server.url("/tiny.gguf"))
            let again = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256)

            #expect(again.alreadyPresent)
            #expect(again.sha256 == modelSHA256)
            #expect(server.requests.count == 1)
        }
    }

    @Test func existingFileWithAnotherChecksumIsLeftAlone() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes])
        try await server.serving {
            _ = try await downloader(cache).pull(server.url("/tiny.gguf"))
            let other = String(repeating: "0", count: 64)

            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: other) }

            #expect(error == .existingFileMismatch(path: cache.path + "/tiny.gguf", expected: other, actual: modelSHA256))
            #expect(cache.bytes("tiny.gguf") == modelBytes)
        }
    }

    @Test func interruptedDownloadResumesWithARange() async throws {
        let cache = try TemporaryCache()
        let cut = 70_001
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes], faults: [.closeAfter(cut, partialFile: cache.partial("tiny.gguf"))])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256) }
            guard case .transferIncomplete(_, let received, let expected, _, let partialPath) = error else {
                Issue.record("expected an incomplete transfer, got \(String(describing: error))")
                return
            }
            #expect(received == cut)
            #expect(expected == modelBytes.count)
            #expect(partialPath == cache.path + "/tiny.gguf.partial")
            #expect(cache.contents == ["tiny.gguf.partial"])
            #expect(cache.bytes("tiny.gguf.partial") == Array(modelBytes.prefix(cut)))

            let events = EventLog()
            let result = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256, events: events.record)

            #expect(server.requests.map(\.range) == [nil, "bytes=\(cut)-"])
            #expect(cache.contents == ["tiny.gguf"])
            #expect(cache.bytes("tiny.gguf") == modelBytes)
            #expect(result.byteCount == modelBytes.count)
            #expect(events.all.first == .started(url: server.url("/tiny.gguf"), destination: result.path, resumingFrom: cut))
            #expect(events.restarts.isEmpty)
        }
    }

    @Test func corruptedPartialFileFailsTheChecksumAfterResuming() async throws {
        let cache = try TemporaryCache()
        var corrupted = Array(modelBytes.prefix(100_000))
        corrupted[99_000] ^= 0xFF
        _ = FileManager.default.createFile(atPath: cache.path + "/tiny.gguf.partial", contents: Data(corrupted))
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256) }

            guard case .checksumMismatch(_, modelSHA256, let actual) = error else {
                Issue.record("expected a checksum mismatch, got \(String(describing: error))")
                return
            }
            #expect(actual == sha256(corrupted + modelBytes[100_000...]))
            #expect(server.requests.map(\.range) == ["bytes=100000-"])
            #expect(cache.contents.isEmpty)
        }
    }

    @Test func resumeFollowsARedirectAndKeepsTheRange() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(
            files: ["/cdn/blob": modelBytes],
            redirects: ["/org/model/resolve/main/tiny.gguf": "/cdn/blob"],
            faults: [.closeAfter(12_345, partialFile: cache.partial("tiny.gguf"))]
        )
        try await server.serving {
            let url = server.url("/org/model/resolve/main/tiny.gguf")

            _ = await hubError { _ = try await downloader(cache).pull(url) }
            let result = try await downloader(cache).pull(url, sha256: modelSHA256)

            #expect(result.path == cache.path + "/tiny.gguf")
            #expect(cache.bytes("tiny.gguf") == modelBytes)
            #expect(server.requests.map(\.path) == ["/org/model/resolve/main/tiny.gguf", "/cdn/blob", "/org/model/resolve/main/tiny.gguf", "/cdn/blob"])
            #expect(server.requests.last?.range == "bytes=12345-")
        }
    }

    @Test func serverWithoutRangeSupportRestartsFromZero() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes], faults: [.closeAfter(40_000, partialFile: cache.partial("tiny.gguf")), .ignoreRange])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf")) }
            guard case .transferIncomplete(_, 40_000, _, _, _) = error else {
                Issue.record("expected an incomplete transfer after 40000 bytes, got \(String(describing: error))")
                return
            }
            let events = EventLog()
            _ = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256, events: events.record)

            #expect(server.requests.map(\.range) == [nil, "bytes=40000-"])
            #expect(events.restarts.count == 1)
            #expect(cache.contents == ["tiny.gguf"])
            #expect(cache.bytes("tiny.gguf") == modelBytes)
        }
    }

    @Test func completePartialAnsweredWith416IsVerifiedAndStored() async throws {
        let cache = try TemporaryCache()
        _ = FileManager.default.createFile(atPath: cache.path + "/tiny.gguf.partial", contents: Data(modelBytes))
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes])
        try await server.serving {
            let result = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256)

            #expect(server.requests.map(\.range) == ["bytes=\(modelBytes.count)-"])
            #expect(result.sha256 == modelSHA256)
            #expect(cache.contents == ["tiny.gguf"])
        }
    }

    @Test func partialLongerThanTheRemoteFileStartsOver() async throws {
        let cache = try TemporaryCache()
        _ = FileManager.default.createFile(atPath: cache.path + "/tiny.gguf.partial", contents: Data(repeating: 7, count: modelBytes.count + 100))
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes])
        try await server.serving {
            let events = EventLog()

            _ = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: modelSHA256, events: events.record)

            #expect(server.requests.map(\.range) == ["bytes=\(modelBytes.count + 100)-", nil])
            #expect(events.restarts.count == 1)
            #expect(cache.bytes("tiny.gguf") == modelBytes)
        }
    }

    @Test func rangeAnsweredFromTheWrongOffsetIsRejected() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes], faults: [.closeAfter(1000, partialFile: cache.partial("tiny.gguf")), .wrongRangeStart])
        try await server.serving {
            _ = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf")) }

            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf")) }

            guard case .badResume(_, let reason) = error else {
                Issue.record("expected a bad resume, got \(String(describing: error))")
                return
            }
            #expect(reason.contains("from 1000"))
            #expect(cache.bytes("tiny.gguf.partial") == Array(modelBytes.prefix(1000)))
        }
    }

    @Test func wrongChecksumRemovesTheDownload() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes])
        try await server.serving {
            let wrong = String(modelSHA256.reversed())

            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf"), sha256: wrong) }

            #expect(error == .checksumMismatch(name: "tiny.gguf", expected: wrong, actual: modelSHA256))
            #expect(error?.description.contains("removed") == true)
            #expect(cache.contents.isEmpty)
        }
    }

    @Test func notFoundLeavesNoFile() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: [:])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/missing.gguf")) }

            #expect(error == .httpStatus(code: 404, url: server.url("/missing.gguf")))
            #expect(error?.description.contains("HTTP 404") == true)
            #expect(cache.contents.isEmpty)
        }
    }

    @Test func serverErrorStatusIsReported() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes], faults: [.status(500)])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf")) }

            #expect(error == .httpStatus(code: 500, url: server.url("/tiny.gguf")))
            #expect(cache.contents.isEmpty)
        }
    }

    @Test func fileThatIsNotGGUFIsRemoved() async throws {
        let cache = try TemporaryCache()
        let html = Array("<!doctype html><title>Sign in</title>".utf8) + [UInt8](repeating: 32, count: 5000)
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": html])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf")) }

            guard case .notGGUF(let name, let reason) = error else {
                Issue.record("expected notGGUF, got \(String(describing: error))")
                return
            }
            #expect(name == "tiny.gguf")
            #expect(reason.contains("magic"))
            #expect(cache.contents.isEmpty)
        }
    }

    @Test func truncatedGGUFIsRemoved() async throws {
        let cache = try TemporaryCache()
        let truncated = Array(modelBytes.prefix(modelBytes.count - 4096))
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": truncated])
        try await server.serving {
            let error = await hubError { _ = try await downloader(cache).pull(server.url("/tiny.gguf")) }

            guard case .notGGUF(_, let reason) = error else {
                Issue.record("expected notGGUF, got \(String(describing: error))")
                return
            }
            #expect(reason.contains("token_embd.weight"))
            #expect(cache.contents.isEmpty)
        }
    }

    @Test func stalledServerTimesOutAndKeepsThePartialFile() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes], faults: [.stallAfter(3000)])
        try await server.serving {
            let quick = ModelDownloader(directory: cache.path, idleTimeout: 1)

            let error = await hubError { _ = try await quick.pull(server.url("/tiny.gguf")) }

            guard case .transferIncomplete(_, 3000, _, _, _) = error else {
                Issue.record("expected an incomplete transfer after 3000 bytes, got \(String(describing: error))")
                return
            }
            #expect(cache.contents == ["tiny.gguf.partial"])
        }
    }

    @Test func cancellingThePullStopsTheTransferAndKeepsThePartialFile() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/tiny.gguf": modelBytes], faults: [.stallAfter(3000)])
        try await server.serving {
            let events = EventLog()
            // A long idle timeout: only the cancellation can end this transfer within the test's time limit.
            let patient = ModelDownloader(directory: cache.path, idleTimeout: 300)
            let pull = Task { try await patient.pull(server.url("/tiny.gguf"), events: events.record) }
            while !events.all.contains(where: { if case .progress(let p) = $0 { p.received == 3000 } else { false } }) {
                try await Task.sleep(nanoseconds: 10_000_000)
            }

            pull.cancel()
            let outcome = await pull.result

            guard case .failure(let error as HubError) = outcome, case .transferIncomplete(_, 3000, _, _, _) = error else {
                Issue.record("expected an incomplete transfer after 3000 bytes, got \(outcome)")
                return
            }
            #expect(cache.contents == ["tiny.gguf.partial"])
        }
    }

    @Test func argumentsAreCheckedBeforeAnyRequest() async throws {
        let cache = try TemporaryCache()
        let pull = downloader(cache)

        #expect(await hubError { _ = try await pull.pull("ftp://example.org/a.gguf") } == .invalidURL("ftp://example.org/a.gguf", reason: "only http and https URLs can be pulled"))
        #expect(await hubError { _ = try await pull.pull("http://127.0.0.1:9/a.gguf", sha256: "abc") } == .invalidChecksum("abc"))
        let derived = await hubError { _ = try await pull.pull("http://127.0.0.1:9/download?id=3") }
        #expect(derived?.description.contains("--output") == true)
        let hidden = await hubError { _ = try await pull.pull("http://127.0.0.1:9/a.gguf", outputName: "../a.gguf") }
        guard case .invalidOutputName = hidden else {
            Issue.record("expected an invalid output name, got \(String(describing: hidden))")
            return
        }
        #expect(cache.contents.isEmpty)
    }

    @Test func outputNameOverridesTheURLName() async throws {
        let cache = try TemporaryCache()
        let server = LoopbackHTTPServer(files: ["/download": modelBytes])
        try await server.serving {
            let result = try await downloader(cache).pull(server.url("/download"), outputName: "mine.gguf")

            #expect(result.path == cache.path + "/mine.gguf")
            #expect(cache.contents == ["mine.gguf"])
        }
    }
}
