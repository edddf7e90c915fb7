import Foundation
import MailvoxCore

/// The departments one login is a member of, as its `NamespaceStore` reaches them: the list
/// read from the directory on every call, and for each a `MailboxStore` that checks the
/// login's rights itself.
public struct MemberMailboxes: SharedMailboxes {
    let login: MailboxID
    let directory: Directory
    let store: MessageStore
    let limits: MessageLimits
    let quotaDefaults: Configuration.Quota
    let watcher: AccessWatcher
    /// How Recently Deleted names who expunged: `2000 from 192.0.2.7`.
    let actor: String
    /// How the department's audit log names the member.
    let auditor: MailboxStore.Auditor

    public init(
        login: MailboxID, directory: Directory, store: MessageStore, limits: MessageLimits,
        quotaDefaults: Configuration.Quota, watcher: AccessWatcher, actor: String, auditor: MailboxStore.Auditor
    ) {
        self.auditor = auditor
        self.login = login
        self.directory = directory
        self.store = store
        self.limits = limits
        self.quotaDefaults = quotaDefaults
        self.watcher = watcher
        self.actor = actor
    }

    public func list() async throws(MailStoreError) -> [SharedMailbox] {
        let directory = self.directory
        let login = self.login
        do {
            return try await Offload.run { try directory.sharedMailboxes(of: login) }
        } catch {
            throw MailboxStore.translate(error)
        }
    }

    public func store(for id: MailboxID) -> any MailStore {
        MailboxStore(
            mailbox: id, store: store, limits: limits, quotaDefaults: quotaDefaults, actor: actor, member: login,
            watcher: watcher, auditor: auditor)
    }
}
