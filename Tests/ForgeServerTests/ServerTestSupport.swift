import Foundation
import ForgeGGUF
import ForgeJinja
import ForgeTraining
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ForgeServer

/// A tiny random-weight llama model with a byte-level vocabulary (ids 0–255 are bytes, 256 BOS,
/// 257 EOS) and a ChatML template, written once per test process.
enum TinyModel {
    static let chatTemplate = """
        {%- for message in messages -%}<|im_start|>{{ message.role }}
        {{ message.content }}<|im_end|>
        {% endfor -%}
        {%- if tools %}<|im_start|>tools
        {{ tools | tojson }}<|im_end|>
        {% endif -%}
        {%- if add_generation_prompt %}<|im_start|>assistant
        {% endif -%}
        """

    static let configuration = TransformerConfiguration(
        vocabularySize: 258, layerCount: 2, embeddingLength: 32, headCount: 4, keyValueHeadCount: 2,
        feedForwardLength: 64, contextLength: 4096)

    static let path: String = {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("forge-server-tiny-\(ProcessInfo.processInfo.processIdentifier).gguf").path
        let bytes = TrainingVocabulary.bytes
        let vocabulary = TrainingVocabulary(
            size: bytes.size, beginningOfSequence: bytes.beginningOfSequence, endOfSequence: bytes.endOfSequence,
            metadata: bytes.metadata + [("tokenizer.chat_template", .string(chatTemplate))],
            encoder: { try bytes.encode($0) })
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        let count = ParameterLayout(configuration).count
        let parameters = (0..<count).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.8
        }
        do {
            try LlamaGGUF.write(to: path, configuration: configuration, parameters: parameters, vocabulary: vocabulary, weightType: .f32, name: "tiny")
        } catch {
            Issue.record("cannot write the tiny model: \(error)")
        }
        return path
    }()
}

func tinyConfiguration(_ edit: (inout ServerConfiguration) -> Void = { _ in }) -> ServerConfiguration {
    var configuration = ServerConfiguration(modelPath: TinyModel.path)
    configuration.port = 0
    configuration.contextSize = 4096
    configuration.parallel = 2
    edit(&configuration)
    return configuration
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

extension TestClientProtocol {
    /// Waits (bounded) until `/health` says the model is loaded.
    func waitUntilReady() async throws {
        for _ in 0..<500 {
            let response = try await fetch("/health")
            if response.status == .ok { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure(description: "the model did not load")
    }

    func fetch(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }

    func postJSON(_ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var allHeaders = headers
        allHeaders[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: allHeaders, body: ByteBuffer(string: body))
    }

    func postJSON(_ uri: String, _ body: JinjaValue, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await postJSON(uri, body.jsonString(), headers: headers)
    }
}

extension TestResponse {
    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    func json() throws -> JinjaValue {
        try JinjaValue(parsingJSON: text)
    }

    /// The `data:` payloads of a server-sent-event stream, in order.
    var events: [String] {
        text.components(separatedBy: "\n\n").compactMap { block in
            let line = block.trimmingCharacters(in: .newlines)
            guard line.hasPrefix("data: ") else { return nil }
            return String(line.dropFirst(6))
        }
    }
}

extension JinjaValue {
    subscript(index: Int) -> JinjaValue? {
        guard case .array(let list) = self, list.indices.contains(index) else { return nil }
        return list[index]
    }

    var intValue: Int? {
        if case .int(let n) = self { return n }
        return nil
    }

    var doubleValue: Double? {
        switch self {
        case .int(let n): Double(n)
        case .double(let d): d
        default: nil
        }
    }

    var count: Int { arrayValue?.count ?? 0 }
}

/// Checks an error response: status, and the `{"error":{"code","message","type"}}` body.
func expectError(_ response: TestResponse, status: HTTPResponse.Status, type: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
    let body = try response.json()
    #expect(body["error"]?["type"]?.stringValue == type, "\(response.text)", sourceLocation: sourceLocation)
    #expect(body["error"]?["code"]?.intValue == Int(status.code), sourceLocation: sourceLocation)
    let message = body["error"]?["message"]?.stringValue ?? ""
    #expect(!message.isEmpty, "\(response.text)", sourceLocation: sourceLocation)
}

/// A plain TCP client for what the test clients cannot do: read part of a stream, then hang up.
/// Used by one test at a time.
final class RawHTTPConnection: @unchecked Sendable {
    private let descriptor: Int32

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure(description: "socket() failed") }
        // A server that never answers fails the test instead of hanging it.
        var receiveTimeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(descriptor)
            throw TestFailure(description: "connect() failed")
        }
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// Reads until `marker` has arrived (or the peer closes), blocking the calling thread.
    private func read(until marker: String) -> String {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !String(decoding: received, as: UTF8.self).contains(marker) {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { break }
            received += buffer[..<n]
        }
        return String(decoding: received, as: UTF8.self)
    }

    /// `read(until:)` on a thread of its own: tests blocked in reads on the cooperative pool (two
    /// threads on a two-core machine) would starve the server they are waiting for.
    func receive(until marker: String) async -> String {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.read(until: marker)) }.start()
        }
    }

    func hangUp() { close(descriptor) }
}
