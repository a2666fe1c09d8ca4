#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Optimization settings: AdamW with decoupled weight decay on matrices, global-norm clipping,
/// linear warm-up then cosine decay to `minimumLearningRateRatio · learningRate`.
public struct TrainingOptions: Equatable, Sendable {
    public var batchSize: Int
    public var steps: Int
    public var learningRate: Double
    public var warmupSteps: Int
    public var weightDecay: Double
    /// Largest global gradient norm; 0 disables clipping.
    public var gradientClip: Double
    public var seed: UInt64
    public var validationFraction: Double
    /// Validation loss is measured every this many steps and after the last.
    public var validationInterval: Int
    public var beta1: Double = 0.9
    public var beta2: Double = 0.95
    public var adamEpsilon: Double = 1e-8
    public var minimumLearningRateRatio: Double = 0.1

    public init(
        batchSize: Int = 16, steps: Int = 1000, learningRate: Double = 3e-4, warmupSteps: Int? = nil,
        weightDecay: Double = 0.1, gradientClip: Double = 1.0, seed: UInt64 = 1, validationFraction: Double = 0.05,
        validationInterval: Int = 100
    ) {
        self.batchSize = batchSize
        self.steps = steps
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps ?? min(100, steps / 10)
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
        self.seed = seed
        self.validationFraction = validationFraction
        self.validationInterval = validationInterval
    }

    public func validate() throws {
        guard (1...(1 << 20)).contains(batchSize) else { throw TrainingError("--batch must be in 1...\(1 << 20), got \(batchSize)") }
        guard steps >= 1 else { throw TrainingError("--steps must be at least 1, got \(steps)") }
        guard learningRate > 0, learningRate.isFinite else { throw TrainingError("--lr must be positive, got \(learningRate)") }
        guard warmupSteps >= 0 else { throw TrainingError("--warmup must not be negative, got \(warmupSteps)") }
        guard weightDecay >= 0 else { throw TrainingError("--weight-decay must not be negative, got \(weightDecay)") }
        guard gradientClip >= 0 else { throw TrainingError("--clip must not be negative, got \(gradientClip)") }
        guard validationInterval >= 1 else { throw TrainingError("--val-every must be at least 1, got \(validationInterval)") }
    }

    /// The learning rate of the update that takes step `step` (0-based) to `step + 1`.
    public func learningRate(atStep step: Int) -> Double {
        if step < warmupSteps {
            return learningRate * Double(step + 1) / Double(warmupSteps)
        }
        let decaySteps = max(1, steps - warmupSteps)
        let progress = min(1, Double(step - warmupSteps) / Double(decaySteps))
        let minimum = learningRate * minimumLearningRateRatio
        return minimum + (learningRate - minimum) * 0.5 * (1 + cos(Double.pi * progress))
    }
}
