#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The float types the model is generic over: `Double` for gradient checks, `Float` for training.
/// The reductions live here so that each type gets a vectorized loop; floating-point addition
/// is not associative, so the compiler would never split a generic sum into lanes by itself.
public protocol TrainingScalar: BinaryFloatingPoint, BitwiseCopyable, Sendable {
    static func exponential(_ x: Self) -> Self
    static func logarithm(_ x: Self) -> Self
    /// The sum of `a[i] * b[i]` for `i` in `0..<count`.
    static func dot(_ a: UnsafePointer<Self>, _ b: UnsafePointer<Self>, count: Int) -> Self
    /// `output[t][j] (+)= Σᵢ weight[j][i] · input[t][i]`; see LinearKernels.swift.
    static func linearForward(
        input: UnsafePointer<Self>, weight: UnsafePointer<Self>, output: UnsafeMutablePointer<Self>,
        positions: Int, inputs: Int, outputs: Int, accumulating: Bool)
    static func linearBackward(
        input: UnsafePointer<Self>, weight: UnsafePointer<Self>, gradOutput: UnsafePointer<Self>,
        gradInput: UnsafeMutablePointer<Self>, gradWeight: UnsafeMutablePointer<Self>,
        positions: Int, inputs: Int, outputs: Int)
}

extension Float: TrainingScalar {
    public static func exponential(_ x: Float) -> Float { expf(x) }
    public static func logarithm(_ x: Float) -> Float { logf(x) }

    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        let rawA = UnsafeRawPointer(a)
        let rawB = UnsafeRawPointer(b)
        var sum0 = SIMD8<Float>()
        var sum1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= count {
            let stride = MemoryLayout<Float>.stride
            sum0.addProduct(
                rawA.loadUnaligned(fromByteOffset: i * stride, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: i * stride, as: SIMD8<Float>.self))
            sum1.addProduct(
                rawA.loadUnaligned(fromByteOffset: (i + 8) * stride, as: SIMD8<Float>.self),
                rawB.loadUnaligned(fromByteOffset: (i + 8) * stride, as: SIMD8<Float>.self))
            i += 16
        }
        var total = (sum0 + sum1).sum()
        while i < count {
            total += a[i] * b[i]
            i += 1
        }
        return total
    }
}

extension Double: TrainingScalar {
    public static func exponential(_ x: Double) -> Double { exp(x) }
    public static func logarithm(_ x: Double) -> Double { log(x) }

    public static func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, count: Int) -> Double {
        var total = 0.0
        for i in 0..<count { total += a[i] * b[i] }
        return total
    }
}

/// `y[i] += alpha * x[i]`.
@inline(__always)
func accumulate<T: TrainingScalar>(_ alpha: T, _ x: UnsafePointer<T>, into y: UnsafeMutablePointer<T>, count: Int) {
    for i in 0..<count { y[i] += alpha * x[i] }
}
