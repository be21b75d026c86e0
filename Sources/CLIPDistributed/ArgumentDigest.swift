/// A 64-bit FNV-1a digest of a command line, for checking that every rank was started with the
/// same arguments (rank 0 broadcasts its digest). Not cryptographic: it catches mistakes.
public enum ArgumentDigest {
    public static func digest(_ arguments: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for argument in arguments {
            // Length-prefixed so ["ab", "c"] and ["a", "bc"] differ.
            for byte in "\(argument.utf8.count):\(argument)".utf8 {
                hash ^= UInt64(byte)
                hash &*= 0x0000_0100_0000_01b3
            }
        }
        return hash
    }
}
