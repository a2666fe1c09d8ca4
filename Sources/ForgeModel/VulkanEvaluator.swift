#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ForgeKernels
import ForgeVulkan

/// The forward pass on a Vulkan device: the weights uploaded once, the KV cache on the device at
/// the model's own KV-head count (f16, `slotCount` slots of `contextSize` positions, sliding-window
/// layers included: they attend within their window over the whole slot), activations kept there;
/// only the token embeddings, RoPE angles and cache rows go up per batch and only the logits asked
/// for come back. Runs the Llama layer (Llama, Mistral, SmolLM, Qwen2), Qwen3's and Gemma 3's.
/// Not for concurrent use.
public final class VulkanEvaluator: ModelEvaluator, @unchecked Sendable {
    public let weights: ModelWeights
    public let device: VulkanDevice
    public let contextSize: Int
    public let slotCount: Int
    public let maxBatchSize: Int
    public let maxLogitRows: Int

    /// One layer as the device runs it; the optional parts are what some architectures add.
    private struct Layer {
        let attentionNorm, feedForwardNorm: DeviceBuffer
        let query, key, value, attentionOutput, gate, up, down: DeviceMatrix
        let queryBias, keyBias, valueBias: DeviceBuffer?
        let queryNorm, keyNorm: DeviceBuffer?                       // QK-norm (Qwen3, Gemma 3)
        let postAttentionNorm, postFeedForwardNorm: DeviceBuffer?   // Gemma 3
        let ropeStyle: DeviceRoPEStyle
        let activation: GatedActivation
        let attentionScale: Float
        let window: Int?
        let ropeTable: Int                                          // index into `ropeTables`
        let keyCache, valueCache: DeviceBuffer                      // (slots · contextSize, n_head_kv · head_dim) f16
    }

    private let layers: [Layer]
    private let outputNorm: DeviceBuffer
    private let output: DeviceMatrix
    // Activations for `maxBatchSize` tokens, row-major.
    private let x, normed, q, k, v, attention, gate, up, logitRows: DeviceBuffer
    private let tokenRows: DeviceBuffer      // (batch) u32 pairs: the first cache row of the token's slot, its position
    /// Per RoPE base and scale the layers use: the base, the scale and (batch, rot_dim) cos, sin per rotated pair.
    private let ropeTables: [(base: Float, scale: Float, angles: DeviceBuffer)]
    private let hostLogits: UnsafeMutablePointer<Float> // (max logit rows, vocab)
    private var evaluatedCount = 0

