// Follows CPython 3.12 `Lib/pickle.py` (opcode semantics of `_Unpickler`) restricted, like
// torch 2.5's `torch/_weights_only_unpickler.py`, to the opcodes and globals tensor checkpoints use.
// Nothing named in the file is ever called: allow-listed globals are interpreted here.

/// Runs the subset of the pickle virtual machine that `torch.save` (protocol 2) and TorchScript's
/// pickler emit, building ``PickleValue``s.
struct PickleMachine {
    /// Resolves a storage persistent id: `(key, dtype, element count)` to a record.
    typealias StorageResolver = (_ key: String, _ dtype: WeightDType, _ elementCount: Int) throws -> PickledStorage

    let path: String
    /// Whether `__torch__.*` classes (TorchScript modules) may be instantiated as attribute bags.
    let allowTorchScriptClasses: Bool
    let resolveStorage: StorageResolver
    /// Bounds the private copies this run makes (strided views, `_codecs.encode` bytes).
    let budget: ReadBudget

    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    /// Opcodes run plus items copied, against ``Limits/maximumWork``.
    private var work = 0
    /// Lists, dicts and objects built, against ``Limits/maximumContainers``.
    private var containerCount = 0

    /// Caps on what one pickle may build. A CLIP state dict takes ~25 opcodes and ~6 memo
    /// entries per tensor and OpenAI's TorchScript archives ~40 opcodes per module, so the
    /// largest model (~1,000 tensors), even with optimizer state, needs well under 1 % of each.
    /// Together they bound the memory a run can take to a few hundred MB whatever the input.
    enum Limits {
        /// Values on the stack (`SETITEMS` batches hold 2,000).
        static let maximumStackDepth = 1 << 20
        /// Open `MARK`s.
        static let maximumMarks = 1 << 16
        /// Memo entries (`BINPUT`, `LONG_BINPUT`, `MEMOIZE`).
        static let maximumMemoEntries = 1 << 20
        /// Items in one list or dict.
        static let maximumContainerItems = 1 << 20
        /// Lists, dicts and objects built by one pickle.
        static let maximumContainers = 1 << 20
        /// Bytes in one string or bytes value (key names are tens of bytes).
        static let maximumStringLength = 1 << 20
        /// Opcodes plus items copied between containers (`TUPLE`, `LIST`, `SETITEMS`, `OrderedDict`...):
        /// bounds the time and memory of pickles that rebuild one large container many times.
        static let maximumWork = 1 << 22
    }

    init(
        path: String, allowTorchScriptClasses: Bool, budget: ReadBudget? = nil,
        resolveStorage: @escaping StorageResolver
    ) {
        self.path = path
        self.allowTorchScriptClasses = allowTorchScriptClasses
        self.budget = budget ?? ReadBudget(path: path, limit: ReadBudget.fixedAllowance)
        self.resolveStorage = resolveStorage
    }

    /// The globals a checkpoint may name, as `module.name` (torch 2.5 `_get_allowed_globals`,
    /// plus TorchScript's list builders).
    static let allowedGlobals: Set<String> = {
        var names: Set<String> = [
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor",
            "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state",
            "torch._tensor._rebuild_from_type_v2",
            "torch.Size",
            "torch.Tensor",
            "torch.nn.parameter.Parameter",
            "_codecs.encode",
            "torch.jit._pickle.restore_type_tag",
            "torch.jit._pickle.build_intlist",
            "torch.jit._pickle.build_doublelist",
            "torch.jit._pickle.build_boollist",
            "torch.jit._pickle.build_tensorlist",
        ]
        for storage in [
            "FloatStorage", "HalfStorage", "BFloat16Storage", "DoubleStorage", "LongStorage",
            "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage",
        ] {
            names.insert("torch.\(storage)")
        }
        return names
    }()

