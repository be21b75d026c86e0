import Foundation

/// The output format of a command with `--format` and `-o`: the flag when given, else the
/// output file's extension when it names one of the command's formats (`-o photos.npy` writes
/// NPY, as a user naming the file expects), else the command's default.
enum OutputFormat {
    /// - Parameters:
    ///   - flag: `--format`'s value, nil when not given.
    ///   - output: `-o`'s path, nil or "-" for standard output.
    ///   - formats: the command's formats; each is also its file extension.
    static func resolve(flag: String?, output: String?, formats: [String], default fallback: String) -> String {
        if let flag { return flag }
        guard let output, output != "-" else { return fallback }
        let ext = (output as NSString).pathExtension.lowercased()
        return formats.contains(ext) ? ext : fallback
    }
}
