import ForgeKernels
import ForgeGGUF

/// Everything a run needs to continue bit for bit: model shape, training options, step, RNG
/// state, a fingerprint of the data, parameters and both AdamW moments. Stored as a GGUF file
/// (`forge.*` keys, three 1-D F32 tensors) and written atomically.
public struct Checkpoint: Sendable {
    public var configuration: TransformerConfiguration
    public var options: TrainingOptions
    public var step: Int
    public var random: SplitMix64
    public var dataFingerprint: UInt64
    public var parameters: [Float]
    public var firstMoment: [Float]
    public var secondMoment: [Float]

    static let formatVersion: UInt32 = 1

    public init(path: String) throws {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw TrainingError("cannot read checkpoint \(path): \(error)")
        }
        guard try file.optionalInteger("forge.checkpoint.version") == Int(Self.formatVersion) else {
            throw TrainingError("\(path) is not a forge training checkpoint (version \(Self.formatVersion))")
        }
        func integer(_ key: String) throws -> Int { try file.integer("forge.\(key)") }
        func real(_ key: String) throws -> Double { try file.float("forge.\(key)") }
        func word(_ key: String) throws -> UInt64 {
            guard case .uint64(let value)? = file.metadata["forge.\(key)"] else {
                throw TrainingError("checkpoint \(path): forge.\(key) is missing")
            }
            return value
        }
        configuration = TransformerConfiguration(
            vocabularySize: try integer("model.vocab_size"), layerCount: try integer("model.layers"),
            embeddingLength: try integer("model.dim"), headCount: try integer("model.heads"),
            keyValueHeadCount: try integer("model.kv_heads"), feedForwardLength: try integer("model.ffn"),
            contextLength: try integer("model.context"), ropeFrequencyBase: try real("model.rope_base"),
            rmsNormEpsilon: try real("model.rms_epsilon"), tiedOutput: try file.bool("forge.model.tied_output"))
        try configuration.validate()
        options = TrainingOptions(
            batchSize: try integer("train.batch"), steps: try integer("train.steps"),
            learningRate: try real("train.lr"), warmupSteps: try integer("train.warmup"),
            weightDecay: try real("train.weight_decay"), gradientClip: try real("train.clip"),
            seed: try word("train.seed"), validationFraction: try real("train.val_fraction"),
            validationInterval: try integer("train.val_every"))
        step = try integer("train.step")
        random = SplitMix64(seed: 0)
        random.state = try word("train.rng_state")
        dataFingerprint = try word("train.data_fingerprint")
        let count = ParameterLayout(configuration).count
        func floats(_ name: String) throws -> [Float] {
            guard let tensor = file.tensor(named: name), tensor.type == .f32, tensor.elementCount == count else {
                throw TrainingError("checkpoint \(path): tensor \(name) is missing or not \(count) f32 values")
            }
            let bytes = file.data(for: tensor)
            return (0..<count).map { Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) }
        }
        parameters = try floats("parameters")
        firstMoment = try floats("adam.first_moment")
        secondMoment = try floats("adam.second_moment")
    }

    init(trainer: Trainer) {
        configuration = trainer.configuration
        options = trainer.options
        step = trainer.step
        random = trainer.random
        dataFingerprint = trainer.corpus.fingerprint
        parameters = Array(trainer.parameters.buffer)
        firstMoment = Array(trainer.firstMoment.buffer)
        secondMoment = Array(trainer.secondMoment.buffer)
    }

    public func write(to path: String) throws {
        var writer = GGUFWriter()
        let c = configuration
        writer.set("forge.checkpoint.version", .uint32(Self.formatVersion))
        writer.set("forge.model.vocab_size", .uint64(UInt64(c.vocabularySize)))
        writer.set("forge.model.layers", .uint64(UInt64(c.layerCount)))
        writer.set("forge.model.dim", .uint64(UInt64(c.embeddingLength)))
        writer.set("forge.model.heads", .uint64(UInt64(c.headCount)))
        writer.set("forge.model.kv_heads", .uint64(UInt64(c.keyValueHeadCount)))
        writer.set("forge.model.ffn", .uint64(UInt64(c.feedForwardLength)))
        writer.set("forge.model.context", .uint64(UInt64(c.contextLength)))
        writer.set("forge.model.rope_base", .float64(c.ropeFrequencyBase))
        writer.set("forge.model.rms_epsilon", .float64(c.rmsNormEpsilon))
        writer.set("forge.model.tied_output", .bool(c.tiedOutput))
        writer.set("forge.train.batch", .uint64(UInt64(options.batchSize)))
        writer.set("forge.train.steps", .uint64(UInt64(options.steps)))
        writer.set("forge.train.lr", .float64(options.learningRate))
        writer.set("forge.train.warmup", .uint64(UInt64(options.warmupSteps)))
        writer.set("forge.train.weight_decay", .float64(options.weightDecay))
        writer.set("forge.train.clip", .float64(options.gradientClip))
        writer.set("forge.train.seed", .uint64(options.seed))
        writer.set("forge.train.val_fraction", .float64(options.validationFraction))
        writer.set("forge.train.val_every", .uint64(UInt64(options.validationInterval)))
        writer.set("forge.train.step", .uint64(UInt64(step)))
        writer.set("forge.train.rng_state", .uint64(random.state))
        writer.set("forge.train.data_fingerprint", .uint64(dataFingerprint))
        try writer.addTensor(name: "parameters", shape: [parameters.count], floats: parameters)
        try writer.addTensor(name: "adam.first_moment", shape: [firstMoment.count], floats: firstMoment)
        try writer.addTensor(name: "adam.second_moment", shape: [secondMoment.count], floats: secondMoment)
        try writer.write(to: path)
    }
}

extension Trainer {
    /// Continues a checkpointed run on `corpus`, which must be the data it was trained on.
    /// `checkpoint.options.steps` may be raised to train further (this changes the cosine schedule).
    public convenience init(resuming checkpoint: Checkpoint, corpus: TrainingCorpus, threads: Int) throws {
        guard checkpoint.dataFingerprint == corpus.fingerprint else {
            throw TrainingError("the checkpoint was trained on different data (or a different --val-fraction or tokenizer)")
        }
        try self.init(model: Transformer(configuration: checkpoint.configuration), options: checkpoint.options, corpus: corpus, threads: threads)
        guard checkpoint.step <= checkpoint.options.steps else {
            throw TrainingError("the checkpoint is at step \(checkpoint.step), past --steps \(checkpoint.options.steps)")
        }
        restore(step: checkpoint.step, random: checkpoint.random)
        _ = parameters.buffer.update(fromContentsOf: checkpoint.parameters)
        _ = firstMoment.buffer.update(fromContentsOf: checkpoint.firstMoment)
        _ = secondMoment.buffer.update(fromContentsOf: checkpoint.secondMoment)
    }

    /// Writes a checkpoint of the current state atomically.
    public func saveCheckpoint(to path: String) throws {
        try Checkpoint(trainer: self).write(to: path)
    }

    /// Writes the current parameters as a `llama` GGUF.
    public func export(to path: String, vocabulary: TrainingVocabulary, weightType: LlamaGGUF.WeightType) throws {
        try LlamaGGUF.write(to: path, configuration: configuration, parameters: parameterValues, vocabulary: vocabulary, weightType: weightType)
    }
}
