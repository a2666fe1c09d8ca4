import ForgeKernels

/// What one step of a run reports to its observer (the progress bar, the JSONL log).
public struct TrainingEvent: Sendable, Equatable {
    public let step: Int
    public let totalSteps: Int
    public let loss: Double
    /// Measured every `validationInterval` steps and after the last.
    public let validationLoss: Double?
    public let learningRate: Double
    public let tokensPerSecond: Double

    /// One JSON object: `step`, `loss`, `val_loss` (when measured), `lr`, `tokens_per_second`.
    public var jsonLine: String {
        var fields = ["\"step\":\(step)", "\"loss\":\(Self.json(loss))"]
        if let validationLoss { fields.append("\"val_loss\":\(Self.json(validationLoss))") }
        fields.append("\"lr\":\(Self.json(learningRate))")
        fields.append("\"tokens_per_second\":\(Self.json(tokensPerSecond))")
        return "{" + fields.joined(separator: ",") + "}"
    }

    private static func json(_ value: Double) -> String {
        value.isFinite ? "\(value)" : "null"
    }
}

extension Trainer {
    /// Trains until `options.steps`, measuring validation loss on schedule and checkpointing
    /// every `checkpointEvery` steps (and after the last) when a path is given.
    public func run(
        checkpointEvery: Int? = nil, checkpointPath: String? = nil, observe: (TrainingEvent) throws -> Void = { _ in }
    ) throws {
        if let checkpointEvery, checkpointEvery < 1 {
            throw TrainingError("--checkpoint-every must be at least 1, got \(checkpointEvery)")
        }
        let clock = ContinuousClock()
        while !isFinished {
            let start = clock.now
            let report = trainStep()
            let elapsed = start.duration(to: clock.now)
            let seconds = elapsed.inSeconds
            guard report.loss.isFinite else {
                throw TrainingError("the loss became \(report.loss) at step \(report.step); lower --lr or --clip")
            }
            let measure = report.step % options.validationInterval == 0 || isFinished
            let event = TrainingEvent(
                step: report.step, totalSteps: options.steps, loss: report.loss,
                validationLoss: measure ? validationLoss() : nil, learningRate: report.learningRate,
                tokensPerSecond: seconds > 0 ? Double(report.tokens) / seconds : 0)
            try observe(event)
            if let checkpointPath, let checkpointEvery, report.step % checkpointEvery == 0 || isFinished {
                try saveCheckpoint(to: checkpointPath)
            }
        }
    }
}
