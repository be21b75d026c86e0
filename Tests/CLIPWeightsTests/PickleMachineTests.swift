import Testing

@testable import CLIPWeights

// Hand-made pickles for limits the fixtures cannot reach.
@Suite struct PickleMachineTests {
    func run(_ bytes: [UInt8]) throws -> PickleValue {
        var machine = PickleMachine(path: "test.pkl", allowTorchScriptClasses: false) { _, _, _ in
            throw WeightError.missingRecord(file: "test.pkl", record: "storage")
        }
        defer { machine.tearDown() }
        return try bytes.withUnsafeBytes { try machine.run($0) }
    }

    @Test func deeplyNestedTuplesAreRejected() {
        // PROTO 2, EMPTY_TUPLE, 300 x TUPLE1, STOP.
        let bytes: [UInt8] = [0x80, 2, 0x29] + [UInt8](repeating: 0x85, count: 300) + [0x2E]
        #expect(throws: WeightError.invalidPickle(file: "test.pkl", detail: "tuples nested deeper than 256")) {
            _ = try run(bytes)
        }
    }

    @Test func deeplyNestedListsAreFreedWithoutRecursion() throws {
        // 200,000 empty lists, each APPENDed into the one below it: nesting 200,000 deep.
        let n = 200_000
        let bytes: [UInt8] =
            [0x80, 2] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
        guard case .list = try run(bytes) else {
            Issue.record("expected a list")
            return
        }
    }

    @Test func integersAndStrings() throws {
        // (LONG1 -2, BININT 70000, SHORT_BINUNICODE "ab") as a TUPLE3.
        let bytes: [UInt8] = [0x80, 2, 0x8A, 1, 0xFE, 0x4A, 0x70, 0x11, 0x01, 0x00, 0x8C, 2, 0x61, 0x62, 0x87, 0x2E]
        guard case .tuple(let items, _) = try run(bytes), items.count == 3,
            case .int(-2) = items[0], case .int(70000) = items[1], case .string("ab") = items[2]
        else {
            Issue.record("wrong decoding")
            return
        }
    }

    @Test func globalsOutsideTheAllowListAreNamed() {
        // GLOBAL "os\nsystem\n" must fail before anything else happens.
        let bytes: [UInt8] = [0x80, 2, 0x63] + Array("os\nsystem\n".utf8) + [0x2E]
        #expect(throws: WeightError.disallowedGlobal(file: "test.pkl", module: "os", name: "system")) {
            _ = try run(bytes)
        }
    }

    /// Issue 14 case 4: every record a pickle builds is capped (stack, marks, memo, list and
    /// dict sizes, containers, string lengths, total work), with a typed error naming the cap.
    static let caps: [(name: String, bytes: @Sendable () -> [UInt8], detail: String)] = [
        (
            "stack",
            { [0x80, 2] + [UInt8](repeating: 0x4E, count: PickleMachine.Limits.maximumStackDepth + 1) + [0x2E] },
            "more than 1048576 values on the stack"
        ),
        ("marks", { [0x80, 2] + [UInt8](repeating: 0x28, count: 70_000) + [0x2E] }, "more than 65536 open MARKs"),
        (
            "memo",
            {
                [0x80, 2, 0x5D]
                    + (0...UInt32(PickleMachine.Limits.maximumMemoEntries)).flatMap { [0x72] + HostileFiles.le32($0) }
                    + [0x2E]
            },
            "more than 1048576 memo entries"
        ),
        (
            "list",
            {
                [0x80, 2, 0x5D]
                    + [UInt8](repeating: 0, count: 2 * PickleMachine.Limits.maximumContainerItems + 2).enumerated().map
                {
                    $0.offset % 2 == 0 ? 0x4E : 0x61
                } + [0x2E]
            },
            "a list or dict of more than 1048576 items"
        ),
        (
            "containers",
            {
                [0x80, 2]
                    + [UInt8](repeating: 0, count: 2 * PickleMachine.Limits.maximumContainers + 2).enumerated().map {
                        $0.offset % 2 == 0 ? 0x7D : 0x30
                    } + [0x2E]
            },
            "more than 1048576 lists, dicts and objects"
        ),
        (
            "string",
            {
                let length = PickleMachine.Limits.maximumStringLength + 1
                return [0x80, 2, 0x58] + HostileFiles.le32(UInt32(length)) + [UInt8](repeating: 0x61, count: length)
                    + [0x2E]
            },
            "a string of 1048577 bytes (at most 1048576)"
        ),
        (
            "work",
            {
                // One OrderedDict of 4,096 pairs, rebuilt from the memo 1,100 times (6 bytes each).
                typealias P = HostileFiles.Pickle
                var out = P.proto + P.global("collections", "OrderedDict") + [0x71, 0] + P.emptyList
                for _ in 0..<4096 { out += [0x4E, 0x4E, 0x86, 0x61] }
                out += [0x85, 0x71, 1, 0x30]
                for _ in 0..<1100 { out += [0x68, 0, 0x68, 1, 0x52, 0x30] }
                return out + [0x30, 0x2E]
            },
            "more than 4194304 opcodes and copied items"
        ),
    ]

    @Test(arguments: caps.indices)
    func picklesAreCapped(_ index: Int) {
        let (name, bytes, detail) = Self.caps[index]
        #expect(throws: WeightError.limitExceeded(file: "test.pkl", detail: "the pickle has \(detail)"), "\(name)") {
            _ = try run(bytes())
        }
    }
}
