#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeKernels
import ForgeVulkan

/// The forward pass of one sequence on a Vulkan device: the weights uploaded once, the KV cache
/// on the device at the model's own KV-head count (f16, `contextSize` positions), activations
/// kept there; only the token embeddings, positions and RoPE angles go up per batch and only the
/// last token's logits come back. Runs the Llama layer (Llama, Mistral, SmolLM, Qwen2).
/// Not for concurrent use.
public final class VulkanEvaluator {
    public let weights: ModelWeights
    public let device: VulkanDevice
    public let contextSize: Int
    public let maxBatchSize: Int

    private struct Layer {
        let source: Llama.Layer
        let attentionNorm, feedForwardNorm: DeviceBuffer
        let query, key, value, attentionOutput, gate, up, down: DeviceMatrix
        let queryBias, keyBias, valueBias: DeviceBuffer?
        let keyCache, valueCache: DeviceBuffer // (contextSize, n_head_kv · head_dim) f16
    }

    private let layers: [Layer]
    private let outputNorm: DeviceBuffer
    private let output: DeviceMatrix
    // Activations for `maxBatchSize` tokens, row-major.
    private let x, normed, q, k, v, attention, gate, up, logits: DeviceBuffer
    private let positions: DeviceBuffer // (batch) u32
    private let angles: DeviceBuffer    // (batch, rot_dim) cos, sin per rotated pair

    /// Checks that the device can run the model and that everything fits its memory before
    /// uploading anything, then uploads the weights.
    public init(weights: ModelWeights, device: VulkanDevice, contextSize: Int, maxBatchSize: Int = 64) throws {
        let c = weights.configuration, w = weights.tensors
        let sources = w.layers.compactMap { $0 as? Llama.Layer }
        guard sources.count == c.layerCount, weights.architecture.embeddingScale(c) == nil, c.slidingWindow == nil else {
            throw ModelError("the Vulkan backend runs the Llama layer (llama, qwen2), not \(c.architecture)")
        }
        guard c.headDimension % 2 == 0, c.headDimension <= 256 else {
            throw ModelError("the Vulkan backend's attention takes even head sizes up to 256, not \(c.headDimension)")
        }
        let matrices = [w.output] + sources.flatMap { [$0.query, $0.key, $0.value, $0.attentionOutput, $0.gate, $0.up, $0.down] }
        if let unsupported = matrices.first(where: { !DeviceMatrix.supportedTypes.contains($0.type) }) {
            throw ModelError("the Vulkan backend has no matrix product for \(unsupported.type.name) weights")
        }
        let floats = 4, b = maxBatchSize
        let activationBytes = floats * b * (2 * c.embeddingLength + 2 * c.queryWidth + 2 * c.kvWidth + 2 * c.feedForwardLength + c.ropeDimensionCount + 1)
            + floats * c.vocabularySize
        let cacheBytes = 2 * c.layerCount * contextSize * c.kvWidth * 2
        let weightBytes = matrices.reduce(0) { $0 + DeviceMatrix.byteCount(of: $1, bindingLimit: device.bindingLimit) }
            + floats * c.layerCount * (2 * c.embeddingLength + c.queryWidth + 2 * c.kvWidth)
        let needed = weightBytes + cacheBytes + activationBytes
        guard needed <= device.info.deviceLocalBytes else {
            throw ModelError("the model needs \(needed >> 20) MiB on the device (weights \(weightBytes >> 20) MiB, KV cache \(cacheBytes >> 20) MiB "
                             + "for \(contextSize) positions) but \(device.info.name) has \(device.info.deviceLocalBytes >> 20) MiB")
        }

        func vector(_ values: [Float]) throws -> DeviceBuffer {
            let buffer = try device.makeBuffer(byteCount: values.count * floats)
            try values.withUnsafeBytes { try device.upload($0, to: buffer) }
            return buffer
        }
        func activations(_ count: Int) throws -> DeviceBuffer { try device.makeBuffer(byteCount: max(1, count) * floats) }
        do {
            layers = try sources.map { layer in
                Layer(source: layer, attentionNorm: try vector(layer.attentionNorm), feedForwardNorm: try vector(layer.feedForwardNorm),
                      query: try DeviceMatrix(layer.query, on: device), key: try DeviceMatrix(layer.key, on: device),
                      value: try DeviceMatrix(layer.value, on: device), attentionOutput: try DeviceMatrix(layer.attentionOutput, on: device),
                      gate: try DeviceMatrix(layer.gate, on: device), up: try DeviceMatrix(layer.up, on: device),
                      down: try DeviceMatrix(layer.down, on: device),
                      queryBias: try layer.queryBias.map(vector), keyBias: try layer.keyBias.map(vector), valueBias: try layer.valueBias.map(vector),
                      keyCache: try device.makeBuffer(byteCount: contextSize * c.kvWidth * 2),
                      valueCache: try device.makeBuffer(byteCount: contextSize * c.kvWidth * 2))
            }
            outputNorm = try vector(w.outputNorm)
            output = try DeviceMatrix(w.output, on: device)
            x = try activations(b * c.embeddingLength)
            normed = try activations(b * max(c.embeddingLength, c.queryWidth))
            q = try activations(b * c.queryWidth)
            k = try activations(b * c.kvWidth)
            v = try activations(b * c.kvWidth)
            attention = try activations(b * c.queryWidth)
            gate = try activations(b * c.feedForwardLength)
            up = try activations(b * c.feedForwardLength)
            logits = try activations(c.vocabularySize)
            positions = try activations(b)
            angles = try activations(b * c.ropeDimensionCount)
        } catch let error as VulkanError {
            throw ModelError("uploading the model to \(device.info.name): \(error)")
        }
        self.weights = weights
        self.device = device
        self.contextSize = contextSize
        self.maxBatchSize = maxBatchSize
    }

