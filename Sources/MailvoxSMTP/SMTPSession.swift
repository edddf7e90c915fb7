import Foundation
import Logging
import MailvoxCore
import MailvoxSMTPCore

/// One SMTP or LMTP conversation as a state machine over `SMTPInput` events: greeting, EHLO
/// (or LHLO), STARTTLS, AUTH, then transactions of MAIL, RCPT and DATA or BDAT (RFC 5321,
/// RFC 2033, RFC 3207, RFC 4954, RFC 3030). Replies go to `output`; the connection writes them
/// when the client's pipelined commands are all answered (RFC 2920), and performs the actions.
struct SMTPSession {
    enum Dialect: Sendable {
        case smtp, lmtp

        var name: String { self == .smtp ? "ESMTP" : "LMTP" }
    }

    /// What the connection must do after an event.
    enum Action: Equatable {
        case proceed
        /// Write the output, then put TLS in place before reading on.
        case startTLS
        /// Write the output and close.
        case close
    }

    /// An AUTH exchange waiting for the client's next line (RFC 4954 §4).
    enum Challenge {
        case plain
        case loginUser
        case loginPassword(user: String)
    }

    let configuration: SMTPServerConfiguration
    let backend: any SMTPBackend
    let logger: Logger
    let proto: Dialect
    let client: ClientAddress
    /// A client on loopback, a Unix socket or in `trusted_networks`: may send without AUTH.
    let trusted: Bool
    var isTLS: Bool
    let startTLSAvailable: Bool

    var input: SMTPInput
    var output: [UInt8] = []
    var helo: String?
    var authenticatedAs: String?
    var challenge: Challenge?
    var mailFrom: SMTPAddress??
    var recipients: [SMTPEnvelope.Recipient] = []
    /// BDAT chunks are being received; a DATA or MAIL now is out of sequence.
    var inChunks = false
    /// A BDAT chunk of this transaction was refused: the rest are read and dropped.
    var chunksRefused: SMTPReply?
    /// The chunk being read was announced with LAST.
    var chunkIsLast = false
    var errors = 0

    init(
        configuration: SMTPServerConfiguration, backend: any SMTPBackend, logger: Logger, proto: Dialect,
        client: ClientAddress, trusted: Bool, isTLS: Bool, startTLSAvailable: Bool
    ) {
        self.configuration = configuration
        self.backend = backend
        self.logger = logger
        self.proto = proto
        self.client = client
        self.trusted = trusted
        self.isTLS = isTLS
        self.startTLSAvailable = startTLSAvailable
        self.input = SMTPInput(maxMessageBytes: configuration.maxMessageBytes)
    }

    var mayAuthenticate: Bool { isTLS }
    var mayTransact: Bool { !configuration.requireAuth || trusted || authenticatedAs != nil }

    mutating func send(_ reply: SMTPReply) {
        output.append(contentsOf: reply.wire)
    }

    mutating func takeOutput() -> [UInt8] {
        defer { output = [] }
        return output
    }

    mutating func greet() {
        send(SMTPReply(220, nil, "\(configuration.hostname) Mailvox \(proto.name) ready"))
    }

    /// A refusal the client caused; past `maxErrors` the connection ends (a client looping on
    /// errors, or a flood of junk, is not served for ever).
    mutating func refuse(_ reply: SMTPReply) -> Action {
        errors += 1
        if errors >= configuration.maxErrors {
            send(.tooManyErrors)
            return .close
        }
        send(reply)
        return .proceed
    }

    mutating func handle(_ event: SMTPInput.Event) async -> Action {
        switch event {
        case .bareLineFeed, .lineTooLong:
            // A line that is refused also ends an AUTH exchange (RFC 4954 §4): the client's next
            // line is a command again, not a SASL response.
            challenge = nil
            return refuse(event == .bareLineFeed ? .bareLF : .lineTooLong)
        case .line(let line):
            if let challenge {
                self.challenge = nil
                return await continueAuth(challenge, line: line)
            }
            switch SMTPCommand.parse(line) {
            case .failure(let error): return refuse(error.reply)
            case .success(let command): return await handle(command)
            }
        case .dataEnd(let overLimit):
            return await finishMessage(overLimit: overLimit)
        case .chunkEnd(let overLimit):
            return await finishChunk(overLimit: overLimit)
        }
    }