    mutating func run(_ data: UnsafeRawBufferPointer) throws -> PickleValue {
        var reader = ByteReader(bytes: data, path: path)
        while true {
            let offset = reader.position
            let opcode = try reader.byte()
            try charge(1)
            guard stack.count < Limits.maximumStackDepth else {
                throw limit("more than \(Limits.maximumStackDepth) values on the stack")
            }
            switch opcode {
            case 0x80: _ = try reader.byte()  // PROTO
            case 0x95: _ = try reader.uint64()  // FRAME: a hint only
            case 0x28:  // MARK
                guard marks.count < Limits.maximumMarks else {
                    throw limit("more than \(Limits.maximumMarks) open MARKs")
                }
                marks.append(stack.count)
            case 0x29: stack.append(.tuple([], depth: 1))  // EMPTY_TUPLE
            case 0x7D: stack.append(.dict(try track(PickleDict())))  // EMPTY_DICT
            case 0x5D: stack.append(.list(try track(PickleList())))  // EMPTY_LIST
            case 0x74: stack.append(try tuple(try popMark()))  // TUPLE
            case 0x85:
                let a = try pop()
                stack.append(try tuple([a]))  // TUPLE1
            case 0x86:
                let b = try pop()
                let a = try pop()
                stack.append(try tuple([a, b]))  // TUPLE2
            case 0x87:
                let c = try pop()
                let b = try pop()
                let a = try pop()
                stack.append(try tuple([a, b, c]))  // TUPLE3
            case 0x6C:  // LIST
                let items = try popMark()
                try checkItems(items.count)
                stack.append(.list(try track(PickleList(items))))
            case 0x64: stack.append(.dict(try track(try makeDict(try popMark()))))  // DICT
            case 0x61:  // APPEND
                let value = try pop()
                let target = try list(at: stack.count - 1)
                try checkItems(target.items.count + 1)
                target.items.append(value)
            case 0x65:  // APPENDS
                let values = try popMark()
                let target = try list(at: stack.count - 1)
                try checkItems(target.items.count + values.count)
                target.items.append(contentsOf: values)
            case 0x73:  // SETITEM
                let value = try pop()
                let key = try pop()
                let target = try dict(at: stack.count - 1)
                try checkItems(target.entries.count + 1)
                target.set(key, value)
            case 0x75:  // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0 else { throw invalid("SETITEMS with an odd number of items") }
                let target = try dict(at: stack.count - 1)
                try checkItems(target.entries.count + items.count / 2)
                for i in stride(from: 0, to: items.count, by: 2) { target.set(items[i], items[i + 1]) }
            case 0x71: try memoize(Int(try reader.byte()))  // BINPUT
            case 0x72: try memoize(Int(try reader.uint32()))  // LONG_BINPUT
            case 0x94: try memoize(memo.count)  // MEMOIZE
            case 0x68: stack.append(try memoValue(Int(try reader.byte())))  // BINGET
            case 0x6A: stack.append(try memoValue(Int(try reader.uint32())))  // LONG_BINGET
            case 0x63:  // GLOBAL "module\nname\n"
                let module = try reader.line()
                let name = try reader.line()
                stack.append(try global(module, name))
            case 0x93:  // STACK_GLOBAL
                guard case .string(let name) = try pop(), case .string(let module) = try pop() else {
                    throw invalid("STACK_GLOBAL needs two strings")
                }
                stack.append(try global(module, name))
            case 0x52:  // REDUCE
                let arguments = try pop()
                let callable = try pop()
                guard case .tuple(let args, _) = arguments else { throw invalid("REDUCE arguments are not a tuple") }
                stack.append(try call(callable, args))
            case 0x81:  // NEWOBJ
                let arguments = try pop()
                let cls = try pop()
                guard case .tuple(let args, _) = arguments else { throw invalid("NEWOBJ arguments are not a tuple") }
                stack.append(try newObject(cls, args))
            case 0x62:  // BUILD
                let state = try pop()
                try build(try top(), state)
            case 0x51:  // BINPERSID
                stack.append(try persistentLoad(try pop()))
            case 0x4A: stack.append(.int(Int(Int32(bitPattern: try reader.uint32()))))  // BININT
            case 0x4B: stack.append(.int(Int(try reader.byte())))  // BININT1
            case 0x4D: stack.append(.int(Int(try reader.uint16())))  // BININT2
            case 0x8A: stack.append(.int(try reader.long(length: Int(try reader.byte()))))  // LONG1
            case 0x8B: stack.append(.int(try reader.long(length: Int(try reader.uint32()))))  // LONG4
            case 0x47: stack.append(.float(Double(bitPattern: UInt64(bigEndian: try reader.uint64Raw()))))  // BINFLOAT
            case 0x4E: stack.append(.none)  // NONE
            case 0x88: stack.append(.bool(true))  // NEWTRUE
            case 0x89: stack.append(.bool(false))  // NEWFALSE
            case 0x58: stack.append(.string(try reader.utf8(length: try text(try reader.length32()))))  // BINUNICODE
            case 0x8C: stack.append(.string(try reader.utf8(length: Int(try reader.byte()))))  // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try reader.utf8(length: try text(try reader.length64()))))  // BINUNICODE8
            case 0x54: stack.append(.string(try reader.latin1(length: try text(try reader.length32()))))  // BINSTRING
            case 0x55: stack.append(.string(try reader.latin1(length: Int(try reader.byte()))))  // SHORT_BINSTRING
            case 0x42: stack.append(.bytes(try reader.bytes(length: try text(try reader.length32()))))  // BINBYTES
            case 0x43: stack.append(.bytes(try reader.bytes(length: Int(try reader.byte()))))  // SHORT_BINBYTES
            case 0x8E: stack.append(.bytes(try reader.bytes(length: try text(try reader.length64()))))  // BINBYTES8
            case 0x30: _ = try pop()  // POP
            case 0x31: _ = try popMark()  // POP_MARK
            case 0x32: stack.append(try top())  // DUP
            case 0x2E:  // STOP
                guard stack.count == 1, marks.isEmpty else {
                    throw invalid("STOP with \(stack.count) values on the stack")
                }
                return stack[0]
            default:
                throw WeightError.unsupportedPickleOpcode(file: path, opcode: opcode, offset: offset)
            }
        }
    }

