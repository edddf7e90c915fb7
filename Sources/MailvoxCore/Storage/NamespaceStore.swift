import Foundation

/// A mailbox shared with a login: a department it is a member of (docs/DEPARTMENTS.md).
public struct SharedMailbox: Sendable, Equatable {
    public var id: MailboxID
    /// The mailbox's display name.
    public var name: String
    /// The login's rights in it.
    public var rights: Rights

    public init(id: MailboxID, name: String, rights: Rights) {
        self.id = id
        self.name = name
        self.rights = rights
    }

    /// Its level under the shared prefix: `2100 Support`. A `/` of the display name would
    /// start a new level, and `*`/`%` are LIST wildcards, so they become `-`.
    public var level: String {
        let cleaned = String(
            name.unicodeScalars.map { scalar -> Character in
                scalar == "/" || scalar == "*" || scalar == "%" || scalar.properties.generalCategory == .control
                    ? "-" : Character(scalar)
            }
        ).trimmingCharacters(in: .whitespaces)
        return cleaned.isEmpty ? id.rawValue : "\(id.rawValue) \(cleaned)"
    }
}

/// What a login reaches besides its own mailbox.
public protocol SharedMailboxes: Sendable {
    /// The mailboxes shared with the login now, those it holds `l` in, by id. Read afresh on
    /// every call, so a membership removed a moment ago is gone.
    func list() async throws(MailStoreError) -> [SharedMailbox]
    /// The store of mailbox `id` as the login reaches it. It checks the login's rights on every
    /// call, so the rights hold whatever the caller asks; its change streams end when the
    /// login loses `r`.
    func store(for id: MailboxID) -> any MailStore
}

/// A login's whole view as one `MailStore` (RFC 2342 namespaces): its own mailbox's folders
/// under their own names (the personal namespace, no prefix), and every mailbox shared with it
/// under `Shared/<id> <name>/` (the shared namespace), e.g. `Shared/2100 Support/INBOX`.
///
/// It only routes: each name goes to the store that owns it, and every right is checked by
/// that store. A name under `Shared/` that is not a mailbox shared with the login is refused
/// with `noPermission` whether such a mailbox exists or not, so names reveal nothing; so is a
/// first level that is `Shared` in another case, which could only be an attempt to confuse
/// the two namespaces. Copies and moves between mailboxes read each message and append it to
/// the other, since each mailbox's messages are sealed to its own key.
public struct NamespaceStore: MailStore {
    /// The shared namespace's prefix, without its delimiter.
    public static let sharedPrefix = "Shared"

    let personal: any MailStore
    let shared: any SharedMailboxes

    public init(personal: any MailStore, shared: any SharedMailboxes) {
        self.personal = personal
        self.shared = shared
    }

    public var mailbox: MailboxID { personal.mailbox }

    /// Where a name leads.
    enum Target {
        case personal(String)
        /// A folder of a shared mailbox.
        case shared(SharedMailbox, any MailStore, folder: String)
        /// `Shared`, or `Shared/<level>` (nil mailbox for the prefix itself): levels that only
        /// hold folders.
        case container(SharedMailbox?, name: String)
    }

    func resolve(_ name: String) async throws(MailStoreError) -> Target {
        let levels = name.split(separator: FolderInfo.delimiter, maxSplits: 2, omittingEmptySubsequences: false)
        guard levels[0] == Self.sharedPrefix else {
            if levels[0].lowercased() == Self.sharedPrefix.lowercased() {
                throw .noPermission("\(levels[0]) is reserved for the shared namespace")
            }
            return .personal(name)
        }
        guard levels.count > 1 else { return .container(nil, name: name) }
        guard let mailbox = try await shared.list().first(where: { $0.level == levels[1] }) else {
            throw .noPermission("no shared mailbox \(levels[1])")
        }
        guard levels.count > 2 else { return .container(mailbox, name: name) }
        return .shared(mailbox, shared.store(for: mailbox.id), folder: String(levels[2]))
    }

    /// The store and its own name for `name`; a container is no folder.
    func folder(_ name: String) async throws(MailStoreError) -> (store: any MailStore, folder: String) {
        switch try await resolve(name) {
        case .personal(let folder): (personal, folder)
        case .shared(_, let store, let folder): (store, folder)
        case .container: throw .noSuchFolder(name)
        }
    }

    static func prefix(of mailbox: SharedMailbox) -> String { "\(sharedPrefix)/\(mailbox.level)/" }

    /// Which mailbox a name belongs to, as far as the name tells: `Shared/<level>` for a
    /// folder of a shared mailbox, `""` for the login's own. Folders with the same key share
    /// one access list and one quota root.
    public static func mailboxKey(of name: String) -> String {
        let levels = name.split(separator: FolderInfo.delimiter, maxSplits: 2, omittingEmptySubsequences: false)
        guard levels[0] == sharedPrefix, levels.count > 1 else { return "" }
        return "\(sharedPrefix)/\(levels[1])"
    }

    // MARK: Folders

