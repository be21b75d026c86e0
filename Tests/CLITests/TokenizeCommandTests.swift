import Foundation
import Testing

// `clip tokenize`, run as a user would. Expected ids from OpenAI's SimpleTokenizer
// (scripts/reference/make_tokenizer_fixtures.py computes the same for the whole corpus).

private func row(_ ids: [Int], length: Int = 77) -> String {
    let tokens = [49_406] + ids + [49_407]
    return "[" + (tokens + [Int](repeating: 0, count: length - tokens.count)).map(String.init).joined(separator: ",")
        + "]"
}

private func lines(_ s: String) -> [String] {
    s.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
}

@Test(arguments: [
    (["tokenize", "a photo of a cat"], [row([320, 1125, 539, 320, 2368])]),
    (["tokenize", "a dog", "a diagram"], [row([320, 1929]), row([320, 22697])]),
    (
        ["tokenize", "--raw", "A photo of a cat.", "Café &amp; crème brûlée"],
        ["[320,1125,539,320,2368,269]", "[15304,261,1075,12138,614,711,127,119,75,13489]"]
    ),
    (["tokenize", "--context-length", "4", "a photo of a cat"], ["[49406,320,1125,49407]"]),
    (
        ["tokenize", "--no-truncate", "--context-length", "7", "a photo of a cat"],
        ["[49406,320,1125,539,320,2368,49407]"]
    ),
    (["tokenize", "--raw", ""], ["[]"]),
])
func tokenizeArguments(arguments: [String], expected: [String]) throws {
    let result = try CLIRunner.run(arguments)
    #expect(result.status == 0, "stderr: \(result.stderr)")
    #expect(lines(result.stdout) == expected)
}

@Test func tokenizeJSONLinesFromStdin() throws {
    let input = "\"a dog\"\n\"x <|endoftext|> y\"\n\"\"\n\"hello world\""  // no final newline
    let result = try CLIRunner.run(["tokenize", "--raw"], stdin: Data(input.utf8))
    #expect(result.status == 0, "stderr: \(result.stderr)")
    #expect(lines(result.stdout) == ["[320,1929]", "[343,49407,344]", "[]", "[3306,1002]"])
    let crlf = try CLIRunner.run(["tokenize", "--raw"], stdin: Data("\"a dog\"\r\n\"hello world\"\r\n".utf8))
    #expect(lines(crlf.stdout) == ["[320,1929]", "[3306,1002]"], "stderr: \(crlf.stderr)")
    let padded = try CLIRunner.run(["tokenize"], stdin: Data("\"a dog\"\n".utf8))
    #expect(lines(padded.stdout) == [row([320, 1929])])
}

/// Many lines keep their order.
@Test func tokenizeManyLinesInOrder() throws {
    let texts = (0..<3_000).map { "photo number \($0)" }
    let input = texts.map { "\"\($0)\"" }.joined(separator: "\n") + "\n"
    let result = try CLIRunner.run(["tokenize", "--raw"], stdin: Data(input.utf8))
    let out = lines(result.stdout)
    #expect(out.count == 3_000)
    // "photo number 1234" -> photo, number, then one id per digit (ids 271 ... 280 are "0</w>" ... "9</w>").
    let digits = out[1_234].split(separator: ",").suffix(4).map { Int($0.filter(\.isNumber))! - 271 }
    #expect(digits == [1, 2, 3, 4], "\(out[1_234])")
}

@Test(arguments: [
    (["tokenize", "--no-truncate", String(repeating: "cat ", count: 100)], nil as Data?, "input 0 has 102 tokens"),
    (
        ["tokenize", "--no-truncate"], Data("\"ok\"\n\"\(String(repeating: "dog ", count: 80))\"\n".utf8),
        "input 1 has 82 tokens"
    ),
    (["tokenize"], Data([0x22, 0x61, 0x22, 0x0A, 0x22, 0xC3, 0x28, 0x22, 0x0A]), "byte offset 5"),
    (["tokenize"], Data("\"a\"\n42\n".utf8), "line 2 is not a JSON string"),
    (["tokenize"], Data("\"a\"\n\n\"b\"\n".utf8), "line 2 is not a JSON string"),
    (["tokenize"], Data("\"\\ud800\"\n".utf8), "line 1 is not a JSON string"),  // lone surrogate escape
    (["tokenize", "--context-length", "0", "x"], nil, "context length 0"),
    (["tokenize", "--context-length", "99999999999", "x"], nil, "context length 99999999999"),
])
func tokenizeErrors(arguments: [String], stdin: Data?, message: String) throws {
    let result = try CLIRunner.run(arguments, stdin: stdin ?? Data())
    #expect(result.status != 0)
    #expect(result.stdout.isEmpty)
    #expect(result.stderr.hasPrefix("error: ") && result.stderr.contains(message), "\(result.stderr)")
    #expect(lines(result.stderr).count == 1, "one line: \(result.stderr)")
}
