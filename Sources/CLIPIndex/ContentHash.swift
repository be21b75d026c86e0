import CLIPHub

/// The content hash that recognises renamed, moved and duplicated files: hex SHA-256 of the bytes.
public enum ContentHash {
    public static func ofFile(_ path: String) throws -> String {
        try SHA256.hexDigest(ofFile: path)
    }
}