    /// Checks that the device can run the model and that everything fits its memory before
    /// uploading anything, then uploads the weights.
    public init(weights: ModelWeights, device: VulkanDevice, contextSize: Int, slotCount: Int = 1, maxBatchSize: Int = 64,
                maxLogitRows: Int = 32) throws {
        let c = weights.configuration, w = weights.tensors
        guard contextSize > 0, slotCount > 0, maxBatchSize > 0, maxLogitRows > 0 else {
            throw ModelError("context size, slot count, batch size and logit rows must be positive")
        }
        let sources = try w.layers.enumerated().map { index, layer in
            guard let source = HostLayer(layer, index: index, c) else {
                throw ModelError("the Vulkan backend runs llama, qwen2, qwen3 and gemma3 layers, not \(c.architecture)'s")
            }
            return source
        }
        guard c.headDimension % 2 == 0, c.headDimension <= 256, c.ropeDimensionCount <= c.headDimension else {
            throw ModelError("the Vulkan backend's attention takes even head sizes up to 256, not \(c.headDimension)")
        }
        let matrices = [w.output] + sources.flatMap { [$0.query, $0.key, $0.value, $0.attentionOutput, $0.gate, $0.up, $0.down] }
        if let unsupported = matrices.first(where: { !DeviceMatrix.supportedTypes.contains($0.type) }) {
            throw ModelError("the Vulkan backend has no matrix product for \(unsupported.type.name) weights")
        }
        let floats = 4, b = maxBatchSize
        let activationCounts = [b * c.embeddingLength, b * max(c.embeddingLength, c.queryWidth), b * c.queryWidth, b * c.kvWidth,
                                b * c.kvWidth, b * c.queryWidth, b * c.feedForwardLength, b * c.feedForwardLength,
                                maxLogitRows * c.vocabularySize, 2 * b]
        let ropeKeys = (0..<c.layerCount).map { c.rope(layer: $0) }
        let tableCount = Set(ropeKeys.map { "\($0.base)/\($0.scale)" }).count
        let activationBytes = floats * (activationCounts.reduce(0, +) + tableCount * b * c.ropeDimensionCount)
        let layerCacheBytes = slotCount * contextSize * c.kvWidth * 2
        let cacheBytes = 2 * c.layerCount * layerCacheBytes
        let vectorBytes = floats * sources.reduce(c.embeddingLength) { $0 + $1.vectorCount }
        let weightBytes = matrices.reduce(0) { $0 + DeviceMatrix.byteCount(of: $1, bindingLimit: device.bindingLimit) } + vectorBytes
        let (needed, overflow) = weightBytes.addingReportingOverflow(cacheBytes + activationBytes)
        guard !overflow, needed <= device.info.deviceLocalBytes else {
            throw ModelError("the model needs \(overflow ? "more than" : "\(needed >> 20) MiB") on the device (weights \(weightBytes >> 20) MiB, "
                             + "KV cache \(cacheBytes >> 20) MiB for \(slotCount) × \(contextSize) positions) but \(device.info.name) has "
                             + "\(device.info.deviceLocalBytes >> 20) MiB")
        }
        let largestBinding = max(layerCacheBytes, floats * activationCounts.max()!)
        guard largestBinding <= device.bindingLimit else {
            throw ModelError("a layer's KV cache or a batch's activations would take \(largestBinding >> 20) MiB, past the "
                             + "\(device.bindingLimit >> 20) MiB \(device.info.name) binds at once: lower the context size or batch size")
        }

        func vector(_ values: [Float]) throws -> DeviceBuffer {
            let buffer = try device.makeBuffer(byteCount: values.count * floats)
            try values.withUnsafeBytes { try device.upload($0, to: buffer) }
            return buffer
        }
        func activations(_ count: Int) throws -> DeviceBuffer { try device.makeBuffer(byteCount: max(1, count) * floats) }
        do {
            var tables: [(base: Float, scale: Float, angles: DeviceBuffer)] = []
            var tableOfLayer: [Int] = []
            for (base, scale) in ropeKeys {
                if let index = tables.firstIndex(where: { $0.base == base && $0.scale == scale }) {
                    tableOfLayer.append(index)
                } else {
                    tables.append((base, scale, try activations(b * c.ropeDimensionCount)))
                    tableOfLayer.append(tables.count - 1)
                }
            }
            ropeTables = tables
            layers = try sources.enumerated().map { index, layer in
                Layer(attentionNorm: try vector(layer.attentionNorm), feedForwardNorm: try vector(layer.feedForwardNorm),
                      query: try DeviceMatrix(layer.query, on: device), key: try DeviceMatrix(layer.key, on: device),
                      value: try DeviceMatrix(layer.value, on: device), attentionOutput: try DeviceMatrix(layer.attentionOutput, on: device),
                      gate: try DeviceMatrix(layer.gate, on: device), up: try DeviceMatrix(layer.up, on: device),
                      down: try DeviceMatrix(layer.down, on: device),
                      queryBias: try layer.queryBias.map(vector), keyBias: try layer.keyBias.map(vector), valueBias: try layer.valueBias.map(vector),
                      queryNorm: try layer.queryNorm.map(vector), keyNorm: try layer.keyNorm.map(vector),
                      postAttentionNorm: try layer.postAttentionNorm.map(vector), postFeedForwardNorm: try layer.postFeedForwardNorm.map(vector),
                      ropeStyle: layer.ropeStyle == .neox ? .neox : .normal, activation: layer.activation,
                      attentionScale: layer.attentionScale, window: c.window(layer: index), ropeTable: tableOfLayer[index],
                      keyCache: try device.makeBuffer(byteCount: layerCacheBytes), valueCache: try device.makeBuffer(byteCount: layerCacheBytes))
            }
            outputNorm = try vector(w.outputNorm)
            output = try DeviceMatrix(w.output, on: device)
            x = try activations(activationCounts[0])
            normed = try activations(activationCounts[1])
            q = try activations(activationCounts[2])
            k = try activations(activationCounts[3])
            v = try activations(activationCounts[4])
            attention = try activations(activationCounts[5])
            gate = try activations(activationCounts[6])
            up = try activations(activationCounts[7])
            logitRows = try activations(activationCounts[8])
            tokenRows = try activations(activationCounts[9])
        } catch let error as VulkanError {
            throw ModelError("uploading the model to \(device.info.name): \(error)")
        }
        hostLogits = .allocate(capacity: maxLogitRows * c.vocabularySize)
        self.weights = weights
        self.device = device
        self.contextSize = contextSize
        self.slotCount = slotCount
        self.maxBatchSize = maxBatchSize
        self.maxLogitRows = maxLogitRows
    }

