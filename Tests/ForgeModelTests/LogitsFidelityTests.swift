import Foundation
import Testing
import ForgeGGUF
import ForgeModel
import ForgeTestSupport

/// Forge's logits at the last prompt position against llama.cpp's full logit vectors.
@Suite struct LogitsFidelityTests {
    @Test(RealModels.required(ReferenceModels.files(ReferenceModels.all)), arguments: ReferenceModels.all)
    func lastPositionLogitsMatchLlamaCpp(model: String) throws {
        let reference = try ReferenceData.json("logits-\(model).json")
        let weights = try ModelWeights(gguf: GGUFFile(path: #require(RealModels.path(model + ".gguf"))))
        let evaluator = Evaluator(weights: weights, threadCount: 2)
        let quantized = !(model.hasSuffix("f16") || model.hasSuffix("f32"))
        let prompts = try #require(reference["prompts"] as? [[String: Any]])
        try #require(!prompts.isEmpty)
        for prompt in prompts {
            let name = prompt["name"] as? String ?? "?"
            let ids = prompt["prompt_ids"] as? [Int] ?? []
            let cache = try KVCache(configuration: weights.configuration, contextSize: 512)
            try evaluator.evaluate(Batch(tokens: ids, startingAt: 0), cache: cache)
            let logits = Array(try evaluator.logits(row: ids.count - 1))
            // The Q8_0 reference records only the top 20 logits; the others have the full vector.
            let compared: [Int]
            var expected = [Float](repeating: -.infinity, count: logits.count)
            if let file = prompt["full_logits_file"] as? String {
                expected = try ReferenceData.floats(file)
                compared = Array(expected.indices)
            } else {
                let top20 = prompt["top20"] as? [[String: Any]] ?? []
                compared = top20.compactMap { $0["id"] as? Int }
                for entry in top20 {
                    if let id = entry["id"] as? Int, let logit = entry["logit"] as? Double { expected[id] = Float(logit) }
                }
            }
            #expect(logits.count == expected.count)
            #expect(!compared.isEmpty)
            var error: Double = 0, norm: Double = 0
            for i in compared {
                error += Double(logits[i] - expected[i]) * Double(logits[i] - expected[i])
                norm += Double(expected[i]) * Double(expected[i])
            }
            let relative = (error / norm).squareRoot()
            let top = logits.indices.max { logits[$0] < logits[$1] }
            let expectedTop = expected.indices.max { expected[$0] < expected[$1] }
            print("logits \(model) \(name): relative L2 error \(relative)")
            #expect(relative < (quantized ? 0.03 : 0.01), "\(model) \(name): relative L2 error \(relative)")
            #expect(top == expectedTop, "\(model) \(name): top-1 \(String(describing: top)) vs llama.cpp \(String(describing: expectedTop))")
        }
    }
}
