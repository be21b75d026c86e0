import CLIPTensor

/// The seam for data-parallel training across processes (MPI, later): how a step sees the
/// other ranks. The loop calls ``gatherFeatures(_:)`` on each tower's features before the
/// contrastive loss (open_clip's `gather_features`: every rank scores its pairs against the
/// whole global batch) and ``allReduceGradients(_:)`` between backward and the optimiser update.
/// ``SingleProcess`` does neither and is what ``Trainer`` uses by default.
public protocol TrainingCollective: Sendable {
    /// This process's rank, 0 ..< `worldSize`; only rank 0 writes checkpoints and the log.
    var rank: Int { get }
    var worldSize: Int { get }
    /// Local features (B, E) → the global batch (worldSize·B, E), the local rows keeping their gradient.
    func gatherFeatures(_ local: Variable) throws -> Variable
    /// Replaces each parameter's gradient by its mean over the ranks.
    func allReduceGradients(_ parameters: [(key: String, variable: Variable)]) throws
}

/// One process: features and gradients stay as they are.
public struct SingleProcess: TrainingCollective {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func gatherFeatures(_ local: Variable) throws -> Variable { local }
    public func allReduceGradients(_ parameters: [(key: String, variable: Variable)]) throws {}
}
