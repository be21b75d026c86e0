import Foundation

@testable import CLIPWeights

// Fixtures come from scripts/reference/make_weight_fixtures.py (torch 2.5.1, clip-anytorch 2.6.0,
// transformers 4.46.3): tiny models in Tests/CLIPModelTests/Fixtures, edge cases in ./Fixtures.

enum Fixtures {
    static let testsRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let models = testsRoot.appendingPathComponent("CLIPModelTests/Fixtures")
    static let cases = testsRoot.appendingPathComponent("CLIPWeightsTests/Fixtures")

    struct TensorRecord: Decodable {
        let shape: [Int]
        let dtype: String
        let sum: Double
        let sum_squares: Double
        /// Σ value[i] · (1 + i mod 13) over C-order values: sensitive to element order.
        let weighted_sum: Double
    }

    struct FileRecord: Decodable {
        let format: String
        let model: String
        let state: String
    }

    struct Manifest: Decodable {
        let files: [String: FileRecord]
        let states: [String: [String: TensorRecord]]
    }

    static let manifest: Manifest = {
        do {
            let data = try Data(contentsOf: models.appendingPathComponent("weights.json"))
            return try JSONDecoder().decode(Manifest.self, from: data)
        } catch {
            preconditionFailure("weights.json unreadable: \(error); rerun scripts/reference/make_weight_fixtures.py")
        }
    }()

    /// Every fixture file or folder, sorted (the `@Test(arguments:)` table).
    static let fileNames: [String] = manifest.files.keys.sorted()

    /// The fp32 file of the same model, for element-wise comparisons.
    static func master(of name: String) -> String? {
        guard let record = manifest.files[name] else { return nil }
        return fileNames.first {
            manifest.files[$0]?.model == record.model && manifest.files[$0]?.state.hasSuffix("-fp32") == true
        }
    }
}

/// Test-only decoding of stored values to Double (the library never converts dtypes).
func doubles(_ tensor: WeightTensor) -> [Double] {
    tensor.withUnsafeBytes { raw in
        let n = tensor.elementCount
        switch tensor.dtype {
        case .float32:
            return (0..<n).map {
                Double(
                    Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))))
            }
        case .float64:
            return (0..<n).map {
                Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)))
            }
        case .float16:
            return (0..<n).map {
                halfToDouble(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)))
            }
        case .bfloat16:
            return (0..<n).map { i in
                let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
                return Double(Float(bitPattern: UInt32(bits) << 16))
            }
        case .int64:
            return (0..<n).map {
                Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)))
            }
        case .int32:
            return (0..<n).map {
                Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)))
            }
        case .int16:
            return (0..<n).map {
                Double(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)))
            }
        case .int8: return (0..<n).map { Double(raw.load(fromByteOffset: $0, as: Int8.self)) }
        case .uint8, .bool: return (0..<n).map { Double(raw[$0]) }
        }
    }
}

/// IEEE 754 binary16 to Double, written out so the test does not depend on `Float16` availability.
func halfToDouble(_ bits: UInt16) -> Double {
    let sign: Double = bits & 0x8000 != 0 ? -1 : 1
    let exponent = Int((bits >> 10) & 0x1F)
    let mantissa = Double(bits & 0x3FF)
    switch exponent {
    case 0: return sign * mantissa * 0x1p-24
    case 31: return mantissa == 0 ? sign * .infinity : .nan
    default: return sign * (1 + mantissa / 1024) * Double(sign: .plus, exponent: exponent - 15, significand: 1)
    }
}
