import Foundation

/// Errors from zero-shot and retrieval evaluation.
public enum EvaluationError: LocalizedError, Equatable, Sendable {
    /// The labelled folder does not exist or is not a directory.
    case notAFolder(String)
    /// The labelled folder has no class subfolders.
    case noClasses(String)
    /// No image could be evaluated: none found, or every one was unreadable.
    case noImages(String, skipped: Int, firstReason: String?)
    /// The caption table has no usable row.
    case noCaptions(String)
    /// A prompt template list is empty.
    case noTemplates

    public var errorDescription: String? {
        switch self {
        case .notAFolder(let path): return "\(path) is not a folder"
        case .noClasses(let path): return "\(path) has no class subfolders"
        case .noImages(let path, let skipped, let reason):
            if skipped == 0 { return "no images found in \(path)" }
            return "none of the \(skipped) images in \(path) could be read" + (reason.map { " (first: \($0))" } ?? "")
        case .noCaptions(let path): return "\(path) has no row with both an image path and a caption"
        case .noTemplates: return "no prompt templates given"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .notAFolder, .noClasses:
            return "Pass a folder with one subfolder per class, e.g. DIR/cat/1.jpg, DIR/dog/2.png."
        case .noImages:
            return
                "Images are files ending in .jpg, .jpeg, .png, .webp, .gif, .bmp, .ppm, .pgm, .tif or .tiff inside the class subfolders."
        case .noCaptions:
            return "Check --csv-img-key, --csv-caption-key and --csv-separator (tab by default)."
        case .noTemplates: return "Give at least one template such as \"a photo of a {}.\"."
        }
    }
}
