import Foundation
import MailvoxCore
import MailvoxDatabase

/// One person's membership of a mailbox (a department): their rights and whether its
/// voicemail alerts reach them (docs/DEPARTMENTS.md).
public struct Membership: Sendable, Equatable, Codable {
    /// The department.
    public var mailbox: MailboxID
    /// The person: a mailbox whose own login reaches the department.
    public var member: MailboxID
    /// The member's display name, for listings.
    public var memberName: String
    public var rights: Rights
    /// The channels (`email`, `sms`) on which the member is alerted of the department's
    /// voicemail, at the addresses of their own mailbox.
    public var alerts: [String]
    public var addedAt: Date

    /// The alert channels a membership may opt into.
    public static let alertChannels = ["email", "sms"]

    enum CodingKeys: String, CodingKey {
        case mailbox, member
        case memberName = "member_name"
        case rights, alerts
        case addedAt = "added_at"
    }

    public init(
        mailbox: MailboxID, member: MailboxID, memberName: String, rights: Rights, alerts: [String], addedAt: Date
    ) {
        self.mailbox = mailbox
        self.member = member
        self.memberName = memberName
        self.rights = rights
        self.alerts = alerts
        self.addedAt = addedAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mailbox = try container.decode(MailboxID.self, forKey: .mailbox)
        member = try container.decode(MailboxID.self, forKey: .member)
        memberName = try container.decode(String.self, forKey: .memberName)
        let letters = try container.decode(String.self, forKey: .rights)
        guard let rights = Rights(letters: letters) else {
            throw DecodingError.dataCorruptedError(forKey: .rights, in: container, debugDescription: "unknown right")
        }
        self.rights = rights
        alerts = try container.decode([String].self, forKey: .alerts)
        addedAt = try container.decode(Date.self, forKey: .addedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(mailbox, forKey: .mailbox)
        try container.encode(member, forKey: .member)
        try container.encode(memberName, forKey: .memberName)
        try container.encode(rights.letters, forKey: .rights)
        try container.encode(alerts, forKey: .alerts)
        try container.encode(addedAt, forKey: .addedAt)
    }
}

extension Directory {
    /// Makes `member` a member of `mailbox` with `rights`, or changes the rights and alerts of
    /// one who is. Both mailboxes must exist and differ; the rights may not be empty.
    @discardableResult
    public func setMember(
        _ member: MailboxID, of mailbox: MailboxID, rights: Rights, alerts: [String]? = nil, at now: Date = Date()
    ) throws -> Membership {
        guard !rights.isEmpty else {
            throw DirectoryError.invalid(field: "--rights", reason: "must name at least one right (e.g. lrs)")
        }
        if let alerts, let unknown = alerts.first(where: { !Membership.alertChannels.contains($0) }) {
            throw DirectoryError.invalid(field: "--alerts", reason: "unknown channel \(unknown) (email, sms)")
        }
        return try database.write { db in
            let department = try Self.liveMailboxID(db, mailbox)
            let person = try Self.liveMailboxID(db, member)
            guard department != person else {
                throw DirectoryError.invalid(field: "member", reason: "a mailbox cannot be a member of itself")
            }
            let existing = try db.one(
                "SELECT alerts FROM member WHERE mailbox_id = ? AND member_id = ?",
                sqlValues(department.rawValue, person.rawValue))
            let channels = try alerts ?? (existing.map { Self.channels(try $0.field("alerts")) } ?? [])
            try db.execute(
                """
                INSERT INTO member (mailbox_id, member_id, rights, alerts, added_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (mailbox_id, member_id) DO UPDATE SET rights = excluded.rights, alerts = excluded.alerts
                """,
                sqlValues(
                    department.rawValue, person.rawValue, rights.letters, channels.joined(separator: ","),
                    Int64(now.timeIntervalSince1970),
                ))
            return try Self.membership(db, mailbox: department, member: person)!
        }
    }

    /// Ends a membership; a session of the member loses the mailbox at its next command, and
    /// one in IDLE there is ended (docs/DEPARTMENTS.md).
    public func removeMember(_ member: MailboxID, of mailbox: MailboxID) throws {
        try database.write { db in
            let changed = try db.execute(
                "DELETE FROM member WHERE mailbox_id = ? AND member_id = ?",
                sqlValues(mailbox.rawValue, member.rawValue))
            if changed == 0 {
                _ = try Self.liveMailboxID(db, mailbox)
                throw DirectoryError.invalid(
                    field: "member", reason: "\(member.rawValue) is not a member of \(mailbox.rawValue)")
            }
        }
    }

    /// The members of `mailbox`, by id.
    public func members(of mailbox: MailboxID) throws -> [Membership] {
        try database.read { db in
            _ = try Self.liveMailboxID(db, mailbox)
            return try db.rows(
                """
                SELECT member.*, mailbox.display_name FROM member JOIN mailbox ON mailbox.id = member.member_id
                WHERE member.mailbox_id = ? AND mailbox.removed_at IS NULL ORDER BY member.member_id
                """, sqlValues(mailbox.rawValue)
            ).compactMap(Self.membership)
        }
    }

    /// The mailboxes `member` may see (`l`), with their display names and the member's rights:
    /// what its login's shared namespace holds.
    public func sharedMailboxes(of member: MailboxID) throws -> [SharedMailbox] {
        try database.readStatement { db in
            try db.rows(
                """
                SELECT member.mailbox_id, member.rights, mailbox.display_name
                FROM member JOIN mailbox ON mailbox.id = member.mailbox_id
                WHERE member.member_id = ? AND mailbox.removed_at IS NULL
                  AND EXISTS (SELECT 1 FROM mailbox AS person WHERE person.id = member.member_id
                              AND person.removed_at IS NULL)
                ORDER BY member.mailbox_id
                """, sqlValues(member.rawValue)
            ).compactMap { row -> SharedMailbox? in
                guard let id = MailboxID(try row.field("mailbox_id")),
                    let rights = Rights(letters: try row.field("rights") as String),
                    rights.contains(.lookup)
                else { return nil }
                return SharedMailbox(id: id, name: try row.field("display_name"), rights: rights)
            }
        }
    }

