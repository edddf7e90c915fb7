import Foundation
import MailvoxCore
import MailvoxDatabase

/// The `MailStore` of one mailbox over the sealed Maildir and its index: what a logged-in
/// IMAP session gets, for its own mailbox or, with `member`, for a department it is a member
/// of. Blocking work (SQLite, fsync, decryption) runs off the caller's threads; store errors
/// become `MailStoreError`s the protocol layer maps to response codes.
///
/// A member's store enforces the member's rights (RFC 4314) itself: every call first reads
/// them from the directory, in the same offloaded step as its work, so a right taken away is
/// refused at the very next call, whatever the caller — and the change streams it hands out
/// end when the member loses `r` (`AccessWatcher`).
public struct MailboxStore: MailStore {
    public let mailbox: MailboxID
    /// The login working through this store when it is not the mailbox's own.
    let member: MailboxID?
    let watcher: AccessWatcher?
    let store: MessageStore
    /// APPEND's limits: `[imap] max_message_bytes` and the parser's header and nesting limits.
    let limits: MessageLimits
    /// `[quota]`: the limits of a mailbox that sets none of its own.
    let quotaDefaults: MailvoxCore.Configuration.Quota
    /// Who works through this store, as Recently Deleted records an expunge's author: the
    /// login and the client's address (`1000 from 192.0.2.7`).
    let actor: String
    /// Who to name in the mailbox's audit log, when it keeps one: a department's (a mailbox with
    /// members), for its members and its own login alike.
    let auditor: Auditor?

    /// The login and client address an audit entry names.
    public struct Auditor: Sendable {
        public let login: String
        public let address: String

        public init(login: String, address: String) {
            self.login = login
            self.address = address
        }
    }

    public init(
        mailbox: MailboxID, store: MessageStore, limits: MessageLimits,
        quotaDefaults: MailvoxCore.Configuration.Quota = .init(), actor: String? = nil, member: MailboxID? = nil,
        watcher: AccessWatcher? = nil, auditor: Auditor? = nil
    ) {
        self.auditor = auditor
        self.member = member
        self.watcher = watcher
        self.actor = actor ?? mailbox.rawValue
        self.mailbox = mailbox
        self.store = store
        self.limits = limits
        self.quotaDefaults = quotaDefaults
    }

    public func folders() async throws(MailStoreError) -> [FolderInfo] {
        // RFC 3501 has no order; clients show INBOX first, and so does this.
        try await run(needing: .lookup) { store, mailbox in
            try store.folders(mailbox: mailbox).sorted { a, b in
                a.name == "INBOX" ? b.name != "INBOX" : b.name != "INBOX" && a.name < b.name
            }
        }
    }

    public func createFolder(_ name: String) async throws(MailStoreError) {
        try await run(needing: .createFolders) { store, mailbox in
            try store.createFolder(mailbox: mailbox, name: name)
            audit(store, mailbox, "create", folder: name)
        }
    }

    public func deleteFolder(_ name: String) async throws(MailStoreError) {
        try await run(needing: .deleteFolders) { store, mailbox in
            try store.deleteFolder(mailbox: mailbox, name: name, deletedBy: actor)
            audit(store, mailbox, "delete", folder: name)
        }
    }

    public func renameFolder(_ name: String, to newName: String) async throws(MailStoreError) {
        try await run(needing: [.deleteFolders, .createFolders]) { store, mailbox in
            try store.renameFolder(mailbox: mailbox, from: name, to: newName)
            audit(store, mailbox, "rename", folder: name, detail: "to \(newName)")
        }
    }

    public func setSubscribed(_ name: String, _ subscribed: Bool) async throws(MailStoreError) {
        try await run(needing: .lookup) { store, mailbox in
            try store.setSubscribed(mailbox: mailbox, folder: name, subscribed)
        }
    }

    public func subscriptions() async throws(MailStoreError) -> [String] {
        try await run(needing: .lookup) { store, mailbox in try store.subscriptions(mailbox: mailbox) }
    }

    public func status(of folder: String) async throws(MailStoreError) -> FolderStatus {
        try await runChecked(needing: .read) { store, mailbox, rights in
            var status = try store.status(mailbox: mailbox, folder: folder)
            status.rights = rights
            return status
        }
    }

