#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What grammar-constrained sampling needs of a tokenizer's vocabulary: the bytes each token adds
/// to the text, the end-of-generation tokens, and a byte trie of all the others. Build it once per
/// tokenizer and share it: the trie of a 150,000-token vocabulary takes a while to build.
public final class TokenVocabulary: @unchecked Sendable {
    public let count: Int
    /// End-of-generation tokens: allowed exactly where the grammar can end.
    public let endOfGeneration: [Int]
    private let isEndOfGeneration: [Bool]
    private let offsets: [Int]
    private let data: [UInt8]
    /// The tokens by length, shortest first: each tier's trie and the longest token in it. A
    /// tier's mask depends only on the state's next `lookahead` bytes, so states that agree that
    /// far (along a long counted repetition) share it; most tokens are in the shortest tier.
    let tiers: [(trie: Trie, lookahead: Int)]
    private static let tierLimits = [GrammarProgram.shortestLookahead, 31, 63]

    /// - Parameters:
    ///   - tokenBytes: per token id, the bytes it adds to the text; nil (or empty) for tokens
    ///     never allowed inside a grammar (control tokens, tokens that show no text).
    ///   - endOfGeneration: ids that end generation.
    public init(tokenBytes: [[UInt8]?], endOfGeneration: Set<Int>) {
        count = tokenBytes.count
        self.endOfGeneration = endOfGeneration.filter { $0 >= 0 && $0 < tokenBytes.count }.sorted()
        var isEnd = [Bool](repeating: false, count: count)
        for id in self.endOfGeneration { isEnd[id] = true }
        isEndOfGeneration = isEnd
        var offsets = [0]
        var data: [UInt8] = []
        offsets.reserveCapacity(count + 1)
        for (id, bytes) in tokenBytes.enumerated() {
            if let bytes, !isEnd[id], bytes.count <= Int(UInt16.max) { data += bytes }
            offsets.append(data.count)
        }
        self.offsets = offsets
        self.data = data
        let longest = (0..<count).map { offsets[$0 + 1] - offsets[$0] }.max() ?? 0
        var tiers: [(trie: Trie, lookahead: Int)] = []
        var shorter = 0
        for limit in TokenVocabulary.tierLimits + [longest] where min(limit, longest) > shorter {
            let range = (shorter + 1)...min(limit, longest)
            tiers.append((Trie(offsets: offsets, data: data, including: { range.contains(offsets[$0 + 1] - offsets[$0]) }), range.upperBound))
            shorter = range.upperBound
        }
        self.tiers = tiers
    }

    deinit {
        for tier in tiers { tier.trie.deallocate() }
    }

    /// The bytes of a token the grammar may match, nil for end-of-generation and excluded tokens.
    public func bytes(of token: Int) -> ArraySlice<UInt8>? {
        guard token >= 0, token < count, offsets[token] < offsets[token + 1] else { return nil }
        return data[offsets[token]..<offsets[token + 1]]
    }

    public func isEndOfGeneration(_ token: Int) -> Bool { token >= 0 && token < count && isEndOfGeneration[token] }
}

/// The tokens' byte strings as a trie in depth-first order: a node's subtree is the run of nodes
/// up to `subtreeEnds[node]`, so a walk skips a rejected prefix with one jump. Node 0 is the root.
struct Trie {
    let nodeCount: Int
    let maximumDepth: Int
    /// The byte on the edge into each node.
    let bytes: UnsafeMutablePointer<UInt8>
    let depths: UnsafeMutablePointer<UInt16>
    let subtreeEnds: UnsafeMutablePointer<Int32>
    /// The tokens whose bytes end at node n are `tokens[tokenStarts[n]..<tokenStarts[n + 1]]`.
    let tokenStarts: UnsafeMutablePointer<Int32>
    let tokens: UnsafeMutablePointer<Int32>

    /// The trie of the non-empty tokens `including` selects.
    init(offsets: [Int], data: [UInt8], including: (Int) -> Bool) {
        let count = offsets.count - 1
        var ids = (0..<count).filter { offsets[$0] < offsets[$0 + 1] && including($0) }
        data.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress
            ids.sort { a, b in
                let (lengthA, lengthB) = (offsets[a + 1] - offsets[a], offsets[b + 1] - offsets[b])
                let order = memcmp(base! + offsets[a], base! + offsets[b], min(lengthA, lengthB))
                return order != 0 ? order < 0 : (lengthA != lengthB ? lengthA < lengthB : a < b)
            }
        }
        var nodeBytes: [UInt8] = [0]
        var nodeDepths: [UInt16] = [0]
        var ends: [Int32] = [0]
        var tokensAtNode: [Int32] = [0]
        var path: [Int] = [0]
        var previous: ArraySlice<UInt8> = []
        for id in ids {
            let bytes = data[offsets[id]..<offsets[id + 1]]
            var common = 0
            while common < previous.count, common < bytes.count,
                  previous[previous.startIndex + common] == bytes[bytes.startIndex + common] { common += 1 }
            while path.count > common + 1 {
                ends[path.removeLast()] = Int32(nodeBytes.count)
            }
            for byte in bytes.dropFirst(common) {
                path.append(nodeBytes.count)
                nodeBytes.append(byte)
                nodeDepths.append(UInt16(path.count - 1))
                ends.append(0)
                tokensAtNode.append(0)
            }
            tokensAtNode[path[path.count - 1]] += 1
            previous = bytes
        }
        for node in path { ends[node] = Int32(nodeBytes.count) }

        nodeCount = nodeBytes.count
        maximumDepth = Int(nodeDepths.max() ?? 0)
        bytes = .allocate(capacity: nodeCount)
        bytes.initialize(from: nodeBytes, count: nodeCount)
        depths = .allocate(capacity: nodeCount)
        depths.initialize(from: nodeDepths, count: nodeCount)
        subtreeEnds = .allocate(capacity: nodeCount)
        subtreeEnds.initialize(from: ends, count: nodeCount)
        tokenStarts = .allocate(capacity: nodeCount + 1)
        var start: Int32 = 0
        for node in 0..<nodeCount {
            tokenStarts[node] = start
            start += tokensAtNode[node]
        }
        tokenStarts[nodeCount] = start
        // Sorted order puts the tokens of each node together, nodes in depth-first order.
        tokens = .allocate(capacity: max(ids.count, 1))
        for (slot, id) in ids.enumerated() { tokens[slot] = Int32(id) }
    }

    func deallocate() {
        bytes.deallocate()
        depths.deallocate()
        subtreeEnds.deallocate()
        tokenStarts.deallocate()
        tokens.deallocate()
    }
}
