import ArgumentParser
import CLIP
import CLISupport
import Foundation

/// `clip tokenize`: CLIP token ids for texts, one JSON array per line (the contract of issue 3).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Prints CLIP token ids, one JSON array of integers per input text and line.",
        discussion: """
            Texts come from the arguments or, with none, from stdin as JSON Lines (one JSON string \
            per line). Ids are those of OpenAI's SimpleTokenizer: by default <|startoftext|>, the \
            BPE ids and <|endoftext|>, zero padded to the context length, longer texts truncated \
            (the last id stays <|endoftext|>). --raw prints the BPE ids alone.

            Examples:
              clip tokenize "a photo of a cat"
              printf '"a dog"\\n"a cat"\\n' | clip tokenize --context-length 16
            """
    )

    @Option(help: ArgumentHelp("The number of ids per row.", valueName: "n"))
    var contextLength = 77

    @Flag(inversion: .prefixedNo, help: "Cut texts longer than the context length instead of failing.")
    var truncate = true

    @Flag(help: "Print only the BPE ids: no start/end ids, no padding, no truncation.")
    var raw = false

    @Argument(help: "Texts to tokenize; none: read JSON Lines from stdin.")
    var texts: [String] = []

    func run() throws {
        do {
            try tokenizeAll()
        } catch let error as OutputError {
            throw fail(error, .io)
        } catch {
            var message = error.localizedDescription
            if let hint = (error as? LocalizedError)?.recoverySuggestion { message += "; hint: \(hint)" }
            standardError("error: \(message)\n")
            // Documented exit codes (CLIExit): a bad --context-length is a usage error, the rest bad input.
            if case TokenizerError.invalidContextLength = error { throw ExitCode(CLIExit.usage.rawValue) }
            throw ExitCode(CLIExit.input.rawValue)
        }
    }

    private func tokenizeAll() throws {
        let tokenizer = try Tokenizer.bundled()
        let inputs =
            try texts.isEmpty
            ? JSONLines.strings(FileHandle.standardInput.readDataToEndOfFile(), source: "stdin")
            : Self.checkedArguments(texts)
        var rows: [[Int]]
        if raw {
            rows = tokenizer.encode(inputs)
        } else {
            EndOfTextWarning.check(inputs, tokenizer: tokenizer)
            rows = try tokenizer.tokenize(inputs, contextLength: contextLength, truncate: truncate).map {
                $0.map(Int.init)
            }
        }
        var out = ""
        for (i, row) in rows.enumerated() {
            out += "["
            out += row.map(String.init).joined(separator: ",")
            out += "]\n"
            // Flush in blocks so a large input does not hold all output twice.
            if i % 4096 == 4095 || i == rows.count - 1 {
                try OutputFile.standardOutput.write(out)
                out = ""
            }
        }
        rows.removeAll()
    }

    /// Swift repairs invalid UTF-8 in arguments silently; check the raw bytes instead.
    static func checkedArguments(_ texts: [String]) throws -> [String] {
        for index in 0..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[index] else { continue }
            let bytes = Array(
                UnsafeBufferPointer(
                    start: UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self),
                    count: strlen(pointer)))
            if let offset = UTF8Input.firstInvalidOffset(bytes) {
                throw CLIInputError.invalidUTF8(source: "argument \(index)", offset: offset)
            }
        }
        return texts
    }
}
