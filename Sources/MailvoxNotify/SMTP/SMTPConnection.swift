import CEtPan
import Foundation

/// What the relay said to one RCPT TO (and, when accepted, to the DATA that followed).
public enum RecipientOutcome: Sendable, Equatable {
    case accepted
    case rejected(NotifyError)
}

/// One SMTP session with the relay on libetpan's `mailsmtp`: connect (implicit TLS, STARTTLS
/// or plain to loopback), the peer chain verified with swift-certificates, EHLO with
/// `[server] hostname`, AUTH PLAIN or LOGIN through SASL, then any number of transactions.
///
/// Blocking: run it on a thread of its own, never on an event loop. Not thread-safe: one
/// owner at a time. The `mailsmtp` handle lives and dies with this object.
public final class SMTPConnection {
    private let session: UnsafeMutablePointer<mailsmtp>
    public let settings: SMTPSettings
    /// The relay's SIZE limit (RFC 1870), nil when it announced none.
    public private(set) var sizeLimit: Int?
    /// The AUTH mechanisms the relay offered after TLS, upper-case.
    public private(set) var authMechanisms: Set<String> = []
    /// The relay's certificate chain verified (false on a plain loopback connection).
    public private(set) var verifiedTLS = false
    /// When the last transaction ended; a sender closes connections idle too long.
    public private(set) var lastUsed = Date()
    private var connected = false

    /// Connects, secures, greets and authenticates; throws with the step that failed.
    public init(settings: SMTPSettings) throws(NotifyError) {
        Self.ignoreSIGPIPE
        guard let session = mailsmtp_new(0, nil) else { throw .connection("out of memory") }
        self.session = session
        self.settings = settings
        // STARTTLS's handshake and stream take the session's timeout; our own streams get it too.
        mailsmtp_set_timeout(session, time_t(max(1, settings.timeout)))
        try open()
    }

    deinit {
        if connected { _ = mailsmtp_quit(session) }
        mailsmtp_free(session)
    }

    // A relay that drops the connection mid-write must not kill the server (libetpan writes
    // with plain write(2)).
    private static let ignoreSIGPIPE: Void = { signal(SIGPIPE, SIG_IGN) }()

    private func open() throws(NotifyError) {
        let host = settings.host
        let port = UInt16(clamping: settings.port)
        // SNI only for names (RFC 6066 §3 forbids IP literals); `data` outlives the handshake.
        let serverName: UnsafeMutablePointer<CChar>? = isAddress(host) ? nil : strdup(host)
        defer { free(serverName) }
        let setServerName: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void = { context, data in
            if let data { _ = mailstream_ssl_set_server_name(context, data.assumingMemoryBound(to: CChar.self)) }
        }
        switch settings.security {
        case .none:
            guard settings.isLoopback else {
                throw .configuration(
                    "smtp.security = \"none\" is allowed only to a loopback relay, not \(host) (use \"starttls\" or \"tls\")"
                )
            }
            try connectPlain()
            try ehlo()
        case .tls:
            // Our own connect and stream, as for plain: the deadline on connect, handshake and
            // every read is set here, not left to what a libetpan version's helper passes on.
            let fd = try TCPConnector.connect(host: host, port: Int(port), timeout: timeout)
            disableNagle(fd)
            guard
                let stream = mailstream_ssl_open_with_callback_timeout(
                    fd, time_t(timeout), setServerName, serverName)
            else {
                close(fd)
                throw .connection("\(host): TLS handshake failed or took longer than \(timeout) s")
            }
            try greet(stream)
            try verifyPeer()
            try ehlo()
        case .starttls:
            try connectPlain()
            try ehlo()
            guard session.pointee.esmtp & Int32(MAILSMTP_ESMTP_STARTTLS) != 0 else {
                throw .smtpReply(command: "EHLO", code: 530, text: "the relay does not offer STARTTLS")
            }
            try check(mailsmtp_socket_starttls_with_callback(session, setServerName, serverName), "STARTTLS")
            try verifyPeer()
            // RFC 3207 §4.2: forget everything learned before TLS and greet again.
            try ehlo()
        }
        if !settings.username.isEmpty { try authenticate() }
    }

