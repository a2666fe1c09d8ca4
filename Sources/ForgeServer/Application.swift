import Foundation
import ForgeGeneration
import ForgeJinja
import ForgeTokenizer
import Hummingbird
import Logging

/// The OpenAI-compatible server: the routes, the API-key check and JSON errors, with the model
/// loading in the background (`/health` answers 503 until it is ready). `forge serve` runs it
/// with `runService()`; tests drive it in-process with HummingbirdTesting.
public func buildApplication(configuration: ServerConfiguration, logger: Logger? = nil) throws -> some ApplicationProtocol {
    try configuration.validate()
    var log = logger ?? Logger(label: "forge.server")
    if logger == nil { log.logLevel = .warning }
    let state = ServerState(configuration: configuration)
    let router = Router()
    router.add(middleware: ErrorMiddleware(logger: log))
    router.add(middleware: APIKeyMiddleware(keys: Set(configuration.apiKeys)))
    let routes = Routes(state: state)
    routes.register(on: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "forge"),
        services: [EngineService(state: state, logger: log)],
        onServerRunning: { channel in
            state.serverStarted(port: channel.localAddress?.port ?? configuration.port)
        },
        logger: log
    )
}

/// Every error leaves as llama-server's JSON error object; the server stays up.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: return APIError.notFound().response
            case .contentTooLarge: return APIError(status: .contentTooLarge, type: "invalid_request_error", message: "the request body is too large").response
            case .methodNotAllowed: return APIError(status: .methodNotAllowed, type: "invalid_request_error", message: "method not allowed").response
            default: return APIError(status: error.status, type: error.status.code >= 500 ? "server_error" : "invalid_request_error", message: error.body ?? error.status.reasonPhrase).response
            }
        } catch {
            logger.error("request failed: \(error)")
            return APIError.server("\(error)").response
        }
    }
}

/// `Authorization: Bearer KEY` on everything but the health check, when keys are configured.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let keys: Set<String>
    static let publicPaths: Set<String> = ["/health", "/v1/health"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty, !Self.publicPaths.contains(request.uri.path) else { return try await next(request, context) }
        let header = request.headers[.authorization] ?? ""
        let prefix = "Bearer "
        guard header.hasPrefix(prefix), keys.contains(String(header.dropFirst(prefix.count))) else {
            throw APIError.authentication
        }
        return try await next(request, context)
    }
}
