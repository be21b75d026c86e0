import CLIPTensor
import CLIPTraining

/// ``TrainingCollective`` over MPI_COMM_WORLD: set it on a ``Trainer`` on every rank.
///
/// ```swift
/// if let world = try MPICommunicator.join() { trainer.collective = MPITrainingCollective(world) }
/// ```
/// Parameter gradients travel in buckets of ``bucketSize`` floats, filled in the order the
/// optimiser lists its parameters (the same on every rank), one MPI_Allreduce per bucket:
/// the same sums in the same order at every step, however the messages are timed.
public struct MPITrainingCollective: TrainingCollective {
    public let communicator: MPICommunicator
    /// Floats per gradient allreduce (4 Mi floats, 16 MiB).
    public var bucketSize = 1 << 22

    public init(_ communicator: MPICommunicator) { self.communicator = communicator }

    public var rank: Int { communicator.rank }
    public var worldSize: Int { communicator.worldSize }

    public func allGather(_ local: Tensor) throws -> Tensor {
        let rows = try communicator.allGather(local.scalars)
        return Tensor(shape: [local.shape[0] * worldSize] + local.shape.dropFirst(), scalars: rows)
    }

    public func reduceScatterSum(_ global: Tensor) throws -> Tensor {
        let block = try communicator.reduceScatterSum(global.scalars)
        return Tensor(shape: [global.shape[0] / worldSize] + global.shape.dropFirst(), scalars: block)
    }

    public func allReduceSum(_ values: [Float]) throws -> [Float] {
        var values = values
        try communicator.allReduceSum(&values)
        return values
    }

    public func allReduceGradients(_ parameters: [(key: String, variable: Variable)]) throws {
        // Parameters without a gradient (a tower the loss did not reach) are the same on every
        // rank, so skipping them keeps the buckets aligned.
        let withGradient = parameters.filter { $0.variable.grad != nil }
        var start = 0
        while start < withGradient.count {
            var end = start, filled = 0
            repeat {
                filled += withGradient[end].variable.value.count
                end += 1
            } while end < withGradient.count && filled + withGradient[end].variable.value.count <= bucketSize
            var bucket: [Float] = []
            bucket.reserveCapacity(filled)
            for (_, p) in withGradient[start..<end] { bucket += p.grad?.scalars ?? [] }
            try communicator.allReduceSum(&bucket)
            var offset = 0
            for (_, p) in withGradient[start..<end] {
                let n = p.value.count
                p.grad = Tensor(shape: p.value.shape, scalars: Array(bucket[offset..<(offset + n)]))
                offset += n
            }
            start = end
        }
    }
}
