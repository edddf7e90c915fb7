/// One SMTP or LMTP command line (RFC 5321 §4.1.1, RFC 2033 §4.1, RFC 3030, RFC 3207, RFC 4954).
public enum SMTPCommand: Sendable, Hashable {
    case hello(kind: HelloKind, domain: String)
    /// `MAIL FROM:<path> params`; a nil address is the null reverse-path `<>`.
    case mail(from: SMTPAddress?, parameters: [Parameter])
    case rcpt(to: SMTPAddress, parameters: [Parameter])
    case data
    /// `BDAT size [LAST]` (RFC 3030): the next `size` octets are message data.
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy
    case help
    case startTLS
    /// `AUTH mechanism [initial-response]` (RFC 4954).
    case auth(mechanism: String, initialResponse: String?)

    public enum HelloKind: String, Sendable {
        case helo = "HELO", ehlo = "EHLO", lhlo = "LHLO"
    }

    /// An ESMTP parameter (`SIZE=1000`, `BODY=8BITMIME`, `SMTPUTF8`); the keyword upper-cased.
    public struct Parameter: Sendable, Hashable {
        public var keyword: String
        public var value: String?

        public init(_ keyword: String, _ value: String? = nil) {
            self.keyword = keyword.uppercased()
            self.value = value
        }
    }

    /// What was wrong with a line, as the reply that says so.
    public struct SyntaxError: Error, Sendable, Hashable {
        public var reply: SMTPReply

        init(_ code: Int, _ enhanced: String, _ text: String) {
            reply = SMTPReply(code, enhanced, text)
        }
    }

    /// The largest BDAT chunk size accepted as a number at all; the message limit still applies.
    public static let maxChunkSize = 1 << 40

