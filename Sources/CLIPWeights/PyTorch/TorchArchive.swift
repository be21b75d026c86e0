import Foundation

// Follows torch 2.5 `torch/serialization.py` (`_save`/`_load`: <archive>/data.pkl, data/<key>,
// byteorder) and `torch/csrc/jit/serialization/import.cpp` (TorchScript: the same records plus
// code/ and constants.pkl; modules are pickled as `__torch__.*` objects whose state is their
// attributes). OpenAI's `clip.py` `load()` reads its published .pt files the same way.

/// Reads PyTorch zip archives: `torch.save` checkpoints and TorchScript modules. Nothing from the
/// file is executed: the pickle is interpreted by ``PickleMachine`` with an allow-list.
enum TorchArchive {
    /// Loads every tensor of a state dict, with keys as stored (prefixes are handled by the caller).
    static func read(_ file: MappedFile) throws -> (tensors: [String: WeightTensor], format: WeightFormat) {
        let path = file.path
        let zip = try ZipArchive(file)

        // The archive root is one folder ("archive/", or the file's stem in older torch versions).
        let pickles = zip.entries.filter { entry in
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl"
        }
        guard let pickleEntry = pickles.first else {
            throw WeightError.unrecognizedFormat(
                file: path, detail: "a zip archive without <name>/data.pkl, so not a PyTorch checkpoint")
        }
        guard pickles.count == 1 else {
            throw WeightError.invalidZip(file: path, detail: "\(pickles.count) data.pkl records; expected one")
        }
        let root = String(pickleEntry.name.dropLast("data.pkl".count))  // includes the trailing "/"

        if let order = zip.entry(named: root + "byteorder") {
            let text = try zip.contents(of: order, verify: true, limit: 16).withUnsafeBytes {
                String(decoding: $0, as: UTF8.self)
            }
            guard text == "little" else {
                throw WeightError.unrecognizedFormat(
                    file: path, detail: "tensors are stored \(text)-endian; only little-endian is supported")
            }
        }
        let isTorchScript =
            zip.entry(named: root + "constants.pkl") != nil
            || zip.entries.contains { $0.name.hasPrefix(root + "code/") }

        // A record named twice (a hostile pickle may repeat a persistent id) is inflated once.
        var records: [String: WeightStorage] = [:]
        var machine = PickleMachine(path: path, allowTorchScriptClasses: isTorchScript, budget: zip.budget) {
            key, dtype, count in
            let record = root + "data/" + key
            guard let entry = zip.entry(named: record) else {
                throw WeightError.missingRecord(file: path, record: record)
            }
            // The element count is checked against the declared size before anything is inflated.
            guard let needed = multiplyChecked(count, dtype.elementSize), needed <= entry.uncompressedSize else {
                throw WeightError.invalidTensor(
                    file: path, key: "storage \(key)",
                    detail: "\(count) \(dtype) elements need more than the record's \(entry.uncompressedSize) bytes")
            }
            let bytes = try records[record] ?? zip.contents(of: entry, verify: false)
            records[record] = bytes
            return PickledStorage(dtype: dtype, key: key, bytes: bytes, elementCount: count)
        }
        let pickle = try zip.contents(of: pickleEntry, verify: true, limit: ZipArchive.maximumRecordSize)
        let value = try pickle.withUnsafeBytes { try machine.run($0) }
        defer { machine.tearDown() }

        if isTorchScript {
            guard case .object(let module) = value else {
                throw WeightError.noStateDict(
                    file: path, detail: "the TorchScript archive's data.pkl is a \(value.kindName), not a module")
            }
            let declared = try declaredStateNames(zip, root: root, for: moduleTypeNames(module))
            var tensors: [String: WeightTensor] = [:]
            try collectModule(module, prefix: "", declared: declared, into: &tensors, depth: 0, path: path)
            guard !tensors.isEmpty else {
                throw WeightError.noStateDict(file: path, detail: "the TorchScript module has no tensors")
            }
            return (tensors, .torchScript)
        }
        return (try stateDict(from: value, path: path), .pytorchZip)
    }

    /// Walks a TorchScript module tree like `Module.state_dict()`: attributes that are modules
    /// recurse with `name.`, tensors declared as parameters or buffers are kept, `None` (an absent
    /// bias) and plain values (`training`, ints) are skipped. A tensor attribute that is neither
    /// (a scripted module's plain `self.mask = tensor`) is skipped when the class's code declares
    /// its parameters and buffers, and kept when the archive has no readable code for the class.
    private static func collectModule(
        _ module: PickleObject, prefix: String, declared: [String: Set<String>],
        into tensors: inout [String: WeightTensor], depth: Int, path: String
    ) throws {
        guard depth < 64 else {
            throw WeightError.invalidPickle(file: path, detail: "module tree deeper than 64 levels")
        }
        guard let state = module.state else { return }
        let stateNames = declared[module.typeName]
        for (key, value) in state.entries {
            guard case .string(let name) = key else { continue }
            switch value {
            case .object(let child):
                try collectModule(
                    child, prefix: prefix + name + ".", declared: declared, into: &tensors, depth: depth + 1, path: path
                )
            case .tensor(let tensor):
                if let stateNames, !stateNames.contains(name) { continue }
                let dotted = prefix + name
                guard tensors[dotted] == nil else { throw WeightError.duplicateKey(file: path, key: dotted) }
                tensors[dotted] = tensor
            default:
                continue
            }
        }
    }

