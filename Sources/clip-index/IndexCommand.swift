import ArgumentParser
import CLIP
import CLIPIndex
import CLISupport
import Foundation

/// `clip index DIR...`: brings the index up to date with the images under the folders.
struct IndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "index",
        abstract: "Index the images under folders for `clip search` (incremental).",
        discussion: """
            Walks the folders recursively and embeds every image the decoder reads (JPEG, PNG, WebP, \
            GIF, recognised by content). Hidden files and folders are skipped unless --include-hidden. \
            A second run embeds only what changed: an unchanged file (same path, size and mtime) is \
            skipped; a changed one is embedded again; a deleted one is removed; a renamed or moved one \
            is recognised by its content hash (SHA-256) and not embedded again; exact duplicates share \
            one vector. Batches of 32 images are committed one transaction at a time (SQLite WAL), so \
            an interrupted run loses at most one batch and the next run continues.

            Prints one JSON line on stdout: \
            {"added":N,"updated":N,"renamed":N,"removed":N,"unchanged":N,"failed":N,"embedded":N,"seconds":S}. \
            Images that cannot be read are named on stderr with the reason and counted in "failed".

            One index holds one model; the first run records it (default ViT-B/32).

            Examples:
              clip index ~/Pictures
              clip index ~/Pictures /media/photos --exclude-dir Thumbnails --db photos.sqlite
            """)

    @Argument(help: ArgumentHelp("Folders (or single images) to index.", valueName: "dir"))
    var folders: [String]

    @OptionGroup var database: DatabaseOption

    @Option(help: ArgumentHelp("Model name or checkpoint path (default: ViT-B/32, or the index's).", valueName: "m"))
    var model: String?

    @Flag(help: "Never download a named model (also CLIP_OFFLINE=1).")
    var offline = false

    @Flag(help: "Also index hidden files and folders (names starting with a dot).")
    var includeHidden = false

    @Option(help: ArgumentHelp("Skip folders with this name anywhere below (repeatable).", valueName: "name"))
    var excludeDir: [String] = []

    @Option(help: "Skip images with more pixels than this (default: Pillow's limit, 178956970).")
    var maxPixels: Int?

    @Option(
        help: ArgumentHelp(
            "How a new index stores vectors: f32 (default), or f16 (half the size, scores within ~1e-3).",
            valueName: "type"))
    var vectors: String?

    @Option(help: .hidden) var batchSize = 32

    func validate() throws {
        if let vectors, VectorType(rawValue: vectors) == nil {
            throw ValidationError("--vectors must be f32 or f16")
        }
        if let maxPixels, maxPixels < 1 { throw ValidationError("--max-pixels must be positive") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be positive") }
    }

    func run() throws {
        var roots: [URL] = []
        for folder in folders {
            guard FileManager.default.fileExists(atPath: folder) else {
                throw fail("no such folder: \(folder)", hint: "Give folders of images to index.", .input)
            }
            roots.append(URL(fileURLWithPath: folder).standardizedFileURL.resolvingSymlinksInPath())
        }
        let index: ImageIndex
        do { index = try ImageIndex(at: database.url) } catch let error as IndexError { throw fail(error) } catch {
            throw fail(
                "cannot open \(database.url.path): \(error.localizedDescription)",
                hint: "Check that the folder is writable, or pass --db.", .io)
        }
        let stored = try catching { try index.model() }
        let requested = model ?? stored?.name ?? IndexModel.defaultName
        if let stored, stored.name != IndexModel.storedName(requested) {
            throw fail(
                IndexError.modelMismatch(
                    path: index.url.path, stored: stored.name, requested: IndexModel.storedName(requested)))
        }
        // The vector type is fixed when the index is made: a contradicting --vectors would
        // otherwise be ignored without a word.
        if let stored, let vectors, VectorType(rawValue: vectors) != stored.vectorType {
            throw fail(
                "\(index.url.path) stores \(stored.vectorType.rawValue) vectors, not \(vectors)",
                hint: "Drop --vectors to update this index, or give a new --db to build one with \(vectors) vectors.",
                .usage)
        }
        // The model is loaded when the first image needs embedding: a rerun over unchanged
        // folders never loads it.
        var embedder: ImageEmbedder?
        let bar = ProgressBar(label: "indexing", total: nil, unit: .items)
        let summary = try catching {
            try index.update(
                roots: roots, options: IndexOptions(scan: scanOptions, batchSize: batchSize),
                embed: { urls in
                    if embedder == nil {
                        let clip = try IndexModel.load(requested, offline: offline)
                        try index.bind(
                            IndexedModel(
                                name: IndexModel.storedName(requested), dimension: clip.configuration.embedDim,
                                vectorType: vectors.flatMap(VectorType.init(rawValue:)) ?? .float32))
                        embedder = ImageEmbedder(model: clip, maxPixels: maxPixels)
                    }
                    return embedder?.embed(urls) ?? []
                },
                events: { event in
                    switch event {
                    case .progress(let done, let total): bar.update(done: Int64(done), total: Int64(total))
                    case .failed(let path, let reason):
                        bar.finish()
                        // Decoder messages usually start with the path already.
                        let line = reason.hasPrefix(path) ? reason : "\(path): \(reason)"
                        StandardStreams.printError("error: \(line)\n")
                    }
                })
        }
        bar.finish()
        try Output.print(summary.jsonLine)
    }

    var scanOptions: ScanOptions {
        ScanOptions(includeHidden: includeHidden, excludedDirectoryNames: Set(excludeDir))
    }
}

/// Runs `body`, turning index and database errors into an `error:` line and exit code.
func catching<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as IndexError { throw fail(error) } catch let error as ExitCode {
        throw error
    } catch { throw fail(error, .io) }
}
