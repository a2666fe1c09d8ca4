import Foundation

/// A counting semaphore: `wait` takes a permit, blocking while there is none; `grant` adds some.
/// Unlike a DispatchSemaphore it may be released with permits taken and never returned, as a
/// dropped stream's are. Generation streams bound their lead with it; tests step the server
/// engine through it.
package final class Permits: @unchecked Sendable {
    private let condition = NSCondition()
    private var available: Int

    package init(_ count: Int) { available = count }

    package func wait() {
        condition.lock()
        while available == 0 { condition.wait() }
        available -= 1
        condition.unlock()
    }

    package func grant(_ count: Int = 1) {
        condition.lock()
        available += count
        condition.broadcast()
        condition.unlock()
    }

    /// Takes back every permit not yet taken.
    package func revokeAll() {
        condition.lock()
        available = 0
        condition.unlock()
    }
}
