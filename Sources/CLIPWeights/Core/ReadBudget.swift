import Foundation

/// The memory one file's reading may allocate beyond its memory map: inflated zip records and
/// private copies of strided tensor views. Each such allocation is reserved here before it is
/// made, so a small hostile file cannot make the reader take gigabytes (a zip bomb, or one
/// stored float viewed as a 32768 × 32768 tensor through zero strides).
///
/// The limit follows from what a genuine file can hold: float weights deflate to about 90 % of
/// their size, so a compressed record inflates to ~1.1 × its share of the file, and a saved
/// transpose is copied once; four times the file's size covers both with room for tied weights.
/// The fixed allowance covers the small records (pickles, TorchScript code) of tiny files.
final class ReadBudget: @unchecked Sendable {  // `reserved` is read and written under `lock`
    /// Always allowed, whatever the file's size.
    static let fixedAllowance = 64 << 20
    /// Allowed per byte of the file.
    static let fileFactor = 4

    let path: String
    let limit: Int
    /// Bytes reserved so far, under `lock` (TorchScript code records are inflated concurrently).
    var used: Int { lock.withLock { reserved } }
    private var reserved = 0
    private let lock = NSLock()

    /// The budget for a file of `fileSize` bytes.
    init(path: String, fileSize: Int) {
        self.path = path
        let (scaled, overflow) = fileSize.multipliedReportingOverflow(by: ReadBudget.fileFactor)
        limit = overflow ? Int.max : scaled.addingReportingOverflow(ReadBudget.fixedAllowance).partialValue
    }

    /// A budget with an explicit limit.
    init(path: String, limit: Int) {
        self.path = path
        self.limit = limit
    }

    /// Records that `bytes` more are about to be allocated for `what` (for the error message),
    /// or throws ``WeightError/limitExceeded(file:detail:)`` if that would pass the limit.
    func reserve(_ bytes: Int, for what: @autoclosure () -> String) throws {
        let taken: Int? = lock.withLock {
            guard bytes >= 0, bytes <= limit - reserved else { return reserved }
            reserved += bytes
            return nil
        }
        if let taken {
            throw WeightError.limitExceeded(
                file: path,
                detail:
                    "\(what()) needs \(bytes) bytes, but reading this file may allocate at most \(limit) "
                    + "(64 MiB + 4 × the file's size) and \(taken) are taken")
        }
    }
}
