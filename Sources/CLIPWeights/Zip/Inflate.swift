// Follows RFC 1951 (DEFLATE) and the decoding approach of zlib's contrib/puff/puff.c (1.3):
// canonical Huffman codes decoded from per-length counts, every input checked.

/// Decompresses a raw DEFLATE stream (zip method 8). Used for the small records some zip tools
/// compress (TorchScript `code/` files, re-zipped checkpoints); PyTorch stores tensors uncompressed.
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
    /// ``Failure/tooLarge`` when the stream holds more than `output.count` bytes.
    static func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(Failure)
        -> Int
    {
        var state = State(input: input, output: output)
        var last = false
        while !last {
            last = try state.bits(1) == 1
            switch try state.bits(2) {
            case 0: try state.stored()
            case 1: try state.codes(Tables.fixedLengths, Tables.fixedDistances)
            case 2: try state.dynamic()
            default: throw .invalid("reserved block type")
            }
        }
        return state.count
    }

    struct Huffman {
        var counts = [Int](repeating: 0, count: 16)  // codes of each bit length
        var symbols: [Int]  // symbols ordered by code

        /// Builds the decoder for `lengths`; throws on over-subscribed sets, and on incomplete ones
        /// unless `allowIncomplete` (RFC 1951 permits a single distance code).
        init(lengths: [Int], allowIncomplete: Bool) throws(Failure) {
            self.init(validLengths: lengths)
            var left = 1
            for length in 1..<16 {
                left <<= 1
                left -= counts[length]
                if left < 0 { throw .invalid("over-subscribed Huffman code") }
            }
            if left > 0, !allowIncomplete, lengths.count - counts[0] != 1 { throw .invalid("incomplete Huffman code") }
        }

        /// Builds the tables; the caller has checked every length is in 0...15.
        init(validLengths lengths: [Int]) {
            symbols = [Int](repeating: 0, count: lengths.count)
            for length in lengths { counts[length] += 1 }
            var offsets = [Int](repeating: 0, count: 16)
            for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
            for (symbol, length) in lengths.enumerated() where length != 0 {
                symbols[offsets[length]] = symbol
                offsets[length] += 1
            }
        }
    }

    enum Tables {
        static let lengthBase = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
            227, 258,
        ]
        static let lengthExtra = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ]
        static let distanceBase = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
            2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
        ]
        static let distanceExtra = [
            0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
        ]
        static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        // The fixed tables are complete by construction.
        static let fixedLengths: Huffman = {
            let lengths =
                [Int](repeating: 8, count: 144) + [Int](repeating: 9, count: 112)
                + [Int](repeating: 7, count: 24) + [Int](repeating: 8, count: 8)
            return Huffman(validLengths: lengths)
        }()
        static let fixedDistances: Huffman = {
            Huffman(validLengths: [Int](repeating: 5, count: 30))
        }()
    }

    struct State {
        let input: UnsafeRawBufferPointer
        /// The caller's buffer; its size is the limit on the output.
        let output: UnsafeMutableRawBufferPointer
        var position = 0
        var bitBuffer = 0
        var bitCount = 0
        /// Bytes written to `output` so far.
        var count = 0

        init(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer) {
            self.input = input
            self.output = output
        }

        mutating func bits(_ need: Int) throws(Failure) -> Int {
            var value = bitBuffer
            while bitCount < need {
                guard position < input.count else { throw .truncated }
                value |= Int(input[position]) << bitCount
                position += 1
                bitCount += 8
            }
            bitBuffer = value >> need
            bitCount -= need
            return value & ((1 << need) - 1)
        }

        mutating func stored() throws(Failure) {
            bitBuffer = 0
            bitCount = 0
            guard position + 4 <= input.count else { throw .truncated }
            let length = Int(input[position]) | Int(input[position + 1]) << 8
            let complement = Int(input[position + 2]) | Int(input[position + 3]) << 8
            guard length == ~complement & 0xFFFF else { throw .invalid("stored block length check failed") }
            position += 4
            guard position + length <= input.count else { throw .truncated }
            guard length <= output.count - count else { throw .tooLarge }
            if length > 0 {
                (output.baseAddress! + count).copyMemory(from: input.baseAddress! + position, byteCount: length)
            }
            count += length
            position += length
        }

        mutating func decode(_ h: Huffman) throws(Failure) -> Int {
            var code = 0, first = 0, index = 0
            for length in 1..<16 {
                code |= try bits(1)
                let count = h.counts[length]
                if code - count < first { return h.symbols[index + (code - first)] }
                index += count
                first += count
                first <<= 1
                code <<= 1
            }
            throw .invalid("invalid Huffman code")
        }

        mutating func codes(_ lengths: Huffman, _ distances: Huffman) throws(Failure) {
            while true {
                let symbol = try decode(lengths)
                if symbol < 256 {
                    guard count < output.count else { throw .tooLarge }
                    output[count] = UInt8(symbol)
                    count += 1
                } else if symbol == 256 {
                    return
                } else {
                    let lengthIndex = symbol - 257
                    guard lengthIndex < 29 else { throw .invalid("invalid length symbol") }
                    let length = Tables.lengthBase[lengthIndex] + (try bits(Tables.lengthExtra[lengthIndex]))
                    let distanceSymbol = try decode(distances)
                    guard distanceSymbol < 30 else { throw .invalid("invalid distance symbol") }
                    let distance =
                        Tables.distanceBase[distanceSymbol] + (try bits(Tables.distanceExtra[distanceSymbol]))
                    guard distance <= count else { throw .invalid("distance reaches before the start") }
                    guard length <= output.count - count else { throw .tooLarge }
                    // Byte by byte: the source may overlap the bytes being written.
                    let start = count - distance
                    for i in 0..<length { output[count + i] = output[start + i] }
                    count += length
                }
            }
        }

        mutating func dynamic() throws(Failure) {
            let literalCount = try bits(5) + 257
            let distanceCount = try bits(5) + 1
            let codeLengthCount = try bits(4) + 4
            guard literalCount <= 286, distanceCount <= 30 else { throw .invalid("too many codes") }
            var codeLengthLengths = [Int](repeating: 0, count: 19)
            for i in 0..<codeLengthCount { codeLengthLengths[Tables.codeLengthOrder[i]] = try bits(3) }
            let codeLengthCode = try Huffman(lengths: codeLengthLengths, allowIncomplete: false)
            var lengths: [Int] = []
            while lengths.count < literalCount + distanceCount {
                let symbol = try decode(codeLengthCode)
                if symbol < 16 {
                    lengths.append(symbol)
                    continue
                }
                var repeated = 0, times = 0
                switch symbol {
                case 16:
                    guard let previous = lengths.last else { throw .invalid("repeat with no previous length") }
                    repeated = previous
                    times = 3 + (try bits(2))
                case 17: times = 3 + (try bits(3))
                default: times = 11 + (try bits(7))
                }
                guard lengths.count + times <= literalCount + distanceCount else { throw .invalid("too many lengths") }
                lengths += [Int](repeating: repeated, count: times)
            }
            guard lengths[256] != 0 else { throw .invalid("no end-of-block code") }
            let literal = try Huffman(lengths: Array(lengths[..<literalCount]), allowIncomplete: false)
            let distance = try Huffman(lengths: Array(lengths[literalCount...]), allowIncomplete: true)
            try codes(literal, distance)
        }
    }
}
