import Foundation
import ForgeJinja
import Hummingbird
import HummingbirdTesting
import ForgeTestSupport
import Testing
@testable import ForgeServer

/// The server with SmolLM2-135M-Instruct (Q4_1), when the model cache has it.
@Suite(RealModels.required([RealModels.smollm2]))
struct RealModelTests {
    static func configuration(parallel: Int) -> ServerConfiguration {
        var configuration = ServerConfiguration(modelPath: RealModels.path(RealModels.smollm2) ?? "")
        configuration.port = 0
        configuration.parallel = parallel
        configuration.contextSize = 1024 * parallel
        configuration.metricsEnabled = true
        return configuration
    }

    static func chat(_ text: String, _ extra: [(String, JinjaValue)] = []) -> JinjaValue {
        var object: JinjaObject = ["messages": [["role": "user", "content": .string(text)]], "max_tokens": 24, "temperature": 0]
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    @Test func answersAChatAndStopsAtTheEndOfTurn() async throws {
        let app = try buildApplication(configuration: Self.configuration(parallel: 1))
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body = try await client.postJSON("/v1/chat/completions", Self.chat("What is the capital of France? Answer in one word.", [("max_tokens", 64)])).json()
            let text = body["choices"]?[0]?["message"]?["content"]?.stringValue ?? ""
            #expect(text.contains("Paris"), "\(text)")
            #expect(body["choices"]?[0]?["finish_reason"]?.stringValue == "stop")
            #expect(!text.contains("<|im_end|>"))
        }
    }

    @Test func sameSeedSameText() async throws {
        let app = try buildApplication(configuration: Self.configuration(parallel: 2))
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let request = Self.chat("Write a short poem about the sea.", [("temperature", 0.9), ("seed", 1234), ("max_tokens", 32)])
            let first = try await client.postJSON("/v1/chat/completions", request).json()["choices"]?[0]?["message"]?["content"]
            let second = try await client.postJSON("/v1/chat/completions", request).json()["choices"]?[0]?["message"]?["content"]
            #expect(first != nil)
            #expect(first == second)
        }
    }

    @Test func batchedRequestsGiveTheSameTextAsAlone() async throws {
        let questions = [
            "Name three colors.", "What is two plus two?", "Say hello in French.", "Which planet is the largest?",
        ]
        let app = try buildApplication(configuration: Self.configuration(parallel: 4))
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            func ask(_ question: String) async throws -> String {
                try await client.postJSON("/v1/chat/completions", Self.chat(question)).json()["choices"]?[0]?["message"]?["content"]?.stringValue ?? "<none>"
            }
            var alone: [String] = []
            for question in questions { alone.append(try await ask(question)) }
            let together = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (index, question) in questions.enumerated() { group.addTask { (index, try await ask(question)) } }
                var results = [String](repeating: "", count: questions.count)
                for try await (index, text) in group { results[index] = text }
                return results
            }
            #expect(together == alone)
        }
    }
}

/// The server with Gemma 3 270M (multi-query attention, sliding-window layers), when cached.
@Suite(RealModels.required([RealModels.gemma]))
struct GemmaServerTests {
    /// Two slots of 1024 positions; the second prompt is longer than the local layers' 512-token window.
    @Test func servesGreedyCompletionsAsLlamaCpp() async throws {
        var configuration = ServerConfiguration(modelPath: RealModels.path(RealModels.gemma) ?? "")
        configuration.port = 0
        configuration.parallel = 2
        configuration.contextSize = 2048
        let app = try buildApplication(configuration: configuration)
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let request: JinjaValue = ["prompt": "The capital of France is", "max_tokens": 16, "temperature": 0]
            let body = try await client.postJSON("/v1/completions", request).json()
            // llama.cpp's greedy continuation (../shared/refs/greedy-gemma-3-270m-q4_k_m.json).
            #expect(body["choices"]?[0]?["text"]?.stringValue == " the capital of the country of France. It is the largest city in France.")
            #expect(body["usage"]?["prompt_tokens"]?.intValue == 6)
            let long = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 70)
            let longBody = try await client.postJSON("/v1/completions", ["prompt": .string(long), "max_tokens": 8, "temperature": 0]).json()
            #expect((longBody["usage"]?["prompt_tokens"]?.intValue ?? 0) > 600)
            #expect(longBody["choices"]?[0]?["text"]?.stringValue?.isEmpty == false)
        }
    }
}
