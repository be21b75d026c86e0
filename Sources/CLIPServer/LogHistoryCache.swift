import CLIP
import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The parsed `log.jsonl` of each served run, kept between requests: a log only grows while
/// its run trains, so a request parses just the lines added since the last one (a page that
/// reloads every 30 s on a million-step run costs a few new lines, not the whole file). A log
/// that was replaced (another inode) or shrank (a resume cut it back) is parsed again whole; a
/// last line without its newline yet is left for the next request.
final class LogHistoryCache: @unchecked Sendable {
    private struct Entry {
        var device: UInt64
        var inode: UInt64
        /// Bytes parsed so far (up to the last complete line).
        var offset: Int
        var history: TrainingHistory
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Runs remembered at most; beyond that the cache starts over (a folder of many runs).
    let limit = 256

    /// The history of the log at `url` as it is now; nil when it cannot be read.
    func history(of url: URL) -> TrainingHistory? {
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return nil }
        let device = UInt64(info.st_dev), inode = UInt64(info.st_ino), size = Int(info.st_size)
        var entry = lock.withLock { entries[url.path] }
        if let e = entry, e.device != device || e.inode != inode || e.offset > size { entry = nil }
        var current = entry ?? Entry(device: device, inode: inode, offset: 0, history: TrainingHistory())
        if size > current.offset {
            guard let tail = Self.read(fd, from: current.offset, count: size - current.offset) else { return nil }
            // Only whole lines: the trainer may be writing the last one right now.
            if let end = tail.lastIndex(of: UInt8(ascii: "\n")) {
                let complete = tail[tail.startIndex...end]
                for line in complete.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                    current.history.add(line: Data(line))
                }
                current.offset += complete.count
            }
        }
        let kept = current
        lock.withLock {
            if entries.count >= limit && entries[url.path] == nil { entries.removeAll() }
            entries[url.path] = kept
        }
        return current.history
    }

    /// `count` bytes at `offset` (`pread`), nil on a read error.
    private static func read(_ fd: Int32, from offset: Int, count: Int) -> Data? {
        var data = Data(count: count)
        var done = 0
        let ok = data.withUnsafeMutableBytes { buffer -> Bool in
            while done < count {
                let n = pread(fd, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return n == 0 }
                done += n
            }
            return true
        }
        return ok ? data.prefix(done) : nil
    }
}
