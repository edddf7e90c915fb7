import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase

/// One row of `web_session`: a signed-in session or a sign-in waiting for its second factor.
public struct WebSessionRecord: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case session
        case pending
    }

    public var kind: Kind
    public var login: MailboxID
    /// The session's CSRF token (worth nothing without the cookie, whose token is kept only
    /// as its SHA-256).
    public var csrf: String
    public var started: Double
    public var lastSeen: Double
    public var attempts: Int

    init(_ row: SQLRow) throws {
        guard let kind = Kind(rawValue: try row.get("kind")), let login = MailboxID(try row.get("login")) else {
            throw SQLError.typeMismatch(column: "kind", expected: "a session row", found: "another")
        }
        self.kind = kind
        self.login = login
        csrf = try row.get("csrf")
        started = try row.get("started")
        lastSeen = try row.get("last_seen")
        attempts = Int(try row.get("attempts", as: Int64.self))
    }
}

/// The web inbox's sessions in the database (`store.12-shared-logins`), so a session made on one
/// node is good on every node of a shared database and survives a restart. Rows are named by
/// the SHA-256 of the cookie's token; the token itself is never stored.
extension Directory {
    public func insertWebSession(
        key: Data, kind: WebSessionRecord.Kind, login: MailboxID, csrf: String, now: Double
    ) throws {
        try database.write { db in
            try db.execute(
                """
                INSERT INTO web_session (token_sha256, kind, login, csrf, started, last_seen, attempts)
                VALUES (?, ?, ?, ?, ?, ?, 0)
                """,
                [.blob([UInt8](key)), .text(kind.rawValue), .text(login.rawValue), .text(csrf), .real(now), .real(now)])
        }
    }

    public func webSession(key: Data) throws -> WebSessionRecord? {
        try database.readStatement { db in
            try db.one("SELECT * FROM web_session WHERE token_sha256 = ?", [.blob([UInt8](key))]).map(
                WebSessionRecord.init)
        }
    }

    /// Records a request of the session at `now`.
    public func touchWebSession(key: Data, now: Double) throws {
        try database.write { db in
            try db.execute(
                "UPDATE web_session SET last_seen = ? WHERE token_sha256 = ? AND last_seen < ?",
                [.real(now), .blob([UInt8](key)), .real(now)])
        }
    }

    /// Counts one more code for the pending sign-in `key`, if it has fewer than `limit` and began
    /// after `since`; returns it then, else removes it and returns nil. One statement, so two
    /// nodes cannot both take the last attempt.
    public func attemptPendingSignIn(key: Data, limit: Int, since: Double) throws -> WebSessionRecord? {
        try database.write { db in
            let row = try db.one(
                """
                UPDATE web_session SET attempts = attempts + 1
                WHERE token_sha256 = ? AND kind = 'pending' AND attempts < ? AND started > ? RETURNING *
                """, [.blob([UInt8](key)), .integer(Int64(limit)), .real(since)])
            guard let row else {
                try db.execute("DELETE FROM web_session WHERE token_sha256 = ?", [.blob([UInt8](key))])
                return nil
            }
            return try WebSessionRecord(row)
        }
    }

    public func removeWebSession(key: Data) throws {
        try database.write { db in
            try db.execute("DELETE FROM web_session WHERE token_sha256 = ?", [.blob([UInt8](key))])
        }
    }

    /// Removes sessions idle since before `idleSince` or begun before `startedSince`, and pending
    /// sign-ins begun before `pendingSince`.
    public func removeExpiredWebSessions(idleSince: Double, startedSince: Double, pendingSince: Double) throws {
        try database.write { db in
            try db.execute(
                """
                DELETE FROM web_session WHERE (kind = 'session' AND (last_seen < ? OR started < ?))
                    OR (kind = 'pending' AND started < ?)
                """, [.real(idleSince), .real(startedSince), .real(pendingSince)])
        }
    }

    /// Records TOTP time step `step` as used by `login`; false when it, or a later one, was used
    /// already — on any node (RFC 6238 §5.2: a code is accepted once).
    public func useSecondFactorStep(_ step: Int64, login: MailboxID) throws -> Bool {
        try database.write { db in
            try db.execute(
                "UPDATE mailbox SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
                [.integer(step), .text(login.rawValue), .integer(step)]) == 1
        }
    }
}

/// Password failures in the database (`auth_failure`), so a lockout earned on one node holds on
/// every node of a shared database (`DirectoryAuthenticator`). Keys are stored as their SHA-256:
/// they name client addresses.
extension Directory {
    /// Whether logins on this database may come through other nodes too (PostgreSQL), so what
    /// a login leaves behind — failures above all — must be counted in the database.
    public var isShared: Bool { database.dialect == .postgres }

    static func failureKey(_ name: String) -> String { Hashing.sha256(Data(name.utf8)).lowercaseHex }

    /// The failures counted against each of `keys` whose last failure is at or after `since`.
    public func authFailures(_ keys: [String], since: Double) throws -> [String: Int] {
        let hashed = Dictionary(keys.map { (Self.failureKey($0), $0) }, uniquingKeysWith: { first, _ in first })
        return try database.readStatement { db in
            var found: [String: Int] = [:]
            let rows = try db.rows(
                """
                SELECT key_sha256, failures FROM auth_failure
                WHERE key_sha256 IN (\(placeholders(hashed.count))) AND last >= ?
                """, hashed.keys.map { .text($0) } + [.real(since)])
            for row in rows {
                if let name = hashed[try row.get("key_sha256")] {
                    found[name] = Int(try row.get("failures", as: Int64.self))
                }
            }
            return found
        }
    }

    /// Counts one failure against each of `keys` at `now`, starting afresh for a key whose last
    /// failure was before `since`, and drops rows older than that.
    public func recordAuthFailure(_ keys: [String], now: Double, since: Double) throws {
        try database.write { db in
            for key in keys {
                try db.execute(
                    """
                    INSERT INTO auth_failure (key_sha256, failures, last) VALUES (?, 1, ?)
                    ON CONFLICT (key_sha256) DO UPDATE SET
                        failures = CASE WHEN auth_failure.last < ? THEN 1 ELSE auth_failure.failures + 1 END,
                        last = excluded.last
                    """, [.text(Self.failureKey(key)), .real(now), .real(since)])
            }
            try db.execute("DELETE FROM auth_failure WHERE last < ?", [.real(since)])
        }
    }

    /// Forgets the failures of `keys` (a success proves the client knows the secret).
    public func forgetAuthFailures(_ keys: [String]) throws {
        try database.write { db in
            for key in keys {
                try db.execute("DELETE FROM auth_failure WHERE key_sha256 = ?", [.text(Self.failureKey(key))])
            }
        }
    }
}