    /// Parses a command line without its CRLF. The verb is case-insensitive (RFC 5321 §2.4).
    public static func parse(_ line: [UInt8]) -> Result<SMTPCommand, SyntaxError> {
        guard let text = String(validating: line, as: UTF8.self) else {
            return .failure(SyntaxError(500, "5.5.2", "Command is not valid UTF-8"))
        }
        guard !text.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7F }) else {
            return .failure(SyntaxError(500, "5.5.2", "Control characters in command"))
        }
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        let verb = text[..<verbEnd].uppercased()
        let argument = text[verbEnd...].drop { $0 == " " }
        func noArgument(_ command: SMTPCommand) -> Result<SMTPCommand, SyntaxError> {
            argument.isEmpty ? .success(command) : .failure(SyntaxError(501, "5.5.4", "\(verb) takes no argument"))
        }
        switch verb {
        case "HELO", "EHLO", "LHLO":
            let domain = argument.trimmingSuffix(" ")
            guard !domain.isEmpty, !domain.contains(" ") || verb == "HELO" else {
                return .failure(SyntaxError(501, "5.5.4", "\(verb) needs a domain or address literal"))
            }
            return .success(.hello(kind: HelloKind(rawValue: verb)!, domain: String(domain)))
        case "MAIL":
            return path(argument, prefix: "FROM:").map { .mail(from: $0.address, parameters: $0.parameters) }
        case "RCPT":
            return path(argument, prefix: "TO:").flatMap { parsed in
                guard let address = parsed.address else {
                    return .failure(SyntaxError(501, "5.1.3", "A recipient cannot be the null path <>"))
                }
                return .success(.rcpt(to: address, parameters: parsed.parameters))
            }
        case "DATA": return noArgument(.data)
        case "BDAT":
            let words = argument.split(separator: " ")
            guard (1...2).contains(words.count), words[0].allSatisfy(\.isASCIIDigit), words[0].count <= 13,
                let size = Int(words[0]), size <= maxChunkSize,
                words.count == 1 || words[1].uppercased() == "LAST"
            else {
                return .failure(SyntaxError(501, "5.5.4", "BDAT needs a chunk size and optionally LAST"))
            }
            return .success(.bdat(size: size, last: words.count == 2))
        case "RSET": return noArgument(.rset)
        case "NOOP": return .success(.noop)  // RFC 5321 §4.1.1.9: an argument is ignored
        case "QUIT": return noArgument(.quit)
        case "VRFY", "EXPN": return .success(.vrfy)
        case "HELP": return .success(.help)
        case "STARTTLS": return noArgument(.startTLS)
        case "AUTH":
            let words = argument.split(separator: " ")
            guard (1...2).contains(words.count) else {
                return .failure(SyntaxError(501, "5.5.4", "AUTH needs a mechanism"))
            }
            return .success(
                .auth(mechanism: words[0].uppercased(), initialResponse: words.count == 2 ? String(words[1]) : nil))
        default:
            return .failure(SyntaxError(500, "5.5.2", "Command unrecognized"))
        }
    }

    /// `FROM:<path> params` / `TO:<path> params`. A space after the colon and a path without
    /// angle brackets are tolerated, as Postfix does: PBXs send both.
    private static func path(
        _ argument: Substring, prefix: String
    ) -> Result<(address: SMTPAddress?, parameters: [Parameter]), SyntaxError> {
        let syntax = SyntaxError(
            501, "5.5.4", "Syntax: \(prefix == "FROM:" ? "MAIL FROM:<address>" : "RCPT TO:<address>")")
        guard argument.uppercased().hasPrefix(prefix) else { return .failure(syntax) }
        // RFC 3463: X.1.7 is the sender's address syntax, X.1.3 the recipient's.
        let addressCode = prefix == "FROM:" ? "5.1.7" : "5.1.3"
        var rest = argument.dropFirst(prefix.count).drop { $0 == " " }
        let pathText: Substring
        if rest.first == "<" {
            // The path ends at the first `>` outside a quoted local part (`<"a>b"@example.com>`).
            guard let close = closingBracket(rest) else {
                return .failure(SyntaxError(501, addressCode, "Unterminated address"))
            }
            pathText = rest[rest.index(after: rest.startIndex)..<close]
            rest = rest[rest.index(after: close)...]
        } else {
            let end = rest.firstIndex(of: " ") ?? rest.endIndex
            pathText = rest[..<end]
            rest = rest[end...]
            // No path at all is a syntax error, not the null path, which is written `<>`.
            guard !pathText.isEmpty else { return .failure(syntax) }
        }
        var parameters: [Parameter] = []
        for word in rest.split(separator: " ") {
            if let equals = word.firstIndex(of: "=") {
                let keyword = word[..<equals]
                guard !keyword.isEmpty else { return .failure(SyntaxError(501, "5.5.4", "Bad parameter")) }
                parameters.append(Parameter(String(keyword), String(word[word.index(after: equals)...])))
            } else {
                parameters.append(Parameter(String(word)))
            }
        }
        guard parameters.count <= 16 else { return .failure(SyntaxError(501, "5.5.4", "Too many parameters")) }
        // A source route (`@a,@b:user@d`) is accepted and ignored (RFC 5321 §4.1.2, Appendix C).
        var mailbox = pathText
        if mailbox.first == "@", let colon = mailbox.firstIndex(of: ":") {
            mailbox = mailbox[mailbox.index(after: colon)...]
        }
        if mailbox.isEmpty { return .success((nil, parameters)) }
        guard let address = SMTPAddress.parse(mailbox) else {
            return .failure(SyntaxError(501, addressCode, "Bad address syntax"))
        }
        return .success((address, parameters))
    }

    /// The index of the `>` that closes a path starting with `<`, skipping a quoted string and
    /// its `\` escapes (RFC 5321 §4.1.2 Quoted-string).
    private static func closingBracket(_ text: Substring) -> Substring.Index? {
        var quoted = false
        var escaped = false
        for index in text.indices.dropFirst() {
            let character = text[index]
            if escaped {
                escaped = false
            } else if quoted && character == "\\" {
                escaped = true
            } else if character == "\"" {
                quoted.toggle()
            } else if character == ">" && !quoted {
                return index
            }
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ character: Character) -> Substring {
        var result = self
        while result.last == character { result = result.dropLast() }
        return result
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
