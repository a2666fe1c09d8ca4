import Foundation

/// The matcher's states, built lazily and shared by every matcher of one grammar: a pushdown
/// automaton determinized on demand. A stack is a node in a tree of interned nodes (a position to
/// match next and the stack below it), so equal stacks are equal integers; a state is the sorted
/// set of stacks the input so far can have left (llama.cpp's `stacks`), also interned. Each state
/// caches its 256 byte transitions, so matching a byte seen before from a state is one table read.
final class GrammarAutomaton: @unchecked Sendable {
    /// The state no input reaches: the grammar rejected a byte.
    static let dead: Int32 = 0
    /// The empty stack: the grammar has matched a complete text.
    private static let emptyStack: Int32 = 0
    private static let unknown: Int32 = -1

    let program: GrammarProgram
    private(set) var initialState: Int32 = 0
    // Guards everything below; matchers of one grammar may run on several threads.
    private let lock = NSLock()

    private var nodePositions: [Int32] = [-1]
    private var nodeParents: [Int32] = [-1]
    private var nodeIndex: [Int64: Int32] = [:]

    /// Memos of `lookaheadEquivalent`, keyed by lookahead and node or state.
    private var equivalentNodes: [Int64: Int32] = [:]
    private var equivalentStates: [Int64: Int32] = [:]

    private var scratchStacks: [Int32] = []
    private var scratchExpanded = Set<Int64>()

    private var stateStacks: [[Int32]] = [[]]
    private var stateIndex: [[Int32]: Int32] = [[]: 0]
    /// 256 transitions per state, `unknown` until first needed.
    private var transitions: UnsafeMutablePointer<Int32>
    private var stateCapacity = 64

    init(program: GrammarProgram) {
        self.program = program
        transitions = .allocate(capacity: stateCapacity * 256)
        transitions.initialize(repeating: GrammarAutomaton.dead, count: 256)
        var stacks: [Int32] = []
        var expanded = Set<Int64>()
        for start in program.alternativeStarts[Int(program.root)] {
            expand(position: start, parent: GrammarAutomaton.emptyStack, into: &stacks, expanded: &expanded)
        }
        initialState = internState(stacks)
    }

    deinit { transitions.deallocate() }

    // MARK: Queries (each takes the lock)

