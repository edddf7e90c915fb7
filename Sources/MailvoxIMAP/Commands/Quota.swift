import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// GETQUOTAROOT (RFC 9208 §4.3.2): a folder of the login's own mailbox has the root `""`, a
    /// folder of a shared mailbox that mailbox's level (`Shared/2100 Support`): every folder of
    /// a mailbox counts against the same limits. Without limits there is no root at all, and
    /// no QUOTA response.
    mutating func getQuotaRoot(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        // A folder that does not exist has no quota root (NO [NONEXISTENT]).
        let root = try await store.quotaRoot(of: name.name)
        let resources = Self.quotaResources(try await store.quota(root: root))
        send(.quotaRoot(name, roots: resources.isEmpty ? [] : [root]))
        if !resources.isEmpty { send(.quota(root: root, resources)) }
        await ok(tag, "GETQUOTAROOT completed")
    }

    /// GETQUOTA (RFC 9208 §4.3.1) of one of the roots GETQUOTAROOT names.
    mutating func getQuota(_ root: String, tag: String) async throws {
        guard let store = state.store else { return }
        let quota: MailboxQuota
        do {
            quota = try await store.quota(root: root)
        } catch .noSuchFolder, .noPermission {
            no(tag, code: .nonExistent, "No such quota root")
            return
        }
        let resources = Self.quotaResources(quota)
        guard !resources.isEmpty else {
            no(tag, code: .nonExistent, "No such quota root")
            return
        }
        send(.quota(root: root, resources))
        await ok(tag, "GETQUOTA completed")
    }

    /// The limited resources: STORAGE in KiB (usage rounded up, so a mailbox over its limit by
    /// one octet shows it), MESSAGE in messages.
    static func quotaResources(_ quota: MailboxQuota) -> [QuotaResourceUsage] {
        var resources: [QuotaResourceUsage] = []
        if let bytes = quota.limits.bytes {
            resources.append(
                QuotaResourceUsage(
                    "STORAGE", usage: UInt64((quota.usage.bytes + 1023) / 1024), limit: UInt64(bytes / 1024)))
        }
        if let messages = quota.limits.messages {
            resources.append(
                QuotaResourceUsage("MESSAGE", usage: UInt64(quota.usage.messages), limit: UInt64(messages)))
        }
        return resources
    }
}
