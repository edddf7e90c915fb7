import MailvoxCore
import MailvoxIMAPCore
import NIOCore

/// Writes commands as a client would send them: the other half of the parser, for round-trip
/// tests, the fuzzer's seeds, and test clients.
public enum CommandEncoder {
    /// How strings that cannot be quoted are sent.
    public enum LiteralStyle: Sendable {
        /// `{n}`: the client waits for `+` (the parser answers `.continuationRequest`).
        case synchronising
        /// `{n+}` (RFC 7888 LITERAL+).
        case nonSynchronising
    }

    /// `names`: how the session reads mailbox names (UTF-8 once UTF8=ACCEPT or IMAP4rev2 is on).
    public static func encode(
        _ command: TaggedCommand, literals: LiteralStyle = .nonSynchronising, names: NameEncoding = .modifiedUTF7
    ) -> ByteBuffer {
        var writer = Writer(buffer: ByteBufferAllocator().buffer(capacity: 128), literals: literals, names: names)
        writer.write(command.tag)
        writer.write(" ")
        writer.command(command.command)
        writer.write("\r\n")
        return writer.buffer
    }

    private struct Writer {
        var buffer: ByteBuffer
        let literals: LiteralStyle
        let names: NameEncoding

        mutating func write(_ text: String) { buffer.writeString(text) }

        mutating func literal(_ bytes: some Collection<UInt8>) {
            write(literals == .synchronising ? "{\(bytes.count)}\r\n" : "{\(bytes.count)+}\r\n")
            buffer.writeBytes(bytes)
        }

        mutating func string(_ text: String) {
            let bytes = Array(text.utf8)
            if bytes.count <= 1024, bytes.allSatisfy({ $0 != 0 && $0 < 0x80 && $0 != 0x0D && $0 != 0x0A }) {
                var quoted = ByteBufferAllocator().buffer(capacity: bytes.count + 2)
                quoted.writeIMAPString(bytes)
                buffer.writeImmutableBuffer(quoted)
            } else {
                literal(bytes)
            }
        }

        mutating func astring(_ text: String) {
            let bytes = Array(text.utf8)
            if !bytes.isEmpty, bytes.allSatisfy(GrammarParser.isAStringChar) {
                buffer.writeBytes(bytes)
            } else {
                string(text)
            }
        }

        mutating func mailbox(_ name: MailboxName) { astring(names == .utf8 ? name.name : name.wireName) }

        mutating func pattern(_ text: String) {
            let wire = names == .utf8 ? text : ModifiedUTF7.encode(text)
            let bytes = Array(wire.utf8)
            if !bytes.isEmpty, bytes.allSatisfy(GrammarParser.isListChar) { write(wire) } else { string(wire) }
        }

        mutating func list<T>(_ items: [T], _ element: (inout Writer, T) -> Void) {
            write("(")
            for (index, item) in items.enumerated() {
                if index > 0 { write(" ") }
                element(&self, item)
            }
            write(")")
        }

        mutating func flags(_ flags: [Flag]) { list(flags) { $0.write($1.description) } }

