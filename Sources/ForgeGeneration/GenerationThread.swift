import Foundation

/// A dedicated thread for a generation loop: it computes for seconds at a time, which would
/// starve Swift concurrency's small cooperative pool.
public final class GenerationThread: @unchecked Sendable {
    private let thread: Thread

    public init(_ body: @escaping @Sendable () -> Void) {
        thread = Thread(block: body)
        thread.stackSize = 8 << 20
    }

    public func start() { thread.start() }
}
