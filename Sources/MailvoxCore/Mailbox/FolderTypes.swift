import Foundation

/// A folder's counters, as IMAP SELECT and STATUS report them.
public struct FolderStatus: Sendable, Equatable {
    public var name: String
    public var specialUse: String?
    public var uidValidity: UInt32
    public var uidNext: UInt32
    public var highestModseq: UInt64
    public var messages: Int
    public var unseen: Int
    /// Sum of RFC822.SIZE over the folder (STATUS=SIZE).
    public var size: Int
    /// Every UID from this one up is recent and not yet claimed by a session (RFC 3501 §2.3.2).
    public var firstRecentUID: UInt32
    /// Messages with a UID of at least `firstRecentUID`: STATUS RECENT, EXAMINE's RECENT.
    public var recent: Int
    /// Messages flagged \\Deleted and the octets they take (STATUS DELETED, DELETED-STORAGE).
    public var deleted: Int
    public var deletedSize: Int
    /// Nothing may change in it (Recently Deleted): SELECT opens it as EXAMINE would.
    public var readOnly: Bool
    /// What the login that asked may do in it: all for its own mailbox, a member's rights in
    /// a department's. SELECT opens a folder read-only without any of `Rights.changing`, and
    /// PERMANENTFLAGS lists only the flags the rights let it change.
    public var rights: Rights = .all

    public init(
        name: String, specialUse: String?, uidValidity: UInt32, uidNext: UInt32, highestModseq: UInt64, messages: Int,
        unseen: Int, size: Int, firstRecentUID: UInt32, recent: Int, deleted: Int = 0, deletedSize: Int = 0,
        readOnly: Bool = false
    ) {
        self.readOnly = readOnly
        self.deleted = deleted
        self.deletedSize = deletedSize
        self.name = name
        self.specialUse = specialUse
        self.uidValidity = uidValidity
        self.uidNext = uidNext
        self.highestModseq = highestModseq
        self.messages = messages
        self.unseen = unseen
        self.size = size
        self.firstRecentUID = firstRecentUID
        self.recent = recent
    }
}

/// What the index knows of a message in the clear: enough to number, sort and count.
public struct MessageSummary: Sendable, Equatable {
    public var uid: UInt32
    public var modseq: UInt64
    public var flags: MessageFlags
    /// The exact decrypted size (RFC822.SIZE).
    public var size: Int
    public var internalDate: Date

    public init(uid: UInt32, modseq: UInt64, flags: MessageFlags, size: Int, internalDate: Date) {
        self.uid = uid
        self.modseq = modseq
        self.flags = flags
        self.size = size
        self.internalDate = internalDate
    }
}

/// One change to a folder, published after it is committed, for IDLE and sibling sessions.
public enum FolderChange: Sendable, Equatable {
    case added(uid: UInt32, modseq: UInt64)
    case flags(uid: UInt32, flags: MessageFlags, modseq: UInt64)
    case expunged(uids: [UInt32], modseq: UInt64)
}
