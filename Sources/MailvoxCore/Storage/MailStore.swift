import Foundation

/// One authenticated mailbox's folders and messages: the IMAP layer's only view of storage
/// (docs/DESIGN.md §2; modelled on go-imap's `Session`). Folder names are UTF-8 with `/` as the
/// hierarchy delimiter; messages are addressed by UID, never by sequence number, which is
/// each session's own business.
///
/// Every change is published on the folder's change feed after it commits, to every
/// session of the mailbox — the one that made it included, which ignores what it already
/// knows.
public protocol MailStore: Sendable {
    /// The mailbox this store is bound to.
    var mailbox: MailboxID { get }

    // MARK: Folders

    /// Every folder, INBOX first, then by name.
    func folders() async throws(MailStoreError) -> [FolderInfo]
    func createFolder(_ name: String) async throws(MailStoreError)
    /// Deletes a folder and its messages; INBOX and the special-use folders are refused.
    func deleteFolder(_ name: String) async throws(MailStoreError)
    /// Renames a folder (and its children), keeping its UIDVALIDITY. Renaming INBOX is refused.
    func renameFolder(_ name: String, to newName: String) async throws(MailStoreError)
    /// SUBSCRIBE takes any valid folder name, existing or not; UNSUBSCRIBE refuses a name that
    /// is neither subscribed nor a folder.
    func setSubscribed(_ name: String, _ subscribed: Bool) async throws(MailStoreError)
    /// Every subscribed name, by name; a subscription outlives its deleted folder (RFC 3501 §6.3.6).
    func subscriptions() async throws(MailStoreError) -> [String]
    func status(of folder: String) async throws(MailStoreError) -> FolderStatus
    /// SELECT: counters and every message's summary, read in one transaction.
    func snapshot(of folder: String) async throws(MailStoreError) -> FolderSnapshot
    /// Claims the folder's recent messages for the calling session (RFC 3501 §2.3.2): returns
    /// the UIDs no session has claimed yet — the folder's first recent UID up to UIDNEXT — and
    /// moves the first recent UID to UIDNEXT in the same write, so no two sessions ever hold
    /// the same message as recent. Some UIDs of the range may have been expunged already.
    func claimRecent(in folder: String) async throws(MailStoreError) -> Range<UInt32>
    /// Committed changes to `folder` from now on, until the stream is dropped.
    func changes(of folder: String) async throws(MailStoreError) -> AsyncStream<FolderChange>

    // MARK: Messages

