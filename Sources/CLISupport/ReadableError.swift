import CLIP
import Foundation

/// One readable line (and a hint) for any error that reaches the user.
///
/// swift-clip's own errors are `LocalizedError`s with a description and a hint and pass
/// through unchanged. Foundation's are reworded: `NSCocoaErrorDomain error 256` becomes
/// "cannot read FILE: Is a directory", a `DecodingError` names the JSON key path and what was
/// wrong there, instead of the type's debug dump.
package struct ReadableError {
    package var message: String
    package var hint: String?

    package init(_ error: any Error) {
        if let decoding = error as? DecodingError {
            (message, hint) = Self.describe(decoding)
            return
        }
        if let localized = error as? LocalizedError, !Self.isFoundation(error),
            let description = localized.errorDescription
        {
            message = description
            hint = localized.recoverySuggestion
            return
        }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            (message, hint) = Self.describe(ns)
            return
        }
        message = (error as? LocalizedError)?.errorDescription ?? String(describing: error)
        hint = (error as? LocalizedError)?.recoverySuggestion
    }

    /// Errors bridged from Foundation (`CocoaError`, `POSIXError`, raw `NSError`s).
    private static func isFoundation(_ error: any Error) -> Bool {
        error is CocoaError || error is POSIXError || type(of: error) == NSError.self
    }

    /// A file error: the path from the user info and the POSIX reason underneath.
    private static func describe(_ error: NSError) -> (String, String?) {
        let path =
            (error.userInfo[NSFilePathErrorKey] as? String)
            ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        var posix: Int32?
        if error.domain == NSPOSIXErrorDomain { posix = Int32(error.code) }
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            posix = Int32(underlying.code)
        }
        let reason: String
        var isFolder: ObjCBool = false
        if let path, FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue {
            reason = "it is a folder"
        } else if let posix {
            reason = String(cString: strerror(posix))
        } else {
            switch CocoaError.Code(rawValue: error.code) {
            case .fileNoSuchFile, .fileReadNoSuchFile: reason = "no such file"
            case .fileReadNoPermission, .fileWriteNoPermission: reason = "permission denied"
            case .fileReadCorruptFile, .propertyListReadCorrupt: reason = "the contents are not valid"
            case .fileReadInapplicableStringEncoding: reason = "the text is not valid UTF-8"
            case .fileWriteOutOfSpace: reason = "no space left on the device"
            default: reason = "the file could not be read or written (it may be a folder or unreadable)"
            }
        }
        let message = path.map { "cannot read \($0): \(reason)" } ?? reason
        return (message, "Check the path and the file's permissions.")
    }

    private static func describe(_ error: DecodingError) -> (String, String?) {
        func at(_ path: [any CodingKey]) -> String {
            path.isEmpty
                ? "" : " at " + path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        let hint = "Check the JSON file against the documented format."
        switch error {
        case .dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return ("invalid JSON\(at(context.codingPath)): \(underlying ?? context.debugDescription)", hint)
        case .keyNotFound(let key, let context):
            return ("missing JSON key '\(key.stringValue)'\(at(context.codingPath))", hint)
        case .typeMismatch(let type, let context):
            return ("wrong JSON value\(at(context.codingPath)): expected \(type)", hint)
        case .valueNotFound(let type, let context):
            return ("missing JSON value\(at(context.codingPath)): expected \(type)", hint)
        @unknown default:
            return ("invalid JSON", hint)
        }
    }
}
