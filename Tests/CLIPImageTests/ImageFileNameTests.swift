import CLIPImage
import Testing

/// `ImageFormat.isImageFile`: the one "is this an image file?" rule (CLI folders, evaluation
/// folders, training folders and tar shards), by extension of a decodable format, any case.
@Suite struct ImageFileNameTests {
    static let cases: [(String, Bool)] = [
        ("cat.jpg", true), ("cat.JPG", true), ("cat.jpeg", true), ("cat.Jpeg", true), ("cat.jpe", true),
        ("cat.jfif", true), ("cat.png", true), ("cat.PNG", true), ("cat.webp", true), ("cat.gif", true),
        ("a/b.c/cat.png", true), ("/abs/path/IMG_0001.JPG", true), ("dir.png/cat.txt", false),
        ("cat.bmp", false), ("cat.tif", false), ("cat.tiff", false), ("cat.ppm", false), ("cat.heic", false),
        ("cat.avif", false), ("cat.jpg.txt", false), ("cat.txt", false), ("cat", false), ("jpg", false),
        ("cat.", false), (".png", false), ("", false), ("a/", false), ("cat.pngx", false), ("cat.jp", false),
    ]

    @Test(arguments: cases)
    func isImageFile(_ path: String, _ expected: Bool) {
        #expect(ImageFormat.isImageFile(path) == expected, "\(path)")
    }

    /// The whole list, spelled out: adding a format to the decoder means adding it here.
    @Test func extensionList() {
        #expect(ImageFormat.imageFileExtensions == ["jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif"])
        #expect(ImageFormat.jpeg.fileExtensions.first == "jpg")
    }
}