    /// Summaries of those `uids` that still exist, in UID order.
    func summaries(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [MessageSummary]
    /// ENVELOPE, BODYSTRUCTURE and the part layout, without reading the message body.
    func structure(in folder: String, uid: UInt32) async throws(MailStoreError) -> ParsedMessage
    /// The structures of several messages in one call (a FETCH of ENVELOPE or BODYSTRUCTURE
    /// over a folder); UIDs that are gone are left out.
    func structures(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: ParsedMessage]
    /// The header blocks of several messages (up to the blank line), without their bodies:
    /// what a list of voicemails shows. UIDs that are gone are left out.
    func headers(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: [UInt8]]
    /// The message's bytes, or the `range` of them; only what the range touches is decrypted.
    func content(in folder: String, uid: UInt32, range: Range<Int>?) async throws(MailStoreError) -> [UInt8]
    /// APPEND: stores a message a client uploads.
    func append(
        to folder: String, message: [UInt8], flags: MessageFlags, internalDate: Date?
    ) async throws(MailStoreError) -> AppendedMessage
    /// STORE: with `unchangedSince`, messages modified after it are left alone and reported
    /// as failed (RFC 7162 §3.1.3).
    func storeFlags(
        in folder: String, uids: [UInt32], operation: FlagOperation, flags: MessageFlags, unchangedSince: UInt64?
    ) async throws(MailStoreError) -> FlagUpdate
    /// Removes `uids` for good; returns those that existed.
    func expunge(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32]
    /// COPY, or MOVE when `removingSource`: the UID mapping for COPYUID.
    func copy(
        from folder: String, uids: [UInt32], to target: String, removingSource: Bool
    ) async throws(MailStoreError) -> CopiedMessages
    /// UIDs expunged from `folder` by a change above `modseq`, ascending: the expunge log that
    /// QRESYNC's VANISHED (EARLIER) reports (RFC 7162 §3.2.5). Kept for the folder's life.
    func expunged(in folder: String, since modseq: UInt64) async throws(MailStoreError) -> [UInt32]
    /// UIDs in `folder` matching `criterion`, ascending.
    func search(in folder: String, _ criterion: SearchCriterion) async throws(MailStoreError) -> [UInt32]
    /// The mailbox's limits and what it uses across its folders (RFC 9208 QUOTA).
    func quota() async throws(MailStoreError) -> MailboxQuota

    // MARK: Access (RFC 4314 ACL, RFC 9208 quota roots)

    /// What the session's login may do in `folder` (MYRIGHTS); `.noSuchFolder` if there is none.
    func myRights(in folder: String) async throws(MailStoreError) -> Rights
    /// The access list of the mailbox holding `folder` (GETACL): its owner, then its members.
    /// Needs the `a` right.
    func accessList(of folder: String) async throws(MailStoreError) -> [ACLEntry]
    /// SETACL, or DELETEACL when `rights` is nil, for the mailbox holding `folder`. Needs `a`.
    func setAccess(of folder: String, identifier: String, rights: Rights?) async throws(MailStoreError)
    /// The quota root `folder` counts against (GETQUOTAROOT).
    func quotaRoot(of folder: String) async throws(MailStoreError) -> String
    /// The usage and limits of quota root `root` (GETQUOTA).
    func quota(root: String) async throws(MailStoreError) -> MailboxQuota
}

/// What a store that knows only its own mailbox answers: its login owns it.
extension MailStore {
    public func myRights(in folder: String) async throws(MailStoreError) -> Rights {
        _ = try await status(of: folder)
        return .all
    }

    public func accessList(of folder: String) async throws(MailStoreError) -> [ACLEntry] {
        _ = try await status(of: folder)
        return [ACLEntry(identifier: mailbox.rawValue, rights: .all)]
    }

    public func setAccess(of folder: String, identifier: String, rights: Rights?) async throws(MailStoreError) {
        throw .noPermission("this store keeps no access list")
    }

    public func quotaRoot(of folder: String) async throws(MailStoreError) -> String {
        _ = try await status(of: folder)
        return ""
    }

    public func quota(root: String) async throws(MailStoreError) -> MailboxQuota {
        guard root.isEmpty else { throw .noSuchFolder(root) }
        return try await quota()
    }
}

extension MailStore {
    /// One `structure` call per UID: right for a store whose lookups cost nothing.
    public func structures(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: ParsedMessage] {
        var result: [UInt32: ParsedMessage] = [:]
        for uid in uids {
            do {
                result[uid] = try await structure(in: folder, uid: uid)
            } catch .noSuchMessage {
                continue
            }
        }
        return result
    }

    /// Each message's header range read through `content`: right for a store whose reads cost nothing.
    public func headers(in folder: String, uids: [UInt32]) async throws(MailStoreError) -> [UInt32: [UInt8]] {
        var result: [UInt32: [UInt8]] = [:]
        for (uid, structure) in try await structures(in: folder, uids: uids) {
            do {
                result[uid] = try await content(in: folder, uid: uid, range: structure.layout.header)
            } catch .noSuchMessage {
                continue
            }
        }
        return result
    }
}

/// A folder as SELECT sees it: counters and the summaries they count, consistent.
public struct FolderSnapshot: Sendable, Equatable {
    public var status: FolderStatus
    /// Ascending by UID.
    public var messages: [MessageSummary]

    public init(status: FolderStatus, messages: [MessageSummary]) {
        self.status = status
        self.messages = messages
    }
}

/// APPEND's outcome, for APPENDUID (RFC 4315).
public struct AppendedMessage: Sendable, Equatable {
    public var uidValidity: UInt32
    public var summary: MessageSummary

