import MailvoxCore
import NIOCore

/// A complete client command: its tag and what it asks for.
public struct TaggedCommand: Sendable, Equatable {
    public var tag: String
    public var command: Command

    public init(tag: String, command: Command) {
        self.tag = tag
        self.command = command
    }
}

/// Every command Mailvox understands, parsed; nothing downstream reads raw command text.
public enum Command: Sendable, Equatable {
    // Any state (RFC 3501 §6.1).
    case capability
    case noop
    case logout
    /// ID (RFC 2971): the client's field/value pairs, nil for `ID NIL`.
    case id([IDParameter]?)

    // Not authenticated (§6.2).
    case starttls
    case login(username: String, password: String)
    /// AUTHENTICATE mechanism [initial-response] (RFC 4959 SASL-IR). The initial response is
    /// decoded from base64; `=` is an empty response, absence is nil.
    case authenticate(mechanism: String, initialResponse: [UInt8]?)

    // Authenticated (§6.3).
    case enable([String])
    case select(MailboxName, SelectParameters)
    case examine(MailboxName, SelectParameters)
    case create(MailboxName)
    case delete(MailboxName)
    case rename(from: MailboxName, to: MailboxName)
    case subscribe(MailboxName)
    case unsubscribe(MailboxName)
    case list(ListCommand)
    /// LSUB reference pattern; both are kept as wire text decoded from modified UTF-7 where valid.
    case lsub(reference: String, pattern: String)
    case namespace
    /// GETQUOTAROOT mailbox (RFC 9208 §4.3.2).
    case getQuotaRoot(MailboxName)
    /// GETQUOTA root (RFC 9208 §4.3.1).
    case getQuota(String)
    /// GETACL mailbox (RFC 4314 §3.3).
    case getACL(MailboxName)
    /// SETACL mailbox identifier [+|-]rights (RFC 4314 §3.1): the rights as the client wrote them.
    case setACL(MailboxName, identifier: String, rights: String)
    /// DELETEACL mailbox identifier (RFC 4314 §3.2).
    case deleteACL(MailboxName, identifier: String)
    /// LISTRIGHTS mailbox identifier (RFC 4314 §3.4).
    case listRights(MailboxName, identifier: String)
    /// MYRIGHTS mailbox (RFC 4314 §3.5).
    case myRights(MailboxName)
    /// SETQUOTA root (resource limit …) (RFC 9208 §4.3.3): limits are an administrator's, so it is refused.
    case setQuota(root: String, [QuotaResourceLimit])
    case status(MailboxName, [StatusAttribute])
    case append(AppendCommand)
    case idle
    /// COMPRESS mechanism (RFC 4978 §3), the mechanism upper-cased; only DEFLATE is known.
    case compress(String)

    // Selected (§6.4).
    case check
    case close
    case unselect
    case expunge
    /// UID EXPUNGE set (RFC 4315).
    case uidExpunge(SequenceSet)
    case search(SearchCommand)
    /// SORT / UID SORT (RFC 5256, RFC 5267, RFC 5957).
    case sort(SortCommand)
    case fetch(FetchCommand)
    case store(StoreCommand)
    case copy(CopyCommand)
    case move(CopyCommand)
}

/// One `field value` pair of an ID command or response.
public struct IDParameter: Sendable, Hashable {
    public var field: String
    public var value: String?

    public init(_ field: String, _ value: String?) {
        self.field = field
        self.value = value
    }
}

/// SELECT/EXAMINE parameters (RFC 4466): CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (§3.2.5).
public struct SelectParameters: Sendable, Hashable {
    public var condStore: Bool
    public var qresync: QResyncParameters?

    public init(condStore: Bool = false, qresync: QResyncParameters? = nil) {
        self.condStore = condStore
        self.qresync = qresync
    }
}

