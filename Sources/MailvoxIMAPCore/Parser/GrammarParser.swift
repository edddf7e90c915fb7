import MailvoxCore
import NIOCore

/// Why a complete frame is not a valid command; becomes a tagged BAD.
struct GrammarError: Error {
    var text: String
    var code: ResponseCode?

    init(_ text: String, code: ResponseCode? = nil) {
        self.text = text
        self.code = code
    }
}

/// Recursive descent over one complete frame (RFC 3501 §9 and the extensions' ABNF).
/// The framer guarantees every literal's data is present.
package struct GrammarParser {
    private let frame: ByteBuffer
    private let view: ByteBufferView
    private var position: Int
    /// Where the final CRLF (or bare LF) starts.
    private let end: Int
    private let maxDepth: Int
    private var depth = 0
    private(set) var tag: String?

    /// How the client writes mailbox names (UTF-8 once it ENABLEd UTF8=ACCEPT or IMAP4rev2).
    private let names: NameEncoding

    init(frame: ByteBuffer, maxDepth: Int, names: NameEncoding = .modifiedUTF7) {
        self.names = names
        self.frame = frame
        self.view = frame.readableBytesView
        self.position = view.startIndex
        var end = view.endIndex - 1
        if end > view.startIndex, view[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        self.end = end
        self.maxDepth = maxDepth
    }

    // MARK: Character classes (RFC 3501 §9)

    static func isAtomChar(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "*"),
            UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"):
            return false
        default: return true
        }
    }

    package static func isAStringChar(_ byte: UInt8) -> Bool { isAtomChar(byte) || byte == UInt8(ascii: "]") }

    static func isTagChar(_ byte: UInt8) -> Bool { isAStringChar(byte) && byte != UInt8(ascii: "+") }

    package static func isListChar(_ byte: UInt8) -> Bool {
        isAStringChar(byte) || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "*")
    }

    // MARK: Primitives

    private var peek: UInt8? { position < end ? view[position] : nil }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        position += 1
        return true
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard take(byte) else { throw GrammarError("Expected \(what)") }
    }

    private mutating func space() throws { try expect(UInt8(ascii: " "), "space") }

    private mutating func run(while predicate: (UInt8) -> Bool) -> [UInt8] {
        let start = position
        while position < end, predicate(view[position]) { position += 1 }
        return Array(view[start..<position])
    }

    private mutating func atom() throws -> String {
        let bytes = run(while: Self.isAtomChar)
        guard !bytes.isEmpty else { throw GrammarError("Expected an atom") }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An atom compared case-insensitively, returned upper-cased.
    private mutating func word() throws -> String { try atom().uppercased() }

    /// Consumes `text` (case-insensitive) if the input continues with it.
    private mutating func takeWord(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard end - position >= bytes.count else { return false }
        for (offset, byte) in bytes.enumerated() {
            let actual = view[position + offset]
            let upper = (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(actual) ? actual - 32 : actual
            guard upper == byte else { return false }
        }
        position += bytes.count
        return true
    }

    private mutating func literal() throws -> ByteBuffer {
        try expect(UInt8(ascii: "{"), "literal")
        let digits = run { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard !digits.isEmpty, digits.count <= 19, let size = Int(String(decoding: digits, as: UTF8.self)) else {
            throw GrammarError("Invalid literal size")
        }
        _ = take(UInt8(ascii: "+"))
        try expect(UInt8(ascii: "}"), "}")
        // The framer only ends a line at LF; it accepted `}` LF as well as `}` CRLF.
        _ = take(UInt8(ascii: "\r"))
        guard position < view.endIndex, view[position] == UInt8(ascii: "\n") else {
            throw GrammarError("Expected CRLF after literal size")
        }
        position += 1
        guard view.endIndex - position >= size else { throw GrammarError("Literal data missing") }
        let slice = frame.getSlice(at: frame.readerIndex + (position - view.startIndex), length: size)!
        position += size
        return slice
    }

    private mutating func quoted() throws -> [UInt8] {
        try expect(UInt8(ascii: "\""), "quoted string")
        var bytes: [UInt8] = []
        while true {
            guard let byte = peek else { throw GrammarError("Unterminated quoted string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return bytes
            case UInt8(ascii: "\\"):
                // RFC 3501 quoted-specials: only `\"` and `\\` are escapes.
                guard let escaped = peek, escaped == UInt8(ascii: "\"") || escaped == UInt8(ascii: "\\") else {
                    throw GrammarError("Invalid escape in quoted string")
                }
                position += 1
                bytes.append(escaped)
            case UInt8(ascii: "\r"), UInt8(ascii: "\n"), 0:
                throw GrammarError("CR, LF or NUL in quoted string")
            default: bytes.append(byte)
            }
        }
    }

    private mutating func string() throws -> [UInt8] {
        switch peek {
        case UInt8(ascii: "\""): return try quoted()
        case UInt8(ascii: "{"):
            let buffer = try literal()
            return Array(buffer.readableBytesView)
        default: throw GrammarError("Expected a string")
        }
    }

    private mutating func astring() throws -> [UInt8] {
        if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "{") { return try string() }
        let bytes = run(while: Self.isAStringChar)
        guard !bytes.isEmpty else { throw GrammarError("Expected an astring") }
        return bytes
    }

    private mutating func astringText() throws -> String { String(decoding: try astring(), as: UTF8.self) }

    private mutating func nstring() throws -> [UInt8]? {
        if takeWord("NIL") { return nil }
        return try string()
    }

    private mutating func digits(max: UInt64) throws -> UInt64 {
        let bytes = run { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard !bytes.isEmpty, bytes.count <= 20, let value = UInt64(String(decoding: bytes, as: UTF8.self)),
            value <= max
        else { throw GrammarError("Expected a number") }
        return value
    }

    private mutating func number() throws -> UInt32 { UInt32(try digits(max: UInt64(UInt32.max))) }

    private mutating func nzNumber() throws -> UInt32 {
        let value = try number()
        guard value > 0 else { throw GrammarError("Expected a non-zero number") }
        return value
    }

    /// mod-sequence-valzer (RFC 7162 §7): 0 to 2^63 - 1.
    private mutating func modSequence() throws -> UInt64 { try digits(max: UInt64(Int64.max)) }

    /// `(uidvalidity mod-sequence [known-uids [(known-sequence-set known-uid-set)]])` (RFC 7162 §3.2.5).
    private mutating func qresyncParameters() throws -> QResyncParameters {
        try expect(UInt8(ascii: "("), "(")
        let validity = try nzNumber()
        try space()
        var parameters = QResyncParameters(uidValidity: validity, modSeq: try modSequence())
        if take(UInt8(ascii: " ")) {
            if peek != UInt8(ascii: "(") {
                parameters.knownUIDs = try sequenceSet()
                _ = take(UInt8(ascii: " "))
            }
            if take(UInt8(ascii: "(")) {
                let numbers = try sequenceSet()
                try space()
                parameters.sequenceMatch = .init(sequenceNumbers: numbers, uids: try sequenceSet())
                try expect(UInt8(ascii: ")"), ")")
            }
        }
        try expect(UInt8(ascii: ")"), ")")
        return parameters
    }

    /// A parenthesised, space-separated list; `allowEmpty` for `()`.
    private mutating func list<T>(allowEmpty: Bool = false, _ element: (inout GrammarParser) throws -> T) throws -> [T]
    {
        try expect(UInt8(ascii: "("), "(")
        var items: [T] = []
        if take(UInt8(ascii: ")")) {
            guard allowEmpty else { throw GrammarError("Empty list") }
            return items
        }
        repeat { items.append(try element(&self)) } while take(UInt8(ascii: " "))
        try expect(UInt8(ascii: ")"), ")")
        return items
    }

    // MARK: Commands

    mutating func taggedCommand() throws -> TaggedCommand {
        let tagBytes = run(while: Self.isTagChar)
        guard !tagBytes.isEmpty else { throw GrammarError("Missing tag") }
        tag = String(decoding: tagBytes, as: UTF8.self)
        try space()
        let command = try self.command()
        guard position == end else { throw GrammarError("Unexpected characters at end of command") }
        return TaggedCommand(tag: tag!, command: command)
    }

    private mutating func command() throws -> Command {
        let name = try word()
        switch name {
        case "CAPABILITY": return .capability
        case "NOOP": return .noop
        case "LOGOUT": return .logout
        case "STARTTLS": return .starttls
        case "NAMESPACE": return .namespace
        case "GETQUOTAROOT":
            try space()
            return .getQuotaRoot(try mailbox())
        case "GETQUOTA":
            try space()
            return .getQuota(try astringText())
        case "SETQUOTA":
            try space()
            let root = try astringText()
            try space()
            let limits = try list(allowEmpty: true) { parser -> QuotaResourceLimit in
                let resource = try parser.word()
                try parser.space()
                return QuotaResourceLimit(resource, try parser.modSequence())  // number64 (RFC 9051)
            }
            return .setQuota(root: root, limits)
        case "IDLE": return .idle
        case "COMPRESS":
            try space()
            return .compress(try word())
        case "CHECK": return .check
        case "CLOSE": return .close
        case "UNSELECT": return .unselect
        case "EXPUNGE": return .expunge
        case "LOGIN":
            try space()
            let user = try astringText()
            try space()
            return .login(username: user, password: try astringText())
        case "AUTHENTICATE": return try authenticate()
        case "ID": return try id()
        case "ENABLE":
            var capabilities: [String] = []
            while take(UInt8(ascii: " ")) { capabilities.append(try word()) }
            guard !capabilities.isEmpty else { throw GrammarError("ENABLE needs a capability") }
            return .enable(capabilities)
        case "SELECT", "EXAMINE":
            try space()
            let mailbox = try self.mailbox()
            var parameters = SelectParameters()
            if take(UInt8(ascii: " ")) {
                _ = try list(allowEmpty: true) { parser in
                    switch try parser.word() {
                    case "CONDSTORE": parameters.condStore = true
                    case "QRESYNC" where parameters.qresync == nil:
                        try parser.space()
                        parameters.qresync = try parser.qresyncParameters()
                    default: throw GrammarError("Unknown SELECT parameter")
                    }
                }
            }
            return name == "SELECT" ? .select(mailbox, parameters) : .examine(mailbox, parameters)
        case "CREATE":
            try space()
            return .create(try mailbox())
        case "DELETE":
            try space()
            return .delete(try mailbox())
        case "GETACL":
            try space()
            return .getACL(try mailbox())
        case "MYRIGHTS":
            try space()
            return .myRights(try mailbox())
        case "SETACL", "DELETEACL", "LISTRIGHTS":
            try space()
            let mailbox = try self.mailbox()
            try space()
            let identifier = try astringText()
            switch name {
            case "DELETEACL": return .deleteACL(mailbox, identifier: identifier)
            case "LISTRIGHTS": return .listRights(mailbox, identifier: identifier)
            default:
                try space()
                return .setACL(mailbox, identifier: identifier, rights: try astringText())
            }
        case "SUBSCRIBE":
            try space()
            return .subscribe(try mailbox())
        case "UNSUBSCRIBE":
            try space()
            return .unsubscribe(try mailbox())
        case "RENAME":
            try space()
            let from = try mailbox()
            try space()
            return .rename(from: from, to: try mailbox())
        case "LIST": return .list(try listCommand())
        case "LSUB":
            try space()
            let reference = decodedName(try astring())
            try space()
            return .lsub(reference: reference, pattern: try listMailbox())
        case "STATUS":
            try space()
            let mailbox = try self.mailbox()
            try space()
            return .status(mailbox, try list { try $0.statusAttribute() })
        case "APPEND": return .append(try append())
        case "SEARCH": return .search(try search(byUID: false))
        case "SORT": return .sort(try sort(byUID: false))
        case "FETCH": return .fetch(try fetch(byUID: false))
        case "STORE": return .store(try store(byUID: false))
        case "COPY": return .copy(try copy(byUID: false))
        case "MOVE": return .move(try copy(byUID: false))
        case "UID":
            try space()
            switch try word() {
            case "SEARCH": return .search(try search(byUID: true))
            case "SORT": return .sort(try sort(byUID: true))
            case "FETCH": return .fetch(try fetch(byUID: true))
            case "STORE": return .store(try store(byUID: true))
            case "COPY": return .copy(try copy(byUID: true))
            case "MOVE": return .move(try copy(byUID: true))
            case "EXPUNGE":
                try space()
                return .uidExpunge(try messageSet())
            default: throw GrammarError("Unknown UID command")
            }
        default:
            throw GrammarError("Unknown command")
        }
    }

    private mutating func authenticate() throws -> Command {
        try space()
        let mechanism = try word()
        guard take(UInt8(ascii: " ")) else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        // RFC 4959: "=" is an empty initial response.
        if take(UInt8(ascii: "=")) { return .authenticate(mechanism: mechanism, initialResponse: []) }
        let text = run { GrammarParser.isAtomChar($0) }
        guard !text.isEmpty, let decoded = Base64.decode(text[...]) else {
            throw GrammarError("Invalid base64 initial response")
        }
        return .authenticate(mechanism: mechanism, initialResponse: decoded)
    }

    private mutating func id() throws -> Command {
        try space()
        if takeWord("NIL") { return .id(nil) }
        try expect(UInt8(ascii: "("), "(")
        var parameters: [IDParameter] = []
        if !take(UInt8(ascii: ")")) {
            repeat {
                let field = String(decoding: try string(), as: UTF8.self)
                try space()
                let value = try nstring().map { String(decoding: $0, as: UTF8.self) }
                parameters.append(IDParameter(field, value))
                // RFC 2971 §3.3: at most 30 pairs.
                guard parameters.count <= 30 else { throw GrammarError("Too many ID fields", code: .limit) }
            } while take(UInt8(ascii: " "))
            try expect(UInt8(ascii: ")"), ")")
        }
        return .id(parameters)
    }

    /// A name as sent. Once the client ENABLEd UTF-8 names (`names == .utf8`) the octets are the
    /// name, `&` included (RFC 6855 §3). Before, modified UTF-7; clients without UTF8=ACCEPT still
    /// sometimes send raw UTF-8, which is taken when valid. Anything else that is not modified
    /// UTF-7 (`&Jjo!`, `&AGE-`) is still a valid astring, so the command is not BAD: the name
    /// becomes one no folder can have (`MailboxName.unreadable`), and the command answers as for
    /// a folder that does not exist.
    private func decodedName(_ bytes: [UInt8]) -> String {
        if names == .modifiedUTF7, let decoded = ModifiedUTF7.decode(bytes) { return decoded }
        if names == .utf8 || bytes.contains(where: { $0 >= 0x80 }), let text = String(validating: bytes, as: UTF8.self),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 })
        {
            return text
        }
        return MailboxName.unreadable(bytes)
    }

    private mutating func mailbox() throws -> MailboxName { MailboxName(decodedName(try astring())) }

    /// list-mailbox: atom-like text with wildcards, or a string.
    private mutating func listMailbox() throws -> String {
        if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "{") { return decodedName(try string()) }
        let bytes = run(while: Self.isListChar)
        guard !bytes.isEmpty else { throw GrammarError("Expected a mailbox pattern") }
        return decodedName(bytes)
    }

    private mutating func listCommand() throws -> ListCommand {
        try space()
        var selectOptions: [ListCommand.SelectOption] = []
        if peek == UInt8(ascii: "(") {
            selectOptions = try list(allowEmpty: true) { parser in
                guard let option = ListCommand.SelectOption(rawValue: try parser.word()) else {
                    throw GrammarError("Unknown LIST selection option")
                }
                return option
            }
            // RFC 5258 §3.1: RECURSIVEMATCH alone is an error.
            if selectOptions.contains(.recursiveMatch), !selectOptions.contains(where: { $0 != .recursiveMatch }) {
                throw GrammarError("RECURSIVEMATCH needs another selection option")
            }
            try space()
        }
        let reference = decodedName(try astring())
        try space()
        let patterns: [String]
        if peek == UInt8(ascii: "(") {
            patterns = try list { try $0.listMailbox() }
        } else {
            patterns = [try listMailbox()]
        }
        var returnOptions: [ListCommand.ReturnOption] = []
        if take(UInt8(ascii: " ")) {
            guard takeWord("RETURN") else { throw GrammarError("Expected RETURN") }
            try space()
            returnOptions = try list(allowEmpty: true) { parser in
                switch try parser.word() {
                case "SUBSCRIBED": return .subscribed
                case "CHILDREN": return .children
                case "SPECIAL-USE": return .specialUse
                case "STATUS":
                    try parser.space()
                    return .status(try parser.list { try $0.statusAttribute() })
                default: throw GrammarError("Unknown LIST return option")
                }
            }
        }
        return ListCommand(
            selectOptions: selectOptions, reference: reference, patterns: patterns, returnOptions: returnOptions)
    }

    private mutating func statusAttribute() throws -> StatusAttribute {
        guard let attribute = StatusAttribute(rawValue: try word()) else {
            throw GrammarError("Unknown STATUS attribute")
        }
        return attribute
    }

    private mutating func flag() throws -> Flag {
        if take(UInt8(ascii: "\\")) { return Flag("\\" + (try atom())) }
        return .keyword(try atom())
    }

    /// Most messages one MULTIAPPEND (RFC 3502) may carry.
    static let maxAppendMessages = 1_000

    private mutating func append() throws -> AppendCommand {
        try space()
        let mailbox = try self.mailbox()
        var messages: [AppendCommand.Message] = []
        // RFC 3502: `append-message *(SP append-message)`.
        while take(UInt8(ascii: " ")) {
            guard messages.count < Self.maxAppendMessages else {
                throw GrammarError("Too many messages in one APPEND", code: .limit)
            }
            var flags: [Flag] = []
            if peek == UInt8(ascii: "(") {
                flags = try list(allowEmpty: true) { try $0.flag() }
                try space()
            }
            var date: InternalDate?
            if peek == UInt8(ascii: "\"") {
                date = try dateTime()
                try space()
            }
            // RFC 6855 §4: `UTF8 (~{n}…)` carries a message whose headers may hold UTF-8; it is
            // stored as any other, so only its syntax is particular.
            let utf8 = takeWord("UTF8 (")
            // RFC 3516 §4.4: `~{n}` (or `~{n+}`, RFC 7888) is a literal8, which may hold NUL.
            let literal8 = take(UInt8(ascii: "~"))
            guard peek == UInt8(ascii: "{"), literal8 || !utf8 else {
                throw GrammarError(utf8 ? "UTF8 needs a literal8 (~{n})" : "APPEND needs the message as a literal")
            }
            let message = try literal()
            if utf8 { try expect(UInt8(ascii: ")"), ")") }
            messages.append(.init(flags: flags, internalDate: date, message: message, isLiteral8: literal8))
        }
        guard !messages.isEmpty else { throw GrammarError("APPEND needs a message") }
        return AppendCommand(mailbox: mailbox, messages: messages)
    }

    // MARK: Dates

    private mutating func month() throws -> Int {
        guard end - position >= 3 else { throw GrammarError("Expected a month") }
        let text = String(decoding: view[position..<(position + 3)], as: UTF8.self).lowercased()
        guard let index = IMAPDate.monthNames.firstIndex(where: { $0.lowercased() == text }) else {
            throw GrammarError("Expected a month")
        }
        position += 3
        return index + 1
    }

    private mutating func fixedDigits(_ count: Int) throws -> Int {
        let start = position
        let bytes = run { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard bytes.count == count else {
            position = start
            throw GrammarError("Expected \(count) digits")
        }
        return Int(String(decoding: bytes, as: UTF8.self))!
    }

    /// date (RFC 3501): `1-Feb-1994`, optionally quoted.
    private mutating func date() throws -> IMAPDate {
        let quotedDate = take(UInt8(ascii: "\""))
        let dayBytes = run { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard (1...2).contains(dayBytes.count) else { throw GrammarError("Expected a day") }
        try expect(UInt8(ascii: "-"), "-")
        let month = try month()
        try expect(UInt8(ascii: "-"), "-")
        let year = try fixedDigits(4)
        if quotedDate { try expect(UInt8(ascii: "\""), "closing quote") }
        guard let date = IMAPDate(year: year, month: month, day: Int(String(decoding: dayBytes, as: UTF8.self))!)
        else { throw GrammarError("Invalid date") }
        return date
    }

    /// date-time (RFC 3501): `"17-Jul-1996 02:44:25 -0700"`, the day space-padded or two digits.
    private mutating func dateTime() throws -> InternalDate {
        try expect(UInt8(ascii: "\""), "date-time")
        _ = take(UInt8(ascii: " "))
        let dayBytes = run { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard (1...2).contains(dayBytes.count) else { throw GrammarError("Expected a day") }
        try expect(UInt8(ascii: "-"), "-")
        let month = try month()
        try expect(UInt8(ascii: "-"), "-")
        let year = try fixedDigits(4)
        try space()
        let hour = try fixedDigits(2)
        try expect(UInt8(ascii: ":"), ":")
        let minute = try fixedDigits(2)
        try expect(UInt8(ascii: ":"), ":")
        let second = try fixedDigits(2)
        try space()
        let negative: Bool
        if take(UInt8(ascii: "-")) {
            negative = true
        } else {
            try expect(UInt8(ascii: "+"), "zone")
            negative = false
        }
        let zone = try fixedDigits(4)
        try expect(UInt8(ascii: "\""), "closing quote")
        let zoneMinutes = (zone / 100 * 60 + zone % 100) * (negative ? -1 : 1)
        guard zone % 100 < 60,
            let day = IMAPDate(year: year, month: month, day: Int(String(decoding: dayBytes, as: UTF8.self))!),
            let result = InternalDate(date: day, hour: hour, minute: minute, second: second, zoneMinutes: zoneMinutes)
        else { throw GrammarError("Invalid date-time") }
        return result
    }

    // MARK: Sequence sets

    private mutating func sequenceBound() throws -> SequenceBound {
        if take(UInt8(ascii: "*")) { return .last }
        return .number(try nzNumber())
    }

    private mutating func sequenceSet() throws -> SequenceSet {
        var ranges: [SequenceRange] = []
        repeat {
            let first = try sequenceBound()
            ranges.append(take(UInt8(ascii: ":")) ? SequenceRange(first, try sequenceBound()) : SequenceRange(first))
        } while take(UInt8(ascii: ","))
        return SequenceSet(unchecked: ranges)
    }

    /// A sequence-set where a command names messages, which may also be `$`, the saved search
    /// result (RFC 5182 §4: `sequence-set =/ seq-last-command`).
    private mutating func messageSet() throws -> SequenceSet {
        if take(UInt8(ascii: "$")) { return .savedResult }
        return try sequenceSet()
    }

    private var atSequenceSet: Bool {
        guard let byte = peek else { return false }
        return byte == UInt8(ascii: "*") || byte == UInt8(ascii: "$")
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    // MARK: SEARCH

    private mutating func search(byUID: Bool) throws -> SearchCommand {
        try space()
        var returnOptions: [SearchReturnOption]?
        if takeWord("RETURN ") {
            returnOptions = try list(allowEmpty: true) { parser in
                guard let option = SearchReturnOption(rawValue: try parser.word()) else {
                    throw GrammarError("Unknown SEARCH return option")
                }
                return option
            }
            try space()
        }
        var charset: String?
        if takeWord("CHARSET ") {
            charset = try astringText().uppercased()
            try space()
        }
        var keys = [try searchKey()]
        while take(UInt8(ascii: " ")) { keys.append(try searchKey()) }
        return SearchCommand(
            byUID: byUID, returnOptions: returnOptions, charset: charset, key: keys.count == 1 ? keys[0] : .and(keys))
    }

    private mutating func searchKey() throws -> SearchKey {
        depth += 1
        defer { depth -= 1 }
        guard depth <= maxDepth else { throw GrammarError("Search keys nested too deeply", code: .limit) }
        if peek == UInt8(ascii: "(") { return .and(try list { try $0.searchKey() }) }
        if atSequenceSet { return .sequenceNumbers(try messageSet()) }
        let name = try word()
        func argument(_ parser: inout GrammarParser) throws -> String {
            try parser.space()
            return try parser.astringText()
        }
        func dateArgument(_ parser: inout GrammarParser) throws -> IMAPDate {
            try parser.space()
            return try parser.date()
        }
        switch name {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "KEYWORD":
            try space()
            return .keyword(try atom())
        case "UNKEYWORD":
            try space()
            return .unkeyword(try atom())
        case "BCC": return .bcc(try argument(&self))
        case "BODY": return .body(try argument(&self))
        case "CC": return .cc(try argument(&self))
        case "FROM": return .from(try argument(&self))
        case "SUBJECT": return .subject(try argument(&self))
        case "TEXT": return .text(try argument(&self))
        case "TO": return .to(try argument(&self))
        case "HEADER":
            let field = try argument(&self)
            return .header(field, try argument(&self))
        case "BEFORE": return .before(try dateArgument(&self))
        case "ON": return .on(try dateArgument(&self))
        case "SINCE": return .since(try dateArgument(&self))
        case "SENTBEFORE": return .sentBefore(try dateArgument(&self))
        case "SENTON": return .sentOn(try dateArgument(&self))
        case "SENTSINCE": return .sentSince(try dateArgument(&self))
        case "LARGER":
            try space()
            return .larger(try number())
        case "SMALLER":
            try space()
            return .smaller(try number())
        case "UID":
            try space()
            return .uid(try messageSet())
        case "NOT":
            try space()
            return .not(try searchKey())
        case "OR":
            try space()
            let first = try searchKey()
            try space()
            return .or(first, try searchKey())
        case "MODSEQ":
            try space()
            var entry: ModSeqEntry?
            if peek == UInt8(ascii: "\"") {
                let name = String(decoding: try quoted(), as: UTF8.self)
                try space()
                guard let kind = ModSeqEntry.Kind(rawValue: try atom().lowercased()) else {
                    throw GrammarError("Expected priv, shared or all")
                }
                entry = ModSeqEntry(name: name, kind: kind)
                try space()
            }
            return .modSeq(try modSequence(), entry: entry)
        default:
            throw GrammarError("Unknown search key")
        }
    }

    // MARK: SORT

    /// `SORT [RETURN (options)] (criteria) charset search-keys` (RFC 5256 §5, RFC 5267 §3); the
    /// charset is not optional here.
    private mutating func sort(byUID: Bool) throws -> SortCommand {
        try space()
        var returnOptions: [SearchReturnOption]?
        if takeWord("RETURN ") {
            returnOptions = try list(allowEmpty: true) { parser in
                guard let option = SearchReturnOption(rawValue: try parser.word()) else {
                    throw GrammarError("Unknown SORT return option")
                }
                return option
            }
            try space()
        }
        let criteria = try list { parser -> SortCriterion in
            var name = try parser.word()
            let reverse = name == "REVERSE"
            if reverse {
                try parser.space()
                name = try parser.word()
            }
            guard let key = SortKey(rawValue: name) else { throw GrammarError("Unknown sort key") }
            return SortCriterion(key, reverse: reverse)
        }
        try space()
        let charset = try astringText().uppercased()
        try space()
        var keys = [try searchKey()]
        while take(UInt8(ascii: " ")) { keys.append(try searchKey()) }
        return SortCommand(
            byUID: byUID, returnOptions: returnOptions, criteria: criteria, charset: charset,
            key: keys.count == 1 ? keys[0] : .and(keys))
    }

    // MARK: FETCH

    private mutating func fetch(byUID: Bool) throws -> FetchCommand {
        try space()
        let set = try messageSet()
        try space()
        var attributes: [FetchAttribute]
        if peek == UInt8(ascii: "(") {
            attributes = try list { try $0.fetchAttribute() }
        } else if takeWord("ALL") {
            attributes = FetchAttribute.all
        } else if takeWord("FULL") {
            attributes = FetchAttribute.full
        } else if takeWord("FAST") {
            attributes = FetchAttribute.fast
        } else {
            attributes = [try fetchAttribute()]
        }
        var modifiers: [FetchModifier] = []
        if take(UInt8(ascii: " ")) {
            modifiers = try list { parser in
                switch try parser.word() {
                case "CHANGEDSINCE":
                    try parser.space()
                    return .changedSince(try parser.modSequence())
                case "VANISHED": return .vanished
                default: throw GrammarError("Unknown FETCH modifier")
                }
            }
            // RFC 7162 §3.2.6: VANISHED only with CHANGEDSINCE, and only in UID FETCH.
            if modifiers.contains(.vanished) {
                guard byUID, modifiers.contains(where: { if case .changedSince = $0 { true } else { false } }) else {
                    throw GrammarError("VANISHED needs UID FETCH with CHANGEDSINCE")
                }
            }
        }
        return FetchCommand(byUID: byUID, set: set, attributes: attributes, modifiers: modifiers)
    }

    private mutating func fetchAttribute() throws -> FetchAttribute {
        let bytes = run { GrammarParser.isAtomChar($0) && $0 != UInt8(ascii: "[") }
        let name = String(decoding: bytes, as: UTF8.self).uppercased()
        switch name {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "UID": return .uid
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "BODYSTRUCTURE": return .bodyStructure(extensions: true)
        case "MODSEQ": return .modSeq
        case "BODY", "BODY.PEEK":
            guard peek == UInt8(ascii: "[") else {
                guard name == "BODY" else { throw GrammarError("BODY.PEEK needs a section") }
                return .bodyStructure(extensions: false)
            }
            return .section(try section(), peek: name == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK":
            let part = try sectionBinary()
            return .binary(part: part, partial: try partial(), peek: name == "BINARY.PEEK")
        case "BINARY.SIZE": return .binarySize(part: try sectionBinary())
        default: throw GrammarError("Unknown FETCH attribute")
        }
    }

    /// section-binary (RFC 3516 §4.5): `[` [nz-number *("." nz-number)] `]`.
    private mutating func sectionBinary() throws -> [Int] {
        try expect(UInt8(ascii: "["), "[")
        var parts: [Int] = []
        if !take(UInt8(ascii: "]")) {
            repeat { parts.append(Int(try nzNumber())) } while take(UInt8(ascii: "."))
            try expect(UInt8(ascii: "]"), "]")
        }
        return parts
    }

    /// `<origin.size>` after a section, if there is one.
    private mutating func partial() throws -> SectionSpecifier.Partial? {
        guard take(UInt8(ascii: "<")) else { return nil }
        let offset = try number()
        try expect(UInt8(ascii: "."), ".")
        let length = try nzNumber()
        try expect(UInt8(ascii: ">"), ">")
        return SectionSpecifier.Partial(offset: Int(offset), length: Int(length))
    }

    /// `[section]<origin.size>` after BODY or BODY.PEEK.
    private mutating func section() throws -> SectionSpecifier {
        try expect(UInt8(ascii: "["), "[")
        var parts: [Int] = []
        var text = SectionSpecifier.Text.whole
        if let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            while true {
                parts.append(Int(try nzNumber()))
                guard take(UInt8(ascii: ".")) else { break }
                if let next = peek, !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next) {
                    text = try sectionText(allowMIME: true)
                    break
                }
            }
        } else if peek != UInt8(ascii: "]") {
            text = try sectionText(allowMIME: false)
        }
        try expect(UInt8(ascii: "]"), "]")
        return SectionSpecifier(part: parts, text: text, partial: try partial())
    }

    private mutating func sectionText(allowMIME: Bool) throws -> SectionSpecifier.Text {
        let name = String(decoding: run { GrammarParser.isAtomChar($0) && $0 != UInt8(ascii: "[") }, as: UTF8.self)
            .uppercased()
        switch name {
        case "HEADER": return .header
        case "TEXT": return .text
        case "MIME" where allowMIME: return .mime
        case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
            try space()
            let names = try list { parser in
                let field = try parser.astringText()
                // RFC 5322 §3.6.8: printable ASCII except the colon.
                guard field.unicodeScalars.allSatisfy({ (33...126).contains($0.value) && $0 != ":" }) else {
                    throw GrammarError("Invalid header field name")
                }
                return field
            }
            return name == "HEADER.FIELDS" ? .headerFields(names) : .headerFieldsNot(names)
        default: throw GrammarError("Unknown section")
        }
    }

    // MARK: STORE, COPY, MOVE

    private mutating func store(byUID: Bool) throws -> StoreCommand {
        try space()
        let set = try messageSet()
        try space()
        var unchangedSince: UInt64?
        if peek == UInt8(ascii: "(") {
            let values = try list { parser in
                guard try parser.word() == "UNCHANGEDSINCE" else { throw GrammarError("Unknown STORE modifier") }
                try parser.space()
                return try parser.modSequence()
            }
            guard values.count == 1 else { throw GrammarError("UNCHANGEDSINCE given twice") }
            unchangedSince = values[0]
            try space()
        }
        let operation: FlagOperation =
            take(UInt8(ascii: "+")) ? .add : take(UInt8(ascii: "-")) ? .remove : .replace
        guard takeWord("FLAGS") else { throw GrammarError("Expected FLAGS") }
        let silent = takeWord(".SILENT")
        try space()
        let flags: [Flag]
        if peek == UInt8(ascii: "(") {
            flags = try list(allowEmpty: true) { try $0.flag() }
        } else {
            var items = [try flag()]
            while take(UInt8(ascii: " ")) { items.append(try flag()) }
            flags = items
        }
        return StoreCommand(
            byUID: byUID, set: set, unchangedSince: unchangedSince, operation: operation, silent: silent, flags: flags)
    }

    private mutating func copy(byUID: Bool) throws -> CopyCommand {
        try space()
        let set = try messageSet()
        try space()
        return CopyCommand(byUID: byUID, set: set, mailbox: try mailbox())
    }
}
