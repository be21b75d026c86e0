import Foundation

// The one answer to "is this an image file?" when listing folders (CLI --images-from, evaluation
// folders, training sidecar folders): by name, without opening the file, for exactly the formats
// ImageDecoder reads. Extensions are Pillow's for those formats (JpegImagePlugin registers .jfif,
// .jpe, .jpg, .jpeg). Decoding still sniffs the content, so a misnamed file fails with a clear
// error instead of being decoded as something else.

extension ImageFormat {
    /// File name extensions (lower case, without the dot) of this format.
    public var fileExtensions: [String] {
        switch self {
        case .jpeg: ["jpg", "jpeg", "jpe", "jfif"]
        case .png: ["png"]
        case .webp: ["webp"]
        case .gif: ["gif"]
        }
    }

    /// Every extension of a format ImageDecoder reads (lower case, without the dot).
    public static let imageFileExtensions: Set<String> = Set(
        [ImageFormat.jpeg, .png, .webp, .gif].flatMap(\.fileExtensions))

    /// Whether `path` (a file name or path) ends in the extension of a format ImageDecoder reads,
    /// in any case: `cat.JPG` yes, `cat.bmp`, `cat.jpg.txt` and `jpg` no.
    ///
    /// ```swift
    /// ImageFormat.isImageFile("photos/IMG_001.JPG")   // true
    /// ```
    public static func isImageFile(_ path: String) -> Bool {
        let name = path.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return imageFileExtensions.contains(name[name.index(after: dot)...].lowercased())
    }
}