    public func snapshot(of folder: String) async throws(MailStoreError) -> FolderSnapshot {
        try await runChecked(needing: .read) { store, mailbox, rights in
            var snapshot = try store.snapshot(mailbox: mailbox, folder: folder)
            snapshot.status.rights = rights
            audit(store, mailbox, "open", folder: folder)
            return snapshot
        }
    }

    public func claimRecent(in folder: String) async throws(MailStoreError) -> Range<UInt32> {
        do {
            return try await run(needing: .read) { store, mailbox in
                try store.claimRecent(mailbox: mailbox, folder: folder)
            }
        } catch .storage(let reason) where DiskSpace.isDiskFullError(reason) {
            // Claiming is the one write a SELECT makes. On a full disk the folder still opens:
            // its new messages stay unclaimed (not \Recent here) for a later session to claim.
            return 0..<0
        }
    }

    public func changes(of folder: String) async throws(MailStoreError) -> AsyncStream<FolderChange> {
        let stream = try await run(needing: .read) { store, mailbox in
            try store.changes(mailbox: mailbox, folder: folder)
        }
        guard let member, let watcher else { return stream }
        return watcher.watch(stream, member: member, mailbox: mailbox)
    }

    public func summaries(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [MessageSummary] {
        try await run(needing: .read) { store, mailbox in
            try store.summaries(mailbox: mailbox, folder: folder, uids: uids)
        }
    }

    public func structure(in folder: String, uid: UInt32) async throws(MailStoreError) -> ParsedMessage {
        try await run(needing: .read) { store, mailbox in
            try store.structure(mailbox: mailbox, folder: folder, uid: uid)
        }
    }

    public func structures(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: ParsedMessage] {
        try await run(needing: .read) { store, mailbox in
            try store.structures(mailbox: mailbox, folder: folder, uids: uids)
        }
    }

    public func headers(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: [UInt8]] {
        try await run(needing: .read) { store, mailbox in
            try store.headers(mailbox: mailbox, folder: folder, uids: uids)
        }
    }

    public func content(in folder: String, uid: UInt32, range: Range<Int>?) async throws(MailStoreError) -> [UInt8] {
        try await run(needing: .read) { store, mailbox in
            let data: Data
            if let range {
                data = try store.read(
                    mailbox: mailbox, folder: folder, uid: uid, offset: range.lowerBound, length: range.count)
            } else {
                data = try store.read(mailbox: mailbox, folder: folder, uid: uid)
            }
            return [UInt8](data)
        }
    }

    public func append(
        to folder: String, message: [UInt8], flags: MessageFlags, internalDate: Date?
    ) async throws(MailStoreError) -> AppendedMessage {
        let limits = self.limits
        let defaults = quotaDefaults
        return try await run(needing: .insert) { store, mailbox in
            // RFC 9208 §5: an APPEND past the quota is refused with OVERQUOTA. Read, then
            // written: two sessions appending at once may pass the limit by one message.
            let quota = try store.quota(mailbox: mailbox, defaults: defaults)
            guard quota.limits.admits(quota.usage, adding: message.count, messages: 1) else {
                throw MailStoreError.overQuota
            }
            let (uidValidity, summary) = try store.append(
                mailbox: mailbox, folder: folder, message: Data(message), internalDate: internalDate ?? Date(),
                flags: flags, limits: limits)
            audit(store, mailbox, "append", folder: folder, detail: "UID \(summary.uid)")
            return AppendedMessage(uidValidity: uidValidity, summary: summary)
        }
    }

    public func storeFlags(
        in folder: String, uids: [UInt32], operation: FlagOperation, flags requested: MessageFlags,
        unchangedSince: UInt64?
    ) async throws(MailStoreError) -> FlagUpdate {
        // RFC 4314 §4: a STORE SHOULD NOT fail when the login may change at least one of its
        // flags; those it may not change are left alone. A replace may clear any flag, so it
        // needs every right that guards one; one that names nothing permitted is refused.
        let needed = operation == .replace ? Rights.needed(toStore: operation, requested) : []
        return try await runChecked(needing: needed) { store, mailbox, rights in
            let flags = operation == .replace ? requested : rights.permitted(requested)
            if flags != requested && flags == MessageFlags() {
                let missing = Rights.needed(toStore: operation, requested).subtracting(rights)
                throw MailStoreError.noPermission("this needs the \(missing.letters) right in \(mailbox.rawValue)")
            }
            let (changed, failed) = try store.storeFlags(
                mailbox: mailbox, folder: folder, uids: uids, operation: operation, flags: flags,
                unchangedSince: unchangedSince)
            if !changed.isEmpty {
                audit(
                    store, mailbox, "flags", folder: folder,
                    detail: "\(Self.describe(operation, flags)) \(Self.describe(changed.map(\.uid)))")
            }
            return FlagUpdate(changed: changed, failed: failed)
        }
    }

    public func expunge(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32] {
        try await run(needing: .expunge) { store, mailbox in
            let removed = try store.expunge(mailbox: mailbox, folder: folder, uids: uids, deletedBy: actor)
            if !removed.isEmpty { audit(store, mailbox, "expunge", folder: folder, detail: Self.describe(removed)) }
            return removed
        }
    }

    public func copy(
        from folder: String, uids: [UInt32], to target: String, removingSource: Bool
    ) async throws(MailStoreError) -> CopiedMessages {
        let defaults = quotaDefaults
        return try await run(needing: removingSource ? [.read, .insert, .deleteMessages, .expunge] : [.read, .insert]) {
            store, mailbox in
            if !removingSource {
                let quota = try store.quota(mailbox: mailbox, defaults: defaults)
                if quota.limits.isLimited {
                    let sizes = try store.summaries(mailbox: mailbox, folder: folder, uids: uids).map(\.size)
                    guard quota.limits.admits(quota.usage, adding: sizes.reduce(0, +), messages: sizes.count) else {
                        throw MailStoreError.overQuota
                    }
                }
            }
            let pairs = try store.copy(
                mailbox: mailbox, from: folder, uids: uids, to: target, expungingSource: removingSource)
            let uidValidity = try store.status(mailbox: mailbox, folder: target).uidValidity
            if !pairs.isEmpty {
                audit(
                    store, mailbox, removingSource ? "move" : "copy", folder: folder,
                    detail: "\(Self.describe(pairs.map(\.source))) to \(target)")
            }
            return CopiedMessages(
                uidValidity: uidValidity,
                pairs: pairs.map { CopiedMessages.UIDPair(source: $0.source, target: $0.target) })
        }
    }

    public func expunged(in folder: String, since modseq: UInt64) async throws(MailStoreError) -> [UInt32] {
        try await run(needing: .read) { store, mailbox in
            try store.expunged(mailbox: mailbox, folder: folder, since: modseq)
        }
    }

    public func search(in folder: String, _ criterion: SearchCriterion) async throws(MailStoreError) -> [UInt32] {
        try await run(needing: .read) { store, mailbox in try store.search(mailbox: mailbox, folder: folder, criterion)
        }
    }

    public func quota() async throws(MailStoreError) -> MailboxQuota {
        let defaults = quotaDefaults
        return try await run(needing: .lookup) { store, mailbox in try store.quota(mailbox: mailbox, defaults: defaults)
        }
    }

    /// Runs `work` off the caller's threads, after checking that the login holds `needed`,
    /// and translates its failure.
    private func run<T: Sendable>(
        needing needed: Rights, _ work: @escaping @Sendable (MessageStore, MailboxID) throws -> T
    ) async throws(MailStoreError) -> T {
        try await runChecked(needing: needed) { store, mailbox, _ in try work(store, mailbox) }
    }

    /// `run`, with the rights the login holds handed to `work`.
    private func runChecked<T: Sendable>(
        needing needed: Rights, _ work: @escaping @Sendable (MessageStore, MailboxID, Rights) throws -> T
    ) async throws(MailStoreError) -> T {
        let store = self.store
        let mailbox = self.mailbox
        let member = self.member
        do {
            return try await Offload.run {
                let rights =
                    try member.map { try Self.rights(of: $0, in: mailbox, store: store, needing: needed) } ?? .all
                return try work(store, mailbox, rights)
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// `member`'s rights in `mailbox`, read now; refused unless they hold `needed`.
    static func rights(
        of member: MailboxID, in mailbox: MailboxID, store: MessageStore, needing needed: Rights
    ) throws -> Rights {
        guard
            let rights = try store.database.read({ db in
                try Directory.rights(db, member: member, mailbox: mailbox)
            })
        else { throw MailStoreError.noPermission("\(member.rawValue) is not a member of \(mailbox.rawValue)") }
        let missing = needed.subtracting(rights)
        guard missing.isEmpty else {
            throw MailStoreError.noPermission("this needs the \(missing.letters) right in \(mailbox.rawValue)")
        }
        return rights
    }

    // MARK: Access

    public func myRights(in folder: String) async throws(MailStoreError) -> Rights {
        try await runChecked(needing: []) { store, mailbox, rights in
            _ = try store.status(mailbox: mailbox, folder: folder)
            return rights
        }
    }

    /// The owner (whose rights are all, and fixed) and the members.
    public func accessList(of folder: String) async throws(MailStoreError) -> [ACLEntry] {
        try await run(needing: .administer) { store, mailbox in
            _ = try store.status(mailbox: mailbox, folder: folder)
            let directory = Directory(database: store.database)
            return [ACLEntry(identifier: mailbox.rawValue, rights: .all)]
                + (try directory.members(of: mailbox)).map {
                    ACLEntry(identifier: $0.member.rawValue, rights: $0.rights)
                }
        }
    }

    /// SETACL and DELETEACL: the identifier is a mailbox id (a person); `anyone`,
    /// `authenticated` and negative rights are not kept, and the owner's rights never change.
    public func setAccess(of folder: String, identifier: String, rights: Rights?) async throws(MailStoreError) {
        try await run(needing: .administer) { store, mailbox in
            _ = try store.status(mailbox: mailbox, folder: folder)
            guard let person = MailboxID(identifier), !identifier.hasPrefix("-") else {
                throw MailStoreError.noPermission("identifier \(identifier) is not a mailbox id")
            }
            guard person.rawValue.lowercased() != mailbox.rawValue.lowercased() else {
                throw MailStoreError.noPermission("the owner's rights cannot change")
            }
            let directory = Directory(database: store.database)
            do {
                if let rights, !rights.isEmpty {
                    try directory.setMember(person, of: mailbox, rights: rights)
                } else {
                    try directory.removeMember(person, of: mailbox)
                }
            } catch let error as DirectoryError {
                throw MailStoreError.noPermission(error.description)
            }
            audit(store, mailbox, "acl", folder: folder, detail: "\(person.rawValue) \(rights?.letters ?? "")")
        }
    }

    // MARK: Audit

    /// Records what was just done in the mailbox's audit log, when it keeps one. The work is
    /// done and committed by then: a failure to record is not the client's failure, so it
    /// neither fails nor undoes the command.
    func audit(_ store: MessageStore, _ mailbox: MailboxID, _ action: String, folder: String?, detail: String? = nil) {
        guard let auditor else { return }
        try? store.recordAudit(
            mailbox: mailbox,
            AuditEntry(actor: auditor.login, address: auditor.address, action: action, folder: folder, detail: detail))
    }

    /// `+\Seen \Flagged`, `-$Label1`, `\Seen` (a replace).
    static func describe(_ operation: FlagOperation, _ flags: MessageFlags) -> String {
        let sign = operation == .add ? "+" : operation == .remove ? "-" : ""
        let names =
            SystemFlags.names.filter { flags.system.contains($0.flag) }.map(\.imap) + flags.keywords.sorted()
        return sign + (names.isEmpty ? "()" : names.joined(separator: " "))
    }

    /// UIDs as `UID 3,4,9`, the first 50 of a long list and how many more.
    static func describe(_ uids: [UInt32]) -> String {
        let shown = uids.prefix(50).map(String.init).joined(separator: ",")
        return "UID " + shown + (uids.count > 50 ? " and \(uids.count - 50) more" : "")
    }

    static func translate(_ error: any Error) -> MailStoreError {
        (error as? MailStoreError) ?? .storage(String(describing: error))
    }
}
