import ArgumentParser
import Foundation
import ForgeServer
import ServiceLifecycle
import Logging

/// `forge serve`: the OpenAI-compatible HTTP server.
public struct ServeCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a model over an OpenAI-compatible HTTP API.",
        discussion: """
            Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health \
            (ready), GET /livez (alive), POST /tokenize, POST /detokenize, POST /apply-template, and \
            GET /metrics with --metrics. --ctx-size is divided among the --parallel slots, as \
            llama-server does (on a Vulkan device the slots' KV cache lives there too). Prints \
            "listening on http://HOST:PORT" on stderr once the model is loaded. SIGTERM or SIGINT drains: \
            /health and new requests get 503, running requests get --drain-timeout seconds to finish, the \
            rest end cleanly, and the server exits 0; a second SIGINT exits at once.
            """)

    @OptionGroup public var modelOptions: ModelOptions
    @OptionGroup public var runtime: RuntimeOptions
    @OptionGroup public var placement: DeviceOptions

    @Option(help: "Address to listen on.")
    public var host = "127.0.0.1"

    @Option(help: "Port to listen on (0: any free port).")
    public var port = 8080

    @Option(help: "Requests decoded together, each in its own KV cache slot.")
    public var parallel = 1

    @Option(name: .customLong("api-key"), help: "Accept this key as `Authorization: Bearer KEY` (repeatable).")
    public var apiKeys: [String] = []

    @Option(name: .customLong("api-key-file"), help: ArgumentHelp("Read API keys from this file, one a line.", valueName: "FILE"))
    public var apiKeyFile: String?

    @Option(help: "The model name clients see (default: the file name).")
    public var alias: String?

    @Option(help: ArgumentHelp("Seconds a request may take; it then ends with finish_reason \"length\".", valueName: "S"))
    public var timeout: Double?

    @Flag(help: "Serve Prometheus metrics at /metrics.")
    public var metrics = false

    @Option(help: ArgumentHelp("Seconds running requests get to finish after SIGTERM or SIGINT.", valueName: "S"))
    public var drainTimeout = 30.0

    public init() {}

    public func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        guard parallel >= 1, parallel <= 256 else { throw ValidationError("--parallel must be between 1 and 256") }
        if let timeout { guard timeout.isFinite, timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds") } }
        guard drainTimeout.isFinite, drainTimeout >= 0 else { throw ValidationError("--drain-timeout must be 0 or a positive number of seconds") }
    }

    public func run() async throws {
        var configuration = ServerConfiguration(modelPath: try modelOptions.resolvedPath())
        configuration.host = host
        configuration.port = port
        configuration.contextSize = runtime.contextSize
        configuration.parallel = parallel
        configuration.threadCount = runtime.threads
        configuration.cacheType = runtime.kvCacheType
        configuration.device = try placement.open()
        configuration.apiKeys = apiKeys + (try readKeyFile())
        configuration.alias = alias
        configuration.timeout = timeout
        configuration.metricsEnabled = metrics
        configuration.drainSignals = [.sigterm, .sigint]
        configuration.drainTimeout = drainTimeout
        configuration.onReady = { host, port in
            StandardStreams.error("listening on http://\(host):\(port)\n")
        }
        var logger = Logger(label: "forge.serve")
        logger.logLevel = runtime.verbose ? .info : .warning
        do {
            try await buildServer(configuration: configuration, logger: logger).run()
        } catch let error as ServerConfigurationError {
            throw ValidationError(error.message)
        } catch is ServerInterrupted {
            throw ExitCode(130)
        }
    }

    private func readKeyFile() throws -> [String] {
        guard let apiKeyFile else { return [] }
        guard let data = FileManager.default.contents(atPath: apiKeyFile) else {
            throw ValidationError("cannot read the API key file \(apiKeyFile)")
        }
        return String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