    mutating func handle(_ command: SMTPCommand) async -> Action {
        if inChunks {
            // RFC 3030 §2: between BDAT chunks only BDAT, RSET, NOOP and QUIT make sense.
            switch command {
            case .bdat, .rset, .noop, .quit: break
            default: return refuse(.badSequence)
            }
        }
        switch command {
        case .hello(let kind, let domain):
            return hello(kind, domain)
        case .startTLS:
            guard startTLSAvailable, !isTLS else {
                return refuse(
                    SMTPReply(isTLS ? 503 : 502, "5.5.1", isTLS ? "TLS already active" : "STARTTLS not available"))
            }
            send(SMTPReply(220, "2.0.0", "Ready to start TLS"))
            return .startTLS
        case .auth(let mechanism, let initial):
            return await auth(mechanism, initial)
        case .mail(let from, let parameters):
            return mail(from, parameters)
        case .rcpt(let to, _):
            return await rcpt(to)
        case .data:
            guard mailFrom != nil else { return refuse(SMTPReply(503, "5.5.1", "MAIL first")) }
            guard !recipients.isEmpty else { return refuse(noValidRecipients) }
            send(SMTPReply(354, nil, "End data with <CR><LF>.<CR><LF>"))
            input.resetMessage()
            input.beginData()
            return .proceed
        case .bdat(let size, let last):
            return await bdat(size: size, last: last)
        case .rset:
            resetTransaction()
            send(.ok("Flushed"))
            return .proceed
        case .noop:
            send(.ok())
            return .proceed
        case .quit:
            send(SMTPReply(221, "2.0.0", "\(configuration.hostname) closing connection"))
            return .close
        case .vrfy:
            // RFC 5321 §3.5.3: 252 neither confirms nor denies (no address harvesting).
            send(SMTPReply(252, "2.5.0", "Cannot VRFY; send mail and it will be tried"))
            return .proceed
        case .help:
            send(SMTPReply(214, "2.0.0", "See docs/PBX.md: EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, BDAT, RSET, QUIT"))
            return .proceed
        }
    }

    mutating func hello(_ kind: SMTPCommand.HelloKind, _ domain: String) -> Action {
        // LMTP speaks LHLO only (RFC 2033 §4.1); SMTP never does.
        guard (kind == .lhlo) == (proto == .lmtp) else {
            return refuse(SMTPReply(500, "5.5.1", proto == .lmtp ? "This is LMTP: use LHLO" : "Use EHLO or HELO"))
        }
        resetTransaction()
        helo = domain
        guard kind != .helo else {
            send(SMTPReply(250, nil, configuration.hostname))
            return .proceed
        }
        var lines = [
            "\(configuration.hostname) greets \(domain)", "PIPELINING", "SIZE \(configuration.maxMessageBytes)",
            "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING",
        ]
        if startTLSAvailable && !isTLS { lines.append("STARTTLS") }
        // RFC 4954 §4 and RFC 8314: no AUTH offered where a password would cross in clear.
        if mayAuthenticate { lines.append("AUTH PLAIN LOGIN") }
        send(SMTPReply(250, nil, lines: lines))
        return .proceed
    }

    mutating func mail(_ from: SMTPAddress?, _ parameters: [SMTPCommand.Parameter]) -> Action {
        guard helo != nil else { return refuse(SMTPReply(503, "5.5.1", "Send EHLO first")) }
        guard mailFrom == nil else { return refuse(SMTPReply(503, "5.5.1", "Nested MAIL command")) }
        guard mayTransact else {
            return refuse(
                isTLS || !startTLSAvailable
                    ? .authRequired : SMTPReply(530, "5.7.0", "Must issue a STARTTLS command first"))
        }
        for parameter in parameters {
            switch parameter.keyword {
            case "SIZE":
                // RFC 1870 §6: a declared size over the limit is refused before any data.
                guard let text = parameter.value, text.count <= 19, let size = Int(text), size >= 0 else {
                    return refuse(SMTPReply(501, "5.5.4", "Bad SIZE parameter"))
                }
                if size > configuration.maxMessageBytes { return refuse(.tooBig(limit: configuration.maxMessageBytes)) }
            case "BODY":
                guard let value = parameter.value?.uppercased(), ["7BIT", "8BITMIME", "BINARYMIME"].contains(value)
                else { return refuse(SMTPReply(501, "5.5.4", "Bad BODY parameter")) }
            case "SMTPUTF8", "AUTH", "RET", "ENVID":
                break
            default:
                return refuse(SMTPReply(555, "5.5.4", "Unsupported parameter \(parameter.keyword)"))
            }
        }
        mailFrom = .some(from)
        recipients = []
        input.resetMessage()
        send(.ok("Sender OK"))
        return .proceed
    }

