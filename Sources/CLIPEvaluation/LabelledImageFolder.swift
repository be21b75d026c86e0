import CLIPImage
import Foundation

// A labelled image folder in the layout torchvision's ImageFolder reads (open_clip's
// --imagenet-val): DIR/<class>/.../<image>. Classes are the immediate subfolders, sorted by
// Unicode code point as Python's sorted() does; images are found recursively below each class
// folder by `ImageFormat.isImageFile` (the extensions of the formats CLIPImage decodes), in sorted order.

/// The images of a folder with one subfolder per class.
///
/// Class names are the subfolder names; ``promptNames`` replace underscores with spaces
/// (`golden_retriever` → "golden retriever") for the prompt templates. Hidden files and folders
/// (names starting with ".") and files with other extensions are ignored. A class folder with no
/// image is still a class: it competes in classification but contributes no test image.
///
/// ```swift
/// let folder = try LabelledImageFolder(URL(fileURLWithPath: "val"))
/// print(folder.classNames, folder.images.count)
/// ```
public struct LabelledImageFolder: Sendable {
    /// One image and the index of its class in ``classNames``.
    public struct Item: Sendable, Equatable {
        public var url: URL
        public var label: Int
    }

    /// The folder that was read.
    public let root: URL
    /// Subfolder names, sorted by Unicode code point.
    public let classNames: [String]
    /// Images in class order, then by path within a class.
    public let images: [Item]

    /// Class names as they go into prompts: underscores become spaces.
    public var promptNames: [String] { classNames.map(Self.promptName) }

    /// `golden_retriever` → `golden retriever`.
    public static func promptName(_ className: String) -> String {
        className.replacingOccurrences(of: "_", with: " ")
    }

    /// Lists the classes and images below `root`.
    /// - Throws: ``EvaluationError/notAFolder(_:)`` or ``EvaluationError/noClasses(_:)``.
    public init(_ root: URL) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EvaluationError.notAFolder(root.path)
        }
        let entries = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        let classes = entries.filter { name in
            var dir: ObjCBool = false
            return !name.hasPrefix(".")
                && fm.fileExists(atPath: root.appendingPathComponent(name).path, isDirectory: &dir) && dir.boolValue
        }.sorted(by: Self.codePointOrder)
        guard !classes.isEmpty else { throw EvaluationError.noClasses(root.path) }
        var items: [Item] = []
        for (label, name) in classes.enumerated() {
            for url in Self.imageFiles(below: root.appendingPathComponent(name, isDirectory: true)) {
                items.append(Item(url: url, label: label))
            }
        }
        self.root = root
        self.classNames = classes
        self.images = items
    }

    /// Python's string order (code points), not Swift's `<` (which compares canonically
    /// equivalent strings as equal and so may order differently from Python).
    static func codePointOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    /// Image files below `dir`, recursively, sorted by relative path; hidden entries skipped.
    static func imageFiles(below dir: URL) -> [URL] {
        let fm = FileManager.default
        var found: [(relative: String, url: URL)] = []
        func walk(_ folder: URL, _ prefix: String, depth: Int) {
            // Symbolic-link cycles could recurse forever; real datasets are shallow.
            guard depth < 32, let names = try? fm.contentsOfDirectory(atPath: folder.path) else { return }
            for name in names where !name.hasPrefix(".") {
                let url = folder.appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
                if isDirectory.boolValue {
                    walk(url, prefix + name + "/", depth: depth + 1)
                } else if ImageFormat.isImageFile(name) {
                    found.append((prefix + name, url))
                }
            }
        }
        walk(dir, "", depth: 0)
        return found.sorted { codePointOrder($0.relative, $1.relative) }.map(\.url)
    }
}
