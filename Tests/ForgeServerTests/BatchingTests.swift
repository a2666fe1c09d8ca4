import Foundation
import ForgeGeneration
import ForgeJinja
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ForgeServer

/// Continuous batching, the bounded queue, cancellation and timeouts.
@Suite struct BatchingTests {
    /// Slows each engine step so a request is still running when the test looks at it.
    static let slowSteps: @Sendable () -> Void = { Thread.sleep(forTimeInterval: 0.01) }

    static func metrics(_ client: some TestClientProtocol) async throws -> PrometheusValues {
        PrometheusValues(try await client.fetch("/metrics").text)
    }

    /// Polls `/metrics` (bounded: about a minute, for a machine busy with the rest of the suite)
    /// until `condition` holds; with a gate, the engine takes one step per poll.
    static func waitFor(
        _ client: some TestClientProtocol, _ what: String, steppingThrough gate: Permits? = nil, _ condition: (PrometheusValues) -> Bool
    ) async throws -> PrometheusValues {
        for _ in 0..<6000 {
            let values = try await metrics(client)
            if condition(values) { return values }
            gate?.grant()
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure(description: "timed out waiting for \(what)")
    }

    /// Proves that generation stopped when the metrics read `idle`: the engine takes its steps in
    /// turn, so a stopped request still generating would add tokens while the next one runs.
    static func expectOnlyTheNextRequestGenerates(_ client: some TestClientProtocol, after idle: PrometheusValues) async throws {
        let next = try await client.postJSON("/v1/completions", ["prompt": "abc", "max_tokens": 2, "temperature": 0, "logit_bias": ["257": -100]])
        #expect(next.status == .ok)
        let nextTokens = try next.json()["usage"]?["completion_tokens"]?.intValue ?? 0
        let expected = (idle["forge_generated_tokens_total"] ?? 0) + Double(nextTokens)
        // The counter is updated after the step that ended the request, so it may lag its answer.
        let after = try await waitFor(client, "the next request's tokens to be counted") {
            $0["forge_slots_busy"] == 0 && ($0["forge_generated_tokens_total"] ?? 0) >= expected
        }
        #expect(after["forge_generated_tokens_total"] == expected, "generation stopped")
    }

    /// Batch neighbours do not change a request's text. The engine is held until every request
    /// has arrived, so they are sure to share steps.
    @Test func concurrentRequestsGiveTheSameTextAsAlone() async throws {
        let gate = Permits(1_000_000)
        var configuration = tinyConfiguration { $0.parallel = 4; $0.metricsEnabled = true }
        configuration.beforeEachStep = { gate.wait() }
        let app = try buildApplication(configuration: configuration)
        let prompts = ["alpha", "bravo charlie", "d", "echo foxtrot golf", "hotel", "india juliet"]
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            func complete(_ prompt: String) async throws -> String {
                let body = try await client.postJSON("/v1/completions", ["prompt": .string(prompt), "max_tokens": 20, "temperature": 0, "logit_bias": ["257": -100]]).json()
                return body["choices"]?[0]?["text"]?.stringValue ?? "<none>"
            }
            var alone: [String] = []
            for prompt in prompts { alone.append(try await complete(prompt)) }
            gate.revokeAll()
            let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                defer { gate.grant(1_000_000) }
                for (index, prompt) in prompts.enumerated() {
                    group.addTask { (index, try await complete(prompt)) }
                }
                let arrived = try await Self.waitFor(client, "every request to arrive") {
                    ($0["forge_slots_busy"] ?? 0) + ($0["forge_queue_length"] ?? 0) == Double(prompts.count)
                }
                #expect(arrived["forge_slots_busy"] ?? 0 >= 1 && arrived["forge_queue_length"] ?? 0 >= 2)
                gate.grant(1_000_000)
                var results = [String](repeating: "", count: prompts.count)
                for try await (index, text) in group { results[index] = text }
                return results
            }
            #expect(together == alone)
            let values = try await Self.metrics(client)
            #expect(values["forge_requests_total"] == Double(2 * prompts.count))
            #expect(values["forge_generated_tokens_total"] == Double(2 * prompts.count * 20))
        }
    }

    /// The engine steps only when the test lets it, so what the test looks at cannot have moved
    /// on however slowly the machine runs it.
    @Test func fullQueueGets503AndCancellingFreesTheSlot() async throws {
        let gate = Permits(1)
        var configuration = tinyConfiguration { $0.parallel = 1; $0.queueCapacity = 1; $0.metricsEnabled = true }
        configuration.beforeEachStep = { gate.wait() }
        let app = try buildApplication(configuration: configuration)
        try await app.test(.router) { client in
            defer { gate.grant(1_000_000) }  // a failed expectation must not leave the engine held at shutdown
            try await client.waitUntilReady()
            let long: JinjaValue = ["prompt": "abc", "max_tokens": 3000, "temperature": 0, "logit_bias": ["257": -100], "stream": true]
            let running = Task { try await client.postJSON("/v1/completions", long) }
            _ = try await Self.waitFor(client, "the first request to run") { $0["forge_slots_busy"] == 1 }
            let waiting = Task { try await client.postJSON("/v1/completions", long) }
            _ = try await Self.waitFor(client, "the second request to queue") { $0["forge_queue_length"] == 1 }
            try expectError(try await client.postJSON("/v1/completions", long), status: .serviceUnavailable, type: "unavailable_error")

            // Cancelling the running request frees its slot for the waiting one, then that one too.
            running.cancel()
            _ = try? await running.value
            let started = try await Self.waitFor(client, "the queued request to start", steppingThrough: gate) {
                $0["forge_queue_length"] == 0 && $0["forge_slots_busy"] == 1
            }
            #expect((started["forge_generated_tokens_total"] ?? .infinity) < 3000, "the first request was cut short")
            waiting.cancel()
            _ = try? await waiting.value
            let idle = try await Self.waitFor(client, "the slot to be freed", steppingThrough: gate) { $0["forge_slots_busy"] == 0 }
            #expect((idle["forge_generated_tokens_total"] ?? .infinity) < 2 * 3000)
            gate.grant(1000)
            try await Self.expectOnlyTheNextRequestGenerates(client, after: idle)
        }
    }

    @Test func aClientThatHangsUpFreesItsSlot() async throws {
        let gate = Permits(1)
        var configuration = tinyConfiguration { $0.parallel = 1; $0.metricsEnabled = true }
        configuration.beforeEachStep = { gate.wait() }
        let app = try buildApplication(configuration: configuration)
        try await app.test(.live) { client in
            defer { gate.grant(1_000_000) }  // a failed expectation must not leave the engine held at shutdown
            try await client.waitUntilReady()
            let port = try #require(client.port)
            let body = #"{"messages":[{"role":"user","content":"hi"}],"max_tokens":3000,"temperature":0,"logit_bias":{"257":-100},"stream":true}"#
            let connection = try RawHTTPConnection(port: port)
            connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
            let head = await connection.receive(until: "\"content\":\"")
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(head.contains("text/event-stream"))
            // The role chunk may come before the engine admits the request: wait for the slot.
            _ = try await Self.waitFor(client, "the request to take the slot") { $0["forge_slots_busy"] == 1 }
            connection.hangUp()
            let idle = try await Self.waitFor(client, "the slot to be freed", steppingThrough: gate) { $0["forge_slots_busy"] == 0 }
            #expect((idle["forge_generated_tokens_total"] ?? .infinity) < 1000)
            gate.grant(1000)
            try await Self.expectOnlyTheNextRequestGenerates(client, after: idle)
        }
    }

    @Test func timeoutEndsALongRequest() async throws {
        var configuration = tinyConfiguration { $0.parallel = 1; $0.timeout = 0.3 }
        configuration.beforeEachStep = Self.slowSteps
        let app = try buildApplication(configuration: configuration)
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body = try await client.postJSON("/v1/completions", ["prompt": "abc", "max_tokens": 3000, "temperature": 0, "logit_bias": ["257": -100]]).json()
            #expect(body["choices"]?[0]?["finish_reason"]?.stringValue == "length")
            let tokens = body["usage"]?["completion_tokens"]?.intValue ?? 0
            #expect(tokens > 0 && tokens < 3000)
        }
    }
}
