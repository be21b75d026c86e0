import Foundation

/// Everything that can go wrong while loading a vocabulary or tokenizing text.
///
/// Each case carries what a user needs to find the problem (an input index, a byte offset, a
/// file) and ``recoverySuggestion`` says what to do about it.
public enum TokenizerError: LocalizedError, Equatable, Sendable {
    /// Input `index` has `tokenCount` tokens (SOT and EOT included), more than `contextLength`.
    case inputTooLong(index: Int, tokenCount: Int, contextLength: Int)
    /// The context length must be in 1 ... ``Tokenizer/maxContextLength``.
    case invalidContextLength(Int)
    /// Bytes that are not UTF-8; `offset` is the first byte that cannot start or continue a character.
    case invalidUTF8(offset: Int)
    /// A token id outside the vocabulary was passed to ``Tokenizer/decode(_:)``.
    case unknownTokenID(Int)
    /// A vocabulary or merges file could not be read or parsed.
    case invalidVocabulary(file: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .inputTooLong(let index, let count, let context):
            return "input \(index) has \(count) tokens, more than the context length \(context)"
        case .invalidContextLength(let n):
            return "context length \(n) is invalid; it must be between 1 and \(Tokenizer.maxContextLength)"
        case .invalidUTF8(let offset):
            return "input is not valid UTF-8 at byte offset \(offset)"
        case .unknownTokenID(let id):
            return "token id \(id) is not in the vocabulary"
        case .invalidVocabulary(let file, let reason):
            return "cannot load vocabulary file \(file): \(reason)"
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .inputTooLong:
            return
                "shorten the text, raise the context length, or truncate (keeps the first tokens; the last becomes <|endoftext|>)"
        case .invalidContextLength:
            return "CLIP models use 77"
        case .invalidUTF8:
            return "convert the input to UTF-8 before tokenizing, for example with iconv"
        case .unknownTokenID:
            return "pass ids produced by the same vocabulary (0 ..< vocabulary size)"
        case .invalidVocabulary:
            return "use OpenAI's bpe_simple_vocab_16e6.txt.gz or a Hugging Face CLIP folder's vocab.json and merges.txt"
        }
    }
}
