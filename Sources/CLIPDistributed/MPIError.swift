import Foundation

/// What can go wrong with MPI: the runtime is missing, a call failed, or the ranks disagree.
public enum MPIError: LocalizedError, Equatable {
    /// The process was started by a launcher (mpirun, srun) but libmpi could not be loaded.
    case runtimeMissing(launcher: String, detail: String)
    /// An MPI call returned an error code (MPI_ERRORS_RETURN is set on MPI_COMM_WORLD).
    case call(name: String, code: Int32, message: String)
    /// Another rank failed; its own message is on its standard error.
    case rankFailed(rank: Int, worldSize: Int, during: String)
    /// The ranks were started with different arguments.
    case argumentsDiffer(rank: Int)
    /// A size does not fit MPI's 32-bit counts.
    case tooLarge(count: Int)

    public var errorDescription: String? {
        switch self {
        case .runtimeMissing(let launcher, let detail):
            return "started by \(launcher), but the MPI library could not be loaded: \(detail)"
        case .call(let name, let code, let message):
            return "\(name) failed (MPI error \(code)): \(message)"
        case .rankFailed(let rank, let worldSize, let during):
            return "rank \(rank) of \(worldSize) failed \(during) (its error is printed above)"
        case .argumentsDiffer(let rank):
            return "rank \(rank) was started with different arguments from rank 0"
        case .tooLarge(let count):
            return "\(count) values do not fit one MPI message (at most \(Int32.max))"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .runtimeMissing:
            return
                "Install Open MPI on every machine (Debian: apt-get install openmpi-bin libopenmpi-dev), or set CLIP_MPI_LIBRARY to libmpi's path."
        case .call:
            return "Check that every rank runs the same clip build and that the network between the hosts works."
        case .rankFailed:
            return "Fix the failing rank's problem (a missing file on that machine, for example) and rerun."
        case .argumentsDiffer: return "Start every rank with the same command line (mpirun does this)."
        case .tooLarge: return "Use a smaller batch or fewer rows per rank."
        }
    }
}