    // MARK: Stack helpers

    private func invalid(_ detail: String) -> WeightError { .invalidPickle(file: path, detail: detail) }

    private func limit(_ detail: String) -> WeightError {
        .limitExceeded(file: path, detail: "the pickle has \(detail)")
    }

    /// Counts `amount` units of work against ``Limits/maximumWork``.
    private mutating func charge(_ amount: Int) throws {
        work += amount
        guard work <= Limits.maximumWork else {
            throw limit("more than \(Limits.maximumWork) opcodes and copied items")
        }
    }

    private func checkItems(_ count: Int) throws {
        guard count <= Limits.maximumContainerItems else {
            throw limit("a list or dict of more than \(Limits.maximumContainerItems) items")
        }
    }

    /// A string or bytes length, checked against ``Limits/maximumStringLength``.
    private func text(_ length: Int) throws -> Int {
        guard length <= Limits.maximumStringLength else {
            throw limit("a string of \(length) bytes (at most \(Limits.maximumStringLength))")
        }
        return length
    }

    private mutating func memoize(_ index: Int) throws {
        let value = try top()
        guard memo.count < Limits.maximumMemoEntries || memo[index] != nil else {
            throw limit("more than \(Limits.maximumMemoEntries) memo entries")
        }
        memo[index] = value
    }

    private mutating func pop() throws -> PickleValue {
        guard let value = stack.popLast() else { throw invalid("stack underflow") }
        if let mark = marks.last, stack.count < mark { throw invalid("pop past a MARK") }
        return value
    }

    private func top() throws -> PickleValue {
        guard let value = stack.last else { throw invalid("stack underflow") }
        return value
    }

