import MailvoxCore

/// Why an alert was not sent, and whether trying again can help.
///
/// `permanent` decides between the queue's backoff and the dead letter at once: a 5xx from
/// the relay, a 4xx from a gateway other than 408/429, a certificate that does not verify
/// and a configuration that cannot work will not get better by waiting. Descriptions never
/// carry caller data or secrets (they end up in `job.last_error` and in `mailbox show`).
public enum NotifyError: MailvoxFailure, Equatable {
    /// The relay could not be reached or the connection broke (transient).
    case connection(String)
    /// The relay answered `code` to `command`.
    case smtpReply(command: String, code: Int, text: String)
    /// The relay's certificate chain did not verify against the trust store for `host`.
    case certificate(host: String, reason: String)
    /// A gateway answered with an HTTP status.
    case httpStatus(Int, body: String)
    /// A gateway could not be reached, or its answer could not be read (transient).
    case http(String)
    /// The configuration cannot work (missing secret, `security = "none"` to a remote host).
    case configuration(String)
    /// The alert's sealed copy is gone or unreadable.
    case alertCopy(String)
    /// The message exceeds the relay's announced SIZE.
    case tooLarge(size: Int, limit: Int)

    public var kind: FailureKind {
        if case .configuration = self { return .input }
        return .runtime
    }

    /// Retrying cannot help: the queue dead-letters the job at once.
    public var isPermanent: Bool {
        switch self {
        case .connection, .http, .alertCopy: false
        case .smtpReply(_, let code, _): code >= 500
        case .certificate, .configuration, .tooLarge: true
        case .httpStatus(let status, _): (400..<500).contains(status) && status != 408 && status != 429
        }
    }

    public var description: String {
        switch self {
        case .connection(let reason): "SMTP relay: \(reason)"
        case .smtpReply(let command, let code, let text): "SMTP relay answered \(command) with \(code) \(text)"
        case .certificate(let host, let reason):
            "SMTP relay \(host): certificate not trusted (\(reason)); set [smtp] ca_file to the relay's CA"
        case .httpStatus(let status, let body): "SMS gateway answered HTTP \(status)\(body.isEmpty ? "" : ": " + body)"
        case .http(let reason): "SMS gateway: \(reason)"
        case .configuration(let reason): reason
        case .alertCopy(let reason): "alert copy: \(reason)"
        case .tooLarge(let size, let limit): "alert of \(size) bytes exceeds the relay's SIZE limit of \(limit)"
        }
    }
}