    public func folders() async throws(MailStoreError) -> [FolderInfo] {
        var folders = try await personal.folders().filter {
            $0.name.split(separator: FolderInfo.delimiter).first?.lowercased() != Self.sharedPrefix.lowercased()
        }
        let mailboxes = try await shared.list()
        guard !mailboxes.isEmpty else { return folders }
        // Subscriptions are the login's own, whoever's the folder.
        let subscribed = Set(try await personal.subscriptions())
        folders.append(
            FolderInfo(
                name: Self.sharedPrefix, specialUse: nil, subscribed: subscribed.contains(Self.sharedPrefix),
                hasChildren: true, selectable: false))
        for mailbox in mailboxes {
            let prefix = Self.prefix(of: mailbox)
            let inner: [FolderInfo]
            do {
                inner = try await shared.store(for: mailbox.id).folders()
            } catch .noPermission {
                continue  // removed between the list and now
            }
            let container = String(prefix.dropLast())
            folders.append(
                FolderInfo(
                    name: container, specialUse: nil, subscribed: subscribed.contains(container),
                    hasChildren: !inner.isEmpty, selectable: false))
            for folder in inner {
                let name = prefix + folder.name
                // Special use is the owner's filing, not the member's (RFC 6154 §2 speaks of
                // the user's own Trash and Archive): shared folders carry none.
                folders.append(
                    FolderInfo(
                        name: name, specialUse: nil, subscribed: subscribed.contains(name),
                        hasChildren: folder.hasChildren, selectable: folder.selectable))
            }
        }
        return folders
    }

    public func createFolder(_ name: String) async throws(MailStoreError) {
        switch try await resolve(name) {
        case .personal(let folder): try await personal.createFolder(folder)
        case .shared(_, let store, let folder): try await store.createFolder(folder)
        case .container: throw .folderExists(name)
        }
    }

    public func deleteFolder(_ name: String) async throws(MailStoreError) {
        let (store, folder) = try await self.folder(name)
        try await store.deleteFolder(folder)
    }

    public func renameFolder(_ name: String, to newName: String) async throws(MailStoreError) {
        let source = try await resolve(name)
        let target = try await resolve(newName)
        switch (source, target) {
        case (.personal(let from), .personal(let to)):
            try await personal.renameFolder(from, to: to)
        case (.shared(let a, let store, let from), .shared(let b, _, let to)) where a.id == b.id:
            try await store.renameFolder(from, to: to)
        case (.container, _):
            throw .protectedFolder(name)
        default:
            throw .noPermission("a folder cannot be renamed into another mailbox")
        }
    }

    public func setSubscribed(_ name: String, _ subscribed: Bool) async throws(MailStoreError) {
        try await personal.setSubscribed(name, subscribed)
    }

    public func subscriptions() async throws(MailStoreError) -> [String] {
        try await personal.subscriptions()
    }

    public func status(of folder: String) async throws(MailStoreError) -> FolderStatus {
        let (store, inner) = try await self.folder(folder)
        var status = try await store.status(of: inner)
        status.name = folder
        return status
    }

    public func snapshot(of folder: String) async throws(MailStoreError) -> FolderSnapshot {
        let (store, inner) = try await self.folder(folder)
        var snapshot = try await store.snapshot(of: inner)
        snapshot.status.name = folder
        return snapshot
    }

    public func claimRecent(in folder: String) async throws(MailStoreError) -> Range<UInt32> {
        let (store, inner) = try await self.folder(folder)
        return try await store.claimRecent(in: inner)
    }

    public func changes(of folder: String) async throws(MailStoreError) -> AsyncStream<FolderChange> {
        let (store, inner) = try await self.folder(folder)
        return try await store.changes(of: inner)
    }

    // MARK: Messages

