import ArgumentParser
import ForgeModel

/// How a model runs: threads, context and KV cache.
public struct RuntimeOptions: ParsableArguments {
    @Option(name: [.short, .customLong("threads")], help: "Threads for the matrix products.")
    public var threads: Int = 2

    @Option(name: [.short, .customLong("ctx-size")], help: "Context size in tokens (capped by the model's training context).")
    public var contextSize: Int = 4096

    @Option(name: .customLong("cache-type"), help: "KV cache element type: f16 or f32.")
    public var cacheType: String = "f16"

    @Flag(help: "Print model, cache and timing details on stderr.")
    public var verbose = false

    public init() {}

    public func validate() throws {
        guard threads >= 1, threads <= 256 else { throw ValidationError("--threads must be between 1 and 256") }
        guard contextSize >= 1 else { throw ValidationError("--ctx-size must be positive") }
        guard KVCacheType(rawValue: cacheType) != nil else { throw ValidationError("--cache-type must be f16 or f32") }
    }

    public var kvCacheType: KVCacheType { KVCacheType(rawValue: cacheType) ?? .f16 }
}
