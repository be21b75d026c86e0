import CLIPHub
import Testing

/// SHA-256 against FIPS 180-4's example messages (NIST CSRC "SHA256.pdf") and Python's hashlib
/// (`hashlib.sha256(bytes(i % 251 for i in range(n))).hexdigest()`), around the 55/56/64-byte
/// padding boundaries.
struct SHA256Tests {
    static let vectors: [(String, [UInt8], String)] = [
        ("empty", [], "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", Array("abc".utf8), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "448 bits", Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        ("55", pattern(55), "463eb28e72f82e0a96c0a4cc53690c571281131f672aa229e0d45ae59b598b59"),
        ("56", pattern(56), "da2ae4d6b36748f2a318f23e7ab1dfdf45acdc9d049bd80e59de82a60895f562"),
        ("63", pattern(63), "29af2686fd53374a36b0846694cc342177e428d1647515f078784d69cdb9e488"),
        ("64", pattern(64), "fdeab9acf3710362bd2658cdc9a29e8f9c757fcf9811603a8c447cd1d9151108"),
        ("65", pattern(65), "4bfd2c8b6f1eec7a2afeb48b934ee4b2694182027e6d0fc075074f2fabb31781"),
        ("1000", pattern(1000), "4e4c294b331f7a2099a379bec34b9f9fc03dc46ab465d998f4d683da53487e6d"),
    ]

    static func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8($0 % 251) } }

    @Test(arguments: vectors.indices)
    func digestMatches(_ index: Int) {
        let (name, message, expected) = Self.vectors[index]
        var whole = SHA256()
        whole.update(message)
        #expect(whole.hexDigest() == expected, "\(name): got \(whole.hexDigest())")
        // The same message fed in uneven pieces gives the same digest.
        for step in [1, 7, 63, 64, 65] {
            var pieces = SHA256()
            for start in stride(from: 0, to: message.count, by: step) {
                pieces.update(message[start..<min(start + step, message.count)])
            }
            #expect(pieces.hexDigest() == expected, "\(name) in pieces of \(step): got \(pieces.hexDigest())")
        }
    }

    @Test func millionAs() {
        var hash = SHA256()
        let block = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        for _ in 0..<1000 { hash.update(block) }
        #expect(hash.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
