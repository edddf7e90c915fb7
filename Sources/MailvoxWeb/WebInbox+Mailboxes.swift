import Foundation
import MailvoxCore

/// A mailbox a login sees: its own, or a department it is a member of (docs/DEPARTMENTS.md).
struct WebMailbox: Sendable {
    let id: String
    let name: String
    let own: Bool
    /// What the store calls this mailbox's folders: `""` for the login's own, else
    /// `Shared/2100 Support/`.
    let prefix: String
    /// Names within the mailbox (`INBOX`, `Saved`…), INBOX first, then the special folders.
    var folders: [FolderInfo]

    func storeName(_ folder: String) -> String { prefix + folder }

    /// The mailbox's Trash: the folder with `\Trash`, else one named Trash.
    var trash: String? {
        folders.first { $0.specialUse == "\\Trash" }?.name ?? folders.first { $0.name == "Trash" }?.name
    }

    /// The mailbox's Saved: `\Archive`, else one named Saved.
    var saved: String? {
        folders.first { $0.specialUse == "\\Archive" }?.name ?? folders.first { $0.name == "Saved" }?.name
    }
}

extension WebInbox {
    /// The folders the web inbox shows, in this order; the others follow by name. Recently
    /// Deleted is for an administrator's recovery (`mailvox mailbox deleted`), not listed here.
    static let folderOrder = ["INBOX", "Saved", "Trash", "Greetings"]

    /// The login's mailboxes, its own first, each with its folders, from one folder listing.
    func mailboxes(_ identity: Identity) async throws(MailStoreError) -> [WebMailbox] {
        let all = try await identity.store.folders()
        var own = WebMailbox(
            id: identity.login.rawValue, name: identity.profile.name, own: true, prefix: "", folders: [])
        var shared: [String: WebMailbox] = [:]
        var sharedOrder: [String] = []
        let sharedRoot = NamespaceStore.sharedPrefix + "/"
        for folder in all where folder.selectable && folder.name != FolderInfo.recentlyDeleted {
            guard folder.name.hasPrefix(sharedRoot) else {
                own.folders.append(folder)
                continue
            }
            // `Shared/2100 Support/INBOX`: the level names the department, id first.
            let rest = folder.name.dropFirst(sharedRoot.count)
            guard let slash = rest.firstIndex(of: FolderInfo.delimiter) else { continue }
            let level = String(rest[..<slash])
            let inner = String(rest[rest.index(after: slash)...])
            guard inner != FolderInfo.recentlyDeleted else { continue }
            let id = String(level.prefix { $0 != " " })
            let name = level.count > id.count ? String(level.dropFirst(id.count + 1)) : id
            if shared[level] == nil {
                shared[level] = WebMailbox(
                    id: id, name: name, own: false, prefix: sharedRoot + level + "/", folders: [])
                sharedOrder.append(level)
            }
            var relative = folder
            relative.name = inner
            shared[level]?.folders.append(relative)
        }
        return ([own] + sharedOrder.compactMap { shared[$0] }).map { mailbox in
            var mailbox = mailbox
            mailbox.folders.sort { a, b in
                let x = Self.folderOrder.firstIndex(of: a.name) ?? Self.folderOrder.count
                let y = Self.folderOrder.firstIndex(of: b.name) ?? Self.folderOrder.count
                return x != y ? x < y : a.name < b.name
            }
            return mailbox
        }
    }

    /// The mailbox `id` of the login, or 404: another mailbox's id answers exactly as one that
    /// does not exist, so ids cannot be probed.
    /// `known` is the login's mailboxes when the caller read them already.
    func mailbox(_ identity: Identity, _ id: String, in known: [WebMailbox]? = nil) async throws -> WebMailbox {
        var all = known ?? []
        if known == nil {
            do {
                all = try await mailboxes(identity)
            } catch {
                throw WebError.from(error)
            }
        }
        guard let found = all.first(where: { $0.id.lowercased() == id.lowercased() }) else {
            throw WebError.notFound("no mailbox \(id)")
        }
        return found
    }

    /// The mailbox and store name of `folder` in mailbox `id`, or 404.
    func folder(
        _ identity: Identity, mailbox id: String, _ folder: String, in known: [WebMailbox]? = nil
    ) async throws -> (mailbox: WebMailbox, storeName: String) {
        let mailbox = try await mailbox(identity, id, in: known)
        guard mailbox.folders.contains(where: { $0.name == folder }) else {
            throw WebError.notFound("no folder \(folder)")
        }
        return (mailbox, mailbox.storeName(folder))
    }
}
