import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The training runs in a folder (`clip serve --runs DIR`), looked up so that nothing outside
/// the folder is ever read: a run is named by one path component, and every file read must
/// resolve (symbolic links followed) to a path inside the folder.
///
/// ```swift
/// let runs = RunFolders(root: URL(fileURLWithPath: "runs"))
/// runs.names()                    // ["baseline", "lr-3e-4"]
/// try runs.run(named: "baseline") // runs/baseline, or nil for "..", "a/b", a link leading out
/// ```
public struct RunFolders: Sendable {
    /// The folder, as given.
    public let root: URL

    public init(root: URL) { self.root = root }

    /// A folder is a run when it has a `log.jsonl` or a `checkpoints` folder.
    public static func isRun(_ folder: URL) -> Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: folder.appendingPathComponent("log.jsonl").path)
            || fm.fileExists(atPath: folder.appendingPathComponent("checkpoints").path)
    }

    /// The runs directly under ``root`` (not hidden, resolving inside it), sorted by name.
    public func names() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.filter { run(named: $0) != nil }.sorted()
    }

    /// The run folder called `name`, or nil when `name` is not one plain path component
    /// (empty, `.`, `..`, hidden, with `/`, `\` or a control character), is no run, or resolves
    /// outside ``root``.
    public func run(named name: String) -> URL? {
        guard Self.isPlainName(name) else { return nil }
        let folder = root.appendingPathComponent(name, isDirectory: true)
        var isFolder: ObjCBool = false
        guard Self.isInside(folder, root: root),
            FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue,
            Self.isRun(folder)
        else { return nil }
        return folder
    }

    /// True for a single visible path component without separators or control characters.
    public static func isPlainName(_ name: String) -> Bool {
        guard !name.isEmpty, !name.hasPrefix("."), name.utf8.count <= 255 else { return false }
        return !name.unicodeScalars.contains { $0 == "/" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
    }

    /// True when `url` resolves (all symbolic links followed) to `root` itself or a path below
    /// it; false for a path that does not exist (only existing files are read).
    public static func isInside(_ url: URL, root: URL) -> Bool {
        guard let base = resolved(root.path), let target = resolved(url.path) else { return false }
        return target == base || target.hasPrefix(base.hasSuffix("/") ? base : base + "/")
    }

    /// `realpath(3)`: the absolute path without `.`, `..` or symbolic links; nil when it does not exist.
    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