    /// Seconds each connect, read and write may take (docs/ALERTS.md: 30 by default).
    private var timeout: Int { max(1, settings.timeout) }

    /// A plain TCP stream with the session's timeout on every read and write. Not libetpan's
    /// `mailsmtp_socket_connect`: it opens its stream without a timeout, so reads waited
    /// `mailstream_network_delay` (300 s) for a relay that accepts and never answers.
    private func connectPlain() throws(NotifyError) {
        let fd = try TCPConnector.connect(host: settings.host, port: settings.port, timeout: timeout)
        disableNagle(fd)
        guard let stream = mailstream_socket_open_timeout(fd, time_t(timeout)) else {
            close(fd)
            throw .connection("out of memory")
        }
        try greet(stream)
    }

    /// Hands `stream` to the session and reads the greeting (RFC 5321 §4.3.1: 220). The session
    /// owns the stream from here on; libetpan closes it itself when the greeting fails.
    private func greet(_ stream: UnsafeMutablePointer<mailstream>) throws(NotifyError) {
        try check(mailsmtp_connect(session, stream), "greeting")
        connected = true
    }

    /// libetpan writes a command, or a message's last chunk and its terminating dot, as small
    /// separate writes; with Nagle's algorithm and the relay's delayed ACK each transaction then
    /// waits ~40 ms. Commands are whole lines, so sending at once is right.
    private func disableNagle(_ fd: Int32) {
        var on: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }

    private func isAddress(_ host: String) -> Bool {
        host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
    }

    private func verifyPeer() throws(NotifyError) {
        guard let stream = session.pointee.stream, let chain = mailstream_get_certificate_chain(stream) else {
            throw .certificate(host: settings.host, reason: "the relay presented no certificate")
        }
        defer { mailstream_certificate_chain_free(chain) }
        var certificates: [[UInt8]] = []
        for index in 0..<cetpan_carray_count(chain) {
            guard let raw = cetpan_carray_get(chain, index) else { continue }
            let string = raw.assumingMemoryBound(to: MMAPString.self)
            guard let bytes = string.pointee.str else { continue }
            certificates.append(
                Array(UnsafeRawBufferPointer(start: bytes, count: string.pointee.len).bindMemory(to: UInt8.self)))
        }
        try PeerVerifier.verify(chain: certificates, host: settings.host, caFile: settings.caFile)
        verifiedTLS = true
    }

    // MARK: - EHLO

    /// EHLO with our own name: libetpan's `mailesmtp_ehlo` can only send the machine's
    /// hostname or IP, and docs/DESIGN.md §3.4 makes `[server] hostname` the HELO name. The
    /// capabilities are parsed here into the session's flags, which libetpan's MAIL, AUTH and
    /// STARTTLS then read.
    private func ehlo() throws(NotifyError) {
        try write("EHLO \(settings.heloName)\r\n")
        let (code, lines) = try readReply()
        guard code == 250 else {
            throw .smtpReply(command: "EHLO", code: code, text: Self.clean(lines.first ?? ""))
        }
        var esmtp = Int32(MAILSMTP_ESMTP)
        var auth = Int32(MAILSMTP_AUTH_CHECKED)
        var mechanisms: Set<String> = []
        sizeLimit = nil
        for line in lines.dropFirst() {
            let words = line.uppercased().split(whereSeparator: { $0 == " " || $0 == "=" })
            guard let keyword = words.first else { continue }
            switch keyword {
            case "STARTTLS": esmtp |= Int32(MAILSMTP_ESMTP_STARTTLS)
            case "PIPELINING": esmtp |= Int32(MAILSMTP_ESMTP_PIPELINING)
            case "8BITMIME": esmtp |= Int32(MAILSMTP_ESMTP_8BITMIME)
            case "SIZE":
                esmtp |= Int32(MAILSMTP_ESMTP_SIZE)
                if words.count > 1, let limit = Int(words[1]), limit > 0 { sizeLimit = limit }
            case "AUTH":
                for mechanism in words.dropFirst() {
                    mechanisms.insert(String(mechanism))
                    switch mechanism {
                    case "PLAIN": auth |= Int32(MAILSMTP_AUTH_PLAIN)
                    case "LOGIN": auth |= Int32(MAILSMTP_AUTH_LOGIN)
                    case "CRAM-MD5": auth |= Int32(MAILSMTP_AUTH_CRAM_MD5)
                    default: break
                    }
                }
            default: break
            }
        }
        session.pointee.esmtp = esmtp
        session.pointee.auth = auth
        session.pointee.smtp_max_msg_size = sizeLimit ?? 0
        authMechanisms = mechanisms
    }

