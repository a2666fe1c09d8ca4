import ForgeModel
import ServiceLifecycle
import UnixSignals

/// Everything `forge serve` takes from its command line.
public struct ServerConfiguration: Sendable {
    public var modelPath: String
    public var host = "127.0.0.1"
    public var port = 8080
    /// Positions of KV cache in all, divided evenly among the slots as llama-server does; each slot
    /// is also capped by the model's training context.
    public var contextSize = 4096
    /// Sequences decoded together (KV cache slots).
    public var parallel = 1
    /// Requests that may wait for a slot; more get 503. Nil: four per slot.
    public var queueCapacity: Int?
    /// Accepted bearer tokens; empty leaves the API open.
    public var apiKeys: [String] = []
    /// The model name clients see; nil uses the file name.
    public var alias: String?
    /// Seconds a request may take from arrival to its last token; nil: no limit.
    public var timeout: Double?
    public var metricsEnabled = false
    public var threadCount = 2
    /// Tokens in one forward pass: decode tokens of every active slot plus prompt chunks.
    public var batchSize = 512
    public var cacheType: KVCacheType = .f16
    /// Where the model runs; on a Vulkan device the KV cache slots live there too.
    public var device: ComputeDevice = .cpu
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 4 << 20
    /// Signals that start the drain (the CLI passes SIGINT and SIGTERM; in-process tests none).
    /// With SIGINT among them, a second SIGINT during the drain stops the server at once.
    public var drainSignals: [UnixSignal] = []
    /// Seconds running requests get to finish once the drain begins; the rest then end cleanly
    /// (finish reason `length`).
    public var drainTimeout = 30.0
    /// Called once the server listens and the model is loaded, with the bound host and port.
    public var onReady: (@Sendable (_ host: String, _ port: Int) -> Void)?

    /// Test hooks: awaited before the model loads, and run on the engine thread before each step.
    var beforeLoading: (@Sendable () async -> Void)?
    var beforeEachStep: (@Sendable () -> Void)?

    public init(modelPath: String) {
        self.modelPath = modelPath
    }

    var resolvedQueueCapacity: Int { queueCapacity ?? 4 * parallel }

    /// Rejects values that cannot work before anything is loaded.
    public func validate() throws {
        func fail(_ message: String) -> ServerConfigurationError { ServerConfigurationError(message: message) }
        guard (0...65535).contains(port) else { throw fail("--port must be between 0 and 65535") }
        guard parallel >= 1, parallel <= 256 else { throw fail("--parallel must be between 1 and 256") }
        guard contextSize >= parallel else { throw fail("--ctx-size must be at least --parallel (each slot needs one position)") }
        guard threadCount >= 1, threadCount <= 256 else { throw fail("--threads must be between 1 and 256") }
        if let timeout { guard timeout.isFinite, timeout > 0 else { throw fail("--timeout must be a positive number of seconds") } }
        guard drainTimeout.isFinite, drainTimeout >= 0 else { throw fail("--drain-timeout must be 0 or a positive number of seconds") }
        if let queueCapacity { guard queueCapacity >= 0 else { throw fail("the queue capacity must be 0 or more") } }
        guard batchSize >= parallel else { throw fail("the batch size must be at least --parallel") }
        guard apiKeys.allSatisfy({ !$0.isEmpty }) else { throw fail("an API key cannot be empty") }
    }
}

public struct ServerConfigurationError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
