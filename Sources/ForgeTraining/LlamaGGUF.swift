import ForgeGGUF

/// Reads and writes trained models as standard `llama`-architecture GGUF files, the layout
/// llama.cpp's converter produces: ggml's row layout, RoPE in NORM style so Q and K need no
/// permutation, norm gains always F32.
public enum LlamaGGUF {
    public enum WeightType: String, CaseIterable, Sendable {
        case f32, f16

        var ggmlType: GGMLType { self == .f32 ? .f32 : .f16 }
        /// `general.file_type`: llama.cpp's LLAMA_FTYPE_ALL_F32 and LLAMA_FTYPE_MOSTLY_F16.
        var fileType: UInt32 { self == .f32 ? 0 : 1 }
    }

    /// Writes `parameters` (laid out by `ParameterLayout(configuration)`) to `path` atomically.
    public static func write(
        to path: String, configuration c: TransformerConfiguration, parameters: [Float],
        vocabulary: TrainingVocabulary, weightType: WeightType, name: String = "forge-trained"
    ) throws {
        let layout = ParameterLayout(c)
        guard parameters.count == layout.count else {
            throw TrainingError("expected \(layout.count) parameters, got \(parameters.count)")
        }
        guard vocabulary.size == c.vocabularySize else {
            throw TrainingError("vocabulary has \(vocabulary.size) tokens, the model \(c.vocabularySize)")
        }
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("general.name", .string(name))
        writer.set("general.file_type", .uint32(weightType.fileType))
        writer.set("llama.vocab_size", .uint32(UInt32(c.vocabularySize)))
        writer.set("llama.context_length", .uint32(UInt32(c.contextLength)))
        writer.set("llama.embedding_length", .uint32(UInt32(c.embeddingLength)))
        writer.set("llama.block_count", .uint32(UInt32(c.layerCount)))
        writer.set("llama.feed_forward_length", .uint32(UInt32(c.feedForwardLength)))
        writer.set("llama.attention.head_count", .uint32(UInt32(c.headCount)))
        writer.set("llama.attention.head_count_kv", .uint32(UInt32(c.keyValueHeadCount)))
        writer.set("llama.rope.dimension_count", .uint32(UInt32(c.headDimension)))
        writer.set("llama.rope.freq_base", .float32(Float(c.ropeFrequencyBase)))
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(Float(c.rmsNormEpsilon)))
        for (key, value) in vocabulary.metadata { writer.set(key, value) }
        for entry in layout.entries {
            let values = parameters[entry.offset..<(entry.offset + entry.count)]
            let type: GGMLType = entry.isMatrix ? weightType.ggmlType : .f32
            try writer.addTensor(name: entry.name, type: type, shape: entry.shape, data: encode(values, as: type))
        }
        try writer.write(to: path)
    }

    /// Reads a `llama` GGUF with F32 or F16 weights into the training model's layout, so its
    /// logits can be computed with `Transformer.logits(tokens:parameters:)`.
    public static func read(_ file: GGUFFile) throws -> (configuration: TransformerConfiguration, parameters: [Float]) {
        let architecture = try file.string("general.architecture")
        guard architecture == "llama" else {
            throw TrainingError("architecture is \(architecture), expected llama")
        }
        guard let embedding = file.tensor(named: "token_embd.weight"), embedding.shape.count == 2 else {
            throw TrainingError("token_embd.weight is missing or not a matrix")
        }
        let headCount = try file.integer("llama.attention.head_count")
        let configuration = TransformerConfiguration(
            vocabularySize: embedding.shape[1],
            layerCount: try file.integer("llama.block_count"),
            embeddingLength: try file.integer("llama.embedding_length"),
            headCount: headCount,
            keyValueHeadCount: try file.optionalInteger("llama.attention.head_count_kv") ?? headCount,
            feedForwardLength: try file.integer("llama.feed_forward_length"),
            contextLength: try file.integer("llama.context_length"),
            ropeFrequencyBase: try file.optionalFloat("llama.rope.freq_base") ?? 10_000,
            rmsNormEpsilon: try file.float("llama.attention.layer_norm_rms_epsilon"),
            tiedOutput: file.tensor(named: "output.weight") == nil)
        try configuration.validate()
        if let ropeDimensions = try file.optionalInteger("llama.rope.dimension_count"), ropeDimensions != configuration.headDimension {
            throw TrainingError("partial RoPE (\(ropeDimensions) of \(configuration.headDimension) dimensions) is not supported")
        }
        let layout = ParameterLayout(configuration)
        var parameters = [Float](repeating: 0, count: layout.count)
        for entry in layout.entries {
            guard let tensor = file.tensor(named: entry.name) else { throw TrainingError("tensor \(entry.name) is missing") }
            guard tensor.shape == entry.shape else {
                throw TrainingError("tensor \(entry.name) has shape \(tensor.shape), expected \(entry.shape)")
            }
            let bytes = file.data(for: tensor)
            switch tensor.type {
            case .f32:
                for i in 0..<entry.count {
                    parameters[entry.offset + i] = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                }
            case .f16:
                for i in 0..<entry.count {
                    parameters[entry.offset + i] = Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                }
            default:
                throw TrainingError("tensor \(entry.name) is \(tensor.type), only f32 and f16 are read")
            }
        }
        return (configuration, parameters)
    }

    private static func encode(_ values: ArraySlice<Float>, as type: GGMLType) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * (type == .f32 ? 4 : 2))
        for value in values {
            if type == .f32 {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            } else {
                withUnsafeBytes(of: Float16(value).bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
            }
        }
        return bytes
    }
}
