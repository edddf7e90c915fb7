import Foundation
import MailvoxCore
import MailvoxCrypto

/// Logs IMAP users in against the mailbox directory: mailbox id and password, failures
/// counted per (mailbox, address) up to `[auth] max_failures` and per address alone up to
/// the much higher `[auth] max_failures_per_address`, with `FailureCounter`.
///
/// An attempt counts as a failure from the moment it starts and is refunded on success, so
/// passwords sent in parallel on many connections get no more checks than sent one by one.
/// On a shared database (several nodes) finished failures are also counted in `auth_failure`,
/// and a key locked there is refused on every node; attempts in flight are counted per node.
/// An unknown mailbox costs the same scrypt work as a wrong password, so timing does not
/// tell which ids exist; and while a key is locked no password is checked at all.
public struct DirectoryAuthenticator: Authenticator {
    let directory: Directory
    let store: MessageStore
    let limits: MessageLimits
    let auth: Configuration.Auth
    let quota: Configuration.Quota
    let failures: FailureCounter
    /// Ends members' change streams of departments they leave; one per server.
    let watcher: AccessWatcher

    public init(
        directory: Directory, store: MessageStore, limits: MessageLimits, auth: Configuration.Auth,
        quota: Configuration.Quota = .init()
    ) {
        self.directory = directory
        self.store = store
        self.limits = limits
        self.auth = auth
        self.quota = quota
        self.watcher = AccessWatcher(directory: directory)
        self.failures = FailureCounter(
            maxFailures: auth.maxFailures, lockoutSeconds: Double(auth.lockoutSeconds), baseDelay: .seconds(1))
    }

    /// The counter keys of one attempt: (mailbox, address) with the tight limit, the address
    /// alone with the loose one. Ids are case-insensitive in the directory; the keys agree.
    func keys(mailbox: String, client: ClientAddress) -> [FailureCounter.Key] {
        [
            FailureCounter.Key("\(mailbox.lowercased())|\(client)", maxFailures: auth.maxFailures),
            FailureCounter.Key("\(client)", maxFailures: auth.effectiveMaxFailuresPerAddress),
        ]
    }

    public func authenticate(mailbox: String, password: String, client: ClientAddress) async -> AuthenticationResult {
        let keys = keys(mailbox: mailbox, client: client)
        let directory = self.directory
        // On a shared database the failures other nodes saw count too (docs/SCALE-OUT.md).
        let shared = directory.isShared ? await sharedFailures(keys) : [:]
        if let (delay, locked) = sharedRefusal(keys, shared) {
            // Only the locked keys' lockout is extended, as the node's own counter does.
            await recordShared(locked)
            return .failure(delay: delay)
        }
        let attempt: FailureCounter.Attempt
        switch failures.begin(keys) {
        case .refused(let delay): return .failure(delay: delay)
        case .admitted(let admitted): attempt = admitted
        }
        let id = MailboxID(mailbox)
        let canonical: MailboxID? = await {
            guard let id else {
                _ = try? await Offload.run { try PasswordHasher.verify(password, against: Self.decoyHash) }
                return nil
            }
            return try? await Offload.run { () throws -> MailboxID? in
                guard let record = try directory.mailbox(id) else {
                    _ = try PasswordHasher.verify(password, against: Self.decoyHash)
                    return nil
                }
                return try directory.verifyPassword(record.id, password: password) ? record.id : nil
            }
        }()
        guard let canonical else {
            let delay = failures.failed(attempt)
            if directory.isShared { await recordShared(keys) }
            return .failure(delay: delay)
        }
        // Only the (mailbox, address) failures are forgiven: knowing this mailbox's password
        // says nothing about the other mailboxes tried from the same address.
        failures.succeeded(attempt, forgetting: [keys[0].name])
        if shared[keys[0].name] != nil {
            _ = try? await Offload.run { try directory.forgetAuthFailures([keys[0].name]) }
        }
        return .success(await openStore(for: canonical, client: client))
    }

    // MARK: - Failures counted in a shared database

    /// The failures counted in the database against `keys` within the lockout. A database that
    /// does not answer counts none: this node's own counter still holds.
    private func sharedFailures(_ keys: [FailureCounter.Key]) async -> [String: Int] {
        let (directory, since) = (self.directory, Date().timeIntervalSince1970 - failures.lockoutSeconds)
        return (try? await Offload.run { try directory.authFailures(keys.map(\.name), since: since) }) ?? [:]
    }

    /// The delay of a refusal and the keys locked by failures counted on any node; nil when
    /// none is.
    private func sharedRefusal(
        _ keys: [FailureCounter.Key], _ shared: [String: Int]
    ) -> (Duration, [FailureCounter.Key])? {
        let locked = keys.filter { key in shared[key.name].map { $0 >= key.maxFailures } ?? false }
        guard !locked.isEmpty else { return nil }
        let delay = locked.map { failures.delay(afterFailures: shared[$0.name, default: 0] + 1, limit: $0.maxFailures) }
        return (delay.max() ?? failures.baseDelay, locked)
    }

    private func recordShared(_ keys: [FailureCounter.Key]) async {
        let (directory, now) = (self.directory, Date().timeIntervalSince1970)
        let since = now - failures.lockoutSeconds
        _ = try? await Offload.run { try directory.recordAuthFailure(keys.map(\.name), now: now, since: since) }
    }

    /// The store a login of `canonical` from `client` works in, once its credentials (a
    /// password, or a web session or personal token that one made) are proven: its own mailbox,
    /// and under `Shared/` every department it is a member of. Records the login in the audit
    /// logs that keep one, unless `recordingLogin` is false (a web session opened again on
    /// another node: the same sign-in, already recorded).
    public func openStore(
        for canonical: MailboxID, client: ClientAddress, recordingLogin: Bool = true
    ) async -> any MailStore {
        let actor = "\(canonical.rawValue) from \(client)"
        let auditor = MailboxStore.Auditor(login: canonical.rawValue, address: client.rawValue)
        // A department's audit log names every login into it: its own, and each member's.
        let store = self.store
        let audited =
            await
            (try? Offload.run { () throws -> Bool in
                if recordingLogin {
                    for department in try directory.sharedMailboxes(of: canonical) {
                        try? store.recordAudit(
                            mailbox: department.id,
                            AuditEntry(actor: auditor.login, address: auditor.address, action: "login"))
                    }
                }
                guard try directory.hasMembers(canonical) else { return false }
                if recordingLogin {
                    try? store.recordAudit(
                        mailbox: canonical, AuditEntry(actor: auditor.login, address: auditor.address, action: "login"))
                }
                return true
            }) ?? false
        return NamespaceStore(
            personal: MailboxStore(
                mailbox: canonical, store: store, limits: limits, quotaDefaults: quota, actor: actor,
                auditor: audited ? auditor : nil),
            shared: MemberMailboxes(
                login: canonical, directory: directory, store: store, limits: limits, quotaDefaults: quota,
                watcher: watcher, actor: actor, auditor: auditor))
    }

    /// A hash no password matches, verified in place of a missing mailbox's.
    static let decoyHash: String = (try? PasswordHasher.standard.hash(UUID().uuidString)) ?? ""
}
