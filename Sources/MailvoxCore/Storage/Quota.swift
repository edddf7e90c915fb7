/// How much of its quota a mailbox uses: every message of every folder (Trash included, as
/// Dovecot counts), in octets as stored and in messages.
public struct QuotaUsage: Sendable, Equatable, Codable {
    public var bytes: Int
    public var messages: Int

    public init(bytes: Int, messages: Int) {
        self.bytes = bytes
        self.messages = messages
    }
}

/// A mailbox's limits (RFC 9208 resources STORAGE and MESSAGE); nil is no limit.
public struct QuotaLimits: Sendable, Equatable, Codable {
    public var bytes: Int?
    public var messages: Int?

    public init(bytes: Int? = nil, messages: Int? = nil) {
        self.bytes = bytes
        self.messages = messages
    }

    /// The limits of a mailbox's settings (MiB and messages; nil takes the default, 0 is none).
    public init(megabytes: Int?, messages: Int?, defaults: Configuration.Quota) {
        let mb = megabytes ?? defaults.defaultMB
        let count = messages ?? defaults.defaultMessages
        self.init(bytes: mb > 0 ? mb * 1_048_576 : nil, messages: count > 0 ? count : nil)
    }

    public static let none = QuotaLimits()

    public var isLimited: Bool { bytes != nil || messages != nil }

    /// Whether `usage` has reached a limit: a front door takes no more voicemail then.
    public func isFull(_ usage: QuotaUsage) -> Bool {
        (bytes.map { usage.bytes >= $0 } ?? false) || (messages.map { usage.messages >= $0 } ?? false)
    }

    /// Whether `usage` stays within the limits after adding `bytes` in `messages` messages
    /// (IMAP APPEND and COPY, RFC 9208 §5: refused with OVERQUOTA otherwise).
    public func admits(_ usage: QuotaUsage, adding bytes: Int, messages: Int) -> Bool {
        (self.bytes.map { usage.bytes + bytes <= $0 } ?? true)
            && (self.messages.map { usage.messages + messages <= $0 } ?? true)
    }

    /// The highest share of a limit `usage` takes, in percent (0 without limits).
    public func percentUsed(_ usage: QuotaUsage) -> Int {
        let shares = [bytes.map { usage.bytes * 100 / max($0, 1) }, messages.map { usage.messages * 100 / max($0, 1) }]
        return shares.compactMap { $0 }.max() ?? 0
    }
}

/// A mailbox's limits and usage together, as GETQUOTAROOT and `mailbox show` report them.
public struct MailboxQuota: Sendable, Equatable {
    public var limits: QuotaLimits
    public var usage: QuotaUsage

    public init(limits: QuotaLimits, usage: QuotaUsage) {
        self.limits = limits
        self.usage = usage
    }

    public var isFull: Bool { limits.isFull(usage) }
}