    public func summaries(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [MessageSummary] {
        let (store, inner) = try await self.folder(folder)
        return try await store.summaries(in: inner, uids: uids)
    }

    public func structure(in folder: String, uid: UInt32) async throws(MailStoreError) -> ParsedMessage {
        let (store, inner) = try await self.folder(folder)
        return try await store.structure(in: inner, uid: uid)
    }

    public func structures(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: ParsedMessage] {
        let (store, inner) = try await self.folder(folder)
        return try await store.structures(in: inner, uids: uids)
    }

    public func headers(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: [UInt8]] {
        let (store, inner) = try await self.folder(folder)
        return try await store.headers(in: inner, uids: uids)
    }

    public func content(in folder: String, uid: UInt32, range: Range<Int>?) async throws(MailStoreError) -> [UInt8] {
        let (store, inner) = try await self.folder(folder)
        return try await store.content(in: inner, uid: uid, range: range)
    }

    public func append(
        to folder: String, message: [UInt8], flags: MessageFlags, internalDate: Date?
    ) async throws(MailStoreError) -> AppendedMessage {
        let (store, inner) = try await self.folder(folder)
        return try await store.append(to: inner, message: message, flags: flags, internalDate: internalDate)
    }

    public func storeFlags(
        in folder: String, uids: [UInt32], operation: FlagOperation, flags: MessageFlags, unchangedSince: UInt64?
    ) async throws(MailStoreError) -> FlagUpdate {
        let (store, inner) = try await self.folder(folder)
        return try await store.storeFlags(
            in: inner, uids: uids, operation: operation, flags: flags, unchangedSince: unchangedSince)
    }

    public func expunge(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32] {
        let (store, inner) = try await self.folder(folder)
        return try await store.expunge(in: inner, uids: uids)
    }

    public func copy(
        from folder: String, uids: [UInt32], to target: String, removingSource: Bool
    ) async throws(MailStoreError) -> CopiedMessages {
        let source = try await self.folder(folder)
        let destination: (store: any MailStore, folder: String)
        do {
            destination = try await self.folder(target)
        } catch .noSuchFolder {
            throw .noSuchFolder(target)  // TRYCREATE, as for a folder of the same mailbox
        }
        if source.store.mailbox == destination.store.mailbox {
            return try await source.store.copy(
                from: source.folder, uids: uids, to: destination.folder, removingSource: removingSource)
        }
        return try await Self.copyAcross(
            from: source, uids: uids, to: destination, removingSource: removingSource)
    }

    /// COPY or MOVE between two mailboxes: each message read from one and appended to the
    /// other (sealed to the other's key), flags and internal date kept; a MOVE then expunges
    /// the originals. The rights a MOVE needs in the source (`t` and `e`, RFC 6851 §4 with RFC
    /// 4314) are asked before anything is copied, so a refused MOVE leaves no copy behind.
    static func copyAcross(
        from source: (store: any MailStore, folder: String), uids: [UInt32],
        to destination: (store: any MailStore, folder: String), removingSource: Bool
    ) async throws(MailStoreError) -> CopiedMessages {
        if removingSource {
            let rights = try await source.store.myRights(in: source.folder)
            guard rights.isSuperset(of: [.deleteMessages, .expunge]) else {
                throw .noPermission("moving out needs the t and e rights")
            }
        }
        guard try await destination.store.myRights(in: destination.folder).contains(.insert) else {
            throw .noPermission("copying in needs the i right")
        }
        var pairs: [CopiedMessages.UIDPair] = []
        var uidValidity: UInt32 = 0
        for summary in try await source.store.summaries(in: source.folder, uids: uids) {
            let bytes = try await source.store.content(in: source.folder, uid: summary.uid, range: nil)
            let appended = try await destination.store.append(
                to: destination.folder, message: bytes, flags: summary.flags, internalDate: summary.internalDate)
            uidValidity = appended.uidValidity
            pairs.append(.init(source: summary.uid, target: appended.summary.uid))
        }
        if uidValidity == 0 { uidValidity = try await destination.store.status(of: destination.folder).uidValidity }
        if removingSource, !pairs.isEmpty {
            _ = try await source.store.expunge(in: source.folder, uids: pairs.map(\.source))
        }
        return CopiedMessages(uidValidity: uidValidity, pairs: pairs)
    }

    public func expunged(in folder: String, since modseq: UInt64) async throws(MailStoreError) -> [UInt32] {
        let (store, inner) = try await self.folder(folder)
        return try await store.expunged(in: inner, since: modseq)
    }

    public func search(in folder: String, _ criterion: SearchCriterion) async throws(MailStoreError) -> [UInt32] {
        let (store, inner) = try await self.folder(folder)
        return try await store.search(in: inner, criterion)
    }

    public func quota() async throws(MailStoreError) -> MailboxQuota {
        try await personal.quota()
    }

    // MARK: Access

    public func myRights(in folder: String) async throws(MailStoreError) -> Rights {
        switch try await resolve(folder) {
        case .personal(let name): try await personal.myRights(in: name)
        case .shared(_, let store, let name): try await store.myRights(in: name)
        case .container(let mailbox, _): mailbox?.rights ?? .lookup
        }
    }

    public func accessList(of folder: String) async throws(MailStoreError) -> [ACLEntry] {
        let (store, inner) = try await self.folder(folder)
        return try await store.accessList(of: inner)
    }

    public func setAccess(of folder: String, identifier: String, rights: Rights?) async throws(MailStoreError) {
        let (store, inner) = try await self.folder(folder)
        try await store.setAccess(of: inner, identifier: identifier, rights: rights)
    }

    /// A shared mailbox's quota root is its level, `Shared/2100 Support`; the login's own is `""`.
    public func quotaRoot(of folder: String) async throws(MailStoreError) -> String {
        switch try await resolve(folder) {
        case .personal(let name): return try await personal.quotaRoot(of: name)
        case .shared(let mailbox, let store, let name):
            _ = try await store.quotaRoot(of: name)
            return String(Self.prefix(of: mailbox).dropLast())
        case .container: throw .noSuchFolder(folder)
        }
    }

    public func quota(root: String) async throws(MailStoreError) -> MailboxQuota {
        guard !root.isEmpty else { return try await personal.quota(root: root) }
        guard case .container(let mailbox?, _) = try await resolve(root) else { throw .noSuchFolder(root) }
        return try await shared.store(for: mailbox.id).quota()
    }
}