/// `QRESYNC (uidvalidity mod-sequence [known-uids [(known-sequence-set known-uid-set)]])`: what
/// the client knew of the folder when it last synchronised.
public struct QResyncParameters: Sendable, Hashable {
    public var uidValidity: UInt32
    public var modSeq: UInt64
    public var knownUIDs: SequenceSet?
    /// Sequence numbers and the UIDs the client had for them (§3.2.5.2); a server with the whole
    /// expunge log, as this one, need not use them.
    public var sequenceMatch: SequenceMatch?

    public struct SequenceMatch: Sendable, Hashable {
        public var sequenceNumbers: SequenceSet
        public var uids: SequenceSet

        public init(sequenceNumbers: SequenceSet, uids: SequenceSet) {
            self.sequenceNumbers = sequenceNumbers
            self.uids = uids
        }
    }

    public init(uidValidity: UInt32, modSeq: UInt64, knownUIDs: SequenceSet? = nil, sequenceMatch: SequenceMatch? = nil)
    {
        self.uidValidity = uidValidity
        self.modSeq = modSeq
        self.knownUIDs = knownUIDs
        self.sequenceMatch = sequenceMatch
    }
}

/// One `resource limit` pair of SETQUOTA.
public struct QuotaResourceLimit: Sendable, Hashable {
    public var resource: String
    public var limit: UInt64

    public init(_ resource: String, _ limit: UInt64) {
        self.resource = resource
        self.limit = limit
    }
}

/// The attributes STATUS and LIST RETURN (STATUS …) ask for.
public enum StatusAttribute: String, Sendable, Hashable, CaseIterable {
    case messages = "MESSAGES"
    case recent = "RECENT"
    case uidNext = "UIDNEXT"
    case uidValidity = "UIDVALIDITY"
    case unseen = "UNSEEN"
    case highestModSeq = "HIGHESTMODSEQ"
    case size = "SIZE"
    /// Messages with \\Deleted (RFC 9051 §6.3.11, RFC 9208 §4.2.1).
    case deleted = "DELETED"
    /// Octets \\Deleted messages take, that an EXPUNGE would free (RFC 9208 §4.2.2).
    case deletedStorage = "DELETED-STORAGE"
}

/// LIST, with the selection and return options of LIST-EXTENDED (RFC 5258) and SPECIAL-USE (RFC 6154).
public struct ListCommand: Sendable, Equatable {
    public enum SelectOption: String, Sendable, Hashable, CaseIterable {
        case subscribed = "SUBSCRIBED"
        case remote = "REMOTE"
        case recursiveMatch = "RECURSIVEMATCH"
        case specialUse = "SPECIAL-USE"
    }

    public enum ReturnOption: Sendable, Hashable {
        case subscribed
        case children
        case specialUse
        /// RFC 5819 LIST-STATUS.
        case status([StatusAttribute])
    }

    public var selectOptions: [SelectOption]
    /// The reference name, decoded from modified UTF-7 where valid (raw text otherwise).
    public var reference: String
    /// One pattern, or several for LIST-EXTENDED's `( pat pat )`; `%` and `*` are wildcards.
    public var patterns: [String]
    public var returnOptions: [ReturnOption]

    public init(
        selectOptions: [SelectOption] = [], reference: String, patterns: [String], returnOptions: [ReturnOption] = []
    ) {
        self.selectOptions = selectOptions
        self.reference = reference
        self.patterns = patterns
        self.returnOptions = returnOptions
    }

    /// Whether this is RFC 3501's plain form (no options, one pattern), which LIST-EXTENDED answers as before.
    public var isExtended: Bool { !selectOptions.isEmpty || !returnOptions.isEmpty || patterns.count != 1 }
}

/// APPEND mailbox [flags] [date-time] literal (RFC 3501 §6.3.11), or literal8 (RFC 3516 §4.4).
public struct AppendCommand: Sendable, Equatable {
    public var mailbox: MailboxName
    /// One or more (MULTIAPPEND, RFC 3502) messages, stored all or none.
    public var messages: [Message]

