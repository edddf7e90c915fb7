import Foundation
import GRDB
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import Synchronization

/// The mailbox directory: mailboxes, their passwords and keys, their folders, API tokens and
/// the node key. Every change is one transaction.
public final class Directory: Sendable {
    let database: any SQLDatabase
    private let hasher: PasswordHasher
    /// The node's public key once read (`nodePublicKey`).
    private let nodeKeyCache = Mutex<Data?>(nil)

    public init(database: any SQLDatabase, hasher: PasswordHasher = .standard) {
        self.database = database
        self.hasher = hasher
    }

    /// The directory on the one SQLite file, as every caller before the SQL seam built it.
    public convenience init(database: DatabasePool, hasher: PasswordHasher = .standard) {
        self.init(database: GRDBDatabase(database), hasher: hasher)
    }

    // MARK: - Node key

    /// Creates the node key pair; `init` calls it once.
    public func createNodeKey(master: MasterKey) throws {
        let (publicKey, wrapped) = try KeyPairs.generate(for: .node, under: master)
        try database.write { db in
            guard try db.scalar(Int.self, "SELECT COUNT(*) FROM node_key") == 0 else {
                throw DirectoryError.nodeKeyExists
            }
            try db.execute(
                """
                INSERT INTO node_key (id, public_key, wrapped_private_key, master_key_id, created_at)
                VALUES (1, ?, ?, ?, ?)
                """, sqlValues(publicKey, wrapped.sealed, wrapped.masterKeyID, Date()))
        }
    }

    public func hasNodeKey() throws -> Bool {
        try database.read { db in try db.scalar(Int.self, "SELECT COUNT(*) FROM node_key") == 1 }
    }

    /// The node's public key: all `mailvox deposit` needs to seal a deposit.
    /// Read once: the node key pair is made once per installation and never changes, and every
    /// deposit seals to it.
    public func nodePublicKey() throws -> Data {
        if let key = nodeKeyCache.withLock({ $0 }) { return key }
        guard let key = try database.read({ db in try db.scalar(Data.self, "SELECT public_key FROM node_key") })
        else {
            throw DirectoryError.nodeKeyMissing
        }
        nodeKeyCache.withLock { $0 = key }
        return key
    }

    /// The master key id every wrapped key in the directory was made with.
    public func masterKeyIDs() throws -> Set<String> {
        try database.read { db in
            Set(
                try db.column(String.self, "SELECT master_key_id FROM node_key UNION SELECT master_key_id FROM mailbox")
            )
        }
    }

    // MARK: - Mailboxes

