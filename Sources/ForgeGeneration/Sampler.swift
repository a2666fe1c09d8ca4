#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeGrammar
import ForgeKernels

/// Chooses tokens from logits, in llama.cpp's default order: logit bias, penalties, the grammar's
/// mask, top-k, top-p, min-p, temperature, then a draw from the softmax. Owns its random state
/// and its candidate buffer (allocated once for the vocabulary).
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SplitMix64
    // Reused across calls, so sampling a token allocates nothing after the first.
    private var candidates: [Candidate] = []
    private var selected: [Candidate] = []
    private var probabilities: [Double] = []

    struct Candidate {
        var id: Int
        var logit: Float
    }

    public init(parameters: SamplingParameters) {
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed ?? UInt64.random(in: .min ... .max))
    }

    /// Picks the next token. `history` is the sequence so far (for the penalties); `constraint`,
    /// when given, removes every token its grammar does not allow next (it is not advanced here).
    public mutating func sample(logits: UnsafeBufferPointer<Float>, history: [Int], constraint: GrammarConstraint? = nil) -> Int {
        let p = parameters
        if p.isGreedy && p.logitBias.isEmpty && !penaltiesActive {
            let best = Sampler.argmax(logits)
            // The best token overall is the best allowed one whenever the grammar allows it,
            // which saves computing the mask on most steps.
            guard let constraint, !constraint.allows(best) else { return best }
            return Sampler.argmax(logits, allowed: constraint.allowedTokens())
        }
        candidates.removeAll(keepingCapacity: true)
        candidates.reserveCapacity(logits.count)
        for (id, logit) in logits.enumerated() { candidates.append(Candidate(id: id, logit: logit)) }
        for (id, bias) in p.logitBias where id >= 0 && id < candidates.count { candidates[id].logit += bias }
        applyPenalties(history: history)
        if let mask = constraint?.allowedTokens(), mask.allowedCount > 0 {
            candidates.removeAll { !mask.contains($0.id) }
        }
        if p.isGreedy {
            var best = 0
            for i in candidates.indices where candidates[i].logit > candidates[best].logit { best = i }
            return candidates[best].id
        }
        if p.topK > 0 && p.topK < candidates.count {
            keepTop(p.topK)
        } else {
            candidates.sort(by: Sampler.higher)
        }
        applyTopP()
        applyMinP()
        for i in candidates.indices { candidates[i].logit /= p.temperature }
        return draw()
    }

    /// The highest logit, ties to the lowest id (the references' rule).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            bestValue = logits[i]
            best = i
        }
        return best
    }

    /// The highest logit among the allowed tokens, ties to the lowest id (among all tokens when
    /// none is allowed).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>, allowed: TokenMask) -> Int {
        var best = -1
        var bestValue = -Float.infinity
        allowed.words.withUnsafeBufferPointer { words in
            // Visits only the set bits, in increasing id order; a full word as a plain run.
            for (index, word) in words.enumerated() {
                if word == .max, index << 6 + 64 <= logits.count {
                    for id in index << 6..<index << 6 + 64 where best < 0 || logits[id] > bestValue {
                        bestValue = logits[id]
                        best = id
                    }
                    continue
                }
                var bits = word
                while bits != 0 {
                    let id = index << 6 | bits.trailingZeroBitCount
                    bits &= bits &- 1
                    if id < logits.count && (best < 0 || logits[id] > bestValue) {
                        bestValue = logits[id]
                        best = id
                    }
                }
            }
        }
        return best < 0 ? argmax(logits) : best
    }

    private var penaltiesActive: Bool {
        parameters.penaltyWindow != 0 && (parameters.repeatPenalty != 1 || parameters.presencePenalty != 0 || parameters.frequencyPenalty != 0)
    }

    private mutating func applyPenalties(history: [Int]) {
        guard penaltiesActive else { return }
        let window = parameters.penaltyWindow < 0 ? history.count : min(parameters.penaltyWindow, history.count)
        var counts: [Int: Int] = [:]
        for id in history.suffix(window) { counts[id, default: 0] += 1 }
        for (id, count) in counts where id >= 0 && id < candidates.count {
            var logit = candidates[id].logit
            logit = logit > 0 ? logit / parameters.repeatPenalty : logit * parameters.repeatPenalty
            logit -= Float(count) * parameters.frequencyPenalty + parameters.presencePenalty
            candidates[id].logit = logit
        }
    }

    private static func higher(_ a: Candidate, _ b: Candidate) -> Bool {
        a.logit > b.logit || (a.logit == b.logit && a.id < b.id)
    }

    /// Keeps the k best candidates, sorted best first, without sorting the whole vocabulary.
    private mutating func keepTop(_ k: Int) {
        selected.removeAll(keepingCapacity: true)
        for candidate in candidates { Sampler.insert(candidate, into: &selected, keeping: k) }
        swap(&candidates, &selected)
    }

    /// The ids of the k highest logits, best first, ties to the lowest id.
    public static func best(_ k: Int, of logits: UnsafeBufferPointer<Float>) -> [Int] {
        var best: [Candidate] = []
        for (id, logit) in logits.enumerated() { insert(Candidate(id: id, logit: logit), into: &best, keeping: k) }
        return best.map(\.id)
    }

    /// Adds `candidate` to `best` (sorted best first, at most k long) when it ranks among the k best.
    /// A running sorted list: k is small (tens) next to the vocabulary.
    private static func insert(_ candidate: Candidate, into best: inout [Candidate], keeping k: Int) {
        if best.count == k {
            guard let worst = best.last, higher(candidate, worst) else { return }
            best.removeLast()
        }
        var index = best.count
        while index > 0 && higher(candidate, best[index - 1]) { index -= 1 }
        best.insert(candidate, at: index)
    }

    /// The softmax of the candidates (sorted best first) into `probabilities`.
    private mutating func computeProbabilities() {
        probabilities.removeAll(keepingCapacity: true)
        guard let maximum = candidates.first?.logit else { return }
        var total = 0.0
        for candidate in candidates {
            let weight = Double(expf(candidate.logit - maximum))
            probabilities.append(weight)
            total += weight
        }
        for i in probabilities.indices { probabilities[i] /= total }
    }

    private mutating func applyTopP() {
        guard parameters.topP < 1, candidates.count > 1 else { return }
        computeProbabilities()
        var cumulative = 0.0
        var keep = candidates.count
        for (i, probability) in probabilities.enumerated() {
            cumulative += probability
            if cumulative >= Double(parameters.topP) {
                keep = i + 1
                break
            }
        }
        candidates.removeLast(candidates.count - max(1, keep))
    }

    private mutating func applyMinP() {
        guard parameters.minP > 0, let best = candidates.first?.logit, candidates.count > 1 else { return }
        let threshold = best + logf(parameters.minP)
        let keep = candidates.firstIndex { $0.logit < threshold } ?? candidates.count
        candidates.removeLast(candidates.count - max(1, keep))
    }

    private mutating func draw() -> Int {
        computeProbabilities()
        let target = Double(random.next() >> 11) / Double(1 << 53)
        var cumulative = 0.0
        for (i, probability) in probabilities.enumerated() {
            cumulative += probability
            if target < cumulative { return candidates[i].id }
        }
        return candidates.last?.id ?? 0
    }
}
