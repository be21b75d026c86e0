import CLIPOutput
import Foundation

// Follows huggingface/safetensors 0.4.5 `serialize` (`safetensors/src/tensor.rs`): tensors ordered by
// decreasing element size, then name; header padded with spaces to a multiple of 8 bytes.

/// Writes `.safetensors` files through ``OutputFile`` (a temporary file in the same folder,
/// `fsync`, then `rename`; errors are ``OutputError``s and leave an existing file untouched).
///
/// ```swift
/// try SafetensorsWriter.write([("logit_scale", WeightTensor(float32: [4.6052], shape: []))],
///                             metadata: ["format": "pt"], to: URL(fileURLWithPath: "model.safetensors"))
/// ```
public enum SafetensorsWriter {
    /// Serialises `tensors` (names must be unique) and `metadata` to `url`.
    public static func write(_ tensors: [(String, WeightTensor)], metadata: [String: String], to url: URL) throws {
        let path = url.path
        var seen = Set<String>()
        for (name, _) in tensors {
            guard name != "__metadata__" else {
                throw WeightError.writeFailed(
                    file: path, reason: "\"__metadata__\" is reserved and cannot name a tensor")
            }
            guard seen.insert(name).inserted else { throw WeightError.duplicateKey(file: path, key: name) }
        }
        let ordered = tensors.sorted {
            ($0.1.dtype.elementSize, $1.0) > ($1.1.dtype.elementSize, $0.0)
        }
        let header = headerBytes(ordered, metadata: metadata)

        // One writer for every output (temporary file, fsync, rename; see OutputFile).
        let file = try OutputFile(path: path)
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try file.write($0) }
        try header.withUnsafeBytes { try file.write($0) }
        for (_, tensor) in ordered {
            try tensor.withUnsafeBytes { try file.write($0) }
        }
        try file.commit()
    }

    static func headerBytes(_ ordered: [(String, WeightTensor)], metadata: [String: String]) -> [UInt8] {
        var json = "{"
        var first = true
        if !metadata.isEmpty {
            json += "\"__metadata__\":{"
            json += metadata.sorted { $0.key < $1.key }
                .map { "\(jsonString($0.key)):\(jsonString($0.value))" }
                .joined(separator: ",")
            json += "}"
            first = false
        }
        var offset = 0
        for (name, tensor) in ordered {
            if !first { json += "," }
            first = false
            let end = offset + tensor.byteCount
            json += "\(jsonString(name)):{\"dtype\":\"\(tensor.dtype.safetensorsName)\","
            json += "\"shape\":[\(tensor.shape.map(String.init).joined(separator: ","))],"
            json += "\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        json += "}"
        var bytes = Array(json.utf8)
        // Pad so the data buffer starts 8-byte aligned in the file.
        bytes += [UInt8](repeating: UInt8(ascii: " "), count: (8 - bytes.count % 8) % 8)
        return bytes
    }

    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out +=
                    "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count)
                    + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
