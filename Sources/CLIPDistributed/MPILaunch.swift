import Foundation

/// How a process learns it was started as one rank of several: the environment variables
/// that Open MPI's mpirun, PMIx launchers (Slurm's srun --mpi=pmix) and PMI launchers set.
public struct MPILaunch: Equatable, Sendable {
    /// The launcher as the environment names it, e.g. "mpirun (OMPI_COMM_WORLD_SIZE=2)".
    public var launcher: String
    /// The world size the launcher announced.
    public var worldSize: Int

    /// The launch described by `environment`, or nil when no launcher started this process
    /// (then `clip` runs as one process and never loads libmpi).
    public static func detect(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> MPILaunch? {
        for name in ["OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"] {
            if let value = environment[name], let size = Int(value) {
                let launcher = name.hasPrefix("OMPI") ? "mpirun" : "an MPI launcher"
                return MPILaunch(launcher: "\(launcher) (\(name)=\(value))", worldSize: size)
            }
        }
        // PMIx sets PMIX_RANK but not always a size; the runtime knows it after init.
        if environment["PMIX_RANK"] != nil {
            return MPILaunch(launcher: "an MPI launcher (PMIX_RANK)", worldSize: 0)
        }
        return nil
    }

    /// The rank the launcher announced (rank 0 prints when MPI itself cannot start).
    public static func announcedRank(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        ["OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"].lazy.compactMap { environment[$0].flatMap(Int.init) }.first
    }
}
