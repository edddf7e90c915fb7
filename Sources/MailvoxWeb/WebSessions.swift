import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxStore
import Synchronization

/// The web inbox's signed-in sessions (docs/WEB.md): a random 256-bit token in a cookie, kept
/// only as its SHA-256 — in the database (`web_session`), so a session made on one node is good
/// on every node of a shared database and survives a restart, and neither a dump nor a timing
/// difference in the lookup gives a usable cookie away. A session ends at sign-out, after
/// `idle` unused, and `lifetime` after sign-in, whichever comes first.
///
/// What a session works with on this node — the profile pages show and the opened store — is
/// kept here per session, and made again from the login when another node made the session.
/// Database calls run on the blocking pool.
final class WebSessions: Sendable {
    /// What pages show of the login, read once at sign-in.
    struct Profile: Sendable {
        let name: String
        /// The mailbox's language; nil follows the browser's Accept-Language.
        let language: String?
        let timeZone: TimeZone
    }

    struct Session: Sendable {
        /// The mailbox (or member) that signed in.
        let login: MailboxID
        let profile: Profile
        let store: any MailStore
        /// Sent back with every state change (a form field or the `X-CSRF-Token` header).
        let csrf: String
        /// A TOTP secret shown for enrolment, kept until a code from it confirms it. Held by the
        /// node that showed it (a secret is never written to the database in clear).
        var enrolling: String?
    }

    /// A sign-in whose password was right, waiting for its second factor's code.
    struct Pending: Sendable {
        let login: MailboxID
        let profile: Profile
        let store: any MailStore
    }

    /// This node's part of a session: what it opened for it.
    private struct Local {
        var profile: Profile
        var store: any MailStore
        var enrolling: String?
        /// When the database last said the session is live (`isLive` asks it every few seconds).
        var confirmed: Double
    }

    /// A pending sign-in lasts this long and takes this many codes; then the password again.
    static let pendingSeconds: TimeInterval = 300
    static let pendingAttempts = 5
    /// `last_seen` is written at most this often per session: the idle timeout is minutes.
    static let touchSeconds: TimeInterval = 30
    /// An event stream asks the database whether its session lives this often.
    static let liveCheckSeconds: TimeInterval = 5

    private let directory: Directory
    private let local = Mutex<[Data: Local]>([:])
    /// The profile and store of `login`, for a session another node (or an earlier run) made.
    private let restore: @Sendable (MailboxID) async -> (Profile, any MailStore)
    let idle: TimeInterval
    let lifetime: TimeInterval

    init(
        directory: Directory, idle: TimeInterval, lifetime: TimeInterval,
        restore: @escaping @Sendable (MailboxID) async -> (Profile, any MailStore)
    ) {
        self.directory = directory
        self.idle = idle
        self.lifetime = lifetime
        self.restore = restore
    }

    /// A new session for `login`; the returned token goes into the cookie and nowhere else.
    func start(login: MailboxID, profile: Profile, store: any MailStore) async throws -> String {
        let (token, csrf, now) = (Secrets.token(), Secrets.token(), Date().timeIntervalSince1970)
        let key = Self.key(token)
        let (directory, idle, lifetime) = (self.directory, self.idle, self.lifetime)
        try await Offload.run {
            try directory.removeExpiredWebSessions(
                idleSince: now - idle, startedSince: now - lifetime, pendingSince: now - Self.pendingSeconds)
            try directory.insertWebSession(key: key, kind: .session, login: login, csrf: csrf, now: now)
        }
        local.withLock { all in
            all = all.filter { now - $0.value.confirmed < lifetime }
            all[key] = Local(profile: profile, store: store, confirmed: now)
        }
        return token
    }