        mutating func command(_ command: Command) {
            switch command {
            case .capability: write("CAPABILITY")
            case .noop: write("NOOP")
            case .logout: write("LOGOUT")
            case .starttls: write("STARTTLS")
            case .namespace: write("NAMESPACE")
            case .getQuotaRoot(let name):
                write("GETQUOTAROOT ")
                mailbox(name)
            case .getQuota(let root):
                write("GETQUOTA ")
                astring(root)
            case .setQuota(let root, let limits):
                write("SETQUOTA ")
                astring(root)
                write(" ")
                list(limits) { $0.write("\($1.resource) \($1.limit)") }
            case .getACL(let name):
                write("GETACL ")
                mailbox(name)
            case .myRights(let name):
                write("MYRIGHTS ")
                mailbox(name)
            case .setACL(let name, let identifier, let rights):
                write("SETACL ")
                mailbox(name)
                write(" ")
                astring(identifier)
                write(" ")
                astring(rights)
            case .deleteACL(let name, let identifier):
                write("DELETEACL ")
                mailbox(name)
                write(" ")
                astring(identifier)
            case .listRights(let name, let identifier):
                write("LISTRIGHTS ")
                mailbox(name)
                write(" ")
                astring(identifier)
            case .idle: write("IDLE")
            case .compress(let mechanism): write("COMPRESS \(mechanism)")
            case .check: write("CHECK")
            case .close: write("CLOSE")
            case .unselect: write("UNSELECT")
            case .expunge: write("EXPUNGE")
            case .id(let parameters):
                write("ID ")
                if let parameters {
                    list(parameters) { writer, parameter in
                        writer.string(parameter.field)
                        writer.write(" ")
                        if let value = parameter.value { writer.string(value) } else { writer.write("NIL") }
                    }
                } else {
                    write("NIL")
                }
            case .login(let username, let password):
                write("LOGIN ")
                astring(username)
                write(" ")
                astring(password)
            case .authenticate(let mechanism, let initialResponse):
                write("AUTHENTICATE \(mechanism)")
                if let initialResponse {
                    write(" ")
                    write(initialResponse.isEmpty ? "=" : Base64.encode(initialResponse))
                }
            case .enable(let capabilities): write("ENABLE " + capabilities.joined(separator: " "))
            case .select(let name, let parameters), .examine(let name, let parameters):
                if case .select = command { write("SELECT ") } else { write("EXAMINE ") }
                mailbox(name)
                var items: [String] = parameters.condStore ? ["CONDSTORE"] : []
                if let q = parameters.qresync {
                    var text = "QRESYNC (\(q.uidValidity) \(q.modSeq)"
                    if let known = q.knownUIDs { text += " \(known)" }
                    if let match = q.sequenceMatch { text += " (\(match.sequenceNumbers) \(match.uids))" }
                    items.append(text + ")")
                }
                if !items.isEmpty { write(" (" + items.joined(separator: " ") + ")") }
            case .create(let name):
                write("CREATE ")
                mailbox(name)
            case .delete(let name):
                write("DELETE ")
                mailbox(name)
            case .subscribe(let name):
                write("SUBSCRIBE ")
                mailbox(name)
            case .unsubscribe(let name):
                write("UNSUBSCRIBE ")
                mailbox(name)
            case .rename(let from, let to):
                write("RENAME ")
                mailbox(from)
                write(" ")
                mailbox(to)
            case .list(let command):
                write("LIST ")
                if !command.selectOptions.isEmpty {
                    list(command.selectOptions) { $0.write($1.rawValue) }
                    write(" ")
                }
                string(ModifiedUTF7.encode(command.reference))
                write(" ")
                if command.patterns.count == 1 {
                    pattern(command.patterns[0])
                } else {
                    list(command.patterns) { $0.pattern($1) }
                }
                if !command.returnOptions.isEmpty {
                    write(" RETURN ")
                    list(command.returnOptions) { writer, option in
                        switch option {
                        case .subscribed: writer.write("SUBSCRIBED")
                        case .children: writer.write("CHILDREN")
                        case .specialUse: writer.write("SPECIAL-USE")
                        case .status(let attributes):
                            writer.write("STATUS ")
                            writer.list(attributes) { $0.write($1.rawValue) }
                        }
                    }
                }
            case .lsub(let reference, let pattern):
                write("LSUB ")
                string(ModifiedUTF7.encode(reference))
                write(" ")
                self.pattern(pattern)
            case .status(let name, let attributes):
                write("STATUS ")
                mailbox(name)
                write(" ")
                list(attributes) { $0.write($1.rawValue) }
            case .append(let append):
                write("APPEND ")
                mailbox(append.mailbox)
                for message in append.messages {
                    if !message.flags.isEmpty {
                        write(" ")
                        flags(message.flags)
                    }
                    if let date = message.internalDate { write(" \"\(date)\"") }
                    write(" ")
                    if message.isLiteral8 { write("~") }
                    literal(message.message.readableBytesView)
                }
            case .uidExpunge(let set): write("UID EXPUNGE \(set)")
            case .search(let search):
                write(search.byUID ? "UID SEARCH " : "SEARCH ")
                if let options = search.returnOptions {
                    write("RETURN ")
                    list(options) { $0.write($1.rawValue) }
                    write(" ")
                }
                if let charset = search.charset {
                    write("CHARSET ")
                    astring(charset)
                    write(" ")
                }
                if case .and(let keys) = search.key, keys.count > 1 {
                    for (index, key) in keys.enumerated() {
                        if index > 0 { write(" ") }
                        searchKey(key)
                    }
                } else {
                    searchKey(search.key)
                }
            case .sort(let sort):
                write(sort.byUID ? "UID SORT " : "SORT ")
                if let options = sort.returnOptions {
                    write("RETURN ")
                    list(options) { $0.write($1.rawValue) }
                    write(" ")
                }
                list(sort.criteria) { $0.write($1.reverse ? "REVERSE \($1.key.rawValue)" : $1.key.rawValue) }
                write(" ")
                astring(sort.charset)
                write(" ")
                if case .and(let keys) = sort.key, keys.count > 1 {
                    for (index, key) in keys.enumerated() {
                        if index > 0 { write(" ") }
                        searchKey(key)
                    }
                } else {
                    searchKey(sort.key)
                }
            case .fetch(let fetch):
                write(fetch.byUID ? "UID FETCH \(fetch.set) " : "FETCH \(fetch.set) ")
                list(fetch.attributes) { $0.fetchAttribute($1) }
                if !fetch.modifiers.isEmpty {
                    write(" ")
                    list(fetch.modifiers) { writer, modifier in
                        switch modifier {
                        case .changedSince(let value): writer.write("CHANGEDSINCE \(value)")
                        case .vanished: writer.write("VANISHED")
                        }
                    }
                }
            case .store(let store):
                write(store.byUID ? "UID STORE \(store.set) " : "STORE \(store.set) ")
                if let value = store.unchangedSince { write("(UNCHANGEDSINCE \(value)) ") }
                switch store.operation {
                case .add: write("+")
                case .remove: write("-")
                case .replace: break
                }
                write(store.silent ? "FLAGS.SILENT " : "FLAGS ")
                flags(store.flags)
            case .copy(let copy), .move(let copy):
                let verb = if case .copy = command { "COPY" } else { "MOVE" }
                write(copy.byUID ? "UID \(verb) \(copy.set) " : "\(verb) \(copy.set) ")
                mailbox(copy.mailbox)
            }
        }

