import Foundation
import MailvoxCore

/// A mailbox as the directory knows it: who owns it and how they are alerted. No secrets.
public struct Mailbox: Sendable, Equatable, Codable {
    public var id: MailboxID
    public var name: String
    public var emails: [EmailAddress]
    public var smsNumbers: [PhoneNumber]
    /// IANA zone for times shown to the owner; nil uses `server.default_timezone`.
    public var timeZone: String?
    /// BCP 47 tag choosing template variants (`de-CH`, `de`); nil uses the default templates.
    public var language: String?
    public var attachAudio: Bool
    public var deleteAfterEmail: Bool
    /// Addresses that reach this mailbox through the SMTP/LMTP door besides `ID@domain`,
    /// lower-cased: `grace@example.com`, or a local part alone for every accepted domain.
    public var aliases: [String] = []
    /// MiB this mailbox may store; nil takes `[quota] default_mb`, 0 is no limit.
    public var quotaMB: Int? = nil
    /// Messages this mailbox may store; nil takes `[quota] default_messages`, 0 is no limit.
    public var quotaMessages: Int? = nil
    /// On legal hold since then (`mailbox hold`): no retention rule purges anything of it and
    /// `mailbox remove` is refused.
    /// Days before Trash, INBOX and Saved age into Recently Deleted; nil takes `[retention]`'s,
    /// 0 is never (docs/OPERATIONS.md).
    public var trashDays: Int? = nil
    public var inboxDays: Int? = nil
    public var savedDays: Int? = nil
    public var heldSince: Date? = nil
    public var holdReason: String? = nil
    /// Removed then (`mailbox remove`), recoverable with `mailbox undelete` until purged.
    public var removedAt: Date? = nil
    /// Whether the mailbox's own id and password log in; a department's members always use
    /// their own (`--no-login`, docs/DEPARTMENTS.md).
    public var login: Bool = true
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, emails
        case smsNumbers = "sms"
        case timeZone = "timezone"
        case language
        case attachAudio = "attach_audio"
        case deleteAfterEmail = "delete_after_email"
        case aliases
        case quotaMB = "quota_mb"
        case quotaMessages = "quota_messages"
        case trashDays = "trash_days"
        case inboxDays = "inbox_days"
        case savedDays = "saved_days"
        case heldSince = "held_since"
        case holdReason = "hold_reason"
        case removedAt = "removed_at"
        case login
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// Unset time zone and language are `null` in JSON, so tools see every field.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(emails, forKey: .emails)
        try container.encode(smsNumbers, forKey: .smsNumbers)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(language, forKey: .language)
        try container.encode(attachAudio, forKey: .attachAudio)
        try container.encode(deleteAfterEmail, forKey: .deleteAfterEmail)
        try container.encode(aliases, forKey: .aliases)
        try container.encode(quotaMB, forKey: .quotaMB)
        try container.encode(quotaMessages, forKey: .quotaMessages)
        try container.encode(trashDays, forKey: .trashDays)
        try container.encode(inboxDays, forKey: .inboxDays)
        try container.encode(savedDays, forKey: .savedDays)
        try container.encode(heldSince, forKey: .heldSince)
        try container.encode(holdReason, forKey: .holdReason)
        try container.encode(removedAt, forKey: .removedAt)
        try container.encode(login, forKey: .login)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// What `mailbox add` and `mailbox set` ask for; nil fields are left as they are (or defaulted).
public struct MailboxSettings: Sendable, Equatable {
    public var name: String?
    public var emails: [EmailAddress]?
    public var smsNumbers: [PhoneNumber]?
    /// `.some(nil)` clears the zone.
    public var timeZone: String??
    public var language: String??
    public var attachAudio: Bool?
    public var deleteAfterEmail: Bool?
    /// Replaces the aliases when set.
    public var aliases: [String]?
    /// `.some(nil)` returns to the `[quota]` default.
    public var quotaMB: Int??
    public var quotaMessages: Int??
    /// `.some(nil)` returns to the `[retention]` default.
    public var trashDays: Int??
    public var inboxDays: Int??
    public var savedDays: Int??

    public init(
        name: String? = nil, emails: [EmailAddress]? = nil, smsNumbers: [PhoneNumber]? = nil, timeZone: String?? = nil,
        language: String?? = nil, attachAudio: Bool? = nil, deleteAfterEmail: Bool? = nil, aliases: [String]? = nil,
        quotaMB: Int?? = nil, quotaMessages: Int?? = nil
    ) {
        self.aliases = aliases
        self.quotaMB = quotaMB
        self.quotaMessages = quotaMessages
        self.name = name
        self.emails = emails
        self.smsNumbers = smsNumbers
        self.timeZone = timeZone
        self.language = language
        self.attachAudio = attachAudio
        self.deleteAfterEmail = deleteAfterEmail
    }
}

/// A folder of a mailbox, as `mailbox show` lists it.
public struct FolderSummary: Sendable, Equatable, Codable {
    public var name: String
    public var specialUse: String?
    public var uidValidity: Int64

    enum CodingKeys: String, CodingKey {
        case name
        case specialUse = "special_use"
        case uidValidity = "uid_validity"
    }
}

/// An API token's public facts; the token itself is shown once and never stored.
public struct APIToken: Sendable, Equatable, Codable {
    public var name: String
    public var createdAt: Date
    public var lastUsedAt: Date?

    enum CodingKeys: String, CodingKey {
        case name
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }
}

/// The folders every new mailbox starts with (docs/DESIGN.md §6) and their RFC 6154 special use.
enum DefaultFolders {
    static let all: [(name: String, specialUse: String?)] = [
        ("INBOX", nil), ("Saved", "\\Archive"), ("Trash", "\\Trash"), ("Greetings", nil),
        (FolderInfo.recentlyDeleted, nil),
    ]
}
