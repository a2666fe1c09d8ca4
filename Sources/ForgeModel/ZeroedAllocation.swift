#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Zero-filled memory from `calloc`. The C library takes large blocks straight from the kernel
/// as zero pages, so pages never written (context positions a conversation never reaches, batch
/// rows beyond the batches actually run) cost no resident memory, where zeroing by hand touches
/// every page: a decode-only Evaluator for SmolLM2 held 18 MiB of untouched batch buffers.
struct ZeroedAllocation {
    /// What `release` frees.
    private let base: UnsafeMutableRawPointer
    /// The first `alignment`-aligned byte; `byteCount` bytes from here are usable.
    let start: UnsafeMutableRawPointer

    /// Nil when the memory cannot be had.
    init?(byteCount: Int, alignment: Int = 64) {
        guard let base = calloc(byteCount + alignment, 1) else { return nil }
        self.base = base
        let misalignment = Int(bitPattern: base) % alignment
        start = base + (misalignment == 0 ? 0 : alignment - misalignment)
    }

    func release() { free(base) }
}
