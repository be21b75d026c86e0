import CLIPImage
import Foundation

/// A folder tree of images, each captioned by a text file beside it with the same name and
/// the extension `.txt` (`cats/001.jpg` + `cats/001.txt`). Subfolders are searched; images
/// are the files ``ImageFormat/isImageFile(_:)`` accepts (hidden entries are ignored), in sorted path order so
/// indices are stable. An image without its `.txt` stays in the dataset and is skipped (and counted)
/// by the loader, so a missing caption is visible instead of silently shrinking the data.
///
/// ```swift
/// let dataset = try SidecarFolderDataset(folder: URL(fileURLWithPath: "synth/sidecar/train"))
/// ```
public struct SidecarFolderDataset: TrainingDataset {
    /// The root folder.
    public let folder: URL
    /// Image files, sorted by path relative to the folder.
    public let images: [URL]

    /// Lists the tree. Throws ``DataError/notFound(path:)`` or ``DataError/empty(path:)``.
    public init(folder: URL) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue
        else {
            throw DataError.notFound(path: folder.path)
        }
        guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else {
            throw DataError.unreadable(path: folder.path, reason: "cannot list the folder")
        }
        var relative: [String] = []
        while let path = enumerator.nextObject() as? String {
            // Hidden entries (".git", macOS "._x.jpg" resource forks) are not samples.
            if path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            if ImageFormat.isImageFile(path) { relative.append(path) }
        }
        // Byte order, not locale order, so every machine agrees.
        relative.sort { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        guard !relative.isEmpty else { throw DataError.empty(path: folder.path) }
        self.folder = folder
        images = relative.map { folder.appendingPathComponent($0) }
    }

    public var count: Int { images.count }

    public func sample(at index: Int) -> TrainingSample {
        let image = images[index]
        return TrainingSample(
            image: .file(image), caption: .file(image.deletingPathExtension().appendingPathExtension("txt")))
    }

    public var summary: String { "folder \(folder.path), \(count) images" }
}
