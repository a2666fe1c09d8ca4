/// A batch of tokens to run together: each token's position in its sequence and the KV-cache
/// slot that sequence owns. A prompt is one slot with consecutive positions; a decoding step of
/// several sequences is one token per slot.
public struct Batch: Sendable {
    public var tokens: [Int]
    public var positions: [Int]
    public var slots: [Int]

    public init(tokens: [Int], positions: [Int], slots: [Int]) {
        self.tokens = tokens
        self.positions = positions
        self.slots = slots
    }

    /// Consecutive tokens of one sequence starting at `position`.
    public init(tokens: [Int], startingAt position: Int, slot: Int = 0) {
        self.init(tokens: tokens, positions: Array(position..<position + tokens.count), slots: Array(repeating: slot, count: tokens.count))
    }

    public var count: Int { tokens.count }
}