    /// Adds a mailbox with its key pair and default folders; fails if the id is taken.
    @discardableResult
    public func addMailbox(
        id: MailboxID, settings: MailboxSettings, password: String, master: MasterKey
    ) throws
        -> Mailbox
    {
        guard let name = settings.name else { throw DirectoryError.invalid(field: "--name", reason: "is required") }
        var mailbox = Mailbox(
            id: id, name: name, emails: settings.emails ?? [], smsNumbers: settings.smsNumbers ?? [],
            timeZone: settings.timeZone ?? nil, language: settings.language ?? nil,
            attachAudio: settings.attachAudio ?? true, deleteAfterEmail: settings.deleteAfterEmail ?? false,
            createdAt: Date(), updatedAt: Date())
        try Self.validate(mailbox)
        // Checked again inside the transaction; here so a taken id is reported before a weak password.
        if let taken = try database.read({ db in try Self.taken(id, in: db) }) { throw taken }
        try Self.validatePassword(password)
        let passwordHash = try hasher.hash(password)
        let (publicKey, wrapped) = try KeyPairs.generate(for: .mailbox(id.rawValue), under: master)
        mailbox.createdAt = Self.truncated(mailbox.createdAt)
        mailbox.updatedAt = mailbox.createdAt
        try database.write { db in
            if let taken = try Self.taken(id, in: db) { throw taken }
            try db.execute(
                """
                INSERT INTO mailbox (id, display_name, emails, sms_numbers, time_zone, language, attach_audio,
                    delete_after_email, password_hash, public_key, wrapped_private_key, master_key_id,
                    created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                sqlValues(
                    id.rawValue, mailbox.name, Self.json(mailbox.emails), Self.json(mailbox.smsNumbers),
                    mailbox.timeZone, mailbox.language, mailbox.attachAudio, mailbox.deleteAfterEmail, passwordHash,
                    publicKey, wrapped.sealed, wrapped.masterKeyID, mailbox.createdAt, mailbox.updatedAt,
                ))
            for folder in DefaultFolders.all {
                try Self.insertFolder(db, mailbox: id, name: folder.name, specialUse: folder.specialUse)
            }
            if let aliases = settings.aliases {
                mailbox.aliases = try Self.replaceAliases(db, of: id, with: aliases)
            }
            mailbox.quotaMB = settings.quotaMB ?? nil
            mailbox.quotaMessages = settings.quotaMessages ?? nil
            mailbox.trashDays = settings.trashDays ?? nil
            mailbox.inboxDays = settings.inboxDays ?? nil
            mailbox.savedDays = settings.savedDays ?? nil
            try Self.writeQuota(db, of: mailbox)
        }
        return mailbox
    }

    /// The mailbox, unless it does not exist or was removed (`mailbox remove`): a removed
    /// mailbox takes no login, deposit or mail and is listed nowhere until it is undeleted.
    public func mailbox(_ id: MailboxID) throws -> Mailbox? {
        try mailbox(id, includingRemoved: false)
    }

    /// One statement, its aliases included (a deposit and a delivery each ask; on PostgreSQL a
    /// transaction of two statements took four round trips).
    public func mailbox(_ id: MailboxID, includingRemoved: Bool) throws -> Mailbox? {
        try database.readStatement { db in
            try db.one(
                "\(Self.selectMailbox(db.dialect)) WHERE id = ?" + (includingRemoved ? "" : " AND removed_at IS NULL"),
                sqlValues(id.rawValue)
            ).map { try Self.mailbox($0) }
        }
    }

    /// `SELECT` of every column `mailbox(_:)` reads, for a `WHERE` to follow: the row and a
    /// column `alias_list` of its aliases, one per line (addresses hold no line breaks), so a
    /// mailbox is one statement, and a list of them is one, not one more per mailbox.
    static func selectMailbox(_ dialect: SQLDialect) -> String {
        let aggregate =
            switch dialect {
            case .sqlite: "group_concat(address, char(10))"
            case .postgres: "string_agg(address, chr(10))"
            }
        return """
            SELECT *, (SELECT \(aggregate) FROM mailbox_alias WHERE mailbox_alias.mailbox_id = mailbox.id) AS alias_list \
            FROM mailbox
            """
    }

    public func requireMailbox(_ id: MailboxID) throws -> Mailbox {
        guard let mailbox = try mailbox(id) else { throw DirectoryError.unknownMailbox(id.rawValue) }
        return mailbox
    }

    public func mailboxes() throws -> [Mailbox] {
        try database.read { db in
            try db.rows("\(Self.selectMailbox(db.dialect)) WHERE removed_at IS NULL ORDER BY id").map {
                try Self.mailbox($0)
            }
        }
    }

    /// Changes the given settings; the rest stay.
    @discardableResult
    public func updateMailbox(_ id: MailboxID, settings: MailboxSettings) throws -> Mailbox {
        try database.write { db in
            guard
                let row = try db.one(
                    "\(Self.selectMailbox(db.dialect)) WHERE id = ? AND removed_at IS NULL", sqlValues(id.rawValue))
            else { throw DirectoryError.unknownMailbox(id.rawValue) }
            var mailbox = try Self.mailbox(row)
            if let name = settings.name { mailbox.name = name }
            if let emails = settings.emails { mailbox.emails = emails }
            if let numbers = settings.smsNumbers { mailbox.smsNumbers = numbers }
            if let zone = settings.timeZone { mailbox.timeZone = zone }
            if let language = settings.language { mailbox.language = language }
            if let attach = settings.attachAudio { mailbox.attachAudio = attach }
            if let delete = settings.deleteAfterEmail { mailbox.deleteAfterEmail = delete }
            if let quota = settings.quotaMB { mailbox.quotaMB = quota }
            if let quota = settings.quotaMessages { mailbox.quotaMessages = quota }
            if let days = settings.trashDays { mailbox.trashDays = days }
            if let days = settings.inboxDays { mailbox.inboxDays = days }
            if let days = settings.savedDays { mailbox.savedDays = days }
            mailbox.updatedAt = Self.truncated(Date())
            try Self.validate(mailbox)
            try db.execute(
                """
                UPDATE mailbox SET display_name = ?, emails = ?, sms_numbers = ?, time_zone = ?, language = ?,
                    attach_audio = ?, delete_after_email = ?, updated_at = ?
                WHERE id = ?
                """,
                sqlValues(
                    mailbox.name, Self.json(mailbox.emails), Self.json(mailbox.smsNumbers), mailbox.timeZone,
                    mailbox.language, mailbox.attachAudio, mailbox.deleteAfterEmail, mailbox.updatedAt,
                    mailbox.id.rawValue,
                ))
            if let aliases = settings.aliases {
                mailbox.aliases = try Self.replaceAliases(db, of: mailbox.id, with: aliases)
            }
            try Self.writeQuota(db, of: mailbox)
            return mailbox
        }
    }

    public func setPassword(_ id: MailboxID, password: String) throws {
        _ = try requireMailbox(id)
        try Self.validatePassword(password)
        let passwordHash = try hasher.hash(password)
        try database.write { db in
            let changed = try db.execute(
                "UPDATE mailbox SET password_hash = ?, updated_at = ? WHERE id = ?",
                sqlValues(passwordHash, Self.truncated(Date()), id.rawValue))
            if changed == 0 { throw DirectoryError.unknownMailbox(id.rawValue) }
        }
    }

    /// True when `password` is the mailbox's; false for a wrong password or an unknown mailbox.
    public func verifyPassword(_ id: MailboxID, password: String) throws -> Bool {
        let row = try database.readStatement { db in
            try db.one(
                "SELECT password_hash, login FROM mailbox WHERE id = ? AND removed_at IS NULL", sqlValues(id.rawValue))
        }
        guard let row else { return false }
        // A mailbox without a login of its own (`--no-login`) costs the same work as a wrong
        // password, so timing does not tell which mailboxes are departments.
        guard try row.field("login") as Bool else {
            _ = try PasswordHasher.verify(password, against: DirectoryAuthenticator.decoyHash)
            return false
        }
        return try PasswordHasher.verify(password, against: try row.field("password_hash"))
    }

    /// Removes a mailbox recoverably (`mailbox remove`): from now on it is as if it did not
    /// exist, but every row and file stays until `[retention] deleted_days` have passed
    /// (`removedMailboxes(before:)`, purged by the maintenance service) or it is undeleted.
    /// Refused while the mailbox is on hold.
    @discardableResult
    public func markRemoved(_ id: MailboxID, at now: Date = Date()) throws -> Mailbox {
        try database.write { db in
            guard
                let row = try db.one(
                    "SELECT * FROM mailbox WHERE id = ? AND removed_at IS NULL", sqlValues(id.rawValue))
            else { throw DirectoryError.unknownMailbox(id.rawValue) }
            if try row.field("held_since") as Int64? != nil { throw DirectoryError.onHold(id.rawValue) }
            try db.execute(
                "UPDATE mailbox SET removed_at = ? WHERE id = ?",
                sqlValues(Int64(now.timeIntervalSince1970), id.rawValue))
            return try Self.mailbox(
                db.one("\(Self.selectMailbox(db.dialect)) WHERE id = ?", sqlValues(id.rawValue))!)
        }
    }

    /// Brings a removed mailbox back as it was (`mailbox undelete`).
    @discardableResult
    public func undelete(_ id: MailboxID) throws -> Mailbox {
        try database.write { db in
            let changed = try db.execute(
                "UPDATE mailbox SET removed_at = NULL WHERE id = ? AND removed_at IS NOT NULL", sqlValues(id.rawValue))
            if changed == 0 { throw DirectoryError.notRemoved(id.rawValue) }
            return try Self.mailbox(
                db.one("\(Self.selectMailbox(db.dialect)) WHERE id = ?", sqlValues(id.rawValue))!)
        }
    }

    /// Every removed mailbox not yet purged, by id.
    public func removedMailboxes() throws -> [Mailbox] {
        try database.read { db in
            try db.rows("\(Self.selectMailbox(db.dialect)) WHERE removed_at IS NOT NULL ORDER BY id").map {
                try Self.mailbox($0)
            }
        }
    }

    /// Mailboxes removed before `cutoff` and not on hold: what the maintenance service purges.
    public func removedMailboxes(before cutoff: Date) throws -> [MailboxID] {
        try database.read { db in
            try db.column(
                String.self, "SELECT id FROM mailbox WHERE removed_at < ? AND held_since IS NULL ORDER BY id",
                sqlValues(Int64(cutoff.timeIntervalSince1970))
            ).compactMap(MailboxID.init)
        }
    }

    /// Deletes the mailbox row for good; its folders go with it (foreign keys cascade).
    public func removeMailbox(_ id: MailboxID) throws {
        try database.write { db in
            let changed = try db.execute("DELETE FROM mailbox WHERE id = ?", sqlValues(id.rawValue))
            if changed == 0 { throw DirectoryError.unknownMailbox(id.rawValue) }
        }
    }

    public func folders(of id: MailboxID) throws -> [FolderSummary] {
        try database.read { db in
            try db.rows(
                "SELECT name, special_use, uid_validity FROM folder WHERE mailbox_id = ? ORDER BY id",
                sqlValues(id.rawValue)
            ).map {
                FolderSummary(
                    name: try $0.field("name"), specialUse: try $0.field("special_use"),
                    uidValidity: try $0.field("uid_validity"))
            }
        }
    }

    // MARK: - API tokens

    /// Creates a token and returns it; only its SHA-256 is stored, so this is the one time it is seen.
    public func createToken(name: String) throws -> String {
        guard Self.isTokenName(name) else {
            throw DirectoryError.invalid(field: "--name", reason: "\"\(name)\" is not 1–64 of [A-Za-z0-9._-]")
        }
        let token = "mvx_" + Secrets.token()
        try database.write { db in
            if try db.scalar(Int.self, "SELECT COUNT(*) FROM api_token WHERE name = ?", sqlValues(name)) != 0 {
                throw DirectoryError.duplicateToken(name)
            }
            try db.execute(
                "INSERT INTO api_token (name, token_sha256, created_at) VALUES (?, ?, ?)",
                sqlValues(name, Self.digest(token), Self.truncated(Date())))
        }
        return token
    }

    public func tokens() throws -> [APIToken] {
        try database.read { db in
            try db.rows("SELECT name, created_at, last_used_at FROM api_token ORDER BY name").map {
                APIToken(
                    name: try $0.field("name"), createdAt: try $0.field("created_at"),
                    lastUsedAt: try $0.field("last_used_at"))
            }
        }
    }

    public func revokeToken(name: String) throws {
        try database.write { db in
            let changed = try db.execute("DELETE FROM api_token WHERE name = ?", sqlValues(name))
            if changed == 0 { throw DirectoryError.unknownToken(name) }
        }
    }

    /// The name of the token `presented` is, or nil; records its use (to the minute).
    public func authenticateToken(_ presented: String) throws -> String? {
        let digest = Self.digest(presented)
        guard
            let row = try database.readStatement({ db in
                try db.one("SELECT name, last_used_at FROM api_token WHERE token_sha256 = ?", sqlValues(digest))
            })
        else { return nil }
        let name: String = try row.field("name")
        let now = Self.truncated(Date())
        // When a token was last used is worth knowing, not worth refusing a PBX for: on a full
        // disk the write fails and the token still works (a status read must keep answering).
        if Self.isStale(try row.field("last_used_at"), now: now) {
            _ = try? database.writeStatement { db in
                try db.execute("UPDATE api_token SET last_used_at = ? WHERE name = ?", sqlValues(now, name))
            }
        }
        return name
    }

    /// Whether a token's `last_used_at` is worth moving to `now`: written at most once a minute,
    /// so a PBX's every request does not commit a write (on PostgreSQL, a WAL flush) to move it
    /// by a second.
    static func isStale(_ lastUsed: Date?, now: Date) -> Bool {
        guard let lastUsed else { return true }
        return now.timeIntervalSince(lastUsed) >= 60
    }

    // MARK: - Rules

    /// The rules a mailbox's settings must keep, whatever the door they came through.
    static func validate(_ mailbox: Mailbox) throws {
        let name = mailbox.name.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw DirectoryError.invalid(field: "--name", reason: "must not be empty") }
        guard name.count <= 200, !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw DirectoryError.invalid(
                field: "--name", reason: "must be at most 200 characters without control characters")
        }
        if let zone = mailbox.timeZone, TimeZone(identifier: zone) == nil {
            throw DirectoryError.invalid(
                field: "--timezone", reason: "\"\(zone)\" is not a time zone name (e.g. Europe/Berlin)")
        }
        if let language = mailbox.language, !isLanguageTag(language) {
            throw DirectoryError.invalid(
                field: "--language", reason: "\"\(language)\" is not a language tag (e.g. de, de-CH)")
        }
        if mailbox.deleteAfterEmail && mailbox.emails.isEmpty {
            throw DirectoryError.invalid(
                field: "--delete-after-email", reason: "needs an --email address, or voicemails would vanish unseen")
        }
        if Set(mailbox.emails).count != mailbox.emails.count {
            throw DirectoryError.invalid(field: "--email", reason: "an address is listed twice")
        }
        if Set(mailbox.smsNumbers).count != mailbox.smsNumbers.count {
            throw DirectoryError.invalid(field: "--sms", reason: "a number is listed twice")
        }
    }

    static func validatePassword(_ password: String) throws {
        guard password.count >= 8 else {
            throw DirectoryError.invalid(field: "password", reason: "must be at least 8 characters")
        }
        guard password.utf8.count <= 1024,
            !password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw DirectoryError.invalid(
                field: "password", reason: "must be at most 1024 bytes without control characters")
        }
    }

    static func isLanguageTag(_ tag: String) -> Bool {
        let parts = tag.split(separator: "-", omittingEmptySubsequences: false)
        guard let first = parts.first, (2...3).contains(first.count), first.allSatisfy({ $0.isASCII && $0.isLetter })
        else { return false }
        return parts.dropFirst().allSatisfy { part in
            (2...8).contains(part.count) && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }
        }
    }

    static func isTokenName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                    || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
            }
    }

    // MARK: - Rows

    /// Why `id` cannot be given to a new mailbox — one has it, or a removed one not yet purged
    /// does — or nil.
    static func taken(_ id: MailboxID, in db: any SQLConnection) throws -> DirectoryError? {
        guard
            let row = try db.one("SELECT removed_at FROM mailbox WHERE id = ?", sqlValues(id.rawValue))
        else { return nil }
        return try row.field("removed_at") as Int64? == nil
            ? .duplicateMailbox(id.rawValue) : .removedMailbox(id.rawValue)
    }

    /// Inserts a folder with a UIDVALIDITY no folder has had, subscribed, so every client
    /// shows it.
    static func insertFolder(_ db: any SQLConnection, mailbox: MailboxID, name: String, specialUse: String?) throws {
        let uidValidity = try nextUIDValidity(db)
        try db.execute(
            """
            INSERT INTO folder (mailbox_id, name, special_use, uid_validity, created_at)
            VALUES (?, ?, ?, ?, ?)
            """, sqlValues(mailbox.rawValue, name, specialUse, uidValidity, Date()))
        try db.execute(
            "INSERT INTO subscription (mailbox_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING",
            sqlValues(mailbox.rawValue, name))
    }

    /// A UIDVALIDITY never given before, recorded as given: the clock's seconds, or one past the
    /// highest ever given — deleted folders' included — whichever is larger (RFC 3501 §2.3.1.1).
    static func nextUIDValidity(_ db: any SQLConnection) throws -> Int64 {
        // One statement reads and raises the highest value given (the migration seeded it with the
        // highest existing one; every value given since came through here). On PostgreSQL the
        // upsert holds the row's lock until commit, so two nodes making folders at once wait for
        // each other's value instead of both reading the same one and giving it twice.
        let now = Int64(Date().timeIntervalSince1970)
        guard
            let next = try db.scalar(
                Int64.self,
                """
                INSERT INTO uid_validity_issued (id, highest) VALUES (1, ?)
                ON CONFLICT (id) DO UPDATE SET highest = CASE
                    WHEN uid_validity_issued.highest + 1 > excluded.highest THEN uid_validity_issued.highest + 1
                    ELSE excluded.highest END
                RETURNING highest
                """, sqlValues(now))
        else { throw SQLError.unexpectedNull(column: "highest") }
        return next
    }

    /// A row of `selectMailbox`.
    private static func mailbox(_ row: SQLRow) throws -> Mailbox {
        let decoder = JSONDecoder()
        guard let id = MailboxID(try row.field("id")) else {
            throw DirectoryError.invalid(field: "mailbox.id", reason: "malformed id in the database")
        }
        return Mailbox(
            id: id, name: try row.field("display_name"),
            emails: try decoder.decode([EmailAddress].self, from: Data((try row.field("emails") as String).utf8)),
            smsNumbers: try decoder.decode(
                [PhoneNumber].self, from: Data((try row.field("sms_numbers") as String).utf8)),
            timeZone: try row.field("time_zone"), language: try row.field("language"),
            attachAudio: try row.field("attach_audio"),
            deleteAfterEmail: try row.field("delete_after_email"),
            aliases: ((try row.field("alias_list") as String?) ?? "").split(separator: "\n").map(String.init).sorted(),
            quotaMB: try row.field("quota_mb"), quotaMessages: try row.field("quota_messages"),
            trashDays: try row.field("trash_days"),
            inboxDays: try row.field("inbox_days"), savedDays: try row.field("saved_days"),
            heldSince: (try row.field("held_since") as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) },
            holdReason: try row.field("hold_reason"),
            removedAt: (try row.field("removed_at") as Int64?).map { Date(timeIntervalSince1970: TimeInterval($0)) },
            login: try row.field("login") ?? true, createdAt: try row.field("created_at"),
            updatedAt: try row.field("updated_at"))
    }

    /// Puts a mailbox on legal hold, or takes it off (`mailbox hold`). Returns the mailbox as it is now.
    @discardableResult
    public func setHold(_ id: MailboxID, on: Bool, reason: String?, at now: Date = Date()) throws -> Mailbox {
        try database.write { db in
            let changed: Int
            if on {
                changed = try db.execute(
                    "UPDATE mailbox SET held_since = COALESCE(held_since, ?), hold_reason = ? WHERE id = ?",
                    sqlValues(Int64(now.timeIntervalSince1970), reason, id.rawValue))
            } else {
                changed = try db.execute(
                    "UPDATE mailbox SET held_since = NULL, hold_reason = NULL WHERE id = ?", sqlValues(id.rawValue))
            }
            if changed == 0 { throw DirectoryError.unknownMailbox(id.rawValue) }
            return try Self.mailbox(
                db.one("\(Self.selectMailbox(db.dialect)) WHERE id = ?", sqlValues(id.rawValue))!)
        }
    }

    /// The mailbox's own limits: quota, and the days of the folder aging rules.
    private static func writeQuota(_ db: any SQLConnection, of mailbox: Mailbox) throws {
        let limits = [
            ("--quota-mb", mailbox.quotaMB), ("--quota-messages", mailbox.quotaMessages),
            ("--trash-days", mailbox.trashDays), ("--inbox-days", mailbox.inboxDays),
            ("--saved-days", mailbox.savedDays),
        ]
        for (field, value) in limits {
            if let value, value < 0 {
                throw DirectoryError.invalid(field: field, reason: "must be 0 (none) or more")
            }
        }
        try db.execute(
            """
            UPDATE mailbox SET quota_mb = ?, quota_messages = ?, trash_days = ?, inbox_days = ?, saved_days = ?
            WHERE id = ?
            """,
            sqlValues(
                mailbox.quotaMB, mailbox.quotaMessages, mailbox.trashDays, mailbox.inboxDays, mailbox.savedDays,
                mailbox.id.rawValue,
            ))
    }

    private static func json<T: Encodable>(_ value: T) -> String {
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data("[]".utf8), as: UTF8.self)
    }

    private static func digest(_ token: String) -> Data { Hashing.sha256(Data(token.utf8)) }

    /// Whole seconds: what SQLite keeps, so values read back compare equal.
    static func truncated(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }
}

extension Directory {
    /// Re-wraps the node's and every mailbox's private key from `old` to `new` in one
    /// transaction (`keys rotate`); blobs and queue files are sealed to public keys and stay.
    public func rewrapKeys(from old: MasterKey, to new: MasterKey) throws -> Int {
        try database.write { db in
            var count = 0
            for row in try db.rows("SELECT wrapped_private_key, master_key_id FROM node_key") {
                let key = try KeyPairs.unwrap(
                    WrappedPrivateKey(
                        masterKeyID: try row.field("master_key_id"), sealed: try row.field("wrapped_private_key")),
                    for: .node,
                    under: old)
                let wrapped = try KeyPairs.wrap(key, for: .node, under: new)
                try db.execute(
                    "UPDATE node_key SET wrapped_private_key = ?, master_key_id = ?",
                    sqlValues(wrapped.sealed, wrapped.masterKeyID))
                count += 1
            }
            for row in try db.rows("SELECT id, wrapped_private_key, master_key_id FROM mailbox") {
                let id: String = try row.field("id")
                let key = try KeyPairs.unwrap(
                    WrappedPrivateKey(
                        masterKeyID: try row.field("master_key_id"), sealed: try row.field("wrapped_private_key")),
                    for: .mailbox(id), under: old)
                let wrapped = try KeyPairs.wrap(key, for: .mailbox(id), under: new)
                try db.execute(
                    "UPDATE mailbox SET wrapped_private_key = ?, master_key_id = ? WHERE id = ?",
                    sqlValues(wrapped.sealed, wrapped.masterKeyID, id))
                count += 1
            }
            return count
        }
    }
}

extension Directory {
    /// The node's private key, unwrapped: what opens sealed deposits and alert copies.
    public func nodeKey(master: MasterKey) throws -> OwnerKey {
        let row = try database.read { db in
            try db.one("SELECT wrapped_private_key, master_key_id FROM node_key")
        }
        guard let row else { throw DirectoryError.nodeKeyMissing }
        return try OwnerKey.open(
            WrappedPrivateKey(
                masterKeyID: try row.field("master_key_id"), sealed: try row.field("wrapped_private_key")), for: .node,
            under: master)
    }
}
