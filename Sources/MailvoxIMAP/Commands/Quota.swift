import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// The one quota root of a mailbox: every folder counts against the same limits.
    static let quotaRoot = ""

    /// GETQUOTAROOT (RFC 9208 §4.3.2): every folder has the mailbox's one root, `""`; without
    /// limits there is no root at all, and no QUOTA response.
    mutating func getQuotaRoot(_ name: MailboxName, tag: String) async throws {
        guard let store = state.store else { return }
        // A folder that does not exist has no quota root (NO [NONEXISTENT]).
        _ = try await store.status(of: name.name)
        let quota = try await store.quota()
        let resources = Self.quotaResources(quota)
        send(.quotaRoot(name, roots: resources.isEmpty ? [] : [Self.quotaRoot]))
        if !resources.isEmpty { send(.quota(root: Self.quotaRoot, resources)) }
        await ok(tag, "GETQUOTAROOT completed")
    }

    /// GETQUOTA (RFC 9208 §4.3.1) of the mailbox's root.
    mutating func getQuota(_ root: String, tag: String) async throws {
        guard let store = state.store else { return }
        let resources = Self.quotaResources(try await store.quota())
        guard root == Self.quotaRoot, !resources.isEmpty else {
            no(tag, code: .nonExistent, "No such quota root")
            return
        }
        send(.quota(root: Self.quotaRoot, resources))
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