    /// The session `token` names, refreshed, or nil when there is none or it has run out.
    func find(_ token: String) async -> Session? {
        let key = Self.key(token)
        let now = Date().timeIntervalSince1970
        let directory = self.directory
        guard let record = try? await Offload.run({ try directory.webSession(key: key) }), record.kind == .session
        else {
            forget(key)
            return nil
        }
        if now - record.lastSeen >= idle || now - record.started >= lifetime {
            try? await Offload.run { try directory.removeWebSession(key: key) }
            forget(key)
            return nil
        }
        // Written down at most every `touchSeconds`, and often enough for a short idle timeout.
        if now - record.lastSeen >= min(Self.touchSeconds, idle / 4) {
            try? await Offload.run { try directory.touchWebSession(key: key, now: now) }
        }
        let mine = await opened(key, login: record.login, now: now)
        return Session(
            login: record.login, profile: mine.profile, store: mine.store, csrf: record.csrf, enrolling: mine.enrolling)
    }

    /// This node's profile and store for the session `key`, opened now if it has none yet.
    private func opened(_ key: Data, login: MailboxID, now: Double) async -> Local {
        if let mine = local.withLock({ all -> Local? in
            all[key]?.confirmed = now
            return all[key]
        }) {
            return mine
        }
        let (profile, store) = await restore(login)
        let made = Local(profile: profile, store: store, confirmed: now)
        return local.withLock { all in
            if let other = all[key] { return other }
            all[key] = made
            return made
        }
    }

    private func forget(_ key: Data) { _ = local.withLock { $0.removeValue(forKey: key) } }

    /// Whether `token` still names a live session, without refreshing it (an event stream's
    /// check, made every second): a sign-out here answers at once, one on another node within
    /// `liveCheckSeconds`.
    func isLive(_ token: String) async -> Bool {
        let key = Self.key(token)
        let now = Date().timeIntervalSince1970
        guard let confirmed = local.withLock({ $0[key]?.confirmed }) else { return false }
        if now - confirmed < Self.liveCheckSeconds { return true }
        let directory = self.directory
        guard let record = try? await Offload.run({ try directory.webSession(key: key) }), record.kind == .session,
            now - record.lastSeen < idle, now - record.started < lifetime
        else {
            forget(key)
            return false
        }
        local.withLock { $0[key]?.confirmed = now }
        return true
    }

    /// Holds a sign-in until its code arrives; the returned token goes into a cookie.
    func hold(login: MailboxID, profile: Profile, store: any MailStore) async throws -> String {
        let (token, now) = (Secrets.token(), Date().timeIntervalSince1970)
        let key = Self.key(token)
        let directory = self.directory
        try await Offload.run {
            try directory.insertWebSession(key: key, kind: .pending, login: login, csrf: "", now: now)
        }
        local.withLock { $0[key] = Local(profile: profile, store: store, confirmed: now) }
        return token
    }

    /// The pending sign-in `token` names, counting one more attempt; nil once it ran out.
    func attempt(_ token: String) async -> Pending? {
        let key = Self.key(token)
        let now = Date().timeIntervalSince1970
        let directory = self.directory
        guard
            let record = try? await Offload.run({
                try directory.attemptPendingSignIn(
                    key: key, limit: Self.pendingAttempts, since: now - Self.pendingSeconds)
            })
        else {
            forget(key)
            return nil
        }
        let mine = await opened(key, login: record.login, now: now)
        return Pending(login: record.login, profile: mine.profile, store: mine.store)
    }

    /// Records `step` as used by `login`; false when it (or a later one) was used already, on
    /// any node.
    func use(step: Int64, login: MailboxID) async -> Bool {
        let directory = self.directory
        return (try? await Offload.run { try directory.useSecondFactorStep(step, login: login) }) ?? false
    }

    /// Sets or clears the enrolment secret of the session `token` names.
    func setEnrolling(_ secret: String?, for token: String) {
        local.withLock { all in all[Self.key(token)]?.enrolling = secret }
    }

    /// Ends the session or pending sign-in `token` names, on every node.
    func end(_ token: String) async {
        let key = Self.key(token)
        forget(key)
        let directory = self.directory
        try? await Offload.run { try directory.removeWebSession(key: key) }
    }

    static func key(_ token: String) -> Data { Hashing.sha256(Data(token.utf8)) }
}
