import MailvoxCore

/// Failures of key handling; each says which file or key and what to do.
public enum CryptoError: MailvoxFailure, Equatable {
    case keyFileMissing(path: String)
    case keyFileInsecure(path: String, mode: String)
    case keyFileMalformed(path: String)
    case keyFileExists(path: String)
    case io(path: String, reason: String)
    /// A wrapped key was made under another master key than the one loaded.
    case wrongMasterKey(expected: String, found: String)
    /// A wrapped key does not open: damaged, or bound to another owner.
    case unwrapFailed(context: String)
    case malformedPasswordHash

    public var kind: FailureKind {
        switch self {
        case .keyFileMissing, .keyFileInsecure, .keyFileMalformed, .keyFileExists, .wrongMasterKey: .input
        case .io, .unwrapFailed, .malformedPasswordHash: .runtime
        }
    }

    public var description: String {
        switch self {
        case .keyFileMissing(let path): "\(path): no such key file"
        case .keyFileInsecure(let path, let mode):
            "\(path) is readable by group or others (mode \(mode)); run chmod 600 \(path)"
        case .keyFileMalformed(let path): "\(path) is not a Mailvox master key"
        case .keyFileExists(let path): "\(path) already exists; refusing to overwrite a key"
        case .io(let path, let reason): "\(path): \(reason)"
        case .wrongMasterKey(let expected, let found):
            "a key is wrapped under master key \(found), but master key \(expected) is loaded"
        case .unwrapFailed(let context): "the wrapped private key of \(context) does not open (damaged or not its own)"
        case .malformedPasswordHash: "a stored password hash is malformed"
        }
    }
}