    /// The state after `bytes`, or `dead`.
    func advance<Bytes: Sequence<UInt8>>(_ state: Int32, _ bytes: Bytes) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        var current = state
        for byte in bytes {
            current = transition(current, byte)
            if current == GrammarAutomaton.dead { break }
        }
        return current
    }

    /// Whether the text so far is a complete sentence of the grammar.
    func canEnd(_ state: Int32) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return stateStacks[Int(state)].first == GrammarAutomaton.emptyStack
    }

    /// Whether the text so far is complete and no byte may follow.
    func isComplete(_ state: Int32) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return stateStacks[Int(state)] == [GrammarAutomaton.emptyStack]
    }

    /// A state that accepts the same strings of up to `lookahead` bytes as `state`: itself, or,
    /// inside a long counted repetition, the same place with fewer copies left, so the states
    /// along the repetition share one.
    func lookaheadEquivalent(_ state: Int32, lookahead: Int) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard !program.repetitionSlots.isEmpty else { return state }
        let key = Int64(lookahead) << 32 | Int64(state)
        if let equivalent = equivalentStates[key] { return equivalent }
        let equivalent = internState(stateStacks[Int(state)].map { equivalentNode($0, lookahead: lookahead) })
        equivalentStates[key] = equivalent
        return equivalent
    }

    private func equivalentNode(_ node: Int32, lookahead: Int) -> Int32 {
        guard node != GrammarAutomaton.emptyStack else { return node }
        let key = Int64(lookahead) << 32 | Int64(node)
        if let equivalent = equivalentNodes[key] { return equivalent }
        let equivalent = internNode(position: program.lookaheadEquivalent(nodePositions[Int(node)], lookahead: lookahead),
                                    parent: equivalentNode(nodeParents[Int(node)], lookahead: lookahead))
        equivalentNodes[key] = equivalent
        return equivalent
    }

    /// Sets the bit of every token in `trie` whose bytes the grammar accepts from `state`, by
    /// walking the trie and leaving a subtree as soon as its prefix is rejected.
    func collectAcceptedTokens(from state: Int32, trie: Trie, into words: UnsafeMutablePointer<UInt64>) {
        lock.lock()
        defer { lock.unlock() }
        let stateAtDepth = UnsafeMutablePointer<Int32>.allocate(capacity: trie.maximumDepth + 1)
        defer { stateAtDepth.deallocate() }
        stateAtDepth[0] = state
        var table = transitions
        var node = 1
        while node < trie.nodeCount {
            let depth = Int(trie.depths[node])
            let byte = trie.bytes[node]
            let from = stateAtDepth[depth - 1]
            var next = table[Int(from) &* 256 &+ Int(byte)]
            if next == GrammarAutomaton.unknown {
                next = computeTransition(from, byte)
                table = transitions
            }
            if next == GrammarAutomaton.dead {
                node = Int(trie.subtreeEnds[node])
                continue
            }
            stateAtDepth[depth] = next
            for slot in Int(trie.tokenStarts[node])..<Int(trie.tokenStarts[node + 1]) {
                let token = Int(trie.tokens[slot])
                words[token >> 6] |= 1 << UInt64(token & 63)
            }
            node += 1
        }
    }

    // MARK: Building states (lock held)

    private func transition(_ state: Int32, _ byte: UInt8) -> Int32 {
        let cached = transitions[Int(state) * 256 + Int(byte)]
        return cached == GrammarAutomaton.unknown ? computeTransition(state, byte) : cached
    }

    private func computeTransition(_ state: Int32, _ byte: UInt8) -> Int32 {
        // Reuses the scratch buffers' storage: a trie walk can compute thousands of transitions.
        var stacks = scratchStacks
        var expanded = scratchExpanded
        stacks.removeAll(keepingCapacity: true)
        expanded.removeAll(keepingCapacity: true)
        for stack in stateStacks[Int(state)] where stack != GrammarAutomaton.emptyStack {
            let position = nodePositions[Int(stack)]
            guard case .bytes(let set) = program.elements[Int(position)], program.byteSets[Int(set)].contains(byte) else { continue }
            expand(position: position + 1, parent: nodeParents[Int(stack)], into: &stacks, expanded: &expanded)
        }
        let next = internState(stacks)
        (scratchStacks, scratchExpanded) = (stacks, expanded)
        transitions[Int(state) * 256 + Int(byte)] = next
        return next
    }

    /// Adds the stacks that reach a byte terminal from `position` with `parent` below: rule
    /// references push their continuation and open every alternative, ends pop.
    private func expand(position: Int32, parent: Int32, into stacks: inout [Int32], expanded: inout Set<Int64>) {
        guard expanded.insert(Int64(position) << 32 | Int64(parent)).inserted else { return }
        switch program.elements[Int(position)] {
        case .end:
            if parent == GrammarAutomaton.emptyStack {
                stacks.append(GrammarAutomaton.emptyStack)
            } else {
                expand(position: nodePositions[Int(parent)], parent: nodeParents[Int(parent)], into: &stacks, expanded: &expanded)
            }
        case .bytes:
            stacks.append(internNode(position: position, parent: parent))
        case .rule(let rule):
            // A reference in tail position returns straight to the caller's continuation.
            let continuation = program.elements[Int(position) + 1] == .end ? parent : internNode(position: position + 1, parent: parent)
            for start in program.alternativeStarts[Int(rule)] {
                expand(position: start, parent: continuation, into: &stacks, expanded: &expanded)
            }
        }
    }

    private func internNode(position: Int32, parent: Int32) -> Int32 {
        let key = Int64(position) << 32 | Int64(parent)
        if let node = nodeIndex[key] { return node }
        let node = Int32(nodePositions.count)
        nodePositions.append(position)
        nodeParents.append(parent)
        nodeIndex[key] = node
        return node
    }

    private func internState(_ stacks: [Int32]) -> Int32 {
        var sorted = stacks
        sorted.sort()
        var unique = 0
        for index in sorted.indices where unique == 0 || sorted[unique - 1] != sorted[index] {
            sorted[unique] = sorted[index]
            unique += 1
        }
        sorted.removeLast(sorted.count - unique)
        if let state = stateIndex[sorted] { return state }
        let state = Int32(stateStacks.count)
        stateStacks.append(sorted)
        stateIndex[sorted] = state
        if stateStacks.count > stateCapacity {
            let grown = UnsafeMutablePointer<Int32>.allocate(capacity: stateCapacity * 2 * 256)
            grown.moveInitialize(from: transitions, count: stateCapacity * 256)
            transitions.deallocate()
            transitions = grown
            stateCapacity *= 2
        }
        (transitions + Int(state) * 256).initialize(repeating: GrammarAutomaton.unknown, count: 256)
        return state
    }
}
