/// The stable error codes of the public contract (docs/DESIGN.md §3.3): HTTP bodies carry them, and
/// tools match on them, so a code never changes meaning once released.
public enum ErrorCode: String, Sendable, CaseIterable, Codable {
    case unauthorized
    case mailboxNotFound = "mailbox_not_found"
    case notFound = "not_found"
    case badRequest = "bad_request"
    case payloadTooLarge = "payload_too_large"
    case unsupportedMediaType = "unsupported_media_type"
    case audioEmpty = "audio_empty"
    case audioTruncated = "audio_truncated"
    case audioNotAudio = "audio_not_audio"
    case audioUnsupportedCodec = "audio_unsupported_codec"
    case audioSilence = "audio_silence"
    case audioTooShort = "audio_too_short"
    case audioTooLong = "audio_too_long"
    case insufficientStorage = "insufficient_storage"
    /// The mailbox has reached its quota.
    case mailboxFull = "mailbox_full"
    /// An idempotency key used again with a different recording (the same one is a duplicate).
    case idempotencyMismatch = "idempotency_mismatch"
    /// Storage the node needs (the database server, the bucket) does not answer right now:
    /// nothing was stored; the same request may be sent again later (`Retry-After`).
    case unavailable

    /// The HTTP status that carries this code.
    public var httpStatus: Int {
        switch self {
        case .unauthorized: 401
        case .mailboxNotFound, .notFound: 404
        case .badRequest: 400
        case .payloadTooLarge: 413
        case .unsupportedMediaType: 415
        case .audioEmpty, .audioTruncated, .audioNotAudio, .audioUnsupportedCodec, .audioSilence, .audioTooShort,
            .audioTooLong, .idempotencyMismatch:
            422
        case .insufficientStorage, .mailboxFull: 507
        case .unavailable: 503
        }
    }
}
