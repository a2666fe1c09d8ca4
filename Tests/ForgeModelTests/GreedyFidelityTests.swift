import Foundation
import Testing
import ForgeGGUF
import ForgeModel
import ForgeGeneration
import ForgeTestSupport
import ForgeTokenizer

/// Greedy continuations against llama.cpp's, by the acceptance rule of the inference issue:
/// equal over the prefix before llama.cpp's first near-tie (top-2 margin < 0.1), and where Forge
/// first differs, llama.cpp's own margin at that step was under 0.5 logit.
@Suite struct GreedyFidelityTests {
    /// Prompts whose reference llama.cpp itself does not reproduce on this project's machines:
    /// llama.cpp 0c1e57098 built natively on an AMD Zen 5 leaves `thermo`'s reference at step 11
    /// (the reference's margin 0.28, its own 0.06; at step 4 0.11 against 0.04), where Forge takes
    /// llama.cpp's token at every step when both are fed Forge's tokens. Only the margin rule
    /// holds them to the reference.
    static let referenceMachineDependent: Set = ["gemma-3-270m-q4_k_m thermo"]

    static let models = ReferenceModels.all + [ReferenceModels.gemma]

    @Test(RealModels.required(ReferenceModels.files(models)), arguments: models)
    func greedyTokensMatchLlamaCpp(model: String) throws {
        let reference = try ReferenceData.json("greedy-\(model).json")
        let file = try GGUFFile(path: #require(RealModels.path(model + ".gguf")))
        let weights = try ModelWeights(gguf: file)
        let evaluator = Evaluator(weights: weights, threadCount: 2)
        let endOfGeneration = try Tokenizer(gguf: file).endOfGenerationTokenIDs
        var fullMatches = 0
        let prompts = try #require(reference["prompts"] as? [[String: Any]])
        try #require(!prompts.isEmpty)
        for prompt in prompts {
            let name = prompt["name"] as? String ?? "?"
            let ids = prompt["prompt_ids"] as? [Int] ?? []
            let expected = prompt["output_ids"] as? [Int] ?? []
            let margins = prompt["step_margins"] as? [Double]
                ?? (prompt["step_top2"] as? [[String: Any]] ?? []).map { $0["margin"] as? Double ?? 0 }
            let safePrefix = prompt["steps_before_first_margin_below_0.1"] as? Int ?? 0
            // At least 4096 positions as llama.cpp had, so sliding-window layers keep a ring.
            let cache = try KVCache(configuration: weights.configuration, contextSize: max(4096, ids.count + 72))
            var produced: [Int] = []
            var position = 0
            var start = 0
            while start < ids.count {
                let end = min(start + evaluator.maxBatchSize, ids.count)
                try evaluator.evaluate(Batch(tokens: Array(ids[start..<end]), startingAt: start), cache: cache)
                position = end
                start = end
            }
            var row = (ids.count - 1) % evaluator.maxBatchSize
            while produced.count < expected.count {
                let next = Sampler.argmax(try evaluator.logits(row: row))
                produced.append(next)
                if endOfGeneration.contains(next) { break }
                try evaluator.evaluate(Batch(tokens: [next], startingAt: position), cache: cache)
                position += 1
                row = 0
            }
            let common = min(produced.count, expected.count)
            let firstDifference = (0..<common).first { produced[$0] != expected[$0] } ?? (produced.count == expected.count ? nil : common)
            guard let step = firstDifference else {
                fullMatches += 1
                continue
            }
            let marginRuleOnly = Self.referenceMachineDependent.contains("\(model) \(name)")
            #expect(step >= safePrefix || marginRuleOnly, "\(model) \(name): differs at step \(step), before llama.cpp's first near-tie at \(safePrefix)")
            if step < margins.count && (step >= safePrefix || marginRuleOnly) {
                #expect(margins[step] < 0.5, "\(model) \(name): differs at step \(step) where llama.cpp's margin was \(margins[step])")
            }
        }
        print("greedy \(model): \(fullMatches) of \(prompts.count) prompts match llama.cpp for every token")
        // Gemma's references were chosen for their near-ties (a 622-token prompt past the window among them).
        if model != ReferenceModels.gemma {
            #expect(fullMatches * 10 >= prompts.count * 9, "\(model): \(fullMatches) of \(prompts.count) full matches, the goal is 90%")
        }
    }
}