    deinit { hostLogits.deallocate() }

    public var summary: String {
        "Vulkan on \(device.info.name) (\(device.info.kind.rawValue)); KV cache f16, \(slotCount) × \(contextSize) positions, "
            + String(format: "%.2f MiB", Double(2 * weights.configuration.layerCount * layers[0].keyCache.byteCount) / 1_048_576)
    }

    /// The cache keeps every position of a slot, sliding-window layers included, so any shared prefix stays.
    public func reusablePrefix(common: Int, written: Int) -> Int { common }

    public func evaluate(_ batch: Batch) throws {
        let c = weights.configuration, n = batch.count
        guard n > 0, n <= maxBatchSize else { throw ModelError("batch of \(n) tokens (1 to \(maxBatchSize) allowed)") }
        try batch.check(vocabularySize: c.vocabularySize, contextSize: contextSize, slotCount: slotCount)
        evaluatedCount = 0
        do {
            try run(batch)
        } catch let error as VulkanError {
            throw ModelError("on \(device.info.name): \(error)")
        }
        evaluatedCount = n
    }

    public func logits(rows: Range<Int>) throws -> UnsafeBufferPointer<Float> {
        guard rows.lowerBound >= 0, rows.upperBound <= evaluatedCount, !rows.isEmpty, rows.count <= maxLogitRows else {
            throw ModelError("logit rows \(rows) not available (last batch had \(evaluatedCount) tokens, at most \(maxLogitRows) rows per call)")
        }
        let c = weights.configuration, count = rows.count * c.vocabularySize
        do {
            try device.run({ r in
                try r.matmul(output, input: normed.range(), output: logitRows.range(), tokens: rows.count,
                             inputOffset: rows.lowerBound * c.embeddingLength)
                try r.readBack(BufferRange(buffer: logitRows, offset: 0, byteCount: count * 4))
            }, readBack: { hostLogits.update(from: $0!.assumingMemoryBound(to: Float.self), count: count) })
        } catch let error as VulkanError {
            throw ModelError("on \(device.info.name): \(error)")
        }
        return UnsafeBufferPointer(start: hostLogits, count: count)
    }

    /// Every layer, then the final norm into `normed`, in one submission.
    private func run(_ batch: Batch) throws {
        let c = weights.configuration, w = weights.tensors
        let n = batch.count, dim = c.embeddingLength
        var embeddings = [Float](repeating: 0, count: n * dim)
        try embeddings.withUnsafeMutableBufferPointer { rows in
            for (t, token) in batch.tokens.enumerated() {
                try Quantization.dequantize(w.tokenEmbedding.type, from: w.tokenEmbedding.data + token * w.tokenEmbedding.bytesPerRow,
                                            to: rows.baseAddress! + t * dim, count: dim)
            }
        }
        if let scale = weights.architecture.embeddingScale(c) {
            for i in embeddings.indices { embeddings[i] *= scale }
        }
        let rows = (0..<n).flatMap { [UInt32(batch.slots[$0] * contextSize), UInt32(batch.positions[$0])] }
        let angles = ropeTables.map { ropeAngles(positions: batch.positions, base: $0.base, scale: $0.scale) }
        try device.run { r in
            try embeddings.withUnsafeBytes { try r.write($0, to: x) }
            try rows.withUnsafeBytes { try r.write($0, to: tokenRows) }
            for (table, values) in zip(ropeTables, angles) { try values.withUnsafeBytes { try r.write($0, to: table.angles) } }
            for layer in layers { try record(layer, tokens: n, r) }
            try r.rmsNorm(x.range(), weight: outputNorm.range(), into: normed.range(), rows: n, width: dim, epsilon: c.rmsEpsilon)
        }
    }

