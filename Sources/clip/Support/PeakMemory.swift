#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The process's peak resident set size, for `--verbose` notes (and the streaming test).
enum PeakMemory {
    static func megabytes() -> Int {
        var usage = rusage()
        #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        #if os(Linux)
            return Int(usage.ru_maxrss) / 1024  // kilobytes on Linux
        #else
            return Int(usage.ru_maxrss) / (1024 * 1024)  // bytes on macOS
        #endif
    }
}
