import ForgeKernels
import ForgeVulkan
import ForgeTestSupport
import Testing

/// Grouped-query attention on the device against the CPU's attention kernel, with the KV cache
/// kept on the device across a prompt and several decode steps (where the AMD engine failed), in
/// a slot past the first and within a sliding window.
@Suite(.enabled(if: TestDevice.available, "no usable Vulkan device: install mesa-vulkan-drivers (lavapipe)"))
struct AttentionTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        let heads: Int, kvHeads: Int, headDimension: Int, prompt: Int
        var slot = 0
        var window: Int?
        var testDescription: String {
            "\(heads):\(kvHeads) heads of \(headDimension), \(prompt)-token prompt in slot \(slot)" + (window.map { ", window \($0)" } ?? "")
        }
    }

    /// The CPU rounds queries to f16 and accumulates values in f16 (llama.cpp's decode path),
    /// where the shader keeps f32: the bound is that rounding's error (measured up to 3.2e-6).
    static let bound = 2e-5

    /// Qwen2.5-0.5B's 14:2 with a prompt longer than the shader's 128-key chunk, an odd group of
    /// 9:3 in the second of three slots within a window of 5 (Gemma 3's local layers), and
    /// Llama's 4:1 with a head size of 128.
    @Test(arguments: [Shape(heads: 14, kvHeads: 2, headDimension: 64, prompt: 150),
                      Shape(heads: 9, kvHeads: 3, headDimension: 32, prompt: 13, slot: 1, window: 5),
                      Shape(heads: 4, kvHeads: 1, headDimension: 128, prompt: 6)])
    func groupedQueryAttentionAcrossDecodeSteps(_ shape: Shape) throws {
        let device = TestDevice.shared
        let (heads, kvHeads, headDimension) = (shape.heads, shape.kvHeads, shape.headDimension)
        let kvWidth = kvHeads * headDimension, group = heads / kvHeads, contextSize = shape.prompt + 8
        let scale = 1 / Float(headDimension).squareRoot()
        var generator = SplitMix64(seed: UInt64(heads * 1000 + kvHeads))
        let slots = shape.slot + 2, slotRow = shape.slot * contextSize
        let keyCache = try device.makeBuffer(byteCount: slots * contextSize * kvWidth * 2)
        let valueCache = try device.makeBuffer(byteCount: slots * contextSize * kvWidth * 2)
        var cpuKeys = [Float16](repeating: 0, count: contextSize * kvWidth), cpuValues = cpuKeys
        let cpu = ComputeContext(threadCount: 1)
        // The prompt in one batch, then three decode steps of one token each.
        var batches = [0..<shape.prompt]
        for step in 0..<3 { batches.append(shape.prompt + step..<shape.prompt + step + 1) }
        for batch in batches {
            let tokens = batch.count
            let queries = generator.normals(tokens * heads * headDimension)
            let keys = generator.normals(tokens * kvWidth), values = generator.normals(tokens * kvWidth)
            let tokenRows = batch.flatMap { [UInt32(slotRow), UInt32($0)] }
            let queryBuffer = try device.buffer(queries), keyBuffer = try device.buffer(keys), valueBuffer = try device.buffer(values)
            let tokenRowBuffer = try device.buffer(tokenRows)
            let output = try device.makeBuffer(byteCount: queries.count * 4)
            try device.run { recorder in
                try recorder.storeKeysAndValues(keys: keyBuffer.range(), values: valueBuffer.range(), keyCache: keyCache.range(),
                                                valueCache: valueCache.range(), tokenRows: tokenRowBuffer.range(), tokens: tokens, kvWidth: kvWidth)
                try recorder.attention(queries: queryBuffer.range(), keyCache: keyCache.range(), valueCache: valueCache.range(),
                                       tokenRows: tokenRowBuffer.range(), output: output.range(), tokens: tokens, heads: heads,
                                       kvHeads: kvHeads, headDimension: headDimension, scale: scale, window: shape.window)
            }
            let result = try device.download(output, count: queries.count)

            for (t, position) in batch.enumerated() {
                for i in 0..<kvWidth {
                    cpuKeys[position * kvWidth + i] = Float16(keys[t * kvWidth + i])
                    cpuValues[position * kvWidth + i] = Float16(values[t * kvWidth + i])
                }
            }
            var expected = [Float](repeating: 0, count: queries.count)
            for (t, position) in batch.enumerated() {
                let first = shape.window.map { max(0, position + 1 - $0) } ?? 0
                for kvHead in 0..<kvHeads {
                    let query = (t * heads + kvHead * group) * headDimension
                    cpuKeys.withUnsafeBytes { k in
                        cpuValues.withUnsafeBytes { v in
                            queries.withUnsafeBufferPointer { q in
                                expected.withUnsafeMutableBufferPointer { out in
                                    let offset = first * kvWidth * 2 + kvHead * headDimension * 2
                                    cpu.attendGroup(queries: q.baseAddress! + query, outputs: out.baseAddress! + query, heads: group,
                                                    keys: k.baseAddress! + offset, values: v.baseAddress! + offset, rowBytes: kvWidth * 2,
                                                    length: position + 1 - first, chunk: position + 1 - first, headDimension: headDimension, scale: scale)
                                }
                            }
                        }
                    }
                }
            }
            let error = normalizedError(result, reference: expected)
            #expect(error < Self.bound, "\(shape.testDescription), positions \(batch): normalized error \(error)")
        }
        TestDevice.expectNoValidationMessages()
    }
}
