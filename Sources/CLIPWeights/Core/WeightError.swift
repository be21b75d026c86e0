import Foundation

/// Everything that can go wrong while reading or writing a checkpoint. Every case names the file
/// and what is wrong; `recoverySuggestion` says what to do about it.
public enum WeightError: Error, LocalizedError, Sendable, Equatable {
    /// The file or folder could not be opened or mapped.
    case cannotOpen(file: String, reason: String)
    /// The content matches none of the supported formats.
    case unrecognizedFormat(file: String, detail: String)
    /// The file ends before a structure it declares.
    case truncated(file: String, detail: String)
    /// The safetensors JSON header is malformed or inconsistent.
    case invalidSafetensorsHeader(file: String, detail: String)
    /// The zip container is malformed.
    case invalidZip(file: String, detail: String)
    /// A zip entry uses a compression method other than stored (0) or deflate (8).
    case unsupportedZipCompression(file: String, entry: String, method: Int)
    /// A record the checkpoint refers to is missing from the archive.
    case missingRecord(file: String, record: String)
    /// The pickle stream is malformed (stack underflow, bad memo index, bad argument...).
    case invalidPickle(file: String, detail: String)
    /// The pickle uses an opcode a tensor checkpoint never needs.
    case unsupportedPickleOpcode(file: String, opcode: UInt8, offset: Int)
    /// The pickle refers to a global that is not on the allow-list; nothing is ever executed.
    case disallowedGlobal(file: String, module: String, name: String)
    /// A tensor's dtype, shape, strides or byte range is inconsistent.
    case invalidTensor(file: String, key: String, detail: String)
    /// The checkpoint does not contain a recognisable state dict.
    case noStateDict(file: String, detail: String)
    /// Two tensors end up with the same key.
    case duplicateKey(file: String, key: String)
    /// A Hugging Face folder is incomplete or a key cannot be mapped to OpenAI's names.
    case invalidHuggingFaceFolder(folder: String, detail: String)
    /// Writing a file failed.
    case writeFailed(file: String, reason: String)
    /// Reading would allocate more than the file can hold or a CLIP model can need (a zip entry
    /// that inflates past its bound, a huge pickle, a strided view that repeats one element
    /// billions of times); refused before the memory is taken.
    case limitExceeded(file: String, detail: String)

    public var errorDescription: String? {
        switch self {
        case .cannotOpen(let file, let reason): "Cannot open \(file): \(reason)."
        case .unrecognizedFormat(let file, let detail): "\(file) is not a supported weight file: \(detail)."
        case .truncated(let file, let detail): "\(file) is truncated: \(detail)."
        case .invalidSafetensorsHeader(let file, let detail): "\(file) has an invalid safetensors header: \(detail)."
        case .invalidZip(let file, let detail): "\(file) is not a valid zip archive: \(detail)."
        case .unsupportedZipCompression(let file, let entry, let method):
            "\(file): zip entry \(entry) uses compression method \(method); only stored (0) and deflate (8) are supported."
        case .missingRecord(let file, let record): "\(file) has no record \(record)."
        case .invalidPickle(let file, let detail): "\(file) has a malformed pickle: \(detail)."
        case .unsupportedPickleOpcode(let file, let opcode, let offset):
            "\(file) uses pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset), which a tensor checkpoint never needs."
        case .disallowedGlobal(let file, let module, let name):
            "\(file) refers to \(module).\(name), which is not on the allow-list of tensor-building globals."
        case .invalidTensor(let file, let key, let detail): "\(file): tensor \(key) is invalid: \(detail)."
        case .noStateDict(let file, let detail): "\(file) holds no state dict: \(detail)."
        case .duplicateKey(let file, let key): "\(file) contains the key \(key) twice."
        case .invalidHuggingFaceFolder(let folder, let detail):
            "\(folder) is not a usable Hugging Face CLIP folder: \(detail)."
        case .writeFailed(let file, let reason): "Cannot write \(file): \(reason)."
        case .limitExceeded(let file, let detail): "\(file) asks for more memory than a checkpoint can need: \(detail)."
        }
    }

    public var recoverySuggestion: String? {
        switch self {
        case .cannotOpen: "Check the path and its permissions."
        case .unrecognizedFormat:
            "Use a .safetensors file, a torch.save zip checkpoint (torch >= 1.6), an OpenAI TorchScript .pt archive, or a Hugging Face CLIPModel folder."
        case .truncated, .invalidZip, .invalidSafetensorsHeader, .missingRecord, .invalidTensor:
            "The file looks damaged or incompletely downloaded; download or export it again."
        case .unsupportedZipCompression:
            "Re-save the checkpoint with torch.save, or unzip and re-zip it without compression (zip -0)."
        case .invalidPickle, .unsupportedPickleOpcode:
            "The checkpoint was not written by torch.save of a state dict; in Python, load it and save model.state_dict() (or convert it to safetensors)."
        case .disallowedGlobal:
            "Only tensors and plain containers are read. Save just the state dict (torch.save(model.state_dict(), path)) or convert it to safetensors."
        case .noStateDict:
            "Save a dict of tensors (optionally under \"state_dict\" or \"model\"), for example torch.save(model.state_dict(), path)."
        case .duplicateKey:
            "Remove one of the duplicates, e.g. a checkpoint that mixes \"module.\"-prefixed and plain keys."
        case .invalidHuggingFaceFolder:
            "The folder needs config.json and model.safetensors (or pytorch_model.bin, or a sharded index) of a transformers CLIPModel."
        case .writeFailed: "Check that the directory exists, is writable and has free space."
        case .limitExceeded:
            "The file is damaged or was not written by torch.save or safetensors; export the state dict again (torch.save(model.state_dict(), path) or safetensors)."
        }
    }
}