    /// One message of an APPEND with its flags and date.
    public struct Message: Sendable, Equatable {
        public var flags: [Flag]
        public var internalDate: InternalDate?
        /// The message, a slice of the parser's buffer (no copy).
        public var message: ByteBuffer
        /// Whether the message came as a literal8 (`~{n}`), which may hold NUL octets.
        public var isLiteral8: Bool

        public init(
            flags: [Flag] = [], internalDate: InternalDate? = nil, message: ByteBuffer, isLiteral8: Bool = false
        ) {
            self.flags = flags
            self.internalDate = internalDate
            self.message = message
            self.isLiteral8 = isLiteral8
        }
    }

    public init(mailbox: MailboxName, messages: [Message]) {
        self.mailbox = mailbox
        self.messages = messages
    }

    /// A single-message APPEND.
    public init(
        mailbox: MailboxName, flags: [Flag] = [], internalDate: InternalDate? = nil, message: ByteBuffer,
        isLiteral8: Bool = false
    ) {
        self.init(
            mailbox: mailbox,
            messages: [Message(flags: flags, internalDate: internalDate, message: message, isLiteral8: isLiteral8)])
    }
}

/// SEARCH / UID SEARCH, with ESEARCH RETURN options (RFC 4731) and a charset.
public struct SearchCommand: Sendable, Equatable {
    public var byUID: Bool
    /// Nil when the command had no RETURN; `[]` for `RETURN ()`, which means ALL (RFC 4731 §3.1).
    public var returnOptions: [SearchReturnOption]?
    /// The CHARSET argument, upper-cased; nil when absent (US-ASCII).
    public var charset: String?
    public var key: SearchKey

    public init(byUID: Bool = false, returnOptions: [SearchReturnOption]? = nil, charset: String? = nil, key: SearchKey)
    {
        self.byUID = byUID
        self.returnOptions = returnOptions
        self.charset = charset
        self.key = key
    }
}

/// FETCH / UID FETCH.
public struct FetchCommand: Sendable, Equatable {
    public var byUID: Bool
    public var set: SequenceSet
    public var attributes: [FetchAttribute]
    public var modifiers: [FetchModifier]

    public init(byUID: Bool = false, set: SequenceSet, attributes: [FetchAttribute], modifiers: [FetchModifier] = []) {
        self.byUID = byUID
        self.set = set
        self.attributes = attributes
        self.modifiers = modifiers
    }

    /// The CHANGEDSINCE value, if given.
    public var changedSince: UInt64? {
        for case .changedSince(let value) in modifiers { return value }
        return nil
    }

    /// The VANISHED modifier (RFC 7162 §3.2.6): report expunged UIDs of the set too.
    public var vanished: Bool { modifiers.contains(.vanished) }
}

/// STORE / UID STORE [ (UNCHANGEDSINCE n) ] [+|-]FLAGS[.SILENT] flags.
public struct StoreCommand: Sendable, Equatable {
    public var byUID: Bool
    public var set: SequenceSet
    /// RFC 7162 §3.1.3.
    public var unchangedSince: UInt64?
    public var operation: FlagOperation
    public var silent: Bool
    public var flags: [Flag]

    public init(
        byUID: Bool = false, set: SequenceSet, unchangedSince: UInt64? = nil, operation: FlagOperation,
        silent: Bool = false, flags: [Flag]
    ) {
        self.byUID = byUID
        self.set = set
        self.unchangedSince = unchangedSince
        self.operation = operation
        self.silent = silent
        self.flags = flags
    }
}

/// COPY / UID COPY / MOVE / UID MOVE set mailbox.
public struct CopyCommand: Sendable, Equatable {
    public var byUID: Bool
    public var set: SequenceSet
    public var mailbox: MailboxName

    public init(byUID: Bool = false, set: SequenceSet, mailbox: MailboxName) {
        self.byUID = byUID
        self.set = set
        self.mailbox = mailbox
    }
}