    /// One layer, as the architecture's `forward` runs it on the CPU.
    private func record(_ layer: Layer, tokens n: Int, _ r: CommandRecorder) throws {
        let c = weights.configuration, dim = c.embeddingLength, epsilon = c.rmsEpsilon
        try r.rmsNorm(x.range(), weight: layer.attentionNorm.range(), into: normed.range(), rows: n, width: dim, epsilon: epsilon)
        for (matrix, bias, destination) in [(layer.query, layer.queryBias, q), (layer.key, layer.keyBias, k), (layer.value, layer.valueBias, v)] {
            try r.matmul(matrix, input: normed.range(), output: destination.range(), tokens: n)
            if let bias { try r.add(bias.range(), to: destination.range(), count: n * matrix.rows, period: matrix.rows) }
        }
        if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
            try r.rmsNorm(q.range(), weight: queryNorm.range(), into: q.range(), rows: n * c.headCount, width: c.headDimension, epsilon: epsilon)
            try r.rmsNorm(k.range(), weight: keyNorm.range(), into: k.range(), rows: n * c.kvHeadCount, width: c.headDimension, epsilon: epsilon)
        }
        let angles = ropeTables[layer.ropeTable].angles.range()
        try r.rope(q.range(), angles: angles, tokens: n, heads: c.headCount, headDimension: c.headDimension,
                   rotated: c.ropeDimensionCount, style: layer.ropeStyle)
        try r.rope(k.range(), angles: angles, tokens: n, heads: c.kvHeadCount, headDimension: c.headDimension,
                   rotated: c.ropeDimensionCount, style: layer.ropeStyle)
        try r.storeKeysAndValues(keys: k.range(), values: v.range(), keyCache: layer.keyCache.range(), valueCache: layer.valueCache.range(),
                                 tokenRows: tokenRows.range(), tokens: n, kvWidth: c.kvWidth)
        try r.attention(queries: q.range(), keyCache: layer.keyCache.range(), valueCache: layer.valueCache.range(), tokenRows: tokenRows.range(),
                        output: attention.range(), tokens: n, heads: c.headCount, kvHeads: c.kvHeadCount, headDimension: c.headDimension,
                        scale: layer.attentionScale, window: layer.window)
        try r.matmul(layer.attentionOutput, input: attention.range(), output: normed.range(), tokens: n)
        if let norm = layer.postAttentionNorm {
            try r.rmsNorm(normed.range(), weight: norm.range(), into: normed.range(), rows: n, width: dim, epsilon: epsilon)
        }
        try r.add(normed.range(), to: x.range(), count: n * dim, period: n * dim)

