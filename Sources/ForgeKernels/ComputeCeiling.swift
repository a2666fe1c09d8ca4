import CForgeKernels

/// The machine's fused multiply-add rate in a kernel variant's widest float vectors: the ceiling of
/// compute-bound prompt processing, as `MemoryBandwidth` is the ceiling of memory-bound decoding.
public enum ComputeCeiling {
    public struct Measurement: Sendable, Equatable {
        /// Best floating-point operations per second over the passes, all threads together.
        public let flopsPerSecond: Double
        public let threads: Int
        public let passes: Int
        public let variant: KernelVariant
    }

    public struct ProbeError: Error, Equatable, CustomStringConvertible {
        public let passes: Int, steps: Int
        public var description: String { "a compute probe needs at least one pass and one step, not \(passes) and \(steps)" }
    }

    /// Runs independent multiply-add chains on every one of `threads` threads, `steps` rounds each,
    /// `passes` times, and keeps the fastest pass.
    public static func measure(threads: Int, variant: KernelVariant = .best, passes: Int = 5,
                               steps: Int = 20_000_000) throws -> Measurement {
        guard passes >= 1, steps >= 1 else {
            throw ProbeError(passes: passes, steps: steps)
        }
        let context = try ComputeContext(threadCount: threads, variant: variant, calibration: .off)
        let flops = UnsafeMutablePointer<Double>.allocate(capacity: context.threadCount)
        let sinks = UnsafeMutablePointer<Float>.allocate(capacity: context.threadCount)
        defer {
            flops.deallocate()
            sinks.deallocate()
        }
        sinks.initialize(repeating: 0, count: context.threadCount)
        var best = 0.0
        for _ in 0..<passes {
            let start = ContinuousClock.now
            context.parallelFor(context.threadCount) { range in
                for thread in range {
                    flops[thread] = forge_fma_chains(variant.isa, Int64(steps), sinks + thread)
                }
            }
            let seconds = max((ContinuousClock.now - start).inSeconds, 1e-9)
            let total = (0..<context.threadCount).reduce(0) { $0 + flops[$1] }
            best = max(best, total / seconds)
        }
        return Measurement(flopsPerSecond: best, threads: context.threadCount, passes: passes, variant: variant)
    }
}
