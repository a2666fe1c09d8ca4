import Foundation
import ForgeJinja
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ForgeServer

/// Every error the issue lists: the right status and JSON error object, and the server still
/// answers afterwards.
@Suite struct ErrorTests {
    static let messages: JinjaValue = [["role": "user", "content": "hi"]]

    @Test func badRequestsGetInvalidRequestErrors() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let chat = "/v1/chat/completions"
            let cases: [(String, String)] = [
                (chat, "{not json"),
                (chat, "[1, 2]"),
                (chat, #"{"messages": "hi"}"#),
                (chat, #"{"messages": []}"#),
                (chat, #"{}"#),
                (chat, #"{"messages": [{"content": "no role"}]}"#),
                (chat, #"{"messages": [{"role": "wizard", "content": "hi"}]}"#),
                (chat, #"{"messages": [{"role": "user", "content": 42}]}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": -5}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e300}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 99999999999}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "top_k": -1}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "top_p": 7}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "n": 3}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "n": -1}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "logprobs": true, "top_logprobs": 50}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "seed": -7}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "stop": 5}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "stream": "yes"}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"99999": 1}}"#),
                (chat, #"{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"5": 1000}}"#),
                ("/v1/completions", #"{"prompt": [1, 2, 999999]}"#),
                ("/v1/completions", #"{"prompt": [1, -2]}"#),
                ("/v1/completions", #"{"prompt": 12}"#),
                ("/v1/completions", #"{"prompt": ["a", "b"]}"#),
                ("/v1/completions", #"{"max_tokens": 3}"#),
                ("/v1/completions", #"{"prompt": []}"#),
                ("/v1/completions", #"{"prompt": "hi", "logprobs": 99}"#),
                ("/detokenize", #"{"tokens": [258]}"#),
                ("/detokenize", #"{"tokens": "abc"}"#),
                ("/tokenize", #"{"content": 5}"#),
                ("/tokenize", #"{}"#),
                ("/apply-template", #"{"messages": []}"#),
            ]
            for (uri, body) in cases {
                let response = try await client.postJSON(uri, body)
                try expectError(response, status: .badRequest, type: "invalid_request_error")
            }
            // Unknown fields are ignored, and the server is still up.
            let fine = try await client.postJSON(chat, #"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "frobnicate": {"x": 1}}"#)
            #expect(fine.status == .ok)
        }
    }

    @Test func promptLongerThanTheSlotContext() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.contextSize = 64; $0.parallel = 2 })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let response = try await client.postJSON("/v1/completions", ["prompt": .string(String(repeating: "x", count: 40))])
            try expectError(response, status: .badRequest, type: "exceed_context_size_error")
            let error = try response.json()["error"]
            #expect(error?["n_prompt_tokens"]?.intValue == 41)
            #expect(error?["n_ctx"]?.intValue == 32)
            let chat = try await client.postJSON("/v1/chat/completions", ["messages": [["role": "user", "content": .string(String(repeating: "y", count: 40))]]])
            try expectError(chat, status: .badRequest, type: "exceed_context_size_error")
            // A prompt that fits generates until the slot is full.
            let fits = try await client.postJSON("/v1/completions", ["prompt": "abc", "logit_bias": ["257": -100]]).json()
            #expect(fits["choices"]?[0]?["finish_reason"]?.stringValue == "length")
            #expect(fits["usage"]?["total_tokens"]?.intValue == 33)
        }
    }

    @Test func bodyOverTheCapIs413() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.maxBodyBytes = 1024 })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let big = #"{"prompt": ""# + String(repeating: "a", count: 5000) + #""}"#
            try expectError(try await client.postJSON("/v1/completions", big), status: .contentTooLarge, type: "invalid_request_error")
            #expect(try await client.postJSON("/v1/completions", #"{"prompt": "a", "max_tokens": 1}"#).status == .ok)
        }
    }

    @Test func apiKeys() async throws {
        let app = try buildApplication(configuration: tinyConfiguration { $0.apiKeys = ["secret-1", "secret-2"] })
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            let body: JinjaValue = ["messages": Self.messages, "max_tokens": 1]
            try expectError(try await client.postJSON("/v1/chat/completions", body), status: .unauthorized, type: "authentication_error")
            try expectError(
                try await client.postJSON("/v1/chat/completions", body, headers: [.authorization: "Bearer wrong"]),
                status: .unauthorized, type: "authentication_error")
            try expectError(
                try await client.postJSON("/v1/chat/completions", body, headers: [.authorization: "secret-1"]),
                status: .unauthorized, type: "authentication_error")
            try expectError(try await client.fetch("/v1/models"), status: .unauthorized, type: "authentication_error")
            #expect(try await client.postJSON("/v1/chat/completions", body, headers: [.authorization: "Bearer secret-1"]).status == .ok)
            #expect(try await client.fetch("/v1/models", headers: [.authorization: "Bearer secret-2"]).status == .ok)
            #expect(try await client.fetch("/health").status == .ok)
        }
    }

    @Test func unknownRoutesAre404() async throws {
        let app = try buildApplication(configuration: tinyConfiguration())
        try await app.test(.router) { client in
            try await client.waitUntilReady()
            try expectError(try await client.fetch("/v1/nothing"), status: .notFound, type: "not_found_error")
            try expectError(try await client.postJSON("/v2/chat/completions", "{}"), status: .notFound, type: "not_found_error")
        }
    }

    @Test func badConfigurationIsRejected() throws {
        #expect(throws: ServerConfigurationError.self) { try buildApplication(configuration: tinyConfiguration { $0.parallel = 0 }) }
        #expect(throws: ServerConfigurationError.self) { try buildApplication(configuration: tinyConfiguration { $0.timeout = -1 }) }
        #expect(throws: ServerConfigurationError.self) { try buildApplication(configuration: tinyConfiguration { $0.apiKeys = [""] }) }
    }
}
