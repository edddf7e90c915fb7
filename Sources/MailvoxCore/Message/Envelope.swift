/// The ENVELOPE of RFC 3501 §7.4.2: a message's top-level header fields as IMAP serves them.
///
/// Strings are the header text as it stands in the message (unfolded, RFC 2047 encoded-words
/// left encoded), exactly what a client expects to decode itself. `nil` is IMAP's NIL.
public struct Envelope: Sendable, Hashable, Codable {
    public var date: String?
    public var subject: String?
    public var from: [Address]
    public var sender: [Address]
    public var replyTo: [Address]
    public var to: [Address]
    public var cc: [Address]
    public var bcc: [Address]
    public var inReplyTo: String?
    public var messageID: String?

    public init(
        date: String? = nil, subject: String? = nil, from: [Address] = [], sender: [Address] = [],
        replyTo: [Address] = [], to: [Address] = [], cc: [Address] = [], bcc: [Address] = [],
        inReplyTo: String? = nil, messageID: String? = nil
    ) {
        self.date = date
        self.subject = subject
        self.from = from
        self.sender = sender
        self.replyTo = replyTo
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.inReplyTo = inReplyTo
        self.messageID = messageID
    }

    /// One address of an ENVELOPE list: `(name adl mailbox host)`.
    ///
    /// RFC 3501 §7.4.2 writes a group as a start marker (`host` nil, `mailbox` the group name),
    /// its members, and an end marker (`mailbox` and `host` nil); `groupStart`/`groupEnd` build them.
    public struct Address: Sendable, Hashable, Codable {
        /// The display name (phrase), raw; RFC 2047 encoded-words stay encoded.
        public var name: String?
        /// The source route (at-domain-list), obsolete and almost always nil.
        public var adl: String?
        public var mailbox: String?
        public var host: String?

        public init(name: String? = nil, adl: String? = nil, mailbox: String?, host: String?) {
            self.name = name
            self.adl = adl
            self.mailbox = mailbox
            self.host = host
        }

        public static func groupStart(_ name: String) -> Address { Address(mailbox: name, host: nil) }
        public static let groupEnd = Address(mailbox: nil, host: nil)
    }
}
