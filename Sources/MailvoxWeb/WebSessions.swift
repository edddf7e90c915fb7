import Foundation
import MailvoxCore
import MailvoxCrypto
import Synchronization

/// The web inbox's signed-in sessions, in memory (docs/WEB.md): a random 256-bit token in a
/// cookie, kept here only as its SHA-256, so neither a memory dump nor a timing difference in
/// the lookup gives a usable cookie away. A session ends at sign-out, after `idle` unused, and
/// `lifetime` after sign-in, whichever comes first; a restart ends them all.
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
        let started: Date
        var lastSeen: Date
        /// A TOTP secret shown for enrolment, kept until a code from it confirms it.
        var enrolling: String?
    }

    /// A sign-in whose password was right, waiting for its second factor's code.
    struct Pending: Sendable {
        let login: MailboxID
        let profile: Profile
        let store: any MailStore
        let started: Date
        var attempts: Int
    }

    /// A pending sign-in lasts this long and takes this many codes; then the password again.
    static let pendingSeconds: TimeInterval = 300
    static let pendingAttempts = 5

    private let sessions = Mutex<[Data: Session]>([:])
    private let pending = Mutex<[Data: Pending]>([:])
    /// The newest TOTP time step accepted per login: a code is good once (RFC 6238 §5.2).
    private let usedSteps = Mutex<[String: Int64]>([:])
    let idle: TimeInterval
    let lifetime: TimeInterval

    init(idle: TimeInterval, lifetime: TimeInterval) {
        self.idle = idle
        self.lifetime = lifetime
    }

    /// A new session for `login`; the returned token goes into the cookie and nowhere else.
    func start(
        login: MailboxID, profile: Profile, store: any MailStore, now: Date = Date()
    ) -> (token: String, session: Session) {
        let token = Secrets.token()
        let session = Session(
            login: login, profile: profile, store: store, csrf: Secrets.token(), started: now, lastSeen: now)
        sessions.withLock { all in
            all = all.filter { !expired($0.value, now: now) }
            all[Self.key(token)] = session
        }
        return (token, session)
    }

    /// The session `token` names, refreshed, or nil when there is none or it has run out.
    func find(_ token: String, now: Date = Date()) -> Session? {
        let key = Self.key(token)
        return sessions.withLock { all in
            guard var session = all[key] else { return nil }
            if expired(session, now: now) {
                all[key] = nil
                return nil
            }
            session.lastSeen = now
            all[key] = session
            return session
        }
    }

    /// Whether `token` still names a live session, without refreshing it (an event stream's check).
    func isLive(_ token: String, now: Date = Date()) -> Bool {
        sessions.withLock { all in all[Self.key(token)].map { !expired($0, now: now) } ?? false }
    }

    /// Holds a sign-in until its code arrives; the returned token goes into a cookie.
    func hold(login: MailboxID, profile: Profile, store: any MailStore, now: Date = Date()) -> String {
        let token = Secrets.token()
        pending.withLock { all in
            all = all.filter { now.timeIntervalSince($0.value.started) < Self.pendingSeconds }
            all[Self.key(token)] = Pending(login: login, profile: profile, store: store, started: now, attempts: 0)
        }
        return token
    }

    /// The pending sign-in `token` names, counting one more attempt; nil once it ran out.
    func attempt(_ token: String, now: Date = Date()) -> Pending? {
        pending.withLock { all in
            let key = Self.key(token)
            guard var entry = all[key], now.timeIntervalSince(entry.started) < Self.pendingSeconds,
                entry.attempts < Self.pendingAttempts
            else {
                all[key] = nil
                return nil
            }
            entry.attempts += 1
            all[key] = entry
            return entry
        }
    }

    func release(_ token: String) {
        _ = pending.withLock { $0.removeValue(forKey: Self.key(token)) }
    }

    /// Records `step` as used by `login`; false when it (or a later one) was used already.
    func use(step: Int64, login: MailboxID) -> Bool {
        usedSteps.withLock { steps in
            let key = login.rawValue.lowercased()
            if let last = steps[key], step <= last { return false }
            steps[key] = step
            return true
        }
    }

    /// Sets or clears the enrolment secret of the session `token` names.
    func setEnrolling(_ secret: String?, for token: String) {
        sessions.withLock { all in all[Self.key(token)]?.enrolling = secret }
    }

    func end(_ token: String) {
        _ = sessions.withLock { $0.removeValue(forKey: Self.key(token)) }
    }

    var count: Int { sessions.withLock { $0.count } }

    private func expired(_ session: Session, now: Date) -> Bool {
        now.timeIntervalSince(session.lastSeen) >= idle || now.timeIntervalSince(session.started) >= lifetime
    }

    static func key(_ token: String) -> Data { Hashing.sha256(Data(token.utf8)) }
}
