import Foundation
import ForgeGeneration
import ForgeJinja
import ForgeTokenizer
import Hummingbird
import Logging
import ServiceLifecycle

/// The OpenAI-compatible server as `forge serve` runs it: the application, then the drain. A
/// ServiceGroup shuts its services down in reverse order, so on SIGTERM or SIGINT (the
/// configuration's `drainSignals`) the drain runs first, with the HTTP server still answering,
/// and the server closes its listener only once it is done (`DrainService`).
public func buildServer(configuration: ServerConfiguration, logger: Logger? = nil) throws -> ServiceGroup {
    try configuration.validate()
    let log = serverLogger(logger)
    let state = ServerState(configuration: configuration)
    return makeServiceGroup(state: state, logger: log)
}

/// The application alone, without the drain: tests drive it in-process with HummingbirdTesting.
public func buildApplication(configuration: ServerConfiguration, logger: Logger? = nil) throws -> some ApplicationProtocol {
    try configuration.validate()
    return makeApplication(state: ServerState(configuration: configuration), logger: serverLogger(logger))
}

func makeServiceGroup(state: ServerState, logger: Logger) -> ServiceGroup {
    ServiceGroup(configuration: .init(
        services: [makeApplication(state: state, logger: logger), DrainService(state: state, logger: logger)],
        gracefulShutdownSignals: state.configuration.drainSignals,
        logger: logger))
}

/// The routes, the API-key check and JSON errors, with the model loading in the background
/// (`/health` answers 503 until it is ready).
func makeApplication(state: ServerState, logger: Logger) -> some ApplicationProtocol {
    let configuration = state.configuration
    let router = Router()
    router.add(middleware: ErrorMiddleware(logger: logger))
    router.add(middleware: APIKeyMiddleware(keys: Set(configuration.apiKeys)))
    let routes = Routes(state: state)
    routes.register(on: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "forge"),
        services: [EngineService(state: state, logger: logger)],
        onServerRunning: { channel in
            state.serverStarted(port: channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
}

private func serverLogger(_ logger: Logger?) -> Logger {
    if let logger { return logger }
    var log = Logger(label: "forge.server")
    log.logLevel = .warning
    return log
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

/// `Authorization: Bearer KEY` on everything but the health checks, when keys are configured.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let keys: Set<String>
    static let publicPaths: Set<String> = ["/health", "/v1/health", "/livez"]

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
