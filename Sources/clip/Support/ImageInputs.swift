import CLIP
import CLISupport
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
