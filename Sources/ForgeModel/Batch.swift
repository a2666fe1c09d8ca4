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

    /// Throws unless every token is in the vocabulary, every position inside the context and every
    /// slot one the cache has, with one position and one slot per token.
    func check(vocabularySize: Int, contextSize: Int, slotCount: Int) throws {
        guard positions.count == count, slots.count == count else {
            throw ModelError("batch positions and slots must have one entry per token")
        }
        for i in 0..<count {
            guard tokens[i] >= 0, tokens[i] < vocabularySize else {
                throw ModelError("token id \(tokens[i]) is outside the vocabulary (0..<\(vocabularySize))")
            }
            guard positions[i] >= 0, positions[i] < contextSize else {
                throw ModelError("position \(positions[i]) is past the context size \(contextSize)")
            }
            guard slots[i] >= 0, slots[i] < slotCount else {
                throw ModelError("slot \(slots[i]) does not exist (the cache has \(slotCount))")
            }
        }
    }
}