    /// The class names of every module in the tree (iterative; a cycle is visited once).
    static func moduleTypeNames(_ root: PickleObject) -> Set<String> {
        var names: Set<String> = []
        var seen: Set<ObjectIdentifier> = []
        var pending = [root]
        while let module = pending.popLast() {
            guard seen.insert(ObjectIdentifier(module)).inserted else { continue }
            names.insert(module.typeName)
            for (_, value) in module.state?.entries ?? [] {
                if case .object(let child) = value { pending.append(child) }
            }
        }
        return names
    }

    /// Parameter and buffer names per class, read (never run) from the archive's TorchScript
    /// source: `code/<qualifier path>.py` holds `class Name(Module):` followed by
    /// `__parameters__ = ["weight", ...]` and `__buffers__ = [...]` (torch `python_print.cpp`).
    /// Only the files defining `typeNames` are read (and inflated).
    static func declaredStateNames(_ zip: ZipArchive, root: String, for typeNames: Set<String>) throws -> [String: Set<
        String
    >] {
        let codeRoot = root + "code/"
        let qualifiers = Set(typeNames.compactMap { name in name.lastIndex(of: ".").map { String(name[..<$0]) } })
        let files: [(entry: ZipArchive.Entry, qualifier: String)] = zip.entries.compactMap { entry in
            guard entry.name.hasPrefix(codeRoot) && entry.name.hasSuffix(".py") else { return nil }
            let qualifier = entry.name.dropFirst(codeRoot.count).dropLast(3).replacingOccurrences(of: "/", with: ".")
            return qualifiers.contains(qualifier) ? (entry, qualifier) : nil
        }
        // A TorchScript CLIP has one small, separately compressed file per module type (ViT-B/32:
        // ~200, 280 KB): inflated and scanned on every core while the rest of loading waits for
        // them, then merged in archive order (the same result as one after the other).
        let found = FileResults(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { i in
            found.set(i, Result { try declaredStateNames(in: zip, files[i].entry, qualifier: files[i].qualifier) })
        }
        var result: [String: Set<String>] = [:]
        for names in try found.results() {
            for (className, declared) in names { result[className, default: []].formUnion(declared) }
        }
        return result
    }

    /// One code file's classes and their declared parameter and buffer names.
    private static func declaredStateNames(in zip: ZipArchive, _ entry: ZipArchive.Entry, qualifier: String) throws
        -> [(String, Set<String>)]
    {
        var result: [(String, Set<String>)] = []
        let text = try zip.contents(of: entry, verify: true, limit: ZipArchive.maximumRecordSize).withUnsafeBytes {
            [UInt8]($0)
        }
        var pending: [UInt8] = []  // a declaration whose list continues on the next lines
        // Byte-level scan: most lines are method bodies and are skipped after a prefix check.
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if line.starts(with: classPrefix) {
                let name = line.dropFirst(classPrefix.count).prefix {
                    $0 != UInt8(ascii: "(") && $0 != UInt8(ascii: ":")
                }
                let className =
                    "\(qualifier).\(String(decoding: name, as: UTF8.self).trimmingCharacters(in: .whitespaces))"
                result.append((className, []))
                pending = []
                continue
            }
            guard !result.isEmpty else { continue }
            let trimmed = line.drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            if pending.isEmpty, !(trimmed.starts(with: parametersPrefix) || trimmed.starts(with: buffersPrefix)) {
                continue
            }
            pending += trimmed
            guard pending.contains(UInt8(ascii: "]")) else { continue }
            // Names are the double-quoted strings inside the brackets.
            let parts = pending.split(separator: UInt8(ascii: "\""), omittingEmptySubsequences: false)
            for (i, part) in parts.enumerated() where i % 2 == 1 {
                result[result.count - 1].1.insert(String(decoding: part, as: UTF8.self))
            }
            pending = []
        }
        return result
    }

    /// Per-file results filled in concurrently, one slot per file.
    private final class FileResults: @unchecked Sendable {
        private var slots: [Result<[(String, Set<String>)], any Error>?]
        private let lock = NSLock()
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ result: Result<[(String, Set<String>)], any Error>) { lock.withLock { slots[i] = result } }
        /// Every file's classes in order, or the first file's error.
        func results() throws -> [[(String, Set<String>)]] { try lock.withLock { try slots.map { try $0!.get() } } }
    }

    private static let classPrefix = Array("class ".utf8)
    private static let parametersPrefix = Array("__parameters__".utf8)
    private static let buffersPrefix = Array("__buffers__".utf8)

    /// The tensors of a `torch.save`d dict: the dict itself, or its "state_dict" / "model" entry
    /// (training checkpoints). Non-tensor entries (`epoch`, config ints) are skipped.
    private static func stateDict(from value: PickleValue, path: String) throws -> [String: WeightTensor] {
        guard case .dict(var dict) = value else {
            throw WeightError.noStateDict(file: path, detail: "the pickle holds a \(value.kindName), not a dict")
        }
        for wrapper in ["state_dict", "model", "model_state_dict", "module"] {
            if let inner = dict[wrapper], case .dict(let innerDict) = inner {
                dict = innerDict
                break
            }
        }
        var tensors: [String: WeightTensor] = [:]
        for (key, item) in dict.entries {
            guard case .tensor(let tensor) = item else { continue }
            guard case .string(let name) = key else {
                throw WeightError.noStateDict(file: path, detail: "a tensor is stored under a \(key.kindName) key")
            }
            guard tensors[name] == nil else { throw WeightError.duplicateKey(file: path, key: name) }
            tensors[name] = tensor
        }
        guard !tensors.isEmpty else {
            throw WeightError.noStateDict(
                file: path, detail: "no tensors at the top level or under \"state_dict\" / \"model\"")
        }
        return tensors
    }
}
