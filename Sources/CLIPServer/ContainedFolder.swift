import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A folder opened through no symbolic link at its last component (`O_NOFOLLOW`), whose
/// entries are looked at, opened and removed relative to that descriptor (`fstatat`,
/// `openat`, `unlinkat`), so that nothing reached through it can be outside it: a link inside is
/// seen as a link and never followed, and a folder swapped for a link after it was opened does
/// not redirect anything. The thumbnail cache's only way to its files.
final class ContainedFolder {
    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// Opens the folder at `url`, creating it (one level, `mkdir`) if it is missing and `create`;
    /// nil when it is a symbolic link, not a folder, or cannot be opened.
    convenience init?(_ url: URL, create: Bool) {
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        var descriptor = open(url.path, flags)
        if descriptor < 0, errno == ENOENT, create {
            mkdir(url.path, 0o755)
            descriptor = open(url.path, flags)
        }
        guard descriptor >= 0 else { return nil }
        self.init(descriptor: descriptor)
    }

    /// The folder `name` directly inside, as ``init(_:create:)`` opens it.
    func subfolder(_ name: String, create: Bool) -> ContainedFolder? {
        guard Self.isPlainName(name) else { return nil }
        let flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        var child = openat(descriptor, name, flags)
        if child < 0, errno == ENOENT, create {
            mkdirat(descriptor, name, 0o755)
            child = openat(descriptor, name, flags)
        }
        return child >= 0 ? ContainedFolder(descriptor: child) : nil
    }

    /// The names of the folder's entries (without `.` and `..`), unsorted.
    func entries() -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0 else { return [] }
        guard let directory = fdopendir(copy) else {
            close(copy)
            return []
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `lstat` of the entry `name` (a link is described as a link).
    func status(_ name: String) -> stat? {
        guard Self.isPlainName(name) else { return nil }
        var info = stat()
        return fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 ? info : nil
    }

    /// Removes the file `name` directly inside (a link would be removed itself, never what it
    /// points to; callers remove only regular files they have just looked at).
    @discardableResult
    func removeFile(_ name: String) -> Bool {
        Self.isPlainName(name) && unlinkat(descriptor, name, 0) == 0
    }

    /// One path component: no `/`, not empty, `.` or `..`.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && !name.utf8.contains(UInt8(ascii: "/"))
            && !name.utf8.contains(0)
    }

    /// A file's modification time in seconds since 1970.
    static func modificationTime(_ info: stat) -> Double {
        #if canImport(Darwin)
            let time = info.st_mtimespec
        #else
            let time = info.st_mtim
        #endif
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
