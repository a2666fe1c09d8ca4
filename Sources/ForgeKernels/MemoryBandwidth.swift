#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CForgeKernels

/// The machine's streaming-read bandwidth: the ceiling of memory-bound decoding, which reads
/// every weight once per token.
public enum MemoryBandwidth {
    public struct Measurement: Sendable, Equatable {
        /// Best bytes per second over the passes.
        public let bytesPerSecond: Double
        public let bufferBytes: Int
        public let threads: Int
        public let passes: Int
    }

    public enum ProbeError: Error, Equatable, CustomStringConvertible {
        case invalidSize(Int)
        case invalidPasses(Int)
        case outOfMemory(bytes: Int)

        public var description: String {
            switch self {
            case .invalidSize(let bytes): "a bandwidth probe needs 1 MiB to 64 GiB, not \(bytes) bytes"
            case .invalidPasses(let passes): "a bandwidth probe needs at least one pass, not \(passes)"
            case .outOfMemory(let bytes): "cannot allocate \(bytes) bytes for the bandwidth probe"
            }
        }
    }

    /// Reads a buffer of `bytes` (much larger than the caches, so every pass streams from memory)
    /// `passes` times in each of two patterns with `threads` threads, each summing contiguous
    /// pieces with independent wide loads, as one sequential stream and as eight lockstep streams
    /// (which of the two is faster depends on the CPU), and keeps the fastest pass. The buffer is
    /// freed before returning.
    public static func measure(bytes: Int = 1 << 30, threads: Int, passes: Int = 3) throws -> Measurement {
        guard bytes >= 1 << 20, bytes <= 64 << 30 else { throw ProbeError.invalidSize(bytes) }
        guard passes >= 1 else { throw ProbeError.invalidPasses(passes) }
        let pieceBytes = 1 << 20
        let pieces = bytes / pieceBytes
        let length = pieces * pieceBytes
        guard let buffer = malloc(length) else { throw ProbeError.outOfMemory(bytes: length) }
        defer { free(buffer) }
        // Non-zero bytes, so every page is real memory rather than the shared zero page.
        memset(buffer, 0x5a, length)

        let context = ComputeContext(threadCount: threads)
        let sums = UnsafeMutablePointer<UInt64>.allocate(capacity: pieces)
        defer { sums.deallocate() }
        var best = Double.infinity
        for _ in 0..<passes {
            for lockstep: Int32 in [0, 1] {
                let start = ContinuousClock.now
                context.parallelFor(pieces) { range in
                    for piece in range {
                        sums[piece] = forge_stream_sum(buffer + piece * pieceBytes, pieceBytes, lockstep)
                    }
                }
                best = min(best, (ContinuousClock.now - start).inSeconds)
            }
        }
        return Measurement(bytesPerSecond: Double(length) / max(best, 1e-9), bufferBytes: length,
                           threads: context.threadCount, passes: passes)
    }
}
