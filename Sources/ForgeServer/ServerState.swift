import Foundation
import ForgeGeneration
import ForgeTokenizer
import Logging
import ServiceLifecycle
import UnixSignals

/// The model and engine once loaded, and whether the server is draining; requests that need the
/// model get 503 until it is loaded and again once the drain begins.
final class ServerState: @unchecked Sendable {
    enum Phase: Sendable {
        case loading
        case ready(LoadedModel)
        case failed(String)
    }

    struct LoadedModel: Sendable {
        let model: LanguageModel
        let engine: InferenceEngine
        let template: ChatTemplate
        /// What the template does with tools.
        let toolTemplate: ToolTemplate
        let grammars = GrammarCache()
        let name: String
    }

    let configuration: ServerConfiguration
    private let lock = NSLock()
    private var phase = Phase.loading
    private var draining = false
    private var boundPort: Int?
    private var announced = false

    init(configuration: ServerConfiguration) {
        self.configuration = configuration
    }

    var current: Phase { lock.withLock { phase } }

    var isDraining: Bool { lock.withLock { draining } }

    /// The model for a request: the 503 it gets while there is none, or once the server drains.
    func ready() throws -> LoadedModel {
        let loaded = try self.loaded()
        if isDraining { throw APIError.draining }
        return loaded
    }

    /// The loaded model, draining or not (`/metrics` reports throughout the drain).
    func loaded() throws -> LoadedModel {
        switch current {
        case .ready(let loaded): return loaded
        case .loading: throw APIError.unavailable("Loading model")
        case .failed(let reason): throw APIError.unavailable("the model failed to load: \(reason)")
        }
    }

    /// From now on `/health` and new requests get 503, so balancers route elsewhere.
    func beginDraining() {
        lock.withLock { draining = true }
    }

    func finishLoading(_ result: Phase) {
        lock.withLock { phase = result }
        announceIfReady()
    }

    func serverStarted(port: Int) {
        lock.withLock { boundPort = port }
        announceIfReady()
    }

    private func announceIfReady() {
        let port: Int? = lock.withLock {
            guard !announced, case .ready = phase, let boundPort else { return nil }
            announced = true
            return boundPort
        }
        if let port { configuration.onReady?(configuration.host, port) }
    }
}

/// Loads the model (off the cooperative pool), runs the engine, and stops it on shutdown (after
/// the HTTP server has finished its requests: a ServiceGroup shuts its services down in reverse).
struct EngineService: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        let configuration = state.configuration
        let loaded: ServerState.LoadedModel
        await configuration.beforeLoading?()
        do {
            loaded = try await withCheckedThrowingContinuation { continuation in
                GenerationThread {
                    continuation.resume(with: Result { try Self.load(configuration) })
                }.start()
            }
        } catch {
            logger.error("cannot load the model: \(error)")
            state.finishLoading(.failed("\(error)"))
            throw error
        }
        loaded.engine.start()
        state.finishLoading(.ready(loaded))
        // Built now, off the request path, rather than by the first request with a grammar.
        GenerationThread { _ = loaded.model.tokenizer.grammarVocabulary }.start()
        try? await gracefulShutdown()
        loaded.engine.stop()
    }

    static func load(_ configuration: ServerConfiguration) throws -> ServerState.LoadedModel {
        let model = try LanguageModel(path: configuration.modelPath)
        let engine = try InferenceEngine(model: model, configuration: configuration)
        // llama-server falls back to ChatML for models without a template.
        let template = try model.chatTemplate ?? ChatTemplate(builtIn: "chatml")
        let name = configuration.alias ?? URL(fileURLWithPath: configuration.modelPath).lastPathComponent
        return ServerState.LoadedModel(model: model, engine: engine, template: template, toolTemplate: ToolTemplate(template), name: name)
    }
}

/// The drain. It runs after the application in `forge serve`'s ServiceGroup, so it is the first
/// service to see graceful shutdown (SIGTERM or SIGINT) and the HTTP server keeps listening while
/// it works: `/health` and new requests get 503 with `Retry-After` (a balancer sends them to
/// another replica), running requests get `drainTimeout` seconds to finish, and the rest are
/// ended cleanly. Then the HTTP server shuts down, with nothing left but closing streams.
struct DrainService: Service {
    let state: ServerState
    let logger: Logger

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        let configuration = state.configuration
        // Trapped before the drain shows, so a Ctrl-C that follows the first 503 is never lost.
        let interrupts = configuration.drainSignals.contains(.sigint) ? await UnixSignalsSequence(trapping: .sigint) : nil
        state.beginDraining()
        guard let engine = try? state.loaded().engine else { return }
        logger.notice("draining: new requests get 503; running ones have \(configuration.drainTimeout) s to finish")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await Self.waitUntilIdle(engine, seconds: configuration.drainTimeout) }
            if let interrupts {
                // Ctrl-C again: throwing makes the ServiceGroup cancel everything at once.
                group.addTask {
                    for await _ in interrupts { throw ServerInterrupted() }
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
        engine.drain()
    }

    /// Polls, because the engine thread has no async notification to offer; a tenth of a second
    /// is nothing beside a drain measured in seconds.
    static func waitUntilIdle(_ engine: InferenceEngine, seconds: Double) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            let metrics = engine.snapshot
            if metrics.busySlots == 0 && metrics.queueLength == 0 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

/// A second SIGINT during the drain: `forge serve` stops without waiting for running requests.
public struct ServerInterrupted: Error, CustomStringConvertible {
    public var description: String { "interrupted during the drain" }
}