    mutating func rcpt(_ to: SMTPAddress) async -> Action {
        guard mailFrom != nil else { return refuse(SMTPReply(503, "5.5.1", "MAIL first")) }
        guard recipients.count < configuration.maxRecipients else {
            // RFC 5321 §4.5.3.1.8: 452, and the client sends the rest in another transaction.
            send(.tooManyRecipients)
            return .proceed
        }
        switch await backend.recipient(to) {
        case .accepted(let mailbox):
            recipients.append(SMTPEnvelope.Recipient(address: to, mailbox: mailbox))
            send(.ok("Recipient OK"))
            return .proceed
        case .refused(let reply):
            // An MTA in front (Postfix over LMTP, a trusted relay) passes on whatever its users
            // address: its unknown recipients are not its errors, and must not end a connection
            // it reuses. From anyone else they count, so addresses cannot be harvested for ever.
            if trusted {
                send(reply)
                return .proceed
            }
            return refuse(reply)
        }
    }

    /// DATA or BDAT with no accepted recipient: RFC 5321 §3.3 allows 503 or 554; RFC 2033 §4.2
    /// says an LMTP server MUST answer 503.
    var noValidRecipients: SMTPReply {
        SMTPReply(proto == .lmtp ? 503 : 554, "5.5.1", "No valid recipients")
    }

    mutating func bdat(size: Int, last: Bool) async -> Action {
        // The chunk's octets follow the command whatever the answer: read them either way.
        if !inChunks {
            inChunks = true
            chunksRefused = nil
            input.resetMessage()
            if mailFrom == nil {
                chunksRefused = SMTPReply(503, "5.5.1", "MAIL first")
            } else if recipients.isEmpty {
                chunksRefused = noValidRecipients
            }
        }
        chunkIsLast = last
        guard size > 0 else {
            // Nothing follows: the chunk is complete now (`BDAT 0 LAST` ends a message, RFC 3030 §2).
            return await finishChunk(overLimit: input.isOverLimit)
        }
        input.mode = .chunk(remaining: size)
        return .proceed
    }

    mutating func finishChunk(overLimit: Bool) async -> Action {
        if !chunkIsLast {
            if let refusal = chunksRefused { return refuse(refusal) }
            if overLimit {
                chunksRefused = .tooBig(limit: configuration.maxMessageBytes)
                return refuse(chunksRefused!)
            }
            send(.ok("\(input.messageBytesSeen) octets received"))
            return .proceed
        }
        inChunks = false
        if let refusal = chunksRefused {
            resetTransaction()
            return refuse(refusal)
        }
        return await finishMessage(overLimit: overLimit)
    }

    /// The end of a message: deliver it, or say why not; either way the transaction ends.
    mutating func finishMessage(overLimit: Bool) async -> Action {
        defer { resetTransaction() }
        let count = recipients.count
        if overLimit {
            let reply = SMTPReply.tooBig(limit: configuration.maxMessageBytes)
            for _ in 0..<(proto == .lmtp ? count : 1) { send(reply) }
            return .proceed
        }
        let envelope = SMTPEnvelope(
            mailFrom: mailFrom ?? nil, recipients: recipients, client: client, helo: helo ?? "",
            authenticatedAs: authenticatedAs)
        var replies = await backend.deliver(envelope, message: input.message)
        input.resetMessage()
        if replies.count != count {
            logger.error("smtp: the backend answered \(replies.count) replies for \(count) recipients")
            replies = Array(repeating: .temporaryFailure, count: count)
        }
        if proto == .lmtp {
            // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
            for reply in replies { send(reply) }
        } else {
            send(Self.combined(replies))
        }
        return .proceed
    }

