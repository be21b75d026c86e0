import Foundation

/// Byte strings indexed by id, in one arena, with an optional string -> id table.
///
/// The vocabulary is built on the first text query of a process (see ``Tokenizer/bundled()``),
/// so its construction is on the path to a first embedding: 49,408 `String` keys in a `Dictionary`
/// and as many small arrays cost ~60 ms; one arena and an open-addressing table over it cost a
/// few. Keys compare byte for byte, i.e. by code points of their UTF-8 text, as Python's `str`
/// keys of SimpleTokenizer's `encoder` do.
struct TokenStrings: Sendable, Equatable {
    /// All strings back to back; string `i` is `bytes[starts[i] ..< starts[i + 1]]`.
    private(set) var bytes: [UInt8] = []
    private(set) var starts: [Int32] = [0]
    /// Id + 1 per slot of the string -> id table, 0 = empty (a power of two, at least 2× count).
    private var slots: [Int32] = []

    var count: Int { starts.count - 1 }

    init(capacity: Int = 0, byteCapacity: Int = 0) {
        starts.reserveCapacity(capacity + 1)
        bytes.reserveCapacity(byteCapacity)
    }

    /// Appends a string; its id is the previous ``count``.
    mutating func append<Bytes: Sequence>(_ string: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: string)
        starts.append(Int32(bytes.count))
    }

    /// Appends the concatenation of two byte ranges of `source`.
    mutating func append(_ source: UnsafeBufferPointer<UInt8>, _ first: Range<Int>, _ second: Range<Int>) {
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[first]))
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: source[second]))
        starts.append(Int32(bytes.count))
    }

    subscript(id: Int) -> ArraySlice<UInt8> { bytes[Int(starts[id])..<Int(starts[id + 1])] }

    // MARK: - String -> id

    /// Builds the string -> id table over all ids in order; a repeated string keeps its last id,
    /// as `dict(zip(vocab, range(len(vocab))))` does.
    mutating func index() {
        var size = 16
        while size < 2 * count { size <<= 1 }
        var slots = [Int32](repeating: 0, count: size)
        let mask = size - 1
        slots.withUnsafeMutableBufferPointer { slots in
            withLookup { strings in
                for id in 0..<count {
                    let key = strings.string(id)
                    var slot = Self.hash(key) & mask
                    while slots[slot] != 0, !strings.string(Int(slots[slot]) - 1).elementsEqualBytes(key) {
                        slot = (slot + 1) & mask
                    }
                    slots[slot] = Int32(id + 1)
                }
            }
        }
        self.slots = slots
    }

    /// Runs `body` with a view of the strings and the table (after ``index()`` for lookups).
    func withLookup<R>(_ body: (Lookup) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { bytes in
            try starts.withUnsafeBufferPointer { starts in
                try slots.withUnsafeBufferPointer { slots in
                    try body(Lookup(bytes: bytes, starts: starts, slots: slots))
                }
            }
        }
    }

    /// The id of `key` (after ``index()``), or nil.
    func id(of key: String) -> Int32? {
        var key = key
        return key.withUTF8 { key in withLookup { $0.id(of: key) } }
    }

    /// A read-only view for many lookups without copy-on-write and bounds-check overhead.
    struct Lookup {
        let bytes: UnsafeBufferPointer<UInt8>
        let starts: UnsafeBufferPointer<Int32>
        let slots: UnsafeBufferPointer<Int32>

        @inline(__always)
        func string(_ id: Int) -> UnsafeBufferPointer<UInt8> {
            UnsafeBufferPointer(rebasing: bytes[Int(starts[id])..<Int(starts[id + 1])])
        }

        /// The id of `key`, or nil.
        func id(of key: UnsafeBufferPointer<UInt8>) -> Int32? {
            precondition(!slots.isEmpty, "TokenStrings.index() must run before lookups")
            let mask = slots.count - 1
            var slot = TokenStrings.hash(key) & mask
            while slots[slot] != 0 {
                let id = Int(slots[slot]) - 1
                if string(id).elementsEqualBytes(key) { return Int32(id) }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    /// FNV-1a, 64 bit: token strings are short, and this needs no per-process seed.
    @inline(__always)
    fileprivate static func hash(_ key: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return Int(truncatingIfNeeded: h ^ (h >> 29))
    }
}

extension UnsafeBufferPointer<UInt8> {
    @inline(__always)
    fileprivate func elementsEqualBytes(_ other: UnsafeBufferPointer<UInt8>) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }
}