    /// `member`'s rights in `mailbox` now, nil for none: what every call of a member's store
    /// checks first. A removed mailbox on either side has none.
    static func rights(_ db: any SQLConnection, member: MailboxID, mailbox: MailboxID) throws -> Rights? {
        guard
            let letters = try db.scalar(
                String.self,
                """
                SELECT member.rights FROM member
                JOIN mailbox AS department ON department.id = member.mailbox_id
                JOIN mailbox AS person ON person.id = member.member_id
                WHERE member.mailbox_id = ? AND member.member_id = ?
                  AND department.removed_at IS NULL AND person.removed_at IS NULL
                """, sqlValues(mailbox.rawValue, member.rawValue))
        else { return nil }
        return Rights(letters: letters)
    }

    /// Every (department, member) pair with the member's rights: what the access watcher compares.
    func allRights() throws -> [MemberKey: Rights] {
        try database.read { db in
            var result: [MemberKey: Rights] = [:]
            for row in try db.rows(
                """
                SELECT member.mailbox_id, member.member_id, member.rights FROM member
                JOIN mailbox AS department ON department.id = member.mailbox_id
                JOIN mailbox AS person ON person.id = member.member_id
                WHERE department.removed_at IS NULL AND person.removed_at IS NULL
                """)
            {
                guard let rights = Rights(letters: try row.field("rights") as String) else { continue }
                result[MemberKey(mailbox: try row.field("mailbox_id"), member: try row.field("member_id"))] = rights
            }
            return result
        }
    }

    /// Where `mailbox`'s voicemail alerts go: its own addresses, then those of each member who
    /// opted in on that channel, each address once — one alert per person, however many ways
    /// they are reached (docs/DEPARTMENTS.md).
    public func alertAddresses(of mailbox: Mailbox) throws -> (emails: [EmailAddress], sms: [PhoneNumber]) {
        var emails = mailbox.emails
        var sms = mailbox.smsNumbers
        for membership in try members(of: mailbox.id) where !membership.alerts.isEmpty {
            guard let person = try self.mailbox(membership.member) else { continue }
            if membership.alerts.contains("email") { emails += person.emails }
            if membership.alerts.contains("sms") { sms += person.smsNumbers }
        }
        var seenEmails: Set<String> = []
        var seenNumbers: Set<String> = []
        return (
            emails.filter { seenEmails.insert($0.rawValue.lowercased()).inserted },
            sms.filter { seenNumbers.insert($0.rawValue).inserted }
        )
    }

    /// Whether `mailbox` has members: a mailbox with members keeps an audit log.
    public func hasMembers(_ mailbox: MailboxID) throws -> Bool {
        try database.readStatement { db in
            try db.scalar(
                Bool.self, "SELECT EXISTS (SELECT 1 FROM member WHERE mailbox_id = ?)", sqlValues(mailbox.rawValue))
                ?? false
        }
    }

    /// Turns the mailbox's own login on or off (`--login` / `--no-login`); its members'
    /// logins are theirs and stay.
    public func setLogin(_ id: MailboxID, enabled: Bool) throws {
        try database.write { db in
            let changed = try db.execute(
                "UPDATE mailbox SET login = ?, updated_at = ? WHERE id = ? AND removed_at IS NULL",
                sqlValues(enabled, Self.truncated(Date()), id.rawValue))
            if changed == 0 { throw DirectoryError.unknownMailbox(id.rawValue) }
        }
    }

    // MARK: Rows

    /// The canonical id of a mailbox that exists and is not removed.
    static func liveMailboxID(_ db: any SQLConnection, _ id: MailboxID) throws -> MailboxID {
        guard
            let raw = try db.scalar(
                String.self, "SELECT id FROM mailbox WHERE id = ? AND removed_at IS NULL", sqlValues(id.rawValue)),
            let canonical = MailboxID(raw)
        else { throw DirectoryError.unknownMailbox(id.rawValue) }
        return canonical
    }

    static func membership(_ db: any SQLConnection, mailbox: MailboxID, member: MailboxID) throws -> Membership? {
        try db.one(
            """
            SELECT member.*, mailbox.display_name FROM member JOIN mailbox ON mailbox.id = member.member_id
            WHERE member.mailbox_id = ? AND member.member_id = ?
            """, sqlValues(mailbox.rawValue, member.rawValue)
        ).flatMap(Self.membership)
    }

    static func membership(_ row: SQLRow) throws -> Membership? {
        guard let mailbox = MailboxID(try row.field("mailbox_id")), let member = MailboxID(try row.field("member_id")),
            let rights = Rights(letters: try row.field("rights") as String)
        else { return nil }
        return Membership(
            mailbox: mailbox, member: member, memberName: try row.field("display_name"), rights: rights,
            alerts: channels(try row.field("alerts")),
            addedAt: Date(timeIntervalSince1970: TimeInterval(try row.field("added_at") as Int64)))
    }

    static func channels(_ text: String) -> [String] {
        text.split(separator: ",").map(String.init)
    }
}

/// A (department, member) pair, ids lower-cased as the directory compares them.
struct MemberKey: Hashable, Sendable {
    let mailbox: String
    let member: String

    init(mailbox: String, member: String) {
        self.mailbox = mailbox.lowercased()
        self.member = member.lowercased()
    }
}
