/// The model whose embeddings an index holds: one index, one model.
public struct IndexedModel: Sendable, Equatable, Codable {
    /// How the model was named: a model name (`ViT-B/32`) or a checkpoint's absolute path.
    public var name: String
    /// Embedding width E.
    public var dimension: Int
    /// How vectors are stored.
    public var vectorType: VectorType

    public init(name: String, dimension: Int, vectorType: VectorType = .float32) {
        self.name = name
        self.dimension = dimension
        self.vectorType = vectorType
    }
}

/// Storage type of the vectors: float32 (exact) or float16 (half the size, scores within about 1e-3).
public enum VectorType: String, Sendable, Codable, CaseIterable {
    case float32 = "f32"
    case float16 = "f16"

    /// Bytes per element.
    public var size: Int { self == .float32 ? 4 : 2 }

    /// Little-endian bytes of `values`.
    public func encode(_ values: [Float]) -> [UInt8] {
        switch self {
        case .float32:
            // Every platform Swift runs on here is little-endian: the array's bytes are the format.
            return values.withUnsafeBytes { Array($0) }
        case .float16:
            var bytes = [UInt8]()
            bytes.reserveCapacity(values.count * 2)
            for value in values {
                let bits = Float16(value).bitPattern
                bytes.append(UInt8(truncatingIfNeeded: bits))
                bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
            }
            return bytes
        }
    }

    /// Values from little-endian bytes.
    func decode(_ bytes: UnsafeRawBufferPointer) -> [Float] {
        switch self {
        case .float32:
            return (0..<bytes.count / 4).map {
                Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)))
            }
        case .float16:
            return (0..<bytes.count / 2).map {
                Float(
                    Float16(
                        bitPattern: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))))
            }
        }
    }
}
