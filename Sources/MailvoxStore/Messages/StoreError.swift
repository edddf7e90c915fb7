import MailvoxCore

/// Why the message store refused or failed a request.
public enum StoreError: MailvoxFailure, Equatable {
    case noSuchFolder(String)
    case folderExists(String)
    case invalidFolderName(String, reason: String)
    /// INBOX and the special-use folders cannot be deleted or renamed away.
    case protectedFolder(String)
    case noSuchMessage(uid: UInt32)
    case messageTooLarge(size: Int, limit: Int)
    /// A message a client uploaded that the MIME parser refuses.
    case malformedMessage(String)
    case unreadable(path: String, reason: String)
    case io(path: String, reason: String)

    public var kind: FailureKind {
        switch self {
        case .noSuchFolder, .folderExists, .invalidFolderName, .protectedFolder, .noSuchMessage, .messageTooLarge,
            .malformedMessage:
            .input
        case .unreadable, .io: .runtime
        }
    }

    public var description: String {
        switch self {
        case .noSuchFolder(let name): "no folder \(name)"
        case .folderExists(let name): "folder \(name) already exists"
        case .invalidFolderName(let name, let reason): "folder name \"\(name)\": \(reason)"
        case .protectedFolder(let name): "folder \(name) cannot be deleted or renamed"
        case .noSuchMessage(let uid): "no message with UID \(uid)"
        case .messageTooLarge(let size, let limit): "message of \(size) bytes exceeds the limit of \(limit)"
        case .malformedMessage(let reason): "message refused: \(reason)"
        case .unreadable(let path, let reason): "\(path): \(reason)"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
