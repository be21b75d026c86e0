import CLIPImage
import Foundation

/// Which files `clip index` looks at below its folders.
public struct ScanOptions: Sendable, Equatable {
    /// Also index files and folders whose name starts with a dot.
    public var includeHidden = false
    /// Folder names to skip wherever they occur (`--exclude-dir node_modules`).
    public var excludedDirectoryNames: Set<String> = []

    public init(includeHidden: Bool = false, excludedDirectoryNames: Set<String> = []) {
        self.includeHidden = includeHidden
        self.excludedDirectoryNames = excludedDirectoryNames
    }
}

/// A regular file found by the walk.
public struct FoundFile: Sendable, Equatable {
    public var path: String
    public var size: Int64
    /// Modification time, seconds since 1970 (sub-second where the file system has it).
    public var mtime: Double
}

/// Walks folders recursively in sorted order and returns the image files (by name, as every
/// command decides: ``ImageFormat/isImageFile(_:)``), with size and mtime.
public enum ImageFileWalker {
    public static func images(under roots: [URL], options: ScanOptions) -> [FoundFile] {
        var found: [FoundFile] = []
        for root in roots {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) else { continue }
            if !isDirectory.boolValue {
                if let file = inspect(root.path) { found.append(file) }
                continue
            }
            walk(root.path, options: options, into: &found)
        }
        var seen = Set<String>()
        return found.filter { seen.insert($0.path).inserted }.sorted { $0.path < $1.path }
    }

    private static func walk(_ folder: String, options: ScanOptions, into found: inout [FoundFile]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names.sorted() {
            if !options.includeHidden && name.hasPrefix(".") { continue }
            let path = folder.hasSuffix("/") ? folder + name : folder + "/" + name
            var info = stat()
            // lstat: symbolic links are not followed (no cycles, no files outside the folder).
            guard lstat(path, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if options.excludedDirectoryNames.contains(name) { continue }
                walk(path, options: options, into: &found)
            case S_IFREG:
                if let file = inspect(path, info) { found.append(file) }
            default:
                continue
            }
        }
    }

    /// The file's size and mtime if its name is an image file's.
    static func inspect(_ path: String, _ known: stat? = nil) -> FoundFile? {
        var info = known ?? stat()
        if known == nil { guard stat(path, &info) == 0 else { return nil } }
        guard ImageFormat.isImageFile(path) else { return nil }
        #if canImport(Darwin)
            let time = info.st_mtimespec
        #else
            let time = info.st_mtim
        #endif
        return FoundFile(
            path: path, size: Int64(info.st_size), mtime: Double(time.tv_sec) + Double(time.tv_nsec) / 1e9)
    }
}
