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
}
