import CLIP
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Issue 14: nothing lost, nothing crashes. Each test runs `clip` as a user would and checks
/// what is left on disk, the exit status and stderr. Every case failed before the fix (the
/// comment on each says how).
@Suite struct SafetyTests {
    static let image = TinyModel.image("chelsea_baseline.jpg")

    /// A fresh folder per test.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("clip-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Names in `folder` other than `keep` (temporary files left behind).
    static func leftovers(_ folder: URL, keep: Set<String>) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !keep.contains($0) }
    }

    static func fileType(_ path: String) -> mode_t {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & S_IFMT : 0
    }

    // MARK: 1. Safe outputs

    /// `-o` onto an existing file replaces it (before: embed left the old content and exited 0,
    /// preprocess deleted the old file and exited 74).
    @Test(arguments: [
        ["embed", "--model", TinyModel.path, "--text", "hi"],
        ["preprocess", "--size", "16", image],
        ["convert", "--model", TinyModel.path],
    ])
    func outputReplacesAnExistingFile(_ arguments: [String]) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out.bin")
        try Data("OLD\n".utf8).write(to: out)
        chmod(out.path, 0o640)
        let result = try CLIRunner.run(arguments + ["-o", out.path])
        #expect(result.status == 0, "\(result.stderr)")
        let written = try Data(contentsOf: out)
        #expect(written.count > 4 && written != Data("OLD\n".utf8), "the old content is still there")
        var info = stat()
        stat(out.path, &info)
        #expect(info.st_mode & 0o777 == 0o640, "permissions of the replaced file are kept")
        #expect(Self.leftovers(dir, keep: ["out.bin"]).isEmpty)
    }

    /// A folder as `-o` (before: embed replaced the folder and its files, `-o .` the working
    /// directory) is refused with 74 and left as it was.
    @Test(arguments: [
        ["embed", "--model", TinyModel.path, "--text", "hi"],
        ["preprocess", "--size", "16", image],
        ["convert", "--model", TinyModel.path],
    ])
    func folderTargetIsRefusedAndUntouched(_ arguments: [String]) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let photos = dir.appendingPathComponent("photos")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        try Data("keep".utf8).write(to: photos.appendingPathComponent("a.txt"))
        for target in [photos.path, photos.path + "/"] {
            let result = try CLIRunner.run(arguments + ["-o", target])
            #expect(result.status == 74, "\(target): \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: cannot write") && result.stderr.contains("folder"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: photos.path) == ["a.txt"])
            #expect(try Data(contentsOf: photos.appendingPathComponent("a.txt")) == Data("keep".utf8))
        }
        #expect(Self.leftovers(dir, keep: ["photos"]).isEmpty)
    }

    /// `-o .` in the working directory.
    @Test func dotIsRefused() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("keep".utf8).write(to: dir.appendingPathComponent("a.txt"))
        let process = Process()
        process.executableURL = CLIRunner.executable
        process.arguments = ["embed", "--model", TinyModel.path, "--text", "hi", "-o", "."]
        process.currentDirectoryURL = dir
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 74)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.txt"])
    }

    /// Character devices are written into (before, as root: preprocess deleted /dev/null,
    /// convert replaced it with a regular file).
    @Test(arguments: [
        ["embed", "--model", TinyModel.path, "--text", "hi"],
        ["preprocess", "--size", "16", image],
        ["convert", "--model", TinyModel.path],
    ])
    func deviceIsWrittenInto(_ arguments: [String]) throws {
        let result = try CLIRunner.run(arguments + ["-o", "/dev/null"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType("/dev/null") == S_IFCHR, "/dev/null must stay a character device")
    }

    /// A FIFO is written into, not replaced: a reader at the other end gets the output.
    @Test func fifoIsWrittenInto() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o600) == 0)
        nonisolated(unsafe) var received = Data()
        let reader = Thread { received = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data() }
        reader.start()
        let result = try CLIRunner.run(["embed", "--model", TinyModel.path, "--text", "hi", "-o", fifo])
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(String(decoding: received, as: UTF8.self).hasPrefix("{\"image_embeddings\""))
        #expect(Self.fileType(fifo) == S_IFIFO)
    }

    /// `-o /dev/stdout` writes into the descriptor the shell gave: `>>` appends, nothing is
    /// replaced behind the shell's back.
    @Test func devStdoutWritesIntoTheInheritedDescriptor() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.jsonl")
        try Data("OLD\n".utf8).write(to: log)
        let handle = try #require(FileHandle(forUpdatingAtPath: log.path))
        try handle.seekToEnd()
        let result = try CLIRunner.run(
            ["embed", "--model", TinyModel.path, "--text", "hi", "--format", "jsonl", "-o", "/dev/stdout"],
            stdout: handle)
        try handle.close()
        #expect(result.status == 0, "\(result.stderr)")
        let text = String(decoding: try Data(contentsOf: log), as: UTF8.self)
        #expect(text.hasPrefix("OLD\n{\"text\": \"hi\""), "\(text)")
        #expect(Self.leftovers(dir, keep: ["log.jsonl"]).isEmpty)
    }

    /// A symbolic link keeps pointing at the (replaced) file.
    @Test func symlinkTargetIsReplacedLinkKept() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let real = dir.appendingPathComponent("real.json"), link = dir.appendingPathComponent("link.json")
        try Data("OLD".utf8).write(to: real)
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: real)
        let result = try CLIRunner.run(["embed", "--model", TinyModel.path, "--text", "hi", "-o", link.path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Self.fileType(link.path) == S_IFLNK)
        #expect(String(decoding: try Data(contentsOf: real), as: UTF8.self).hasPrefix("{"))
    }

    /// A failure half-way never touches the old file and leaves no temporary file.
    @Test func failureKeepsTheOldFile() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("p.npy")
        try Data("OLD".utf8).write(to: out)
        let bad = TinyModel.image("truncated.jpg")
        let result = try CLIRunner.run(["preprocess", "--size", "16", Self.image, bad, "-o", out.path])
        #expect(result.status == 65, "\(result.stderr)")
        #expect(try Data(contentsOf: out) == Data("OLD".utf8))
        #expect(Self.leftovers(dir, keep: ["p.npy"]).isEmpty)
    }

    /// SIGINT or SIGTERM while the output is being written removes the temporary file and
    /// keeps the old one; the process still dies of the signal. (`clip preprocess` of 4000
    /// photos takes seconds; the signal comes as soon as the temporary file appears.)
    @Test(arguments: [SIGINT, SIGTERM])
    func signalRemovesTheTemporaryFile(_ signal: Int32) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("p.npy")
        try Data("OLD".utf8).write(to: out)
        let pid = try CLIRunner.spawn(
            ["preprocess", "--size", "224"] + Array(repeating: Self.image, count: 4000) + ["-o", out.path])
        let deadline = Date().addingTimeInterval(60)
        while Self.leftovers(dir, keep: ["p.npy"]).isEmpty && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(!Self.leftovers(dir, keep: ["p.npy"]).isEmpty, "the temporary file appeared")
        kill(pid, signal)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        // WIFSIGNALED / WTERMSIG: the low 7 bits hold the signal that ended the process.
        #expect(status & 0x7F == signal, "status \(status): died of the signal")
        #expect(Self.leftovers(dir, keep: ["p.npy"]).isEmpty, "temporary file removed")
        #expect(try Data(contentsOf: out) == Data("OLD".utf8))
    }

    // MARK: 2. Write errors on stdout

    /// Before: tokenize crashed (`try!`), the others exited 0 with the output lost.
    @Test(
        .enabled(if: FileManager.default.fileExists(atPath: "/dev/full")),
        arguments: [
            ["tokenize", "hi"],
            ["info", "--model", TinyModel.path],
            ["classify", "--model", TinyModel.path, image, "--labels", "cat,dog"],
            ["classify", "--model", TinyModel.path, image, "--labels", "cat,dog", "--json"],
            ["models"],
            ["models", "--json"],
            ["embed", "--model", TinyModel.path, "--text", "hi"],
            ["embed", "--model", TinyModel.path, "--text", "hi", "--format", "jsonl"],
            ["demo"],
        ])
    func fullStdoutExits74(_ arguments: [String]) throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let result = try CLIRunner.run(arguments, stdout: full)
        #expect(result.status == 74, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("error: cannot write standard output"), "\(result.stderr)")
        #expect(!result.stderr.contains("Fatal error"))
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/dev/full")))
    func evalToFullStdoutExits74() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["cat", "dog"] {
            let sub = dir.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: Self.image, toPath: sub.appendingPathComponent("a.jpg").path)
        }
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        let result = try CLIRunner.run(
            ["eval", "--model", TinyModel.path, "--zeroshot-folder", dir.path], stdout: full)
        #expect(result.status == 74, "\(result.stderr)")
    }

    // MARK: 3. Non-finite weights

    /// Before: a NaN in visual.proj gave `null` embeddings and exit 0. (`clip embed` checks the
    /// weights as it reads them, so the token-embedding value sits in <|endoftext|>'s row, which
    /// every prompt reads; `CLIP.load`'s scan finds it anywhere.)
    @Test(arguments: [
        ("visual.proj", 5, Float.nan),
        ("transformer.resblocks.0.ln_1.weight", 0, Float.infinity),
        ("token_embedding.weight", 49407 * 8 + 1, -Float.infinity),
        ("token_embedding.weight", 123, -Float.infinity),
        ("logit_scale", 0, Float.nan),
        ("logit_scale", 0, Float(1000)),  // finite, but exp(1000) is not
    ])
    func nonFiniteWeightIsRefused(key: String, index: Int, value: Float) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("damaged.safetensors")
        try TinyModel.write(to: url, replacing: [key: (index, value)])
        let result = try CLIRunner.run(["embed", "--model", url.path, "--image", Self.image, "--text", "hi"])
        if key == "token_embedding.weight" && index == 123 {
            // Row 15, which "hi" does not read: it cannot change the embedding.
            #expect(result.status == 0, "\(result.stderr)")
        } else {
            #expect(result.status == 66, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.hasPrefix("error: weight '\(key)'"), "\(result.stderr)")
        }
        // The library's error is typed, with a hint.
        #expect(throws: CLIPModelError.nonFiniteWeight(key: key)) { try CLIP.load(url) }
        #expect(CLIPModelError.nonFiniteWeight(key: key).recoverySuggestion != nil)
    }

    /// `clip embed` checks an fp16 file's weights as the first batch reads them (no scan at
    /// load): a NaN or infinity is still refused with exit 66 and the key, nothing on standard
    /// output and an existing `-o` file untouched — with both towers too, in JSON and in JSON
    /// Lines (which writes each batch of images as it is embedded: the texts are embedded first).
    @Test(arguments: [
        ("visual.transformer.resblocks.0.mlp.c_fc.weight", 17, Float.nan, ["--image", SafetyTests.image]),
        ("visual.conv1.weight", 100, Float.infinity, ["--image", SafetyTests.image]),
        ("transformer.resblocks.0.attn.in_proj_weight", 190, -Float.infinity, ["--text", "hi"]),
        ("ln_final.weight", 3, Float.nan, ["--text", "hi"]),
        ("token_embedding.weight", 49406 * 8 + 3, Float.nan, ["--text", "hi"]),  // <|startoftext|>'s row
        (
            "transformer.resblocks.0.mlp.c_proj.weight", 5, Float.infinity,
            ["--image", SafetyTests.image, "--text", "hi"]
        ),
        (
            "transformer.resblocks.0.mlp.c_proj.weight", 5, Float.infinity,
            ["--image", SafetyTests.image, "--text", "hi", "--format", "jsonl"]
        ),
        (
            "visual.transformer.resblocks.0.mlp.c_fc.weight", 17, Float.nan,
            ["--image", SafetyTests.image, "--text", "hi", "--format", "jsonl"]
        ),
    ])
    func nonFiniteFp16WeightIsRefusedWhenRead(key: String, index: Int, value: Float, inputs: [String]) throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("damaged-fp16.safetensors")
        try TinyModel.write(to: url, replacing: [key: (index, value)], half: true)
        let out = dir.appendingPathComponent("keep.json")
        try Data("precious".utf8).write(to: out)
        for extra in [[], ["-o", out.path]] {
            let result = try CLIRunner.run(["embed", "--model", url.path] + inputs + extra)
            #expect(result.status == 66, "\(key) \(extra): \(result.stderr)")
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.contains("error: weight '\(key)' holds NaN or infinite values"), "\(result.stderr)")
        }
        #expect(try Data(contentsOf: out) == Data("precious".utf8))
        // The same file without the damage embeds.
        try TinyModel.write(to: url, half: true)
        let good = try CLIRunner.run(["embed", "--model", url.path] + inputs)
        #expect(good.status == 0, "\(good.stderr)")
    }

    @Test func finiteCheckSeesEveryElement() {
        for count in [1, 7, 64, 1000] {
            for position in [0, count / 2, count - 1] {
                for bad in [Float.nan, .infinity, -.infinity, .signalingNaN] {
                    var values = [Float](repeating: 1, count: count)
                    values[position] = bad
                    #expect(!Tensor(shape: [count], scalars: values).isAllFinite, "\(count) \(position) \(bad)")
                }
            }
            let fine: [Float] = (0..<count).map { Float($0) * 1e30 - .greatestFiniteMagnitude / 2 }
            #expect(Tensor(shape: [count], scalars: fine).isAllFinite)
        }
    }

    // MARK: 7. Numeric options

    /// Each must be a usage error (64) naming the valid range. Before: --max-pixels 0 disabled
    /// the pixel limit silently, `demo --top=-1` crashed, `--top 0` printed nothing, head
    /// counts of 0 or below were model errors (66).
    @Test(arguments: [
        (
            ["preprocess", "--size", "16", "--max-pixels", "0", image, "-o", "/dev/null"],
            "--max-pixels must be at least 1"
        ),
        (
            ["preprocess", "--size", "16", "--max-pixels=-5", image, "-o", "/dev/null"],
            "--max-pixels must be at least 1"
        ),
        (["demo", "--top", "0"], "--top must be from 1 to"),
        (["demo", "--top=-1"], "--top must be from 1 to"),
        (["classify", "--model", TinyModel.path, image, "--labels", "a,b", "--top", "0"], "--top must be from 1 to"),
        (["eval", "--model", TinyModel.path, "--zeroshot-folder", ".", "--batch-size", "0"], "--batch-size must be"),
        (["eval", "--model", TinyModel.path, "--zeroshot-folder", ".", "--batch-size", "99999"], "from 1 to 4096"),
        (["embed", "--model", TinyModel.path, "--text", "x", "--text-heads", "0"], "--text-heads must be from 1 to"),
        (["info", "--model", TinyModel.path, "--vision-heads=-3"], "--vision-heads must be from 1 to"),
        (["tokenize", "--context-length", "0", "x"], "context length 0"),
        (["preprocess", "--size", "0", image, "-o", "/dev/null"], "--size must be between 1 and 4096"),
        (["synth", "-o", "/dev/null", "--count", "0"], "--count must be 1...10000000"),
        (["--threads", "0", "models"], "--threads must be a whole number from 1 to 1024"),
    ])
    func numericOptionsAreRangeChecked(_ arguments: [String], _ message: String) throws {
        let result = try CLIRunner.run(arguments)
        #expect(result.status == 64, "\(arguments): \(result.stderr)")
        #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        #expect(result.stdout.isEmpty)
    }

    // MARK: 8. Small things

    /// One rule for tokenize and embed --texts-from: a row per line, so an empty line is an
    /// error (before: embed dropped it silently and the rows no longer matched the lines).
    @Test func emptyLineIsTheSameErrorForTokenizeAndEmbed() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = Data("\"a\"\n\n\"b\"\n".utf8)
        let file = dir.appendingPathComponent("texts.jsonl")
        try lines.write(to: file)
        let embed = try CLIRunner.run(["embed", "--model", TinyModel.path, "--texts-from", file.path])
        let tokenize = try CLIRunner.run(["tokenize"], stdin: lines)
        for result in [embed, tokenize] {
            #expect(result.status == 65, "\(result.stderr)")
            #expect(result.stderr.contains("line 2 is not a JSON string (it is empty"), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        // `""` is an empty text, and rows match lines.
        try Data("\"a\"\n\"\"\n\"b\"\n".utf8).write(to: file)
        let fine = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--texts-from", file.path, "--format", "jsonl",
        ])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(fine.stdout.split(separator: "\n").count == 3)
    }

    /// Foundation's own texts never reach the user (before: `DecodingError.dataCorrupted`,
    /// `Error Domain=NSCocoaErrorDomain Code=260`).
    @Test func foundationErrorsAreReworded() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("config.json")
        try Data("{".utf8).write(to: bad)
        for config in [bad.path, dir.appendingPathComponent("missing.json").path, dir.path] {
            let result = try CLIRunner.run([
                "embed", "--model", TinyModel.path, "--model-config", config, "--text", "x",
            ])
            #expect(result.status == 66)
            #expect(result.stderr.hasPrefix("error: --model-config"), "\(result.stderr)")
            for raw in ["NSCocoaErrorDomain", "DecodingError", "Error Domain", "UserInfo"] {
                #expect(!result.stderr.contains(raw), "\(result.stderr)")
            }
        }
    }

    /// A typed <|endoftext|> still ends the prompt (as in OpenAI's tokenizer) but is named on
    /// stderr (before: silently).
    @Test func typedEndOfTextIsWarned() throws {
        let tokenize = try CLIRunner.run(["tokenize", "hi <|endoftext|> there", "plain"])
        #expect(tokenize.status == 0)
        #expect(tokenize.stdout.hasPrefix("[49406,1883,49407,997,49407,0"), "ids unchanged: \(tokenize.stdout)")
        #expect(tokenize.stderr.contains("text 0 (\"hi <|endoftext|> there\") contains <|endoftext|>"))
        #expect(!tokenize.stderr.contains("text 1"))
        let embed = try CLIRunner.run([
            "embed", "--model", TinyModel.path, "--text", "ok", "--text", "A <|EndOfText|> b",
        ])
        #expect(embed.status == 0)
        #expect(embed.stderr.contains("text 1 (\"A <|EndOfText|> b\") contains <|endoftext|>"), "\(embed.stderr)")
        let plain = try CLIRunner.run(["tokenize", "endoftext is a word"])
        #expect(plain.stderr.isEmpty, "\(plain.stderr)")
    }
}
