import CLIP
import Foundation
import Testing

/// `clip eval` against the library's evaluators on the same tiny model and generated images.
@Suite struct EvalCommandTests {
    /// A folder with two classes (three images each, one broken file) and a caption table.
    static func makeData() throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("clip-eval-cli-\(UUID().uuidString)")
        let colours: [[UInt8]] = [
            [250, 20, 20], [20, 240, 20], [20, 20, 240], [240, 240, 0], [0, 0, 0], [255, 255, 255],
        ]
        func image(_ path: String, _ a: Int, _ b: Int) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            // Left half one colour, right half another.
            let pixels = (0..<(20 * 16)).flatMap { i in i % 20 < 10 ? colours[a] : colours[b] }
            try PNGEncoder.encode(pixels: pixels, width: 20, height: 16, channels: 3).write(to: url)
        }
        for i in 0..<3 {
            try image("classes/red_thing/\(i).png", 0, 3 + i % 3)
            try image("classes/blue_thing/\(i).png", 2, (i + 4) % 6)
        }
        try Data("broken".utf8).write(to: root.appendingPathComponent("classes/red_thing/broken.jpg"))
        let tsv = """
            filepath\ttitle
            ../classes/red_thing/0.png\ta red thing
            ../classes/red_thing/1.png\ta red and yellow thing
            ../classes/blue_thing/0.png\ta blue thing
            ../classes/blue_thing/0.png\tblue on the left
            ../classes/red_thing/broken.jpg\tnothing

            """
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("tables"), withIntermediateDirectories: true)
        try Data(tsv.utf8).write(to: root.appendingPathComponent("tables/val.tsv"))
        let csv = "id;image;caption\n1;../classes/red_thing/2.png;\"red; again\"\n2;../classes/blue_thing/2.png;blue\n"
        try Data(csv.utf8).write(to: root.appendingPathComponent("tables/val.csv"))
        return root
    }

    static func json(_ result: CLIRunner.Result) throws -> [String: Any] {
        try #require(
            try JSONSerialization.jsonObject(with: result.stdoutData) as? [String: Any], "stdout: \(result.stdout)")
    }

    @Test func zeroShotJSONMatchesLibrary() throws {
        let root = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("classes")
        let r = try CLIRunner.run([
            "eval", "--model", TinyModel.path, "--zeroshot-folder", folder.path, "--batch-size", "4", "--per-class",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try Self.json(r)
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        let expected = try ZeroShotEvaluation.evaluate(model: model, folder: folder)
        #expect(out["top1"] as? Double == expected.top1 && out["top5"] as? Double == 1, "\(out)")
        #expect(out["images"] as? Int == 6 && out["classes"] as? Int == 2 && out["skipped"] as? Int == 1, "\(out)")
        let perClass = try #require(out["per_class"] as? [String: Any])
        #expect(
            perClass["red_thing"] as? Double == expected.top1PerClass[1]
                && perClass["blue_thing"] as? Double == expected.top1PerClass[0])
        #expect(r.stderr.contains("warning: skipped") && r.stderr.contains("broken.jpg"), "\(r.stderr)")

        // Templates from a file, and OpenAI's 80.
        let templates = root.appendingPathComponent("templates.txt")
        try Data("a photo of a {}.\n\na {} in a picture\n".utf8).write(to: templates)
        let fromFile = try CLIRunner.run([
            "eval", "--model", TinyModel.path, "--zeroshot-folder", folder.path, "--templates", templates.path,
        ])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        let expectedFile = try ZeroShotEvaluation.evaluate(
            model: model, folder: folder, templates: ["a photo of a {}.", "a {} in a picture"])
        #expect(try Self.json(fromFile)["top1"] as? Double == expectedFile.top1)
        let openAI = try CLIRunner.run([
            "eval", "--model", TinyModel.path, "--zeroshot-folder", folder.path, "--templates", "openai-imagenet",
        ])
        #expect(openAI.status == 0, "\(openAI.stderr)")
        let expectedOpenAI = try ZeroShotEvaluation.evaluate(
            model: model, folder: folder, templates: ZeroShotClassifier.openAIImageNetTemplates)
        #expect(try Self.json(openAI)["top1"] as? Double == expectedOpenAI.top1)
    }

    @Test func retrievalJSONMatchesLibrary() throws {
        let root = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: root) }
        let table = root.appendingPathComponent("tables/val.tsv")
        let r = try CLIRunner.run(["eval", "--model", TinyModel.path, "--retrieval", table.path])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try Self.json(r)
        let model = try CLIP.load(URL(fileURLWithPath: TinyModel.path))
        let expected = try RetrievalEvaluation.evaluate(model: model, dataset: RetrievalDataset(csv: table))
        for (key, value) in expected.metrics.dictionary {
            #expect(out[key] as? Double == value, "\(key): \(String(describing: out[key])) != \(value)")
        }
        #expect(
            out["images"] as? Int == 3 && out["texts"] as? Int == 4 && out["skipped"] as? Int == 1
                && out["skipped_texts"] as? Int == 1, "\(out)")
        // 3 images, so R@5 and R@10 are 1 in both directions.
        #expect(out["image_to_text_R@5"] as? Double == 1 && out["text_to_image_R@10"] as? Double == 1)

        // Other columns and separator, quoted separator inside a caption.
        let csv = root.appendingPathComponent("tables/val.csv")
        let other = try CLIRunner.run([
            "eval", "--model", TinyModel.path, "--retrieval", csv.path,
            "--csv-img-key", "image", "--csv-caption-key", "caption", "--csv-separator", ";",
        ])
        #expect(other.status == 0, "\(other.stderr)")
        let otherOut = try Self.json(other)
        #expect(
            otherOut["images"] as? Int == 2 && otherOut["texts"] as? Int == 2 && otherOut["skipped"] as? Int == 0,
            "\(otherOut)")
    }

    /// `--plot`: the confusion matrix of the library's evaluation, as the library draws it,
    /// decoded again by our own decoder.
    @Test func zeroShotPlotIsTheLibrarysConfusionMatrix() throws {
        let root = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("classes"), plot = root.appendingPathComponent("confusion.png")
        let r = try CLIRunner.run([
            "eval", "--model", TinyModel.path, "--zeroshot-folder", folder.path, "--plot", plot.path,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let expected = try ZeroShotEvaluation.evaluate(
            model: try CLIP.load(URL(fileURLWithPath: TinyModel.path)), folder: folder)
        #expect(expected.confusion.joined().reduce(0, +) == 6)
        let drawn = ConfusionMatrixImage(counts: expected.confusion, labels: expected.classNames)
        let png = try Data(contentsOf: plot)
        #expect(png == (try drawn.png()))
        let decoded = try ImageDecoder.decode(data: png, name: "confusion.png")
        let canvas = drawn.render()
        #expect(decoded.width == canvas.width && decoded.height == canvas.height && decoded.pixels == canvas.pixels)
    }

    @Test(
        arguments: [
            (["eval", "--model", "MODEL"], 64, "--zeroshot-folder"),
            (
                ["eval", "--model", "MODEL", "--retrieval", "ROOT/tables/val.tsv", "--plot", "ROOT/p.png"], 64,
                "--plot apply to --zeroshot-folder"
            ),
            (
                ["eval", "--model", "MODEL", "--zeroshot-folder", "ROOT/classes", "--plot", "-"], 64,
                "--plot needs a file"
            ),
            (
                [
                    "eval", "--model", "MODEL", "--zeroshot-folder", "ROOT/classes", "--retrieval",
                    "ROOT/tables/val.tsv",
                ], 64, "not both"
            ),
            (
                ["eval", "--model", "MODEL", "--zeroshot-folder", "ROOT/classes", "--csv-separator", ","], 64,
                "apply to --retrieval"
            ),
            (
                ["eval", "--model", "MODEL", "--retrieval", "ROOT/tables/val.tsv", "--csv-separator", "ab"], 64,
                "--csv-separator"
            ),
            (
                ["eval", "--model", "MODEL", "--retrieval", "ROOT/tables/val.tsv", "--templates", "openai-imagenet"],
                64, "apply to --zeroshot-folder"
            ),
            (
                ["eval", "--model", "MODEL", "--zeroshot-folder", "ROOT/nowhere"], 65,
                "error: ROOT/nowhere is not a folder"
            ),
            (
                ["eval", "--model", "MODEL", "--retrieval", "ROOT/tables/val.tsv", "--csv-caption-key", "caption"], 65,
                "error: ROOT/tables/val.tsv: no column named 'caption' (columns: 'filepath', 'title')\nhint: Name the columns with"
            ),
            (["eval", "--model", "MODEL", "--retrieval", "ROOT/tables/val.csv"], 65, "no column named 'filepath'"),
            (
                ["eval", "--model", "ROOT/missing.safetensors", "--zeroshot-folder", "ROOT/classes"], 66,
                "error: model file not found"
            ),
        ] as [([String], Int32, String)])
    func errors(_ arguments: [String], _ status: Int32, _ message: String) throws {
        let root = try Self.makeData()
        defer { try? FileManager.default.removeItem(at: root) }
        let substitute = { (s: String) in
            s.replacingOccurrences(of: "ROOT", with: root.path).replacingOccurrences(of: "MODEL", with: TinyModel.path)
        }
        let r = try CLIRunner.run(arguments.map(substitute))
        #expect(r.status == status && r.stderr.contains(substitute(message)), "status \(r.status), stderr: \(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test func helpNamesTheModesAndCSVOptions() throws {
        let r = try CLIRunner.run(["eval", "--help"])
        #expect(r.status == 0)
        for option in [
            "--zeroshot-folder", "--retrieval", "--templates", "--csv-img-key", "--csv-caption-key", "--csv-separator",
            "--model",
        ] {
            #expect(r.stdout.contains(option), "help lacks \(option): \(r.stdout)")
        }
        let root = try CLIRunner.run(["--help"])
        #expect(root.stdout.contains("eval"))
    }
}