    private mutating func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast(), mark <= stack.count else { throw invalid("no MARK on the stack") }
        try charge(stack.count - mark)
        let values = Array(stack[mark...])
        stack.removeSubrange(mark...)
        return values
    }

    /// Tuples deeper than this are rejected: Swift frees nested values recursively, so an
    /// absurdly deep tuple chain could otherwise exhaust the stack.
    static let maximumTupleDepth = 256

    private mutating func track<T: AnyObject>(_ container: T) throws -> T {
        guard containers.count < Limits.maximumContainers else {
            throw limit("more than \(Limits.maximumContainers) lists, dicts and objects")
        }
        containers.append(container)
        return container
    }

    private mutating func tuple(_ items: [PickleValue]) throws -> PickleValue {
        try charge(items.count)
        var depth = 1
        for case .tuple(_, let inner) in items { depth = max(depth, inner + 1) }
        guard depth <= PickleMachine.maximumTupleDepth else {
            throw invalid("tuples nested deeper than \(PickleMachine.maximumTupleDepth)")
        }
        return .tuple(items, depth: depth)
    }

    /// Every list, dict and object built, so that ``tearDown()`` can empty them.
    private var containers: [AnyObject] = []

    /// Empties every container the run built. Lists, dicts and objects can nest (or refer to
    /// each other) arbitrarily deep through the memo; emptying them all first, while this array
    /// still holds them, means no chain of deallocations can recurse. Call once the result has
    /// been consumed.
    mutating func tearDown() {
        for container in containers {
            switch container {
            case let list as PickleList: list.items.removeAll()
            case let dict as PickleDict: dict.removeAll()
            case let object as PickleObject: object.state = nil
            default: break
            }
        }
        memo.removeAll()
        stack.removeAll()
        containers.removeAll()
    }

    private func memoValue(_ index: Int) throws -> PickleValue {
        guard let value = memo[index] else { throw invalid("memo index \(index) was never stored") }
        return value
    }

    private func list(at index: Int) throws -> PickleList {
        guard index >= 0, index < stack.count, case .list(let list) = stack[index] else {
            throw invalid("APPEND target is not a list")
        }
        return list
    }

    private func dict(at index: Int) throws -> PickleDict {
        guard index >= 0, index < stack.count, case .dict(let dict) = stack[index] else {
            throw invalid("SETITEM target is not a dict")
        }
        return dict
    }

    private func makeDict(_ items: [PickleValue]) throws -> PickleDict {
        guard items.count % 2 == 0 else { throw invalid("DICT with an odd number of items") }
        try checkItems(items.count / 2)
        let dict = PickleDict()
        for i in stride(from: 0, to: items.count, by: 2) { dict.set(items[i], items[i + 1]) }
        return dict
    }

    // MARK: Globals and calls

    private func global(_ module: String, _ name: String) throws -> PickleValue {
        if PickleMachine.allowedGlobals.contains("\(module).\(name)") {
            return .global(module: module, name: name)
        }
        if allowTorchScriptClasses, module == "__torch__" || module.hasPrefix("__torch__.") {
            return .global(module: module, name: name)
        }
        throw WeightError.disallowedGlobal(file: path, module: module, name: name)
    }

    private mutating func call(_ callable: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = callable else {
            throw invalid("REDUCE on a \(callable.kindName), not a global")
        }
        switch "\(module).\(name)" {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            return .tensor(try rebuildTensor(args))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let data = args.first, case .tensor = data else {
                throw invalid("_rebuild_parameter without a tensor")
            }
            return data
        case "torch._tensor._rebuild_from_type_v2":
            // (func, new_type, args, state): only plain tensors and parameters are allowed types.
            guard args.count >= 3, case .tuple(let inner, _) = args[2] else {
                throw invalid("malformed _rebuild_from_type_v2")
            }
            return try call(args[0], inner)
        case "collections.OrderedDict":
            let dict = PickleDict()
            if let first = args.first {
                guard case .list(let pairs) = first else { throw invalid("OrderedDict argument is not a list") }
                try charge(pairs.items.count)
                for pair in pairs.items {
                    guard case .tuple(let kv, _) = pair, kv.count == 2 else {
                        throw invalid("OrderedDict item is not a pair")
                    }
                    dict.set(kv[0], kv[1])
                }
            }
            return .dict(try track(dict))
        case "torch.Size":
            guard args.count == 1, case .tuple = args[0] else { throw invalid("torch.Size argument is not a tuple") }
            return args[0]
        case "_codecs.encode":
            guard let first = args.first, case .string(let text) = first else {
                throw invalid("_codecs.encode without a string")
            }
            // Protocol-2 bytes are written as latin-1 text; map each scalar back to one byte.
            // A memoised string can be encoded again and again: each copy is paid for.
            try budget.reserve(text.utf8.count, for: "_codecs.encode")
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case "torch.jit._pickle.restore_type_tag":
            guard let first = args.first else { throw invalid("restore_type_tag without a value") }
            return first
        case "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_doublelist",
            "torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensorlist":
            guard let first = args.first, case .list = first else { throw invalid("\(name) without a list") }
            return first
        default:
            throw WeightError.disallowedGlobal(file: path, module: module, name: name)
        }
    }

    private mutating func newObject(_ cls: PickleValue, _ args: [PickleValue]) throws -> PickleValue {
        guard case .global(let module, let name) = cls else { throw invalid("NEWOBJ on a \(cls.kindName)") }
        if module == "collections", name == "OrderedDict" { return try call(cls, args) }
        guard allowTorchScriptClasses, module == "__torch__" || module.hasPrefix("__torch__.") else {
            throw WeightError.disallowedGlobal(file: path, module: module, name: name)
        }
        return .object(try track(PickleObject(typeName: "\(module).\(name)")))
    }

    private func build(_ target: PickleValue, _ state: PickleValue) throws {
        switch target {
        case .object(let object):
            guard case .dict(let dict) = state else {
                throw invalid("state of \(object.typeName) is a \(state.kindName), not a dict")
            }
            object.state = dict
        case .dict, .tensor:
            // OrderedDict's `_metadata` attribute and tensor python state carry no weights.
            break
        default:
            throw invalid("BUILD on a \(target.kindName)")
        }
    }

    private func persistentLoad(_ pid: PickleValue) throws -> PickleValue {
        guard case .tuple(let parts, _) = pid, parts.count == 5, case .string("storage") = parts[0],
            case .global(_, let storageName) = parts[1], case .string(let key) = parts[2],
            case .int(let count) = parts[4], count >= 0
        else {
            throw invalid("persistent id is not ('storage', type, key, location, numel)")
        }
        guard let dtype = WeightDType(torchStorageName: storageName) else {
            throw WeightError.disallowedGlobal(file: path, module: "torch", name: storageName)
        }
        return .storage(try resolveStorage(key, dtype, count))
    }

    // MARK: Tensors

    /// `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])`.
    private func rebuildTensor(_ args: [PickleValue]) throws -> WeightTensor {
        guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
            let shape = integers(args[2]), let strides = integers(args[3]), shape.count == strides.count
        else {
            throw invalid("_rebuild_tensor_v2 arguments are not (storage, offset, size, stride, ...)")
        }
        let key = "storage \(storage.key)"
        guard offset >= 0, shape.allSatisfy({ $0 >= 0 }), strides.allSatisfy({ $0 >= 0 }) else {
            throw WeightError.invalidTensor(file: path, key: key, detail: "negative offset, size or stride")
        }
        guard let count = checkedProduct(shape), multiplyChecked(count, storage.dtype.elementSize) != nil else {
            throw WeightError.invalidTensor(file: path, key: key, detail: "shape \(shape) overflows")
        }
        let size = storage.dtype.elementSize
        if count == 0 {
            return WeightTensor(dtype: storage.dtype, shape: shape, storage: .owned([]))
        }
        // Highest element index the view touches must lie inside the storage.
        var last = offset
        for (dim, stride) in zip(shape, strides) {
            guard let step = multiplyChecked(dim - 1, stride),
                case (let sum, let overflow) = last.addingReportingOverflow(step), !overflow
            else {
                throw WeightError.invalidTensor(file: path, key: key, detail: "strides overflow")
            }
            last = sum
        }
        guard last < storage.elementCount else {
            throw WeightError.invalidTensor(
                file: path, key: key,
                detail:
                    "view (offset \(offset), size \(shape), stride \(strides)) exceeds \(storage.elementCount) elements"
            )
        }
        var contiguous = [Int](repeating: 1, count: shape.count)
        for i in stride(from: shape.count - 2, through: 0, by: -1) { contiguous[i] = contiguous[i + 1] * shape[i + 1] }
        let isContiguous = zip(zip(shape, strides), contiguous).allSatisfy { pair, expected in
            pair.0 == 1 || pair.1 == expected
        }
        if isContiguous {
            let start = offset * size
            return WeightTensor(
                dtype: storage.dtype, shape: shape, storage: storage.bytes.slice(start..<(start + count * size)))
        }
        // Non-contiguous views (e.g. a saved transpose) are gathered into a private contiguous copy,
        // paid for first: zero strides can view one element as billions.
        try budget.reserve(
            count * size,
            for: "the strided view (offset \(offset), size \(shape), stride \(strides)) of \(key) "
                + "(\(storage.elementCount) elements)")
        var out = [UInt8](repeating: 0, count: count * size)
        storage.bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                var index = [Int](repeating: 0, count: shape.count)
                for element in 0..<count {
                    var sourceElement = offset
                    for d in 0..<shape.count { sourceElement += index[d] * strides[d] }
                    let from = source.baseAddress! + sourceElement * size
                    (destination.baseAddress! + element * size).copyMemory(from: from, byteCount: size)
                    var d = shape.count - 1
                    while d >= 0 {
                        index[d] += 1
                        if index[d] < shape[d] { break }
                        index[d] = 0
                        d -= 1
                    }
                }
            }
        }
        return WeightTensor(dtype: storage.dtype, shape: shape, storage: .owned(out))
    }

    private func integers(_ value: PickleValue) -> [Int]? {
        guard case .tuple(let items, _) = value else { return nil }
        var result: [Int] = []
        for item in items {
            guard case .int(let v) = item else { return nil }
            result.append(v)
        }
        return result
    }
}

