import MailvoxAudio
import MailvoxCore

/// Why a front door refused a deposit, or a job failed; `code` is the stable HTTP code.
public enum PipelineError: MailvoxFailure {
    case mailboxNotFound(String)
    /// The mailbox has reached its quota (`[quota]`, `mailbox set --quota-mb`).
    case mailboxFull(String)
    case badRequest(String)
    case audio(AudioError)
    case payloadTooLarge(size: Int, limit: Int)
    case insufficientStorage(free: Int, minimum: Int)
    case corruptDeposit(String)
    case io(path: String, reason: String)
    /// The idempotency key was used before for this mailbox with a different recording.
    case idempotencyMismatch(mailbox: String, depositID: String)

    public var code: ErrorCode? {
        switch self {
        case .mailboxNotFound: .mailboxNotFound
        case .mailboxFull: .mailboxFull
        case .badRequest: .badRequest
        case .audio(let error): error.code
        case .payloadTooLarge: .payloadTooLarge
        case .insufficientStorage: .insufficientStorage
        case .idempotencyMismatch: .idempotencyMismatch
        case .corruptDeposit, .io: nil
        }
    }

    public var kind: FailureKind {
        switch self {
        case .mailboxNotFound, .badRequest, .payloadTooLarge, .idempotencyMismatch: .input
        case .audio(let error): error.kind
        case .mailboxFull, .insufficientStorage, .corruptDeposit, .io: .runtime
        }
    }

    public var description: String {
        switch self {
        case .mailboxNotFound(let id): "unknown mailbox \(id)"
        case .mailboxFull(let id):
            "mailbox_full: mailbox \(id) has reached its quota; nothing was queued (the owner must delete voicemail, or raise it with `mailvox mailbox set \(id) --quota-mb N`)"
        case .badRequest(let reason): reason
        case .audio(let error): error.description
        case .payloadTooLarge(let size, let limit): "the recording is \(size) bytes; the limit is \(limit)"
        case .insufficientStorage(let free, let minimum):
            "only \(free / 1_048_576) MiB free, below server.min_free_bytes (\(minimum / 1_048_576) MiB); nothing was queued"
        case .corruptDeposit(let reason): "sealed deposit is corrupt: \(reason)"
        case .io(let path, let reason): "\(path): \(reason)"
        case .idempotencyMismatch(let mailbox, let first):
            "idempotency_mismatch: the idempotency key was already used in mailbox \(mailbox) for a different recording (deposit \(first)); nothing was queued, use a new key"
        }
    }
}
