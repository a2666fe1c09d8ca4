import Foundation
import ForgeGeneration
import ForgeJinja
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Testing
@testable import ForgeServer

/// What balancers and autoscalers read (readiness, liveness, the metrics), and the drain.
@Suite struct DrainTests {
    static let logger = Logger(label: "forge.test")

    @Test func healthIsReadinessAndLivezIsLiveness() async throws {
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        var configuration = tinyConfiguration { $0.metricsEnabled = true }
        configuration.beforeLoading = {
            for await _ in gate { break }
        }
        let state = ServerState(configuration: configuration)
        try await makeApplication(state: state, logger: Self.logger).test(.router) { client in
            try expectError(try await client.fetch("/health"), status: .serviceUnavailable, type: "unavailable_error")
            #expect(try await client.fetch("/livez").status == .ok, "alive while loading")
            #expect(try await client.fetch("/health?live").status == .ok)
            open.yield()
            open.finish()
            try await client.waitUntilReady()

            state.beginDraining()
            let health = try await client.fetch("/health")
            try expectError(health, status: .serviceUnavailable, type: "unavailable_error")
            #expect(health.headers[.retryAfter] == "1")
            let chat = try await client.postJSON("/v1/chat/completions", EndpointTests.chatBody)
            try expectError(chat, status: .serviceUnavailable, type: "unavailable_error")
            #expect(chat.headers[.retryAfter] == "1")
            #expect(try await client.fetch("/livez").status == .ok, "alive while draining")
            #expect(try await client.fetch("/health?live").status == .ok)
            let metrics = try await client.fetch("/metrics")
            #expect(metrics.status == .ok, "metrics are served while draining")
            #expect(PrometheusValues(metrics.text)["forge_draining"] == 1)
        }
    }

    @Test func livenessNeedsNoKey() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.apiKeys = ["secret"] })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            #expect(try await client.fetch("/livez").status == .ok)
            try expectError(try await client.fetch("/v1/models"), status: .unauthorized, type: "authentication_error")
        }
    }

    /// Busy slots, queue, throughput and prompt-cache hits, under llama-server's names where it has one.
    @Test func metricsForBalancersAndAutoscalers() async throws {
        let gate = Permits(1_000_000)
        var configuration = tinyConfiguration { $0.parallel = 1; $0.metricsEnabled = true }
        configuration.beforeEachStep = { gate.wait() }
        let app = try buildApplication(configuration: configuration)
        try await app.test(.router) { client in
            defer { gate.grant(1_000_000) }  // a failed expectation must not leave the engine held at shutdown
            try await client.waitUntilReady()
            func completion(_ prompt: String, maxTokens: Int, stream: Bool = false) -> JinjaValue {
                ["prompt": .string(prompt), "max_tokens": .int(maxTokens), "temperature": 0, "logit_bias": ["257": -100], "stream": .bool(stream)]
            }
            // BOS and 8 bytes; the second prompt starts with the same 9 tokens.
            _ = try await client.postJSON("/v1/completions", completion("abcdefgh", maxTokens: 2))
            let second = try await client.postJSON("/v1/completions", completion("abcdefgh ijk", maxTokens: 2)).json()
            let cached = try #require(second["usage"]?["prompt_tokens_details"]?["cached_tokens"]?.intValue)
            #expect(cached >= 9)
            let values = try await BatchingTests.metrics(client)
            #expect(values["forge_prompt_cache_hits_total"] == 1)
            #expect(values["forge_prompt_cached_tokens_total"] == Double(cached))
            #expect(values["llamacpp:prompt_tokens_total"] == Double(9 + 13 - cached))
            #expect(values["llamacpp:tokens_predicted_total"] == 4)
            #expect((values["llamacpp:predicted_tokens_seconds"] ?? 0) > 0)
            #expect(values["llamacpp:requests_processing"] == 0 && values["llamacpp:requests_deferred"] == 0)
            #expect(values["forge_draining"] == 0)

            gate.revokeAll()
            let long = completion("abc", maxTokens: 3000, stream: true)
            let running = Task { try await client.postJSON("/v1/completions", long) }
            _ = try await BatchingTests.waitFor(client, "the first request to run") { $0["llamacpp:requests_processing"] == 1 }
            let waiting = Task { try await client.postJSON("/v1/completions", long) }
            let both = try await BatchingTests.waitFor(client, "the second request to wait") { $0["llamacpp:requests_deferred"] == 1 }
            #expect(both["llamacpp:requests_processing"] == 1)
            #expect(both["forge_slots_busy"] == 1 && both["forge_queue_length"] == 1)
            running.cancel()
            waiting.cancel()
            gate.grant(1_000_000)
            _ = try? await running.value
            _ = try? await waiting.value
        }
    }

    /// The drain as `forge serve` runs it: the application and the drain in one ServiceGroup, over
    /// real sockets, with graceful shutdown standing in for SIGTERM. The engine is held until the
    /// test has seen the 503s, so the stream is sure to be running through them.
    @Test func drainLetsRunningStreamsFinishWhileRefusingNewWork() async throws {
        let gate = Permits(0)
        let server = try await LiveServer { $0.beforeEachStep = { gate.wait() } }
        defer { gate.grant(1_000_000) }
        let established = try RawHTTPConnection(port: server.port)
        established.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await established.receive(until: "\"ok\"}").hasPrefix("HTTP/1.1 200"))

        let stream = try RawHTTPConnection(port: server.port)
        stream.send(Self.streamRequest(maxTokens: 40))
        try await server.waitUntil("the stream takes a slot") { $0.busySlots == 1 }
        await server.group.triggerGracefulShutdown()
        try await server.waitUntil("the drain begins") { _ in server.state.isDraining }

        // A client with a connection open sees the 503 phase, and the listener still takes new ones.
        established.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let health = await established.receive(until: "}}")
        #expect(health.hasPrefix("HTTP/1.1 503"), "\(health)")
        #expect(health.lowercased().contains("retry-after: 1\r\n"), "\(health)")
        let newcomer = try RawHTTPConnection(port: server.port)
        newcomer.send(Self.streamRequest(maxTokens: 5))
        let refused = await newcomer.receive(until: "}}")
        #expect(refused.hasPrefix("HTTP/1.1 503"), "\(refused)")
        #expect(refused.lowercased().contains("retry-after: 1\r\n"), "\(refused)")
        let live = try RawHTTPConnection(port: server.port)
        live.send("GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(await live.receive(until: "\"ok\"}").hasPrefix("HTTP/1.1 200"))

        gate.grant(1_000_000)
        let events = await stream.receive(until: "[DONE]")
        #expect(events.contains("\"finish_reason\":\"length\""))
        #expect(events.contains("\"completion_tokens\":40"), "the stream ran its full length: \(events.suffix(400))")
        try await server.waitUntilStopped()
    }

    @Test func drainTimeoutEndsTheRestCleanly() async throws {
        let server = try await LiveServer {
            $0.drainTimeout = 0.3
            $0.beforeEachStep = BatchingTests.slowSteps
        }
        let stream = try RawHTTPConnection(port: server.port)
        stream.send(Self.streamRequest(maxTokens: 3000))
        try await server.waitUntil("the stream takes a slot") { $0.busySlots == 1 }
        let shutdown = ContinuousClock.now
        await server.group.triggerGracefulShutdown()
        let events = await stream.receive(until: "[DONE]")
        #expect(ContinuousClock.now - shutdown >= .milliseconds(300), "the stream had its drain timeout")
        #expect(events.contains("\"finish_reason\":\"length\""))
        #expect(events.contains("data: [DONE]"), "the stream closed cleanly")
        let tokens = events.components(separatedBy: "\"completion_tokens\":").last.flatMap { Int($0.prefix { $0.isNumber }) } ?? 3000
        #expect(tokens > 0 && tokens < 3000, "the drain ended it")
        try await server.waitUntilStopped()
    }

    static func streamRequest(maxTokens: Int) -> String {
        let body = #"{"prompt":"abc","max_tokens":\#(maxTokens),"temperature":0,"logit_bias":{"257":-100},"stream":true,"stream_options":{"include_usage":true}}"#
        return "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }
}

