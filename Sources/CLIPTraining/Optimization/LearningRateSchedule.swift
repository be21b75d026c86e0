import Foundation

/// open_clip's `cosine_lr`: linear warmup to the base rate over `warmup` steps, then cosine
/// decay to 0 at `totalSteps`.
///
/// ```swift
/// let schedule = LearningRateSchedule(baseRate: 5e-4, warmup: 100, totalSteps: 1000)
/// schedule.rate(at: 0)     // 5e-6
/// ```
public struct LearningRateSchedule: Codable, Sendable, Equatable {
    public var baseRate: Float
    public var warmup: Int
    public var totalSteps: Int

    public init(baseRate: Float, warmup: Int, totalSteps: Int) {
        self.baseRate = baseRate
        self.warmup = warmup
        self.totalSteps = totalSteps
    }

    /// The rate for step `step` (0-based).
    public func rate(at step: Int) -> Float {
        if step < warmup { return baseRate * Float(step + 1) / Float(warmup) }
        let decaySteps = max(totalSteps - warmup, 1)
        let e = Float(step - warmup)
        return 0.5 * (1 + Foundation.cos(Float.pi * e / Float(decaySteps))) * baseRate
    }
}