        try r.rmsNorm(x.range(), weight: layer.feedForwardNorm.range(), into: normed.range(), rows: n, width: dim, epsilon: epsilon)
        try r.matmul(layer.gate, input: normed.range(), output: gate.range(), tokens: n)
        try r.matmul(layer.up, input: normed.range(), output: up.range(), tokens: n)
        switch layer.activation {
        case .silu: try r.swiGLU(gate: gate.range(), up: up.range(), count: n * c.feedForwardLength)
        case .geluTanh: try r.geGLU(gate: gate.range(), up: up.range(), count: n * c.feedForwardLength)
        }
        try r.matmul(layer.down, input: gate.range(), output: normed.range(), tokens: n)
        if let norm = layer.postFeedForwardNorm {
            try r.rmsNorm(normed.range(), weight: norm.range(), into: normed.range(), rows: n, width: dim, epsilon: epsilon)
        }
        try r.add(normed.range(), to: x.range(), count: n * dim, period: n * dim)
    }

    /// cos and sin of every rotated pair at each position, computed as Evaluator.fillRoPETable
    /// computes them so that both backends rotate by the same angles.
    private func ropeAngles(positions: [Int], base: Float, scale: Float) -> [Float] {
        let rotated = weights.configuration.ropeDimensionCount
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

/// A layer's host weights in the one shape the device runs, read from its architecture's layer.
private struct HostLayer {
    let attentionNorm, feedForwardNorm: [Float]
    let query, key, value, attentionOutput, gate, up, down: WeightMatrix
    var queryBias, keyBias, valueBias: [Float]?
    var queryNorm, keyNorm: [Float]?
    var postAttentionNorm, postFeedForwardNorm: [Float]?
    let ropeStyle: RoPEStyle
    let activation: GatedActivation
    let attentionScale: Float

    /// Floats of the vectors uploaded with the layer.
    var vectorCount: Int {
        [attentionNorm, feedForwardNorm, queryBias, keyBias, valueBias, queryNorm, keyNorm, postAttentionNorm, postFeedForwardNorm]
            .reduce(0) { $0 + ($1?.count ?? 0) }
    }

    init?(_ layer: any TransformerLayer, index: Int, _ c: ModelConfiguration) {
        let standardScale = 1 / Float(c.headDimension).squareRoot()
        switch layer {
        case let l as Llama.Layer:
            self.init(attentionNorm: l.attentionNorm, feedForwardNorm: l.feedForwardNorm, query: l.query, key: l.key, value: l.value,
                      attentionOutput: l.attentionOutput, gate: l.gate, up: l.up, down: l.down, ropeStyle: l.ropeStyle, activation: .silu,
                      attentionScale: standardScale)
            (queryBias, keyBias, valueBias) = (l.queryBias, l.keyBias, l.valueBias)
        case let l as Qwen3.Layer:
            self.init(attentionNorm: l.attentionNorm, feedForwardNorm: l.feedForwardNorm, query: l.query, key: l.key, value: l.value,
                      attentionOutput: l.attentionOutput, gate: l.gate, up: l.up, down: l.down, ropeStyle: .neox, activation: .silu,
                      attentionScale: standardScale)
            (queryNorm, keyNorm) = (l.queryNorm, l.keyNorm)
        case let l as Gemma3.Layer:
            // The CPU scales the queries before attending with scale 1; folding it into the scores is the same product.
            self.init(attentionNorm: l.attentionNorm, feedForwardNorm: l.feedForwardNorm, query: l.query, key: l.key, value: l.value,
                      attentionOutput: l.attentionOutput, gate: l.gate, up: l.up, down: l.down, ropeStyle: .neox, activation: .geluTanh,
                      attentionScale: 1 / Gemma3.queryScale(c).squareRoot())
            (queryNorm, keyNorm) = (l.queryNorm, l.keyNorm)
            (postAttentionNorm, postFeedForwardNorm) = (l.postAttentionNorm, l.postFeedForwardNorm)
        default:
            return nil
        }
    }

    private init(attentionNorm: [Float], feedForwardNorm: [Float], query: WeightMatrix, key: WeightMatrix, value: WeightMatrix,
                 attentionOutput: WeightMatrix, gate: WeightMatrix, up: WeightMatrix, down: WeightMatrix, ropeStyle: RoPEStyle,
                 activation: GatedActivation, attentionScale: Float) {
        (self.attentionNorm, self.feedForwardNorm) = (attentionNorm, feedForwardNorm)
        (self.query, self.key, self.value, self.attentionOutput) = (query, key, value, attentionOutput)
        (self.gate, self.up, self.down) = (gate, up, down)
        (self.ropeStyle, self.activation, self.attentionScale) = (ropeStyle, activation, attentionScale)
    }
}
