#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A tiny seedable generator whose whole state is one word: the same seed gives the same numbers
/// on every platform (sampling), and checkpoints can store it so a resumed training run draws
/// exactly the numbers the uninterrupted run would have drawn.
public struct SplitMix64: RandomNumberGenerator, Sendable, Equatable {
    public var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1): never zero, so its logarithm is finite.
    public mutating func nextUnitInterval() -> Double {
        (Double(next() >> 11) + 0.5) / Double(1 << 53)
    }

    /// Standard normal by Box–Muller.
    public mutating func nextGaussian() -> Double {
        let radius = (-2 * log(nextUnitInterval())).squareRoot()
        return radius * cos(2 * Double.pi * nextUnitInterval())
    }

    /// Uniform in `0..<bound`, `bound > 0`.
    public mutating func nextIndex(below bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }
}
