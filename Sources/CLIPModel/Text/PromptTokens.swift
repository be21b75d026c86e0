import CLIPTokenizer

// Token rows the way diffusion pipelines build them. Padding: transformers' CLIPTokenizer
// (`padding="max_length"`, pad_token <|endoftext|>) in diffusers' SD 1.x, or zeros as
// OpenAI's clip.tokenize and open_clip. Chunks: AUTOMATIC1111 stable-diffusion-webui
// `modules/sd_hijack_clip.py` (75-token chunks wrapped in SOT ... EOT, padded to 77).
// Symbols: N prompts, T context length, k chunks per prompt.

/// What fills a prompt's row after its EOT token.
public enum TextPadding: String, Sendable, CaseIterable {
    /// The EOT id (49407) again: Hugging Face's CLIPTokenizer, so diffusers' SD 1.x pipelines.
    case eot
    /// Zeros: OpenAI's `clip.tokenize`, open_clip, SDXL's second tokenizer.
    case zero
}

/// Prompts turned into token rows of the context length.
///
/// ```swift
/// let p = try PromptTokens(["a cat"], tokenizer: tokenizer, padding: .eot)
/// p.rows[0]   // [49406, 320, 2368, 49407, 49407, ...] (77 ids)
/// ```
public struct PromptTokens: Sendable {
    /// N · k rows of `contextLength` ids; prompt i owns rows i·k ..< (i + 1)·k.
    public var rows: [[Int32]]
    /// Rows per prompt (1 unless chunked).
    public var chunksPerPrompt: Int
    /// Indices of the prompts that were cut to fit (only without chunks).
    public var truncated: [Int]

    /// Tokenizes `texts`. Without `chunks`, a prompt longer than `contextLength - 2` tokens keeps
    /// its first ones and ends in EOT (`clip.tokenize(truncate=True)`, transformers'
    /// `truncation=True`). With `chunks`, every prompt is split into pieces of `contextLength - 2`
    /// tokens, each wrapped in SOT ... EOT and padded; prompts with fewer chunks than the longest
    /// get empty chunks (SOT, EOT, padding), as AUTOMATIC1111 does.
    public init(
        _ texts: [String], tokenizer: Tokenizer, contextLength: Int = 77, padding: TextPadding, chunks: Bool = false
    ) throws {
        precondition(contextLength >= 2, "a context needs room for SOT and EOT")
        let body = contextLength - 2
        let sot = tokenizer.startOfText, eot = tokenizer.endOfText
        let pad: Int32 = padding == .eot ? eot : 0
        func row(_ ids: ArraySlice<Int>) -> [Int32] {
            var r = [sot] + ids.map(Int32.init) + [eot]
            r += [Int32](repeating: pad, count: contextLength - r.count)
            return r
        }
        let encoded = tokenizer.encode(texts)
        truncated = encoded.indices.filter { !chunks && encoded[$0].count > body }
        if chunks {
            let k = encoded.map { max(1, ($0.count + body - 1) / body) }.max() ?? 1
            chunksPerPrompt = k
            rows = encoded.flatMap { ids in
                (0..<k).map { c in row(ids[min(ids.count, c * body)..<min(ids.count, (c + 1) * body)]) }
            }
        } else {
            chunksPerPrompt = 1
            rows = encoded.map { row($0.prefix(body)) }
        }
    }
}
