import Foundation
import ForgeGGUF
import ForgeModel
import ForgeTestSupport
import ForgeVulkan
import Testing

/// Qwen3 (QK-norm) and Gemma 3 (GeGLU, embedding scale, post-norms, sliding-window layers with
/// their own RoPE base) on the device against the CPU evaluator, on the tiny models whose CPU
/// logits ForgeModelTests checks against llama.cpp; and KV-cache slots as the server uses them.
@Suite(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
struct ArchitectureTests {
    /// The tokens of ForgeModelTests' Fixtures/architectures/fixtures.json: 20 positions, which
    /// pass tiny Gemma's window of 4 several times over.
    static let tokens = [2, 71, 104, 33, 200, 5, 18, 99, 256, 140, 77, 12, 250, 3, 64, 129, 31, 8, 190, 45]
    static let batchSize = 8

    /// Both backends keep an f16 cache and f32 weights; the CPU rounds attention's queries and
    /// value sums to f16 and looks GELU up in an f16 table where the shaders stay f32: the bound
    /// is those roundings' effect on the logits.
    static let bound = 1e-5

    @Test(arguments: TinyArchitectureModel.fixtures)
    func logitsMatchTheCPUEvaluator(model: TinyArchitectureModel) throws {
        let weights = try Self.load(model)
        let device = try VulkanEvaluator(weights: weights, device: TestDevice.shared, contextSize: 32, maxBatchSize: Self.batchSize,
                                         maxLogitRows: Self.batchSize)
        let cpu = try ComputeDevice.cpu.makeEvaluator(weights: weights, contextSize: 32, maxBatchSize: Self.batchSize,
                                                      maxLogitRows: Self.batchSize, threadCount: 1)
        var batches = [Batch(tokens: Array(Self.tokens[..<Self.batchSize]), startingAt: 0)]
        for position in Self.batchSize..<Self.tokens.count { batches.append(Batch(tokens: [Self.tokens[position]], startingAt: position)) }
        try Self.expectSameLogits(device, cpu, batches: batches, model.name)
        TestDevice.expectNoValidationMessages()
    }

    /// Two sequences in slots 0 and 1 of one cache, their prompts in one batch and then decoded
    /// together a token each, as the server's engine runs them.
    @Test func slotsKeepTheirSequencesApart() throws {
        let model = TinyArchitectureModel.fixtures[1]
        let weights = try Self.load(model)
        let device = try VulkanEvaluator(weights: weights, device: TestDevice.shared, contextSize: 16, slotCount: 2, maxBatchSize: Self.batchSize,
                                         maxLogitRows: Self.batchSize)
        let cpu = try ComputeDevice.cpu.makeEvaluator(weights: weights, contextSize: 16, slotCount: 2, maxBatchSize: Self.batchSize,
                                                      maxLogitRows: Self.batchSize, threadCount: 1)
        let first = Array(Self.tokens[0..<5]), second = Array(Self.tokens[10..<13])
        var batches = [Batch(tokens: first + second, positions: Array(0..<5) + Array(0..<3), slots: [0, 0, 0, 0, 0, 1, 1, 1])]
        for step in 0..<4 {
            batches.append(Batch(tokens: [Self.tokens[5 + step], Self.tokens[13 + step]], positions: [5 + step, 3 + step], slots: [0, 1]))
        }
        try Self.expectSameLogits(device, cpu, batches: batches, "two slots")
        TestDevice.expectNoValidationMessages()
    }

    @Test func badBatchesAreErrors() throws {
        let weights = try Self.load(TinyArchitectureModel.fixtures[0])
        let device = try VulkanEvaluator(weights: weights, device: TestDevice.shared, contextSize: 8, maxBatchSize: 4)
        #expect(throws: ModelError.self) { try device.evaluate(Batch(tokens: [1, 2, 3, 4, 5], startingAt: 0)) }
        #expect(throws: ModelError.self) { try device.evaluate(Batch(tokens: [1], startingAt: 8)) }
        #expect(throws: ModelError.self) { try device.evaluate(Batch(tokens: [258], startingAt: 0)) }
        #expect(throws: ModelError.self) { try device.evaluate(Batch(tokens: [1], startingAt: 0, slot: 1)) }
        #expect(throws: ModelError.self) { try device.logits(row: 0) }
        try device.evaluate(Batch(tokens: [1, 2], startingAt: 0))
        #expect(throws: ModelError.self) { try device.logits(rows: 1..<3) }
        #expect(try device.logits(row: 1).count == 258)
        TestDevice.expectNoValidationMessages()
    }

    /// A cache larger than the device's memory is refused before anything is uploaded.
    @Test func aModelThatDoesNotFitIsRefusedBeforeUploading() throws {
        let weights = try Self.load(TinyArchitectureModel.fixtures[0])
        let tooMany = TestDevice.shared.info.deviceLocalBytes / (2 * 2 * 32 * 2) + 1 // positions × (K, V) × layers × kv width × f16
        #expect {
            _ = try VulkanEvaluator(weights: weights, device: TestDevice.shared, contextSize: tooMany)
        } throws: { error in
            "\(error)".contains("needs") && "\(error)".contains("MiB")
        }
    }

    static func load(_ model: TinyArchitectureModel) throws -> ModelWeights {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(model.name)-\(UUID().uuidString).gguf").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try model.write(to: path)
        return try ModelWeights(gguf: GGUFFile(path: path))
    }

    /// Runs `batches` through both evaluators and compares the logits of every row.
    static func expectSameLogits(_ device: any ModelEvaluator, _ cpu: any ModelEvaluator, batches: [Batch], _ name: String,
                                 sourceLocation: SourceLocation = #_sourceLocation) throws {
        for batch in batches {
            try device.evaluate(batch)
            try cpu.evaluate(batch)
            let error = normalizedError(Array(try device.logits(rows: 0..<batch.count)), reference: Array(try cpu.logits(rows: 0..<batch.count)))
            #expect(error < bound, "\(name), positions \(batch.positions): normalized error \(error)", sourceLocation: sourceLocation)
        }
    }
}
