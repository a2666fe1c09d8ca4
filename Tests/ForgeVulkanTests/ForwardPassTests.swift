import Foundation
import ForgeGGUF
import ForgeTestSupport
import ForgeGeneration
import ForgeModel
import ForgeTokenizer
import ForgeVulkan
import Testing

/// The whole forward pass on the device: its logits against the CPU backend's, and its greedy
/// tokens against llama.cpp's for SmolLM2-135M Q4_1 (Fixtures: ../shared/refs/greedy-smollm2-135m-instruct-q4_1.json).
@Suite(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
struct ForwardPassTests {
    static let modelPath = RealModels.path(RealModels.smollm2)

    /// lavapipe runs SmolLM2 far slower than the CPU backend, so the greedy check takes the
    /// prompts of up to 20 tokens and their first 8 steps.
    static let steps = 8
    static let longestPrompt = 20

    /// The device keeps activations in f32 where the CPU backend converts them to Q8_1 for Q4_1
    /// weights as llama.cpp does, and its attention keeps f32 where the CPU rounds queries and the
    /// value sum to f16: the bound is those roundings' effect on the logits after 30 layers
    /// (measured under 1e-3 for the prompt, 2.5e-3 for the decode step).
    static let logitBound = 1e-2

    @Test(RealModels.required([RealModels.smollm2]))
    func logitsMatchTheCPUBackend() throws {
        let file = try GGUFFile(path: Self.modelPath!)
        let weights = try ModelWeights(gguf: file)
        let prompt = [1, 504, 3458, 282, 4649, 314, 253, 1789, 28, 284, 4649, 314] // 12 tokens of a prompt, then one decode step
        let device = try VulkanEvaluator(weights: weights, device: TestDevice.shared, contextSize: 16, maxBatchSize: 8)
        let cpu = Evaluator(weights: weights, threadCount: 2)
        let cache = try KVCache(configuration: weights.configuration, contextSize: 16)
        for (tokens, position) in [(prompt, 0), ([28], prompt.count)] {
            let logits = try device.evaluate(tokens, startingAt: position)
            try cpu.evaluate(Batch(tokens: tokens, startingAt: position), cache: cache)
            let expected = Array(try cpu.logits(row: tokens.count - 1))
            let error = normalizedError(logits, reference: expected)
            #expect(error < Self.logitBound, "\(tokens.count) tokens at position \(position): normalized error \(error)")
            #expect(logits.withUnsafeBufferPointer { Sampler.argmax($0) } == Sampler.argmax(expected[...].withUnsafeBufferPointer { $0 }))
        }
        TestDevice.expectNoValidationMessages()
    }

    /// Where the device's greedy tokens first leave llama.cpp's, llama.cpp's own top-2 margin was
    /// under 0.5 logit: a near-tie for a backend whose activations stay f32 (the CPU backend, which
    /// computes as llama.cpp does, must also match exactly before margins of 0.1; GreedyFidelityTests).
    @Test(RealModels.required([RealModels.smollm2]))
    func greedyTokensMatchLlamaCppUpToNearTies() throws {
        let url = try #require(Bundle.module.url(forResource: "Fixtures/greedy-smollm2-135m-instruct-q4_1", withExtension: "json"))
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        let file = try GGUFFile(path: Self.modelPath!)
        let weights = try ModelWeights(gguf: file)
        let endOfGeneration = try Tokenizer(gguf: file).endOfGenerationTokenIDs
        let prompts = try #require(reference["prompts"] as? [[String: Any]]).filter { ($0["prompt_ids"] as? [Int] ?? []).count <= Self.longestPrompt }
        try #require(prompts.count >= 5)
        let evaluator = try VulkanEvaluator(weights: weights, device: TestDevice.shared, contextSize: Self.longestPrompt + Self.steps)
        var fullMatches = 0
        for prompt in prompts {
            let name = prompt["name"] as? String ?? "?"
            let ids = prompt["prompt_ids"] as? [Int] ?? []
            let expected = Array((prompt["output_ids"] as? [Int] ?? []).prefix(Self.steps))
            let margins = prompt["step_margins"] as? [Double]
                ?? (prompt["step_top2"] as? [[String: Any]] ?? []).map { $0["margin"] as? Double ?? 0 }
            var logits = try evaluator.evaluate(ids, startingAt: 0)
            var produced: [Int] = []
            while produced.count < expected.count {
                let next = logits.withUnsafeBufferPointer { Sampler.argmax($0) }
                produced.append(next)
                if endOfGeneration.contains(next) || produced.count == expected.count { break }
                logits = try evaluator.evaluate([next], startingAt: ids.count + produced.count - 1)
            }
            guard let step = zip(produced, expected).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset
                    ?? (produced.count == expected.count ? nil : produced.count) else {
                fullMatches += 1
                continue
            }
            #expect(step < margins.count && margins[step] < 0.5,
                    "\(name): differs at step \(step) where llama.cpp's margin was \(step < margins.count ? margins[step] : .nan)")
        }
        #expect(fullMatches * 2 >= prompts.count, "\(fullMatches) of \(prompts.count) prompts match llama.cpp's first \(Self.steps) tokens")
        TestDevice.expectNoValidationMessages()
    }
}