    /// Runs `tokens` at positions `position`, `position` + 1, … (the cache holds every earlier
    /// position of the sequence) and returns the last token's logits.
    public func evaluate(_ tokens: [Int], startingAt position: Int) throws -> [Float] {
        let c = weights.configuration
        guard !tokens.isEmpty, position >= 0, position + tokens.count <= contextSize else {
            throw ModelError("positions \(position)..<\(position + tokens.count) do not fit the device's context of \(contextSize)")
        }
        guard tokens.allSatisfy({ $0 >= 0 && $0 < c.vocabularySize }) else {
            throw ModelError("a token id is outside the vocabulary (0..<\(c.vocabularySize))")
        }
        var result: [Float] = []
        for start in stride(from: 0, to: tokens.count, by: maxBatchSize) {
            let batch = Array(tokens[start..<min(start + maxBatchSize, tokens.count)])
            do {
                result = try run(batch, startingAt: position + start)
            } catch let error as VulkanError {
                throw ModelError("on \(device.info.name): \(error)")
            }
        }
        return result
    }

    private func run(_ tokens: [Int], startingAt position: Int) throws -> [Float] {
        let c = weights.configuration, w = weights.tensors
        let n = tokens.count, dim = c.embeddingLength
        var embeddings = [Float](repeating: 0, count: n * dim)
        try embeddings.withUnsafeMutableBufferPointer { rows in
            for (t, token) in tokens.enumerated() {
                try Quantization.dequantize(w.tokenEmbedding.type, from: w.tokenEmbedding.data + token * w.tokenEmbedding.bytesPerRow,
                                            to: rows.baseAddress! + t * dim, count: dim)
            }
        }
        let batchPositions = (0..<n).map { UInt32(position + $0) }
        let batchAngles = ropeAngles(positions: position..<position + n)
        return try device.run({ r in
            try embeddings.withUnsafeBytes { try r.write($0, to: x) }
            try batchPositions.withUnsafeBytes { try r.write($0, to: positions) }
            try batchAngles.withUnsafeBytes { try r.write($0, to: angles) }
            for layer in layers { try record(layer, tokens: n, r) }
            try r.rmsNorm(x.range(), weight: outputNorm.range(), into: normed.range(), rows: n, width: dim, epsilon: c.rmsEpsilon)
            try r.matmul(output, input: normed.range(), output: logits.range(), tokens: 1, inputOffset: (n - 1) * dim)
            try r.readBack(BufferRange(buffer: logits, offset: 0, byteCount: c.vocabularySize * 4))
        }, readBack: { Array(UnsafeBufferPointer(start: $0!.assumingMemoryBound(to: Float.self), count: c.vocabularySize)) })
    }