        mutating func searchKey(_ key: SearchKey) {
            switch key {
            case .all: write("ALL")
            case .answered: write("ANSWERED")
            case .deleted: write("DELETED")
            case .draft: write("DRAFT")
            case .flagged: write("FLAGGED")
            case .new: write("NEW")
            case .old: write("OLD")
            case .recent: write("RECENT")
            case .seen: write("SEEN")
            case .unanswered: write("UNANSWERED")
            case .undeleted: write("UNDELETED")
            case .undraft: write("UNDRAFT")
            case .unflagged: write("UNFLAGGED")
            case .unseen: write("UNSEEN")
            case .keyword(let name): write("KEYWORD \(name)")
            case .unkeyword(let name): write("UNKEYWORD \(name)")
            case .bcc(let text): argument("BCC", text)
            case .body(let text): argument("BODY", text)
            case .cc(let text): argument("CC", text)
            case .from(let text): argument("FROM", text)
            case .subject(let text): argument("SUBJECT", text)
            case .text(let text): argument("TEXT", text)
            case .to(let text): argument("TO", text)
            case .header(let field, let value):
                argument("HEADER", field)
                write(" ")
                astring(value)
            case .before(let date): write("BEFORE \(date)")
            case .on(let date): write("ON \(date)")
            case .since(let date): write("SINCE \(date)")
            case .sentBefore(let date): write("SENTBEFORE \(date)")
            case .sentOn(let date): write("SENTON \(date)")
            case .sentSince(let date): write("SENTSINCE \(date)")
            case .larger(let size): write("LARGER \(size)")
            case .smaller(let size): write("SMALLER \(size)")
            case .uid(let set): write("UID \(set)")
            case .sequenceNumbers(let set): write(set.description)
            case .not(let inner):
                write("NOT ")
                searchKey(inner)
            case .or(let first, let second):
                write("OR ")
                searchKey(first)
                write(" ")
                searchKey(second)
            case .and(let keys): list(keys) { $0.searchKey($1) }
            case .modSeq(let value, let entry):
                write("MODSEQ ")
                if let entry {
                    string(entry.name)
                    write(" \(entry.kind.rawValue) ")
                }
                write(String(value))
            }
        }

        mutating func argument(_ name: String, _ text: String) {
            write(name + " ")
            astring(text)
        }

        mutating func fetchAttribute(_ attribute: FetchAttribute) {
            switch attribute {
            case .envelope: write("ENVELOPE")
            case .flags: write("FLAGS")
            case .internalDate: write("INTERNALDATE")
            case .uid: write("UID")
            case .rfc822: write("RFC822")
            case .rfc822Header: write("RFC822.HEADER")
            case .rfc822Size: write("RFC822.SIZE")
            case .rfc822Text: write("RFC822.TEXT")
            case .bodyStructure(let extensions): write(extensions ? "BODYSTRUCTURE" : "BODY")
            case .modSeq: write("MODSEQ")
            case .section(let section, let peek):
                write(peek ? "BODY.PEEK[" : "BODY[")
                var text = ByteBufferAllocator().buffer(capacity: 32)
                text.writeSection(section)
                buffer.writeImmutableBuffer(text)
                write("]")
                if let partial = section.partial { write("<\(partial.offset).\(partial.length)>") }
            case .binary(let part, let partial, let peek):
                write((peek ? "BINARY.PEEK[" : "BINARY[") + part.map(String.init).joined(separator: ".") + "]")
                if let partial { write("<\(partial.offset).\(partial.length)>") }
            case .binarySize(let part): write("BINARY.SIZE[" + part.map(String.init).joined(separator: ".") + "]")
            }
        }
    }
}
