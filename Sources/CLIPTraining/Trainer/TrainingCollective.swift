import CLIPTensor

/// The seam for data-parallel training across processes (MPI: `MPITrainingCollective` in
/// CLIPDistributed): how a step sees the other ranks. With more than one rank, ``Trainer``
/// follows open_clip's `--gather-with-grad --local-loss`: each rank's features are all-gathered
/// (``allGather(_:)``), each rank scores its own pairs against the whole global batch, the
/// gradients for gathered features go back to their owners (``reduceScatterSum(_:)``), and
/// parameter gradients are summed (``allReduceGradients(_:)``) before the optimiser update.
/// ``SingleProcess`` is the identity and what ``Trainer`` uses by default.
///
/// Every method is collective: all ranks call it in the same order with the same shapes.
public protocol TrainingCollective: Sendable {
    /// This process's rank, 0 ..< `worldSize`; only rank 0 writes checkpoints and the log.
    var rank: Int { get }
    var worldSize: Int { get }
    /// Every rank's (B, E) rows concatenated in rank order: (worldSize·B, E).
    func allGather(_ local: Tensor) throws -> Tensor
    /// (worldSize·B, E) on every rank → this rank's block (B, E), summed over the ranks.
    func reduceScatterSum(_ global: Tensor) throws -> Tensor
    /// Element-wise sum over the ranks (losses, flags).
    func allReduceSum(_ values: [Float]) throws -> [Float]
    /// Replaces each parameter's gradient by its sum over the ranks, in the order given (the
    /// same on every rank, so the reduction does not depend on timing).
    func allReduceGradients(_ parameters: [(key: String, variable: Variable)]) throws
}

/// One process: features and gradients stay as they are.
public struct SingleProcess: TrainingCollective {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func allGather(_ local: Tensor) throws -> Tensor { local }
    public func reduceScatterSum(_ global: Tensor) throws -> Tensor { global }
    public func allReduceSum(_ values: [Float]) throws -> [Float] { values }
    public func allReduceGradients(_ parameters: [(key: String, variable: Variable)]) throws {}
}
