/// Where a text stands in a grammar, byte by byte: a value, so a copy is a snapshot. A token may
/// end inside a multi-byte character; the matcher then waits for the rest of it.
public struct GrammarMatcher: Sendable {
    let automaton: GrammarAutomaton
    private(set) var state: Int32

    public init(grammar: Grammar) {
        automaton = grammar.automaton
        state = automaton.initialState
    }

    /// Consumes `bytes` if the grammar accepts them all here; otherwise returns false and stays.
    @discardableResult
    public mutating func advance<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        let next = automaton.advance(state, bytes)
        guard next != GrammarAutomaton.dead else { return false }
        state = next
        return true
    }

    /// Whether `advance(bytes)` would succeed.
    public func accepts<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Bool {
        automaton.advance(state, bytes) != GrammarAutomaton.dead
    }

    /// The text so far is a complete sentence of the grammar.
    public var canEnd: Bool { automaton.canEnd(state) }

    /// The text so far is complete and nothing may follow it.
    public var isComplete: Bool { automaton.isComplete(state) }

    /// Back to the start of the grammar.
    public mutating func reset() { state = automaton.initialState }
}
