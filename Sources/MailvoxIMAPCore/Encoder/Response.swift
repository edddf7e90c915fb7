import MailvoxCore
import NIOCore

/// Anything the server sends: tagged completion, untagged data, or a continuation request.
public enum Response: Sendable, Equatable {
    case untagged(UntaggedResponse)
    case tagged(tag: String, StatusResponse)
    case continuation(ContinuationRequest)
}

/// `+ …`: go on sending (a literal, or the next SASL step).
public enum ContinuationRequest: Sendable, Equatable {
    case text(String)
    /// A SASL challenge, sent base64-encoded.
    case challenge([UInt8])
}

/// OK / NO / BAD / BYE / PREAUTH with an optional response code and human text.
public struct StatusResponse: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case ok = "OK"
        case no = "NO"
        case bad = "BAD"
        case bye = "BYE"
        case preauth = "PREAUTH"
    }

    public var kind: Kind
    public var code: ResponseCode?
    public var text: String

    public init(_ kind: Kind, code: ResponseCode? = nil, text: String) {
        self.kind = kind
        self.code = code
        self.text = text
    }
}

/// The bracketed response codes Mailvox sends (RFC 3501 §7.1, RFC 4315, RFC 5530, RFC 7162).
public enum ResponseCode: Sendable, Hashable {
    case alert, parse, readOnly, readWrite, tryCreate
    case uidNotSticky
    case noModSeq
    case closed
    case authenticationFailed, authorizationFailed, privacyRequired
    case tooBig, limit, cannot, nonExistent, alreadyExists, serverBug, unavailable, expungeIssued, inUse
    case overQuota, contactAdmin, noPerm, clientBug
    /// RFC 4978 §3: COMPRESS while compression is already on.
    case compressionActive
    case badCharset([String])
    case capability([String])
    /// The flags STORE can change permanently; `allowsNewKeywords` adds `\*`.
    case permanentFlags([Flag], allowsNewKeywords: Bool)
    case uidNext(UInt32)
    case uidValidity(UInt32)
    case unseen(UInt32)
    case highestModSeq(UInt64)
    /// RFC 4315: one UID, or a set for a MULTIAPPEND.
    case appendUID(uidValidity: UInt32, uids: SequenceSet)
    case copyUID(uidValidity: UInt32, source: SequenceSet, destination: SequenceSet)
    /// RFC 7162 §3.1.3: messages STORE UNCHANGEDSINCE did not change.
    case modified(SequenceSet)
    /// RFC 3516 §4.3: a BINARY fetch of a part whose Content-Transfer-Encoding is not understood.
    case unknownCTE
}

/// Untagged data: `* …`.
public enum UntaggedResponse: Sendable, Equatable {
    /// `* OK/NO/BAD/BYE/PREAUTH [code] text`.
    case condition(StatusResponse)
    case capability([String])
    case enabled([String])
    case id([IDParameter]?)
    case flags([Flag])
    case list(MailboxListItem)
    case lsub(MailboxListItem)
    case status(MailboxName, [StatusValue])
    /// `* SEARCH n…` with the RFC 7162 §3.1.5 `(MODSEQ n)` when the search used MODSEQ.
    case search([UInt32], modSeq: UInt64?)
    case esearch(ESearchResponse)
    /// `* SORT n…` (RFC 5256 §4) in sort order, with `(MODSEQ n)` when the search used MODSEQ.
    case sort([UInt32], modSeq: UInt64?)
    case exists(Int)
    case recent(Int)
    case expunge(UInt32)
    /// `* VANISHED [(EARLIER)] uids` (RFC 7162 §3.2.10): expunges by UID once QRESYNC is enabled;
    /// EARLIER for those the client missed before this command.
    case vanished(earlier: Bool, SequenceSet)
    /// A FETCH response whose literals are all in memory; stream big ones with `FetchResponseWriter`.
    case fetch(sequenceNumber: UInt32, [FetchItem])
    case namespace(NamespaceResponse)
    /// `* QUOTAROOT mailbox root…` (RFC 9208 §5.2).
    case quotaRoot(MailboxName, roots: [String])
    /// `* QUOTA root (resource usage limit …)` (RFC 9208 §5.1).
    case quota(root: String, [QuotaResourceUsage])
    /// `* ACL mailbox identifier rights …` (RFC 4314 §3.6).
    case acl(MailboxName, [ACLEntry])
    /// `* LISTRIGHTS mailbox identifier required optional…` (RFC 4314 §3.7).
    case listRights(MailboxName, identifier: String, required: Rights, optional: [Rights])
    /// `* MYRIGHTS mailbox rights` (RFC 4314 §3.8).
    case myRights(MailboxName, Rights)
}

/// One `resource usage limit` of a QUOTA response: STORAGE in units of 1024 octets, MESSAGE in messages.
public struct QuotaResourceUsage: Sendable, Hashable {
    public var resource: String
    public var usage: UInt64
    public var limit: UInt64

