import Atomics
import CForgeKernels
import ForgeGGUF

/// Owns the worker threads and the activation scratch of the matrix products.
///
/// Calls may come from any thread. The pool runs one loop at a time: a `parallelFor` issued while
/// it is busy (from inside a body, or from another thread) runs on the calling thread alone.
public final class ComputeContext: @unchecked Sendable {
    /// The instruction-set variant of the kernels this context runs.
    public let variant: KernelVariant
    /// How one-token products read their weight rows.
    public let decodeRows: DecodeRowOrder
    /// What chooses the row order of `.fastest`, on the first one-token product of each weight format.
    public let calibration: KernelCalibration
    private let pool: OpaquePointer?
    /// Bit t set: a one-token product of weight type t has run here (its strategy is in place).
    private let decodeTypes = ManagedAtomic<UInt64>(0)
    /// Reused activation scratch; `scratchInUse` guards it against concurrent matmuls.
    private var scratch = forge_scratch()
    private let scratchInUse = ManagedAtomic<Bool>(false)

    /// A pool of `threadCount` participants (the calling thread included), running the fastest
    /// kernel variant the CPU supports, decode strategies calibrated by `KernelCalibration.shared`.
    /// Falls back to one thread if threads cannot be created.
    public convenience init(threadCount: Int) {
        self.init(checkedThreadCount: threadCount, variant: .best, decodeRows: .fastest, calibration: .shared)
    }

    /// As `init(threadCount:)` with a chosen kernel variant, decode row order and calibration
    /// (tests force each, or turn calibration off).
    public convenience init(threadCount: Int, variant: KernelVariant, decodeRows: DecodeRowOrder = .fastest,
                            calibration: KernelCalibration = .shared) throws {
        guard variant.isSupported else { throw KernelError.unsupportedVariant(variant) }
        self.init(checkedThreadCount: threadCount, variant: variant, decodeRows: decodeRows, calibration: calibration)
    }

    private init(checkedThreadCount threadCount: Int, variant: KernelVariant, decodeRows: DecodeRowOrder,
                 calibration: KernelCalibration) {
        self.variant = variant
        self.decodeRows = decodeRows
        self.calibration = calibration
        pool = forge_pool_create(Int32(clamping: max(1, threadCount)))
    }

    deinit {
        forge_pool_destroy(pool)
        forge_scratch_release(&scratch)
    }

    public var threadCount: Int { Int(forge_pool_thread_count(pool)) }

    /// Splits 0..<count into contiguous chunks across the pool's threads (the caller participates)
    /// and returns when all are done. `body` runs concurrently on several threads.
    public func parallelFor(_ count: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        withoutActuallyEscaping(body) { escapable in
            var closure = escapable
            withUnsafeMutablePointer(to: &closure) { closurePointer in
                forge_pool_run(pool, Int64(count), 1, { context, begin, end in
                    guard let context else { return }
                    context.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(Int(begin)..<Int(end))
                }, closurePointer)
            }
        }
    }

    /// output[t * rows + r] = Σ_c W[r, c] · input[t * columns + c], for t in 0..<tokens.
    ///
    /// The activations are converted as llama.cpp's CPU backend converts them for the weight type
    /// (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for the K types, f16/bf16 for
    /// F16/BF16 weights, none for F32), once per call, into scratch that only grows.
    public func matmul(_ weight: WeightMatrix, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, tokens: Int) {
        guard tokens > 0, weight.rows > 0 else { return }
        if tokens == 1 { noteDecode(weight.type) }
        matmul(weight, input: input, output: output, tokens: tokens, rows: decodeRows)
    }

    /// The row order each weight format's one-token products have taken in this context so far.
    public var decodeStrategies: [DecodeStrategy] {
        let types = decodeTypes.load(ordering: .relaxed)
        return GGMLType.allCases.filter { $0.rawValue < 64 && types & (1 << $0.rawValue) != 0 }.map {
            DecodeStrategy(type: $0, rows: decodeRows.resolved(variant: variant, type: $0))
        }
    }