    public init(uidValidity: UInt32, summary: MessageSummary) {
        self.uidValidity = uidValidity
        self.summary = summary
    }
}

/// STORE's outcome: what changed (new flags and modseq) and what UNCHANGEDSINCE held back.
public struct FlagUpdate: Sendable, Equatable {
    public var changed: [MessageSummary]
    public var failed: [UInt32]

    public init(changed: [MessageSummary], failed: [UInt32]) {
        self.changed = changed
        self.failed = failed
    }
}

/// COPY and MOVE's outcome, for COPYUID (RFC 4315): source → target UID, in source order.
public struct CopiedMessages: Sendable, Equatable {
    public var uidValidity: UInt32
    public var pairs: [UIDPair]

    public struct UIDPair: Sendable, Equatable {
        public var source: UInt32
        public var target: UInt32

        public init(source: UInt32, target: UInt32) {
            self.source = source
            self.target = target
        }
    }

    public init(uidValidity: UInt32, pairs: [UIDPair]) {
        self.uidValidity = uidValidity
        self.pairs = pairs
    }
}

/// Why a `MailStore` refused a request; each case maps to one IMAP response code.
public enum MailStoreError: Error, Sendable, Equatable {
    /// `[NONEXISTENT]`, or `[TRYCREATE]` for a COPY/MOVE/APPEND target.
    case noSuchFolder(String)
    /// `[ALREADYEXISTS]`
    case folderExists(String)
    /// `[CANNOT]`: a name the store will not take (empty, `..`, control characters, too long).
    case invalidFolderName(String, reason: String)
    /// `[CANNOT]`: INBOX and the special-use folders stay.
    case protectedFolder(String)
    /// `[CANNOT]`: Recently Deleted takes no message, flag or expunge; copying out restores.
    case readOnlyFolder(String)
    /// The UID is gone (expunged by another session meanwhile).
    case noSuchMessage(uid: UInt32)
    /// `[TOOBIG]`
    case messageTooLarge(size: Int, limit: Int)
    /// `[OVERQUOTA]`
    case overQuota
    /// A message a client uploaded that the MIME parser refuses (`[PARSE]`).
    case malformedMessage(String)
    /// `[NOPERM]`: the login lacks the right the request needs, or names a mailbox it has no
    /// access to (the same answer whether that mailbox exists or not).
    case noPermission(String)
    /// `[SERVERBUG]`-class: storage failed; the text is for the log, not the client.
    case storage(String)

    public var description: String {
        switch self {
        case .noSuchFolder(let name): "no folder \(name)"
        case .folderExists(let name): "folder \(name) already exists"
        case .invalidFolderName(let name, let reason): "folder name \"\(name)\": \(reason)"
        case .protectedFolder(let name): "folder \(name) cannot be deleted or renamed"
        case .readOnlyFolder(let name): "folder \(name) is read-only: copy or move a message out of it to restore it"
        case .noSuchMessage(let uid): "no message with UID \(uid)"
        case .messageTooLarge(let size, let limit): "message of \(size) bytes exceeds the limit of \(limit)"
        case .overQuota: "the mailbox is over its quota"
        case .malformedMessage(let reason): "message refused: \(reason)"
        case .noPermission(let reason): "not permitted: \(reason)"
        case .storage(let reason): "storage failed: \(reason)"
        }
    }
}

/// The store's one error type: what the IMAP layer maps to response codes is also what the CLI
/// prints (a `MailvoxFailure`), so no layer translates one enum into another.
extension MailStoreError: MailvoxFailure {
    public var kind: FailureKind {
        switch self {
        case .storage: .runtime
        default: .input
        }
    }

    /// A file or directory call of the store failed; `path` and `reason` are for the log.
    public static func io(path: String, reason: String) -> MailStoreError { .storage("\(path): \(reason)") }

    /// A file the index points at cannot be read or opened (`fsck` reports these).
    public static func unreadable(path: String, reason: String) -> MailStoreError {
        .storage("\(path): \(reason)")
    }
}
