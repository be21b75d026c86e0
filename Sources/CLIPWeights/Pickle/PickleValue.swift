/// A storage record referenced by a pickle's persistent id: its element type and bytes.
struct PickledStorage {
    let dtype: WeightDType
    let key: String
    /// The record's bytes (a view of the map unless the entry was compressed).
    let bytes: WeightStorage
    /// Number of elements the pickle says the storage holds (checked against the record's size).
    let elementCount: Int
}

/// A mutable list, shared by reference as in Python (the memo may hold it twice).
final class PickleList {
    var items: [PickleValue] = []
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A mutable dict with insertion order; only string and integer keys are needed for checkpoints.
final class PickleDict {
    private(set) var entries: [(key: PickleValue, value: PickleValue)] = []
    private var stringIndex: [String: Int] = [:]

    func set(_ key: PickleValue, _ value: PickleValue) {
        if case .string(let text) = key {
            if let existing = stringIndex[text] {
                entries[existing].value = value
                return
            }
            stringIndex[text] = entries.count
        }
        entries.append((key, value))
    }

    func removeAll() {
        entries.removeAll()
        stringIndex.removeAll()
    }

    subscript(_ key: String) -> PickleValue? {
        stringIndex[key].map { entries[$0].value }
    }
}

/// An instance of a TorchScript class (`__torch__.…`): only its type name and attributes,
/// never its code.
final class PickleObject {
    let typeName: String
    var state: PickleDict?
    init(typeName: String) { self.typeName = typeName }
}

/// The values a tensor checkpoint's pickle can build. Anything else is rejected while parsing.
indirect enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    /// Items and nesting depth (1 for a tuple without tuples inside).
    case tuple([PickleValue], depth: Int)
    case list(PickleList)
    case dict(PickleDict)
    /// An allow-listed global (`module.name`), only meaningful as a callable or a storage type.
    case global(module: String, name: String)
    case storage(PickledStorage)
    case tensor(WeightTensor)
    case object(PickleObject)

    var kindName: String {
        switch self {
        case .none: "None"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .string: "str"
        case .bytes: "bytes"
        case .tuple: "tuple"
        case .list: "list"
        case .dict: "dict"
        case .global(let module, let name): "\(module).\(name)"
        case .storage: "storage"
        case .tensor: "tensor"
        case .object(let object): object.typeName
        }
    }
}
