import Foundation
import Testing
@testable import ForgeTraining

/// The forward pass against an independent NumPy implementation of the `llama` architecture
/// (Fixtures/reference_logits.py), on a GQA model whose parameters follow a fixed formula.
struct ReferenceLogitsTests {
    struct Reference: Decodable {
        let tokens: [Int]
        let parameter_count: Int
        let logits: [Double]
    }

    static let configuration = TransformerConfiguration(
        vocabularySize: 258, layerCount: 2, embeddingLength: 16, headCount: 4, keyValueHeadCount: 2,
        feedForwardLength: 24, contextLength: 8)

    static func reference() throws -> Reference {
        guard let url = Bundle.module.url(forResource: "Fixtures/reference_logits", withExtension: "json") else {
            throw TrainingError("fixture reference_logits.json is missing")
        }
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    @Test func doubleForwardMatchesNumPy() throws {
        let reference = try Self.reference()
        let model = try Transformer<Double>(configuration: Self.configuration)
        #expect(model.layout.count == reference.parameter_count)
        let parameters = (0..<model.layout.count).map { 0.3 * sin(0.37 * Double($0)) }
        let logits = try model.logits(tokens: reference.tokens, parameters: parameters)
        let worst = zip(logits, reference.logits).map { abs($0 - $1) }.max() ?? .infinity
        #expect(logits.count == reference.logits.count)
        #expect(worst < 1e-9, "largest difference \(worst)")
    }

    @Test func floatForwardMatchesNumPy() throws {
        let reference = try Self.reference()
        let model = try Transformer<Float>(configuration: Self.configuration)
        let parameters = (0..<model.layout.count).map { Float(0.3 * sin(0.37 * Double($0))) }
        let logits = try model.logits(tokens: reference.tokens, parameters: parameters)
        let worst = zip(logits, reference.logits).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest difference \(worst)")
    }
}
