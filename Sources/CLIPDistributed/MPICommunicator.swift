import CMPI
import Foundation

/// MPI_COMM_WORLD of an Open MPI job, through the CMPI shim (libmpi is loaded at run time).
///
/// ```swift
/// if let world = try MPICommunicator.join() {   // nil unless started by mpirun or srun
///     var loss: [Float] = [localLoss]
///     try world.allReduceSum(&loss)
///     world.finalize()
/// }
/// ```
/// Every collective must be called by every rank in the same order. Errors come back as
/// ``MPIError/call(name:code:message:)`` (MPI_ERRORS_RETURN), not as an abort.
public final class MPICommunicator: @unchecked Sendable {
    /// This process's rank, 0 ..< ``worldSize``.
    public let rank: Int
    public let worldSize: Int
    private var finalized = false

    private init(rank: Int, worldSize: Int) {
        self.rank = rank
        self.worldSize = worldSize
    }

    /// Joins the job when a launcher started this process (``MPILaunch/detect(_:)``), else nil.
    /// Loads libmpi (`CLIP_MPI_LIBRARY`, else libmpi.so.40) and calls MPI_Init once.
    /// - Throws: ``MPIError/runtimeMissing(launcher:detail:)`` when the library cannot be loaded.
    public static func join(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> MPICommunicator?
    {
        guard let launch = MPILaunch.detect(environment) else { return nil }
        var message = [CChar](repeating: 0, count: 512)
        let path = environment["CLIP_MPI_LIBRARY"]
        let loaded = message.withUnsafeMutableBufferPointer { buffer in
            cmpi_load(path, buffer.baseAddress, buffer.count)
        }
        guard loaded == 0 else {
            throw MPIError.runtimeMissing(
                launcher: launch.launcher,
                detail: String(decoding: message.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self))
        }
        try check("MPI_Init", cmpi_init())
        var rank: Int32 = 0, size: Int32 = 0
        try check("MPI_Comm_rank", cmpi_rank(&rank))
        try check("MPI_Comm_size", cmpi_size(&size))
        return MPICommunicator(rank: Int(rank), worldSize: Int(size))
    }

    /// MPI_Finalize (once; later calls do nothing). Call on every rank before a normal exit.
    public func finalize() {
        guard !finalized else { return }
        finalized = true
        _ = cmpi_finalize()
    }

    /// MPI_Abort on MPI_COMM_WORLD: every rank of the job ends with `code`.
    public func abort(code: Int32) -> Never {
        _ = cmpi_abort(code)
        exit(code)  // MPI_Abort does not return; this is for a runtime that does.
    }

    public func barrier() throws { try Self.check("MPI_Barrier", cmpi_barrier()) }

    /// Sums `values` element-wise over the ranks; every rank gets the same result.
    public func allReduceSum(_ values: inout [Float]) throws {
        let count = try Self.count(values.count)
        let send = values
        try values.withUnsafeMutableBufferPointer { out in
            try Self.check("MPI_Allreduce", cmpi_allreduce_sum_float(send, out.baseAddress, count))
        }
    }

    public func allReduceSum(_ values: inout [Double]) throws {
        let count = try Self.count(values.count)
        let send = values
        try values.withUnsafeMutableBufferPointer { out in
            try Self.check("MPI_Allreduce", cmpi_allreduce_sum_double(send, out.baseAddress, count))
        }
    }

    /// The smallest `value` over the ranks.
    public func minimum(_ value: Int) throws -> Int {
        var send = Int32(clamping: value), out: Int32 = 0
        try Self.check("MPI_Allreduce", cmpi_allreduce_min_int(&send, &out, 1))
        return Int(out)
    }

    /// The largest `value` over the ranks.
    public func maximum(_ value: Int) throws -> Int {
        var send = Int32(clamping: value), out: Int32 = 0
        try Self.check("MPI_Allreduce", cmpi_allreduce_max_int(&send, &out, 1))
        return Int(out)
    }

    /// Every rank's `local` (the same count on each), concatenated in rank order.
    public func allGather(_ local: [Float]) throws -> [Float] {
        let count = try Self.count(local.count)
        var out = [Float](repeating: 0, count: local.count * worldSize)
        try out.withUnsafeMutableBufferPointer { buffer in
            try Self.check("MPI_Allgather", cmpi_allgather_float(local, count, buffer.baseAddress))
        }
        return out
    }

    /// Every rank's `local` (counts may differ), concatenated in rank order, on `root` only
    /// (nil on the other ranks).
    public func gather(_ local: [Float], root: Int = 0) throws -> [Float]? {
        let counts = try allGatherCounts(local.count)
        var displacements = [Int32](repeating: 0, count: worldSize)
        for r in 1..<max(worldSize, 1) { displacements[r] = displacements[r - 1] + counts[r - 1] }
        let total = counts.reduce(0) { $0 + Int($1) }
        var out = [Float](repeating: 0, count: rank == root ? total : 0)
        try out.withUnsafeMutableBufferPointer { buffer in
            try Self.check(
                "MPI_Gatherv",
                cmpi_gatherv_float(
                    local, Int32(local.count), buffer.baseAddress, counts, displacements, Int32(root)))
        }
        return rank == root ? out : nil
    }

    /// The counts of every rank, in rank order.
    private func allGatherCounts(_ count: Int) throws -> [Int32] {
        var mine = try Self.count(count)
        var counts = [Int32](repeating: 0, count: worldSize)
        try counts.withUnsafeMutableBufferPointer { buffer in
            try Self.check("MPI_Allgather", cmpi_allgather_int(&mine, 1, buffer.baseAddress))
        }
        return counts
    }

    /// Rank r receives the element-wise sum over the ranks of block r of `global`
    /// (`global.count` = worldSize × block).
    public func reduceScatterSum(_ global: [Float]) throws -> [Float] {
        precondition(global.count % worldSize == 0, "reduce-scatter: \(global.count) values for \(worldSize) ranks")
        let block = global.count / worldSize
        var out = [Float](repeating: 0, count: block)
        let count = try Self.count(block)
        try out.withUnsafeMutableBufferPointer { buffer in
            try Self.check("MPI_Reduce_scatter_block", cmpi_reduce_scatter_sum_float(global, buffer.baseAddress, count))
        }
        return out
    }

    /// Root's `bytes` on every rank (the same count on each).
    public func broadcast(_ bytes: inout [UInt8], root: Int = 0) throws {
        let count = try Self.count(bytes.count)
        try bytes.withUnsafeMutableBytes { buffer in
            try Self.check("MPI_Bcast", cmpi_broadcast_bytes(buffer.baseAddress, count, Int32(root)))
        }
    }

    private static func count(_ n: Int) throws -> Int32 {
        guard n <= Int(Int32.max) else { throw MPIError.tooLarge(count: n) }
        return Int32(n)
    }

    private static func check(_ name: String, _ code: Int32) throws {
        guard code != 0 else { return }
        var message = [CChar](repeating: 0, count: 512)
        message.withUnsafeMutableBufferPointer { cmpi_error_string(code, $0.baseAddress, $0.count) }
        throw MPIError.call(
            name: name, code: code, message: String(decoding: message.prefix { $0 != 0 }.map(UInt8.init), as: UTF8.self)
        )
    }
}
