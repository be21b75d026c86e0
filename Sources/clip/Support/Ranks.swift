import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip` as one rank of an MPI job (`mpirun -np N clip train|embed ...`, or `srun`): joining,
/// checking that every rank has the same arguments, and stopping every rank when one fails.
/// Without a launcher, ``join()`` returns nil and nothing of MPI is loaded.
enum Ranks {
    /// While set, `fail` appends its message here instead of printing it (see ``agree(_:during:_:)``).
    static var heldErrors: String? {
        get { HeldErrors.text }
        set { HeldErrors.text = newValue }
    }

    /// Joins the job, checks the arguments against rank 0's digest and quietens ranks > 0.
    /// A missing MPI runtime is reported by rank 0 (as the launcher numbered it); every rank
    /// exits with the usage status.
    static func join() throws -> MPICommunicator? {
        let world: MPICommunicator?
        do { world = try MPICommunicator.join() } catch {
            if (MPILaunch.announcedRank() ?? 0) == 0 { throw fail(error, .usage) }
            throw ExitCode(CLIExit.usage.rawValue)
        }
        guard let world else { return nil }
        if world.rank > 0 { GlobalOptions.quietenRank() }
        let mine = withUnsafeBytes(of: ArgumentDigest.digest(CommandLine.arguments).littleEndian) { Array($0) }
        var rootDigest = mine
        _ = try agree(world, during: "joining the job") {
            try world.broadcast(&rootDigest)
            if rootDigest != mine { throw fail(MPIError.argumentsDiffer(rank: world.rank), .usage) }
        }
        return world
    }

    /// Runs `body` on every rank, then agrees on the outcome, so that no rank goes on to wait
    /// for one that has stopped. When any rank failed, the lowest failing rank rethrows its own
    /// error (printed there), rank 0 names it, and every rank finalizes MPI and exits with the
    /// largest exit status. Without a job, just `body`.
    static func agree<T>(_ world: MPICommunicator?, during: String, _ body: () throws -> T) throws -> T {
        guard let world else { return try body() }
        // Errors are held back until the ranks agree: only the lowest failing rank prints its own.
        heldErrors = ""
        let outcome: Result<T, any Error>
        do { outcome = .success(try body()) } catch { outcome = .failure(error) }
        let held = heldErrors ?? ""
        heldErrors = nil
        var status: Int32 = 0
        if case .failure(let error) = outcome { status = (error as? ExitCode)?.rawValue ?? 1 }
        let failing = try world.minimum(status == 0 ? Int(Int32.max) : world.rank)
        guard failing != Int(Int32.max) else { return try outcome.get() }
        let code = Int32(try world.maximum(Int(status)))
        // Every message is written before MPI is finalized: once one rank has exited with a
        // non-zero status, mpirun tears the job down and output written later may be lost.
        let reports = failing == world.rank
        if reports {
            standardError(held)
        } else if world.rank == 0 {
            _ = fail(MPIError.rankFailed(rank: failing, worldSize: world.worldSize, during: during), .input)
        }
        world.finalize()
        if case .failure(let error) = outcome, reports { throw error }
        throw ExitCode(code)
    }

    /// After the ranks have agreed to start, a failure on one rank (a full disk on rank 0, a
    /// broken image) cannot be agreed on without a hang: print it with the rank, abort the job.
    static func abortOnFailure<T>(_ world: MPICommunicator?, _ body: () throws -> T) throws -> T {
        guard let world else { return try body() }
        do { return try body() } catch let stop as ExitCode where stop.rawValue == 130 {
            // A stop (Ctrl-C) is agreed on at every step: every rank saves and leaves together.
            throw stop
        } catch {
            let code = (error as? ExitCode)?.rawValue ?? 1
            if !(error is ExitCode) { _ = fail(error, .input) }
            standardError("error: rank \(world.rank) of \(world.worldSize) failed; stopping every rank\n")
            world.abort(code: code)
        }
    }
}