    /// The first one-token product of a weight format has calibration put its strategy in place.
    private func noteDecode(_ type: GGMLType) {
        // WeightMatrix admits only types the kernels compute with, all below FORGE_TYPE_LIMIT.
        let bit = UInt64(1) << type.rawValue
        guard decodeTypes.load(ordering: .relaxed) & bit == 0 else { return }
        if decodeRows == .fastest { calibration.prepare(type, variant: variant, context: self) }
        _ = decodeTypes.loadThenBitwiseOr(with: bit, ordering: .relaxed)
    }

    /// As `matmul`, one-token products reading their rows in the order `rows` (calibration times each).
    func matmul(_ weight: WeightMatrix, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, tokens: Int,
                rows: DecodeRowOrder) {
        if scratchInUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            defer { scratchInUse.store(false, ordering: .releasing) }
            multiply(weight, input: input, output: output, tokens: tokens, rows: rows, scratch: &scratch)
        } else {
            var temporary = forge_scratch()
            defer { forge_scratch_release(&temporary) }
            multiply(weight, input: input, output: output, tokens: tokens, rows: rows, scratch: &temporary)
        }
    }

    private func multiply(_ weight: WeightMatrix, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                          tokens: Int, rows: DecodeRowOrder, scratch: inout forge_scratch) {
        let status = forge_matmul(pool, variant.isa, rows.rowOrder, &scratch, weight.type.rawValue, Int64(weight.rows),
                                  Int64(weight.columns), weight.data, weight.bytesPerRow, input, output, Int64(tokens))
        // WeightMatrix.init admits only computable types, so the one failure left is allocation.
        if status != 0 {
            fatalError("out of memory for the activations of a \(tokens)-token matrix product")
        }
    }
}

/// The order in which one-token products read their weight rows; the results are the same bits.
/// The raw values name the strategies in `forge bench` and the tuning file.
public enum DecodeRowOrder: String, Sendable, CaseIterable {
    /// What calibration chose for the variant and weight format, else the variant's default.
    case fastest
    /// One row after another.
    case rowByRow = "rows"
    /// The variant's row panels: several adjacent rows in lockstep, each activation block loaded once for all.
    case rowPanels = "row panels"
    /// Row panels over rows far apart: each thread's rows as one stream per panel row.
    case rowStreams = "row panels+streams"
}

extension DecodeRowOrder {
    var rowOrder: forge_row_order {
        switch self {
        case .fastest: FORGE_ROWS_FASTEST
        case .rowPanels: FORGE_ROWS_PANELS
        case .rowByRow: FORGE_ROWS_ONE_BY_ONE
        case .rowStreams: FORGE_ROWS_STREAMS
        }
    }

    /// The order a one-token product of `type` asking for this one runs: never `.fastest`, and
    /// `.rowByRow` where the variant has no row panels for the type.
    public func resolved(variant: KernelVariant, type: GGMLType) -> DecodeRowOrder {
        switch forge_row_order_resolved(variant.isa, type.rawValue, rowOrder) {
        case FORGE_ROWS_PANELS: .rowPanels
        case FORGE_ROWS_STREAMS: .rowStreams
        default: .rowByRow
        }
    }

    /// The orders one-token products of `type` can take in `variant`, the candidates calibration times.
    public static func candidates(variant: KernelVariant, type: GGMLType) -> [DecodeRowOrder] {
        [.rowByRow, .rowPanels, .rowStreams].filter { $0.resolved(variant: variant, type: type) == $0 }
    }
}

/// The row order one-token products of a weight format took.
public struct DecodeStrategy: Sendable, Equatable, CustomStringConvertible {
    public let type: GGMLType
    public let rows: DecodeRowOrder

    public var description: String { "\(type.name) \(rows.rawValue)" }
}
