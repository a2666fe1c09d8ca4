import ForgeGeneration
import Hummingbird

/// An error as the client sees it: an HTTP status and llama-server's JSON body
/// `{"error":{"code","message","type",…}}`, with OpenAI's and llama-server's type names.
public struct APIError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var type: String
    public var message: String
    /// The prompt's and the context's sizes, for an over-long prompt (`n_prompt_tokens`, `n_ctx`).
    public var overflow: (promptTokens: Int, contextSize: Int)?

    public init(status: HTTPResponse.Status, type: String, message: String, overflow: (promptTokens: Int, contextSize: Int)? = nil) {
        self.status = status
        self.type = type
        self.message = message
        self.overflow = overflow
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
            overflow: (promptTokens, contextSize))
    }

    var body: ErrorBody {
        ErrorBody(error: ErrorBody.Detail(
            code: Int(status.code), message: message, type: type, promptTokens: overflow?.promptTokens, contextSize: overflow?.contextSize))
    }

    var response: Response {
        jsonResponse(body, status: status)
    }
}