/// Bounds-checked little-endian reads from a pickle stream.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let path: String
    var position = 0

    private func truncated(_ need: Int) -> WeightError {
        .truncated(
            file: path, detail: "pickle stream ends at byte \(bytes.count) but needs \(need) more at \(position)")
    }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - position else { throw truncated(n) }
        defer { position += n }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + n)])
    }

    mutating func byte() throws -> UInt8 { try take(1)[0] }
    mutating func uint16() throws -> UInt16 { UInt16(littleEndian: try take(2).loadUnaligned(as: UInt16.self)) }
    mutating func uint32() throws -> UInt32 { UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self)) }
    mutating func uint64() throws -> UInt64 { UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self)) }
    mutating func uint64Raw() throws -> UInt64 { try take(8).loadUnaligned(as: UInt64.self) }

    mutating func length32() throws -> Int { Int(try uint32()) }

    mutating func length64() throws -> Int {
        let n = try uint64()
        guard n <= UInt64(bytes.count) else { throw truncated(Int(clamping: n)) }
        return Int(n)
    }

    /// A little-endian two's-complement integer of `length` bytes (LONG1/LONG4); at most 8 bytes.
    mutating func long(length: Int) throws -> Int {
        let raw = try take(length)
        guard length <= 8 else {
            throw WeightError.invalidPickle(file: path, detail: "integer of \(length) bytes is too large")
        }
        if length == 0 { return 0 }
        var value: UInt64 = 0
        for (i, b) in raw.enumerated() { value |= UInt64(b) << (8 * UInt64(i)) }
        if length < 8, raw[length - 1] & 0x80 != 0 { value |= ~0 << (8 * UInt64(length)) }
        return Int(Int64(bitPattern: value))
    }

    mutating func utf8(length: Int) throws -> String { String(decoding: try take(length), as: UTF8.self) }
    mutating func latin1(length: Int) throws -> String {
        String(String.UnicodeScalarView(try take(length).map { Unicode.Scalar($0) }))
    }
    mutating func bytes(length: Int) throws -> [UInt8] { Array(try take(length)) }

    /// A newline-terminated ASCII line (GLOBAL's arguments), without the newline.
    mutating func line() throws -> String {
        guard let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else { throw truncated(1) }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<newline]), as: UTF8.self)
        position = newline + 1
        return text
    }
}