    /// One Llama layer, as Llama.Layer.forward runs it on the CPU.
    private func record(_ layer: Layer, tokens n: Int, _ r: CommandRecorder) throws {
        let c = weights.configuration, dim = c.embeddingLength
        let style: DeviceRoPEStyle = layer.source.ropeStyle == .neox ? .neox : .normal
        try r.rmsNorm(x.range(), weight: layer.attentionNorm.range(), into: normed.range(), rows: n, width: dim, epsilon: c.rmsEpsilon)
        for (matrix, bias, destination) in [(layer.query, layer.queryBias, q), (layer.key, layer.keyBias, k), (layer.value, layer.valueBias, v)] {
            try r.matmul(matrix, input: normed.range(), output: destination.range(), tokens: n)
            if let bias { try r.add(bias.range(), to: destination.range(), count: n * matrix.rows, period: matrix.rows) }
        }
        try r.rope(q.range(), angles: angles.range(), tokens: n, heads: c.headCount, headDimension: c.headDimension,
                   rotated: c.ropeDimensionCount, style: style)
        try r.rope(k.range(), angles: angles.range(), tokens: n, heads: c.kvHeadCount, headDimension: c.headDimension,
                   rotated: c.ropeDimensionCount, style: style)
        try r.storeKeysAndValues(keys: k.range(), values: v.range(), keyCache: layer.keyCache.range(), valueCache: layer.valueCache.range(),
                                 positions: positions.range(), tokens: n, kvWidth: c.kvWidth)
        try r.attention(queries: q.range(), keyCache: layer.keyCache.range(), valueCache: layer.valueCache.range(), positions: positions.range(),
                        output: attention.range(), tokens: n, heads: c.headCount, kvHeads: c.kvHeadCount, headDimension: c.headDimension,
                        scale: 1 / Float(c.headDimension).squareRoot())
        try r.matmul(layer.attentionOutput, input: attention.range(), output: normed.range(), tokens: n)
        try r.add(normed.range(), to: x.range(), count: n * dim, period: n * dim)
        try r.rmsNorm(x.range(), weight: layer.feedForwardNorm.range(), into: normed.range(), rows: n, width: dim, epsilon: c.rmsEpsilon)
        try r.matmul(layer.gate, input: normed.range(), output: gate.range(), tokens: n)
        try r.matmul(layer.up, input: normed.range(), output: up.range(), tokens: n)
        try r.swiGLU(gate: gate.range(), up: up.range(), count: n * c.feedForwardLength)
        try r.matmul(layer.down, input: gate.range(), output: normed.range(), tokens: n)
        try r.add(normed.range(), to: x.range(), count: n * dim, period: n * dim)
    }

    /// cos and sin of every rotated pair at each position, computed as Evaluator.fillRoPETable
    /// computes them so that both backends rotate by the same angles.
    private func ropeAngles(positions: Range<Int>) -> [Float] {
        let c = weights.configuration
        let rotated = c.ropeDimensionCount, (base, scale) = c.rope(layer: 0)
        let thetaScale = powf(base, -2 / Float(rotated))
        let factors = weights.tensors.ropeFrequencyFactors
        var values: [Float] = []
        values.reserveCapacity(positions.count * rotated)
        for position in positions {
            var theta = Float(position)
            for pair in 0..<rotated / 2 {
                let angle = scale * (theta / (factors?[pair] ?? 1))
                values += [cosf(angle), sinf(angle)]
                theta *= thetaScale
            }
        }
        return values
    }
}
