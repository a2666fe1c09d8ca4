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
    private let pool: OpaquePointer?
    /// Reused activation scratch; `scratchInUse` guards it against concurrent matmuls.
    private var scratch = forge_scratch()
    private let scratchInUse = ManagedAtomic<Bool>(false)

    /// A pool of `threadCount` participants (the calling thread included), running the fastest
    /// kernel variant the CPU supports. Falls back to one thread if threads cannot be created.
    public convenience init(threadCount: Int) {
        self.init(checkedThreadCount: threadCount, variant: .best, decodeRows: .fastest)
    }

    /// As `init(threadCount:)` with a chosen kernel variant and decode row order (tests force each).
    public convenience init(threadCount: Int, variant: KernelVariant, decodeRows: DecodeRowOrder = .fastest) throws {
        guard variant.isSupported else { throw KernelError.unsupportedVariant(variant) }
        self.init(checkedThreadCount: threadCount, variant: variant, decodeRows: decodeRows)
    }

    private init(checkedThreadCount threadCount: Int, variant: KernelVariant, decodeRows: DecodeRowOrder) {
        self.variant = variant
        self.decodeRows = decodeRows
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
        if scratchInUse.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            defer { scratchInUse.store(false, ordering: .releasing) }
            multiply(weight, input: input, output: output, tokens: tokens, scratch: &scratch)
        } else {
            var temporary = forge_scratch()
            defer { forge_scratch_release(&temporary) }
            multiply(weight, input: input, output: output, tokens: tokens, scratch: &temporary)
        }
    }

    private func multiply(_ weight: WeightMatrix, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                          tokens: Int, scratch: inout forge_scratch) {
        let status = forge_matmul(pool, variant.isa, decodeRows.rowOrder, &scratch, weight.type.rawValue, Int64(weight.rows),
                                  Int64(weight.columns), weight.data, weight.bytesPerRow, input, output, Int64(tokens))
        // WeightMatrix.init admits only computable types, so the one failure left is allocation.
        if status != 0 {
            fatalError("out of memory for the activations of a \(tokens)-token matrix product")
        }
    }
}

/// The order in which one-token products read their weight rows; the results are the same bits.
public enum DecodeRowOrder: Sendable, CaseIterable {
    /// Whichever of the two this CPU reads faster for the weight format (forge_row_panels_preferred).
    case fastest
    /// The variant's row panels: several rows in lockstep, each activation block loaded once for all.
    case rowPanels
    /// One row after another.
    case rowByRow
}

extension DecodeRowOrder {
    var rowOrder: forge_row_order {
        switch self {
        case .fastest: FORGE_ROWS_FASTEST
        case .rowPanels: FORGE_ROWS_PANELS
        case .rowByRow: FORGE_ROWS_ONE_BY_ONE
        }
    }
}