    /// SMTP has one reply for all recipients. A temporary failure for any makes the client
    /// resend to all — safe, because the Message-ID makes a resent voicemail a duplicate of the
    /// one already taken. Otherwise any success is the answer (a recipient refused after its
    /// RCPT was accepted is logged by the backend), and with none the first refusal is.
    static func combined(_ replies: [SMTPReply]) -> SMTPReply {
        if let transient = replies.first(where: \.isTransient) { return transient }
        if let success = replies.first(where: \.isPositive) { return success }
        return replies.first ?? .temporaryFailure
    }

    /// TLS is in place: the session forgets what the client said in clear (RFC 3207 §4.2) —
    /// EHLO again, no authentication carried over.
    mutating func didStartTLS() {
        isTLS = true
        helo = nil
        authenticatedAs = nil
        resetTransaction()
    }

    mutating func resetTransaction() {
        mailFrom = nil
        recipients = []
        inChunks = false
        chunksRefused = nil
        chunkIsLast = false
        input.resetMessage()
    }

    // MARK: - AUTH (RFC 4954)

    mutating func auth(_ mechanism: String, _ initial: String?) async -> Action {
        guard helo != nil else { return refuse(SMTPReply(503, "5.5.1", "Send EHLO first")) }
        guard mayAuthenticate else {
            return refuse(SMTPReply(538, "5.7.11", "Encryption required for requested authentication mechanism"))
        }
        guard authenticatedAs == nil else { return refuse(SMTPReply(503, "5.5.1", "Already authenticated")) }
        guard mailFrom == nil else {
            return refuse(SMTPReply(503, "5.5.1", "AUTH not permitted during a mail transaction"))
        }
        switch mechanism {
        case "PLAIN":
            guard let initial else {
                challenge = .plain
                send(SMTPReply(334, nil, ""))
                return .proceed
            }
            return await continueAuth(.plain, line: Array(initial.utf8))
        case "LOGIN":
            guard let initial else {
                challenge = .loginUser
                send(SMTPReply(334, nil, "VXNlcm5hbWU6"))  // "Username:"
                return .proceed
            }
            return await continueAuth(.loginUser, line: Array(initial.utf8))
        default:
            return refuse(SMTPReply(504, "5.5.4", "Unrecognized authentication type"))
        }
    }

    mutating func continueAuth(_ step: Challenge, line: [UInt8]) async -> Action {
        let text = String(decoding: line, as: UTF8.self)
        if text == "*" { return refuse(SMTPReply(501, "5.0.0", "Authentication cancelled")) }
        guard let decoded = Data(base64Encoded: text) else {
            return refuse(SMTPReply(501, "5.5.2", "Cannot decode response"))
        }
        switch step {
        case .plain:
            // RFC 4616: authzid NUL authcid NUL passwd.
            let fields = decoded.split(separator: 0, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return refuse(SMTPReply(501, "5.5.2", "Malformed PLAIN response")) }
            return await check(
                user: String(decoding: fields[1], as: UTF8.self), password: String(decoding: fields[2], as: UTF8.self))
        case .loginUser:
            challenge = .loginPassword(user: String(decoding: decoded, as: UTF8.self))
            send(SMTPReply(334, nil, "UGFzc3dvcmQ6"))  // "Password:"
            return .proceed
        case .loginPassword(let user):
            return await check(user: user, password: String(decoding: decoded, as: UTF8.self))
        }
    }

    mutating func check(user: String, password: String) async -> Action {
        switch await backend.authenticate(username: user, password: password, client: client) {
        case .accepted(let identity):
            authenticatedAs = identity
            logger.info("smtp: authenticated", metadata: ["client": "\(client)", "token": "\(identity)"])
            send(SMTPReply(235, "2.7.0", "Authentication successful"))
            return .proceed
        case .refused:
            return refuse(SMTPReply(535, "5.7.8", "Authentication credentials invalid"))
        case .lockedOut:
            send(SMTPReply(421, "4.7.0", "Too many failed authentications; try again later"))
            return .close
        }
    }
}