    private func write(_ command: String) throws(NotifyError) {
        guard let stream = session.pointee.stream else { throw .connection("not connected") }
        let bytes = Array(command.utf8)
        let written = bytes.withUnsafeBytes { mailstream_write(stream, $0.baseAddress, $0.count) }
        guard written == bytes.count, mailstream_flush(stream) == 0 else {
            throw .connection("\(settings.host): connection lost while sending")
        }
    }

    /// Reads one reply (RFC 5321 §4.2), multi-line included; hostile replies get a clear error.
    private func readReply() throws(NotifyError) -> (code: Int, lines: [String]) {
        guard let stream = session.pointee.stream else { throw .connection("not connected") }
        var lines: [String] = []
        var code = 0
        while true {
            guard let raw = mailstream_read_line_remove_eol(stream, session.pointee.line_buffer) else {
                throw .connection("\(settings.host): no reply within \(settings.timeout) s or connection closed")
            }
            let line = String(decoding: UnsafeRawBufferPointer(start: raw, count: strlen(raw)), as: UTF8.self)
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (0x30...0x39).contains($0) }),
                bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-"),
                let lineCode = Int(String(decoding: bytes[0..<3], as: UTF8.self))
            else {
                throw .connection("\(settings.host): not an SMTP reply: \"\(Self.clean(line))\"")
            }
            if code != 0 && lineCode != code {
                throw .connection("\(settings.host): reply codes change within one reply (\(code), \(lineCode))")
            }
            code = lineCode
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            guard lines.count <= 200 else { throw .connection("\(settings.host): reply longer than 200 lines") }
            if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") { break }
        }
        session.pointee.response_code = Int32(code)
        return (code, lines)
    }

    // MARK: - AUTH

    /// AUTH PLAIN when offered, else LOGIN, through libetpan's SASL (Cyrus; the mechanisms
    /// come from Debian's libsasl2-modules).
    private func authenticate() throws(NotifyError) {
        let mechanism: String
        if authMechanisms.contains("PLAIN") {
            mechanism = "PLAIN"
        } else if authMechanisms.contains("LOGIN") {
            mechanism = "LOGIN"
        } else {
            throw .smtpReply(
                command: "AUTH", code: 504,
                text:
                    "the relay offers neither PLAIN nor LOGIN (offered: \(authMechanisms.sorted().joined(separator: " ")))"
            )
        }
        let result = mailesmtp_auth_sasl(
            session, mechanism, settings.host, nil, nil, settings.username, settings.username, settings.password, nil)
        guard result == MAILSMTP_NO_ERROR else {
            let code = Int(session.pointee.response_code)
            if code >= 400 {
                throw .smtpReply(command: "AUTH \(mechanism)", code: code, text: responseText)
            }
            throw .configuration(
                "AUTH \(mechanism) could not run (\(String(cString: mailsmtp_strerror(result)))); is libsasl2-modules installed?"
            )
        }
    }

    // MARK: - Transactions

    /// Sends `message` (CRLF lines) from `sender` to each of `recipients`, one transaction.
    /// Returns one outcome per recipient, in order; throws only when the whole transaction
    /// failed before any recipient was decided (connection, MAIL FROM, SIZE).
    public func send(
        from sender: String, to recipients: [String], message: [UInt8]
    ) throws(NotifyError)
        -> [RecipientOutcome]
    {
        defer { lastUsed = Date() }
        if let sizeLimit, message.count > sizeLimit { throw .tooLarge(size: message.count, limit: sizeLimit) }
        let mail =
            session.pointee.esmtp & Int32(MAILSMTP_ESMTP_SIZE) != 0
            ? mailesmtp_mail_size(session, sender, 0, nil, message.count) : mailsmtp_mail(session, sender)
        if mail != MAILSMTP_NO_ERROR { throw replyError("MAIL FROM", mail) }

        var outcomes: [RecipientOutcome] = []
        for recipient in recipients {
            let result = mailsmtp_rcpt(session, recipient)
            if result == MAILSMTP_NO_ERROR {
                outcomes.append(.accepted)
            } else {
                let error = replyError("RCPT TO", result)
                if case .connection = error { throw error }
                outcomes.append(.rejected(error))
            }
        }
        guard outcomes.contains(.accepted) else {
            _ = mailsmtp_reset(session)
            return outcomes
        }
        var result = mailsmtp_data(session)
        if result == MAILSMTP_NO_ERROR {
            result = message.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { mailsmtp_data_message(session, $0.baseAddress, $0.count) }
            }
        }
        if result != MAILSMTP_NO_ERROR {
            let error = replyError("DATA", result)
            if case .connection = error { throw error }
            _ = mailsmtp_reset(session)
            return outcomes.map { $0 == .accepted ? .rejected(error) : $0 }
        }
        return outcomes
    }

    /// RSET: true when the connection still answers (checked before reusing an idle one).
    public func isAlive() -> Bool { mailsmtp_reset(session) == MAILSMTP_NO_ERROR }

    // MARK: - Errors

    private func check(_ result: Int32, _ step: String) throws(NotifyError) {
        guard result != MAILSMTP_NO_ERROR else { return }
        throw replyError(step, result)
    }

    private var responseText: String {
        guard let response = session.pointee.response else { return "" }
        return Self.clean(String(cString: response))
    }

    /// A libetpan result as our error: a reply code when the relay gave one, else the transport failure.
    private func replyError(_ command: String, _ result: Int32) -> NotifyError {
        switch Int(result) {
        case Int(MAILSMTP_ERROR_STREAM):
            return .connection(
                "\(settings.host): connection lost, or no answer within \(timeout) s, during \(command)")
        case Int(MAILSMTP_ERROR_CONNECTION_REFUSED):
            return .connection("\(settings.host):\(settings.port) refused the connection")
        case Int(MAILSMTP_ERROR_HOSTNAME):
            return .connection("cannot resolve \(settings.host)")
        case Int(MAILSMTP_ERROR_SSL):
            return .connection("\(settings.host): TLS handshake failed during \(command)")
        case Int(MAILSMTP_ERROR_MEMORY):
            return .connection("out of memory during \(command)")
        default:
            let code = Int(session.pointee.response_code)
            guard (200...599).contains(code) else {
                return .connection(
                    "\(settings.host): \(command) failed (\(String(cString: mailsmtp_strerror(result))))")
            }
            return .smtpReply(command: command, code: code, text: responseText)
        }
    }

    /// Printable ASCII only, at most 200 characters: a relay's text goes into logs and rows.
    static func clean(_ text: String) -> String {
        let kept = String(String.UnicodeScalarView(text.unicodeScalars.filter { (0x20...0x7E).contains($0.value) }))
        return kept.count > 200 ? String(kept.prefix(200)) + "…" : kept
    }
}