    public init(_ resource: String, usage: UInt64, limit: UInt64) {
        self.resource = resource
        self.usage = usage
        self.limit = limit
    }
}

/// One `ATTRIBUTE value` of a STATUS response.
public struct StatusValue: Sendable, Hashable {
    public var attribute: StatusAttribute
    public var value: UInt64

    public init(_ attribute: StatusAttribute, _ value: UInt64) {
        self.attribute = attribute
        self.value = value
    }
}

/// A mailbox attribute in LIST/LSUB (RFC 3501, RFC 5258, RFC 6154).
public enum MailboxAttribute: String, Sendable, Hashable, CaseIterable {
    case noInferiors = "\\Noinferiors"
    case noSelect = "\\Noselect"
    case marked = "\\Marked"
    case unmarked = "\\Unmarked"
    case nonExistent = "\\NonExistent"
    case subscribed = "\\Subscribed"
    case remote = "\\Remote"
    case hasChildren = "\\HasChildren"
    case hasNoChildren = "\\HasNoChildren"
    case all = "\\All"
    case archive = "\\Archive"
    case drafts = "\\Drafts"
    case flagged = "\\Flagged"
    case junk = "\\Junk"
    case sent = "\\Sent"
    case trash = "\\Trash"

    /// The special-use attribute a folder carries, from `FolderInfo.specialUse` (e.g. `\Trash`).
    public init?(specialUse: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue.lowercased() == specialUse.lowercased() }) else {
            return nil
        }
        self = match
    }
}

/// One LIST or LSUB line.
public struct MailboxListItem: Sendable, Equatable {
    public var attributes: [MailboxAttribute]
    /// The hierarchy delimiter, nil for NIL (flat).
    public var delimiter: Character?
    public var name: MailboxName
    /// RFC 5258 CHILDINFO ("SUBSCRIBED"): a child matched when the parent did not.
    public var childInfoSubscribed: Bool

    public init(
        attributes: [MailboxAttribute], delimiter: Character? = FolderInfo.delimiter, name: MailboxName,
        childInfoSubscribed: Bool = false
    ) {
        self.attributes = attributes
        self.delimiter = delimiter
        self.name = name
        self.childInfoSubscribed = childInfoSubscribed
    }
}

/// `* ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set] [MODSEQ n]` (RFC 4731, RFC 7162).
public struct ESearchResponse: Sendable, Equatable {
    public var tag: String?
    public var byUID: Bool
    public var min: UInt32?
    public var max: UInt32?
    public var count: Int?
    /// Nil when not asked for or when nothing matched (RFC 4731 §3.1: ALL is then omitted).
    public var all: SequenceSet?
    public var modSeq: UInt64?

    public init(
        tag: String?, byUID: Bool, min: UInt32? = nil, max: UInt32? = nil, count: Int? = nil, all: SequenceSet? = nil,
        modSeq: UInt64? = nil
    ) {
        self.tag = tag
        self.byUID = byUID
        self.min = min
        self.max = max
        self.count = count
        self.all = all
        self.modSeq = modSeq
    }
}

/// NAMESPACE (RFC 2342): personal, other users', shared; empty lists are NIL.
public struct NamespaceResponse: Sendable, Equatable {
    public struct Namespace: Sendable, Equatable {
        public var prefix: String
        public var delimiter: Character?

        public init(prefix: String, delimiter: Character?) {
            self.prefix = prefix
            self.delimiter = delimiter
        }
    }

    public var personal: [Namespace]
    public var otherUsers: [Namespace]
    public var shared: [Namespace]

    public init(personal: [Namespace], otherUsers: [Namespace] = [], shared: [Namespace] = []) {
        self.personal = personal
        self.otherUsers = otherUsers
        self.shared = shared
    }
}

/// What a FETCH literal is the value of.
public enum FetchLiteralName: Sendable, Equatable {
    /// `BODY[section]<origin>`; the section's own `partial` is ignored, `origin` is what is sent.
    case section(SectionSpecifier, origin: Int?)
    /// `BINARY[part]<origin>` (RFC 3516 §4.3): sent as a literal8 when it holds a NUL octet.
    case binary(part: [Int], origin: Int?)
    case rfc822
    case rfc822Header
    case rfc822Text
}

/// One data item of a FETCH response.
public enum FetchItem: Sendable, Equatable {
    case flags([Flag])
    case uid(UInt32)
    case rfc822Size(Int)
    case internalDate(InternalDate)
    case envelope(Envelope)
    /// BODY: the structure without extension data.
    case body(BodyStructure)
    case bodyStructure(BodyStructure)
    case modSeq(UInt64)
    /// `BINARY.SIZE[part] n` (RFC 3516 §4.3).
    case binarySize(part: [Int], Int)
    /// A body item held in memory; nil is NIL (a section that does not exist).
    case literal(FetchLiteralName, ByteBuffer?)
}
