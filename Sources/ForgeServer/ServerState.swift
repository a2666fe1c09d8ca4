import Foundation
import ForgeGeneration
import ForgeTokenizer
import Logging
import ServiceLifecycle
import UnixSignals

/// The model and engine once loaded; until then requests that need them get 503.
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
    private var boundPort: Int?
    private var announced = false

    init(configuration: ServerConfiguration) {
        self.configuration = configuration
    }

    var current: Phase { lock.withLock { phase } }

    /// The loaded model, or the 503 a request gets while there is none.
    func ready() throws -> LoadedModel {
        switch current {
        case .ready(let loaded): return loaded
        case .loading: throw APIError.unavailable("Loading model")
        case .failed(let reason): throw APIError.unavailable("the model failed to load: \(reason)")
        }
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

/// Loads the model (off the cooperative pool), runs the engine, and stops it on shutdown. With
/// drain signals configured, the first one ends active generations at their next step so the
/// HTTP server's own graceful shutdown finds only streams that are closing.
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
        let signals = configuration.drainSignals
        await withTaskGroup(of: Void.self) { group in
            if !signals.isEmpty {
                group.addTask {
                    for await _ in await UnixSignalsSequence(trapping: signals) {
                        loaded.engine.drain()
                        break
                    }
                }
            }
            try? await gracefulShutdown()
            group.cancelAll()
        }
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
