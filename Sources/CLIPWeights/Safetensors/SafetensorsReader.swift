import Foundation

// Follows huggingface/safetensors 0.4.5 (`safetensors/src/tensor.rs`, `SafeTensors::read_metadata`
// and `Metadata::validate`): u64 little-endian header length, JSON header, then the data buffer
// whose tensors must tile it exactly, in offset order, with no gaps or overlaps.

/// Reads `.safetensors` files, memory-mapped: tensors are zero-copy views of the file.
///
/// ```swift
/// let state = try SafetensorsReader.read(URL(fileURLWithPath: "open_clip_model.safetensors"))
/// ```
public enum SafetensorsReader {
    /// Headers larger than this are rejected, as the reference implementation does.
    public static let maximumHeaderSize = 100_000_000

    /// JSON values (numbers, strings, arrays, objects) a header may hold. Parsed JSON takes ~40
    /// times its text in memory, so a 100 MB header of `0,0,0,...` would take gigabytes; a CLIP
    /// header holds ~10 values per tensor (~10,000 for the largest model).
    static let maximumHeaderValues = 1 << 20

    /// Reads all tensors and the `__metadata__` section, keeping the file's key names.
    public static func read(_ url: URL) throws -> (tensors: [String: WeightTensor], metadata: [String: String]) {
        try read(MappedFile(url: url))
    }

    /// Whether the first bytes look like a safetensors header (length + `{`).
    static func looksLikeSafetensors(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 9 else { return false }
        let n = readUInt64LE(bytes, at: 0)
        return n >= 2 && n <= UInt64(maximumHeaderSize) && bytes[8] == UInt8(ascii: "{")
    }

    static func read(_ file: MappedFile) throws -> (tensors: [String: WeightTensor], metadata: [String: String]) {
        let path = file.path
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw WeightError.truncated(
                file: path, detail: "\(bytes.count) bytes, shorter than the 8-byte header length")
        }
        let declared = readUInt64LE(bytes, at: 0)
        guard declared <= UInt64(maximumHeaderSize) else {
            throw WeightError.invalidSafetensorsHeader(
                file: path, detail: "header length \(declared) exceeds \(maximumHeaderSize) bytes")
        }
        let headerSize = Int(declared)
        guard 8 + headerSize <= bytes.count else {
            throw WeightError.truncated(
                file: path, detail: "header declares \(headerSize) bytes but only \(bytes.count - 8) follow")
        }
        let headerBytes = Data(bytes[8..<(8 + headerSize)])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw WeightError.invalidSafetensorsHeader(file: path, detail: "header does not start with '{'")
        }
        let values = jsonValueBound(headerBytes)
        guard values <= maximumHeaderValues else {
            throw WeightError.limitExceeded(
                file: path,
                detail:
                    "the safetensors header holds about \(values) JSON values; at most \(maximumHeaderValues) are read")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw WeightError.invalidSafetensorsHeader(file: path, detail: "header is not valid JSON")
        }
        guard let header = object as? [String: Any] else {
            throw WeightError.invalidSafetensorsHeader(file: path, detail: "header is not a JSON object")
        }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let dict = raw as? [String: Any] else {
                throw WeightError.invalidSafetensorsHeader(file: path, detail: "__metadata__ is not an object")
            }
            for (key, value) in dict {
                guard let text = value as? String else {
                    throw WeightError.invalidSafetensorsHeader(
                        file: path, detail: "__metadata__[\(key)] is not a string")
                }
                metadata[key] = text
            }
        }

        let dataStart = 8 + headerSize
        let dataLength = bytes.count - dataStart
        var entries: [(name: String, dtype: WeightDType, shape: [Int], begin: Int, end: Int)] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any] else {
                throw WeightError.invalidSafetensorsHeader(file: path, detail: "entry \(name) is not an object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw WeightError.invalidSafetensorsHeader(file: path, detail: "entry \(name) has no dtype string")
            }
            guard let dtype = WeightDType(safetensorsName: dtypeName) else {
                throw WeightError.invalidSafetensorsHeader(
                    file: path, detail: "entry \(name) has unsupported dtype \(dtypeName)")
            }
            guard let shape = jsonIntegers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw WeightError.invalidSafetensorsHeader(file: path, detail: "entry \(name) has no valid shape")
            }
            guard let offsets = jsonIntegers(info["data_offsets"]), offsets.count == 2,
                offsets[0] >= 0, offsets[0] <= offsets[1]
            else {
                throw WeightError.invalidSafetensorsHeader(file: path, detail: "entry \(name) has invalid data_offsets")
            }
            guard let count = checkedProduct(shape), let byteCount = multiplyChecked(count, dtype.elementSize),
                byteCount == offsets[1] - offsets[0]
            else {
                throw WeightError.invalidSafetensorsHeader(
                    file: path,
                    detail:
                        "entry \(name): shape \(shape) of \(dtypeName) does not match \(offsets[1] - offsets[0]) bytes")
            }
            entries.append((name, dtype, shape, offsets[0], offsets[1]))
        }

        // The tensors must tile the data buffer exactly; this catches truncation and overlaps.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for entry in entries {
            guard entry.begin == position else {
                throw WeightError.invalidSafetensorsHeader(
                    file: path,
                    detail: "entry \(entry.name) starts at \(entry.begin), expected \(position) (gap or overlap)")
            }
            position = entry.end
        }
        guard position == dataLength else {
            if position > dataLength {
                throw WeightError.truncated(
                    file: path, detail: "tensors need \(position) data bytes but the file holds \(dataLength)")
            }
            throw WeightError.invalidSafetensorsHeader(
                file: path, detail: "\(dataLength - position) trailing bytes after the last tensor")
        }

        var tensors: [String: WeightTensor] = [:]
        tensors.reserveCapacity(entries.count)
        for entry in entries {
            tensors[entry.name] = WeightTensor(
                dtype: entry.dtype, shape: entry.shape,
                storage: .mapped(file, (dataStart + entry.begin)..<(dataStart + entry.end)))
        }
        return (tensors, metadata)
    }

    /// An upper bound on the number of values in a JSON text, from one pass over its bytes: every
    /// value after the first follows a `,`, `:`, `[` or `{` outside a string.
    static func jsonValueBound(_ bytes: Data) -> Int {
        var count = 1
        var inString = false, escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "["), UInt8(ascii: "{"): count += 1
            default: break
            }
        }
        return count
    }

    /// JSON arrays of non-fractional numbers as `[Int]`; `nil` for anything else (including booleans).
    private static func jsonIntegers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in array {
            // `is Bool` would also match NSNumber 0 and 1 through bridging; ask for the real type.
            guard !(type(of: element) is Bool.Type), let number = element as? NSNumber else { return nil }
            let double = number.doubleValue
            guard double == double.rounded(), abs(double) < 9.0e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }
}

func readUInt64LE(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
    UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}

func multiplyChecked(_ a: Int, _ b: Int) -> Int? {
    let (result, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? nil : result
}

func checkedProduct(_ values: [Int]) -> Int? {
    var result = 1
    for v in values {
        guard let next = multiplyChecked(result, v) else { return nil }
        result = next
    }
    return result
}
