import CLIP
import CLISupport

/// A typed `<|endoftext|>` (in any case: the tokenizer lower-cases first) becomes the end token,
/// exactly as in OpenAI's tokenizer, and the text encoder reads its features at the first end
/// token, so everything after it is ignored. swift-clip keeps that behaviour for fidelity but
/// says so on stderr, naming the prompt (at most 10 warnings per run).
enum EndOfTextWarning {
    static let limit = 10

    /// Warns for each text whose ids (the tokenizer's `encode`: no start/end ids) hold the end id.
    static func check(_ texts: [String], tokenizer: Tokenizer, what: String = "text") {
        var warned = 0
        // Only texts spelling "endoftext" can hold it (after HTML unescaping too), so the
        // tokenizer runs on those alone.
        for (index, text) in texts.enumerated() where text.lowercased().contains("endoftext") {
            guard tokenizer.encode(text).contains(Int(tokenizer.endOfText)) else { continue }
            warned += 1
            if warned <= limit {
                let shown = text.count > 60 ? String(text.prefix(57)) + "..." : text
                warn(
                    "\(what) \(index) (\(JSONRows.string(shown))) contains <|endoftext|>: the model ignores "
                        + "everything after it, as OpenAI's tokenizer does")
            }
        }
        if warned > limit { warn("\(warned - limit) more \(what)s contain <|endoftext|>") }
    }
}
