import ArgumentParser
import CLIP
import CLIPIndex
import CLISupport
import Foundation

/// `clip search QUERY...`: ranked paths from the index.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Find indexed images by text, by image, or by a combination.",
        discussion: """
            QUERY terms are texts or image paths (starting with ./, ../, / or ~/; or --image F), each \
            optionally weighted (2:cat), joined with + or - as separate arguments. The query vector is \
            the weighted sum of the terms' unit embeddings, normalised; scores are cosines, best first. \
            The model is the one the index was built with; only the towers a query needs are loaded (an \
            image already in the index, by content, reuses its stored vector and needs none).

            Output: `score<TAB>path` per line, or with --json one {"path": ..., "score": ...} per line.
            --duplicates lists pairs of images with cosine >= --threshold (default 0.95), exact \
            duplicates first with score 1.

            Examples:
              clip search "a dog on a beach"
              clip search "2:cat" + ./img.jpg - fruit --top 20
              clip search --image holiday.jpg --under ~/Pictures/2024 --json
              clip search --duplicates --threshold 0.97
            """)

    @Argument(help: ArgumentHelp("Query terms: text, ./image.jpg, W:term, + and -.", valueName: "query"))
    var query: [String] = []

    @Option(name: .customLong("image"), help: ArgumentHelp("An image query term (repeatable).", valueName: "file"))
    var images: [String] = []

    @OptionGroup var database: DatabaseOption

    @Option(help: "Number of results.")
    var top = 10

    @Option(help: "Only results with at least this cosine score.")
    var threshold: Float?

    @Option(help: ArgumentHelp("Only images under this folder.", valueName: "dir"))
    var under: String?

    @Flag(help: "One JSON object per line: {\"path\": ..., \"score\": ...}.")
    var json = false

    @Flag(help: "List pairs of near-duplicate images instead of searching.")
    var duplicates = false

    @Option(help: ArgumentHelp("Must be the index's model (one index, one model).", valueName: "m"))
    var model: String?

    @Flag(help: "Never download a named model (also CLIP_OFFLINE=1).")
    var offline = false

    func validate() throws {
        guard top >= 1 else { throw ValidationError("--top must be at least 1") }
        if !duplicates && query.isEmpty && images.isEmpty {
            throw ValidationError("give a query: clip search \"a dog on a beach\"")
        }
    }

    func run() throws {
        let index: ImageIndex
        do { index = try ImageIndex(at: database.url, create: false) } catch let error as IndexError {
            throw fail(error)
        } catch { throw fail("cannot open \(database.url.path): \(error.localizedDescription)", .io) }
        if index.unmergedChanges {
            warn(
                "\(index.url.path) is read as it is on disk (this user cannot write it or its folder), and "
                    + "\(index.url.path)-wal holds batches not merged into it yet: images indexed in them are not searched"
            )
        }
        guard let stored = try catching({ try index.model() }) else {
            throw fail(IndexError.empty(path: index.url.path))
        }
        if let model, IndexModel.storedName(model) != stored.name {
            throw fail(
                IndexError.modelMismatch(
                    path: index.url.path, stored: stored.name, requested: IndexModel.storedName(model)))
        }
        if duplicates {
            let pairs = try catching { try index.duplicates(threshold: threshold ?? 0.95) }
            var out = ""
            for (a, b, score) in pairs {
                out +=
                    json
                    ? "{\"first\": \(Self.jsonString(a)), \"second\": \(Self.jsonString(b)), \"score\": \(score)}\n"
                    : String(format: "%.4f", score) + "\t\(a)\t\(b)\n"
            }
            try Output.write(Data(out.utf8), to: nil)
            return
        }
        let parsed = try catching { try SearchQuery(arguments: query, images: images) }
        for url in parsed.images where !FileManager.default.fileExists(atPath: url.path) {
            throw fail("no such image: \(url.path)", hint: "Image terms are paths: ./photo.jpg or --image F.", .input)
        }
        // An image term whose bytes are already indexed reuses its stored vector (the same
        // content gives the same embedding), so "more like this photo" loads no model.
        var imageVectors = [[Float]?](repeating: nil, count: parsed.images.count)
        for (i, url) in parsed.images.enumerated() {
            guard let hash = try? ContentHash.ofFile(url.path) else { continue }
            imageVectors[i] = try catching { try index.vector(hash: hash) }
        }
        let unindexed = parsed.images.indices.filter { imageVectors[$0] == nil }
        var towers: Set<CLIP.Tower> = []
        if !parsed.texts.isEmpty { towers.insert(.text) }
        if !unindexed.isEmpty { towers.insert(.image) }
        var textVectors: [[Float]] = []
        if !towers.isEmpty {
            let model = try IndexModel.loadTowers(towers, of: stored.name, offline: offline)
            textVectors = try IndexModel.encodeTexts(model, parsed.texts)
            let embedded = try IndexModel.encodeImages(model, unindexed.map { parsed.images[$0] })
            for (i, vector) in zip(unindexed, embedded) { imageVectors[i] = vector }
        }
        let vector = try catching { try parsed.vector(texts: textVectors, images: imageVectors.compactMap { $0 }) }
        let underPath = under.map { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path }
        let started = Date()
        let hits = try catching {
            try index.search(vector, top: top, threshold: threshold ?? -.infinity, under: underPath)
        }
        note("searched \(index.url.path) in \(String(format: "%.1f", Date().timeIntervalSince(started) * 1000)) ms")
        var out = ""
        for hit in hits {
            out +=
                json
                ? "{\"path\": \(Self.jsonString(hit.path)), \"score\": \(hit.score)}\n"
                : String(format: "%.4f", hit.score) + "\t\(hit.path)\n"
        }
        try Output.write(Data(out.utf8), to: nil)
    }

    static func jsonString(_ text: String) -> String {
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }
}