/// `forge serve`'s ServiceGroup (application and drain) running in-process on a free port.
final class LiveServer: Sendable {
    let state: ServerState
    let group: ServiceGroup
    let port: Int
    private let running: Task<Void, Error>

    init(_ edit: (inout ServerConfiguration) -> Void) async throws {
        let ready = AsyncStream.makeStream(of: Int.self)
        var configuration = tinyConfiguration()
        edit(&configuration)
        configuration.onReady = { _, port in ready.continuation.yield(port) }
        let state = ServerState(configuration: configuration)
        let group = makeServiceGroup(state: state, logger: DrainTests.logger)
        self.state = state
        self.group = group
        running = Task { try await group.run() }
        let port = try await withThrowingTaskGroup(of: Int?.self) { waiting in
            waiting.addTask { await ready.stream.first { _ in true } }
            waiting.addTask { try await Task.sleep(for: .seconds(60)); return nil }
            defer { waiting.cancelAll() }
            return try await waiting.next() ?? nil
        }
        guard let port else {
            await group.triggerGracefulShutdown()
            throw TestFailure(description: "the server did not start")
        }
        self.port = port
    }

    func waitUntil(_ what: String, _ condition: (EngineMetrics) -> Bool) async throws {
        let engine = try state.loaded().engine
        for _ in 0..<3000 {
            if condition(engine.snapshot) { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure(description: "timed out waiting for \(what)")
    }

    /// The group returns once the drain and the HTTP server's own shutdown are done.
    func waitUntilStopped() async throws {
        let running = running
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await running.value; return true }
            group.addTask { try await Task.sleep(for: .seconds(30)); return false }
            let stopped = try await group.next() ?? false
            group.cancelAll()
            #expect(stopped, "the server stopped")
        }
    }
}
