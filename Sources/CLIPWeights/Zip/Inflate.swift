import CZlib

/// Decompresses a raw DEFLATE stream (zip method 8) with the system zlib. Used for the small
/// records some zip tools compress (TorchScript `code/` files, re-zipped checkpoints); PyTorch
/// stores tensors uncompressed.
enum Inflate {
    enum Failure: Error {
        case truncated
        case invalid(String)
        case tooLarge

        /// For error messages.
        var summary: String {
            switch self {
            case .truncated: "the stream ends early"
            case .invalid(let detail): detail
            case .tooLarge: "the stream holds more than the declared size"
            }
        }
    }

    /// The most output a DEFLATE stream can produce per input byte: every 258-byte match costs
    /// at least 2 bits (a 1-bit length code and a 1-bit distance code), so 8 / 2 × 258 = 1032.
    static let maximumRatio = 1032

    /// Inflates `input`, refusing to produce more than `expectedSize` bytes.
    ///
    /// `expectedSize` is checked against ``maximumRatio`` before anything is allocated: a stream
    /// cannot hold more, so a larger declared size is a lie and would only reserve memory.
    static func inflate(_ input: UnsafeRawBufferPointer, expectedSize: Int) throws(Failure) -> [UInt8] {
        try checkRatio(input.count, expectedSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: expectedSize, alignment: 16)
        defer { buffer.deallocate() }
        let count = try inflate(input, into: buffer)
        return Array(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
    }

    /// Throws ``Failure/tooLarge`` when `expectedSize` bytes cannot come from `inputCount` bytes.
    static func checkRatio(_ inputCount: Int, _ expectedSize: Int) throws(Failure) {
        guard expectedSize >= 0, expectedSize / maximumRatio <= inputCount else { throw .tooLarge }
    }

    /// Inflates `input` into `output`, returning the number of bytes written; throws
    /// ``Failure/tooLarge`` when the stream holds more than `output.count` bytes (nothing is
    /// written past `output`).
    static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(Failure)
        -> Int
    {
        var written = 0
        var reason: UnsafePointer<CChar>?
        // zlib wants non-null pointers even for empty buffers.
        var scratch: (UInt8, UInt8) = (0, 0)
        let outcome = withUnsafeMutableBytes(of: &scratch) { spare in
            let none = spare.baseAddress!.assumingMemoryBound(to: UInt8.self)
            return clip_inflate_raw(
                input.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(none), input.count,
                output.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? none + 1, output.count, &written, &reason)
        }
        switch Int(outcome) {
        case CLIP_INFLATE_OK: return written
        case CLIP_INFLATE_TRUNCATED: throw .truncated
        case CLIP_INFLATE_TOO_LARGE: throw .tooLarge
        default: throw .invalid(reason.map { String(cString: $0) } ?? "invalid deflate data")
        }
    }
}
