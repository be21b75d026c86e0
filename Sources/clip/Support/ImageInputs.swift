import CLIP
import Foundation

/// The images `--images-from` names: a folder (walked recursively in sorted order, keeping the
/// files `ImageFormat.isImageFile` accepts: a JPEG, PNG, WebP or GIF extension, any case) or a
/// text file with one path per line. Only paths are held in memory, never pixels.
enum ImageInputs {
    static func paths(_ source: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
            throw fail(
                "cannot read \(source)", hint: "Give a folder of images or a file with one image path per line.", .input
            )
        }
        return isDirectory.boolValue ? try walk(source) : try InputLists.lines(source)
    }

    static func walk(_ folder: String) throws -> [String] {
        let root = URL(fileURLWithPath: folder)
        guard
            let enumerator = FileManager.default.enumerator(
                at: root, includingPropertiesForKeys: [.isRegularFileKey],
                options: [.skipsHiddenFiles])
        else {
            throw fail("cannot list \(folder)", hint: "Check the folder's permissions.", .input)
        }
        var found: [String] = []
        for case let url as URL in enumerator {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true,
                ImageFormat.isImageFile(url.path)
            else { continue }
            found.append(url.path)
        }
        return found.sorted()
    }
}

/// Where streamed output goes: stdout directly, or a hidden partial file beside the target that
/// is renamed into place only when everything was written (no half files on error).
final class StreamedOutput {
    private let handle: FileHandle
    private let partial: URL?
    private let target: String?

    init(path: String?) throws {
        guard let path, path != "-" else {
            handle = FileHandle.standardOutput
            partial = nil
            target = nil
            return
        }
        let destination = URL(fileURLWithPath: path)
        let temporary = destination.deletingLastPathComponent()
            .appendingPathComponent(
                ".\(destination.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil),
            let opened = try? FileHandle(forWritingTo: temporary)
        else {
            throw fail("cannot write \(path)", hint: "Check that the directory exists and is writable.", .io)
        }
        handle = opened
        partial = temporary
        target = path
    }

    func write(_ data: Data) throws {
        do { try handle.write(contentsOf: data) } catch {
            discard()
            throw fail("cannot write \(target ?? "standard output"): \(error.localizedDescription)", .io)
        }
    }

    func write(_ text: String) throws { try write(Data(text.utf8)) }

    /// Moves the finished file into place.
    func commit() throws {
        guard let partial, let target else { return }
        try? handle.close()
        do {
            _ = try FileManager.default.replaceItemAt(URL(fileURLWithPath: target), withItemAt: partial)
        } catch {
            if rename(partial.path, target) != 0 {
                discard()
                throw fail("cannot write \(target): \(String(cString: strerror(errno)))", .io)
            }
        }
    }

    /// Removes the partial file after an error.
    func discard() {
        guard let partial else { return }
        try? handle.close()
        try? FileManager.default.removeItem(at: partial)
    }
}
