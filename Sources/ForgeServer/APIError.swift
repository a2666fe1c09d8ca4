import ForgeGeneration
import ForgeJinja
import Hummingbird

/// An error as the client sees it: an HTTP status and llama-server's JSON body
/// `{"error":{"code","message","type",…}}`, with OpenAI's and llama-server's type names.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var type: String
    public var message: String
    /// Fields added to the error object (`n_prompt_tokens` and `n_ctx` for an over-long prompt).
    public var extraFields: [(String, Int)]
    /// Seconds after which the client may try again (the `Retry-After` header).
    public var retryAfter: Int?

    public init(status: HTTPResponse.Status, type: String, message: String, extraFields: [(String, Int)] = [], retryAfter: Int? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.extraFields = extraFields
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// A request the generation code refused: an over-long prompt is llama-server's
    /// `exceed_context_size_error`, anything else a plain invalid request.
    init(_ error: GenerationError) {
        if case .promptTooLong(let promptTokens, let contextSize) = error {
            self = .exceedsContext(promptTokens: promptTokens, contextSize: contextSize)
        } else {
            self = .invalidRequest(error.description)
        }
    }

    static func invalidRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, type: "invalid_request_error", message: message)
    }

    static let authentication = APIError(status: .unauthorized, type: "authentication_error", message: "Invalid API Key")

    static func notFound(_ message: String = "File Not Found") -> APIError {
        APIError(status: .notFound, type: "not_found_error", message: message)
    }

    static func unavailable(_ message: String) -> APIError {
        APIError(status: .serviceUnavailable, type: "unavailable_error", message: message)
    }

    /// A draining server's answer: behind a balancer the retry lands on another replica.
    static let draining = APIError(
        status: .serviceUnavailable, type: "unavailable_error", message: "the server is shutting down; retry on another replica",
        retryAfter: 1)

    static func server(_ message: String) -> APIError {
        APIError(status: .internalServerError, type: "server_error", message: message)
    }

    static func bodyTooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, type: "invalid_request_error", message: "the request body is larger than \(limit) bytes")
    }

    static func exceedsContext(promptTokens: Int, contextSize: Int) -> APIError {
        APIError(
            status: .badRequest, type: "exceed_context_size_error",
            message: "the request exceeds the available context size: the prompt is \(promptTokens) tokens, the context \(contextSize)",
            extraFields: [("n_prompt_tokens", promptTokens), ("n_ctx", contextSize)])
    }

    var json: JinjaValue {
        var error = JinjaObject()
        error["code"] = .int(status.code)
        error["message"] = .string(message)
        error["type"] = .string(type)
        for (key, value) in extraFields { error[key] = .int(value) }
        return ["error": .object(error)]
    }

    var response: Response {
        var response = jsonResponse(json, status: status)
        if let retryAfter { response.headers[.retryAfter] = "\(retryAfter)" }
        return response
    }
}

/// Compact JSON, as llama-server writes it.
let compactJSON = JSONFormat.compact

func jsonResponse(_ value: JinjaValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8"],
        body: ResponseBody(byteBuffer: ByteBuffer(string: value.jsonString(compactJSON))))
}
