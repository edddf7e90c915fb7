import Foundation
import Logging
import MailvoxCore
import MailvoxSMTPCore
import Testing

@testable import MailvoxSMTP

/// The SMTP and LMTP state machine driven as the connection drives it: bytes in (several
/// commands per read when the client pipelines, RFC 2920), events out of `SMTPInput`, replies
/// taken after the read. The backend is in memory and records what reached it.
@Suite struct SMTPSessionTests {
    static let hostname = "mx.example.com"

    /// One session and its backend, fed one read at a time.
    struct Conversation {
        var session: SMTPSession
        let backend: MemoryBackend
        /// The actions of the last read's events, in order.
        var actions: [SMTPSession.Action] = []

        init(
            proto: SMTPSession.Dialect = .smtp, trusted: Bool = true, isTLS: Bool = false,
            startTLSAvailable: Bool = true, configure: (inout SMTPServerConfiguration) -> Void = { _ in }
        ) {
            var configuration = SMTPServerConfiguration(
                hostname: SMTPSessionTests.hostname, certificateFile: "", privateKeyFile: "", maxMessageBytes: 1000,
                maxRecipients: 3)
            configure(&configuration)
            var logger = Logger(label: "mailvox.smtp.test")
            logger.logLevel = .critical
            backend = MemoryBackend()
            session = SMTPSession(
                configuration: configuration, backend: backend, logger: logger, proto: proto,
                client: ClientAddress("192.0.2.7"), trusted: trusted, isTLS: isTLS,
                startTLSAvailable: startTLSAvailable)
        }

        var lastAction: SMTPSession.Action? { actions.last }

        /// The greeting, as the connection sends it first.
        mutating func greet() -> String {
            session.greet()
            return String(decoding: session.takeOutput(), as: UTF8.self)
        }

        /// One read from the client; answers everything in it until an action other than
        /// `.proceed` (as `SMTPConnection` does) and returns what would be written.
        mutating func send(_ text: String) async -> String {
            await send(bytes: Array(text.utf8))
        }

        mutating func send(bytes: [UInt8]) async -> String {
            actions = []
            session.input.append(bytes)
            while let event = session.input.next() {
                let action = await session.handle(event)
                actions.append(action)
                if action != .proceed { break }
            }
            return String(decoding: session.takeOutput(), as: UTF8.self)
        }

        /// EHLO (or LHLO) with its reply dropped.
        mutating func hello() async {
            _ = await send(session.proto == .lmtp ? "LHLO relay.example.com\r\n" : "EHLO pbx.example.com\r\n")
        }

        /// EHLO, MAIL and the given recipients, each expected to be accepted.
        mutating func transaction(to recipients: [String] = ["2000@example.com"]) async {
            await hello()
            var script = "MAIL FROM:<pbx@example.com>\r\n"
            for recipient in recipients { script += "RCPT TO:<\(recipient)>\r\n" }
            let replies = await send(script)
            #expect(
                replies == "250 2.0.0 Sender OK\r\n"
                    + String(repeating: "250 2.0.0 Recipient OK\r\n", count: recipients.count))
        }
    }

    static func plain(_ user: String, _ password: String) -> String {
        Data("\u{0}\(user)\u{0}\(password)".utf8).base64EncodedString()
    }

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    static let deposited = "250 2.0.0 Voicemail deposited\r\n"

    // MARK: - Greeting and hello

    @Test func greetingAndCapabilitiesWithoutTLS() async {
        var conversation = Conversation()
        #expect(conversation.greet() == "220 mx.example.com Mailvox ESMTP ready\r\n")
        let reply = await conversation.send("EHLO pbx.example.com\r\n")
        // No AUTH before TLS (RFC 4954 §4): a password must not cross in clear.
        #expect(
            reply
                == [
                    "250-mx.example.com greets pbx.example.com", "250-PIPELINING", "250-SIZE 1000", "250-8BITMIME",
                    "250-ENHANCEDSTATUSCODES", "250-SMTPUTF8", "250-CHUNKING", "250 STARTTLS",
                ].map { $0 + "\r\n" }.joined())
    }

    @Test func capabilitiesUnderTLS() async {
        // After STARTTLS (or on the implicit-TLS port): AUTH, and no second STARTTLS.
        for startTLSAvailable in [true, false] {
            var conversation = Conversation(isTLS: true, startTLSAvailable: startTLSAvailable)
            let reply = await conversation.send("ehlo pbx.example.com\r\n")
            #expect(reply.hasSuffix("250-CHUNKING\r\n250 AUTH PLAIN LOGIN\r\n"))
            #expect(!reply.contains("STARTTLS"))
        }
    }

    @Test func helo() async {
        var conversation = Conversation()
        #expect(await conversation.send("HELO pbx\r\n") == "250 mx.example.com\r\n")
        #expect(await conversation.send("MAIL FROM:<pbx@example.com>\r\n") == "250 2.0.0 Sender OK\r\n")
    }

    @Test func lmtpSpeaksLHLOOnly() async {
        var lmtp = Conversation(proto: .lmtp)
        #expect(lmtp.greet() == "220 mx.example.com Mailvox LMTP ready\r\n")
        // RFC 2033 §4.1: HELO and EHLO are not LMTP.
        #expect(await lmtp.send("EHLO relay.example.com\r\n") == "500 5.5.1 This is LMTP: use LHLO\r\n")
        #expect(await lmtp.send("HELO relay.example.com\r\n") == "500 5.5.1 This is LMTP: use LHLO\r\n")
        #expect(await lmtp.send("MAIL FROM:<>\r\n") == "503 5.5.1 Send EHLO first\r\n")
        let reply = await lmtp.send("LHLO relay.example.com\r\n")
        #expect(reply.hasPrefix("250-mx.example.com greets relay.example.com\r\n250-PIPELINING\r\n"))
        var smtp = Conversation()
        #expect(await smtp.send("LHLO relay.example.com\r\n") == "500 5.5.1 Use EHLO or HELO\r\n")
    }

    @Test func mailBeforeHello() async {
        var conversation = Conversation()
        #expect(await conversation.send("MAIL FROM:<pbx@example.com>\r\n") == "503 5.5.1 Send EHLO first\r\n")
        #expect(await conversation.send("RCPT TO:<2000@example.com>\r\n") == "503 5.5.1 MAIL first\r\n")
        #expect(await conversation.send("DATA\r\n") == "503 5.5.1 MAIL first\r\n")
        #expect(await conversation.backend.recipients.isEmpty)
    }

    // MARK: - Who may send

    @Test func anUntrustedClientMustAuthenticate() async {
        var plain = Conversation(trusted: false)
        await plain.hello()
        #expect(
            await plain.send("MAIL FROM:<pbx@example.com>\r\n") == "530 5.7.0 Must issue a STARTTLS command first\r\n")
        var tls = Conversation(trusted: false, isTLS: true)
        await tls.hello()
        #expect(await tls.send("MAIL FROM:<pbx@example.com>\r\n") == "530 5.7.0 Authentication required\r\n")
        #expect(await tls.send("RCPT TO:<2000@example.com>\r\n") == "503 5.5.1 MAIL first\r\n")
        // With require_auth off, anyone may send.
        var open = Conversation(trusted: false) { $0.requireAuth = false }
        await open.hello()
        #expect(await open.send("MAIL FROM:<pbx@example.com>\r\n") == "250 2.0.0 Sender OK\r\n")
    }

    @Test func aTrustedClientSkipsAuthentication() async {
        var conversation = Conversation(trusted: true)
        await conversation.transaction()
        #expect(await conversation.send("DATA\r\n") == "354 End data with <CR><LF>.<CR><LF>\r\n")
        #expect(await conversation.send("Subject: x\r\n\r\nhi\r\n.\r\n") == Self.deposited)
        #expect(await conversation.backend.deliveries.first?.envelope.authenticatedAs == nil)
        #expect(await conversation.backend.logins.isEmpty)
    }

    @Test func authPlainWithInitialResponse() async {
        var conversation = Conversation(trusted: false, isTLS: true)
        await conversation.hello()
        let reply = await conversation.send("AUTH PLAIN \(Self.plain("asterisk", "good-token"))\r\n")
        #expect(reply == "235 2.7.0 Authentication successful\r\n")
        #expect(await conversation.backend.logins == [.init(username: "asterisk", password: "good-token")])
        #expect(
            await conversation.send("AUTH PLAIN \(Self.plain("a", "good-token"))\r\n")
                == "503 5.5.1 Already authenticated\r\n")
        await conversation.transaction()
        _ = await conversation.send("DATA\r\n")
        #expect(await conversation.send("\r\n.\r\n") == Self.deposited)
        #expect(await conversation.backend.deliveries.first?.envelope.authenticatedAs == "pbx")
    }

    @Test func authPlainWithContinuation() async {
        var conversation = Conversation(trusted: false, isTLS: true)
        await conversation.hello()
        // RFC 4954 §4: an empty 334 asks for the response; the line after it is not a command.
        #expect(await conversation.send("AUTH PLAIN\r\n") == "334 \r\n")
        #expect(
            await conversation.send("\(Self.plain("", "good-token"))\r\n") == "235 2.7.0 Authentication successful\r\n")
        #expect(await conversation.send("MAIL FROM:<>\r\n") == "250 2.0.0 Sender OK\r\n")
    }

    @Test func authLoginInTwoSteps() async {
        var conversation = Conversation(trusted: false, isTLS: true)
        await conversation.hello()
        #expect(await conversation.send("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n")
        #expect(await conversation.send("\(Self.base64("freeswitch"))\r\n") == "334 UGFzc3dvcmQ6\r\n")
        #expect(
            await conversation.send("\(Self.base64("good-token"))\r\n") == "235 2.7.0 Authentication successful\r\n")
        #expect(await conversation.backend.logins == [.init(username: "freeswitch", password: "good-token")])
        // The user name as initial response (what many PBX mailers send).
        var initial = Conversation(trusted: false, isTLS: true)
        await initial.hello()
        #expect(await initial.send("AUTH LOGIN \(Self.base64("3cx"))\r\n") == "334 UGFzc3dvcmQ6\r\n")
        #expect(await initial.send("\(Self.base64("good-token"))\r\n") == "235 2.7.0 Authentication successful\r\n")
    }

    @Test func authFailures() async {
        var conversation = Conversation(trusted: false, isTLS: true)
        #expect(await conversation.send("AUTH PLAIN\r\n") == "503 5.5.1 Send EHLO first\r\n")
        await conversation.hello()
        #expect(await conversation.send("AUTH PLAIN !!!notbase64\r\n") == "501 5.5.2 Cannot decode response\r\n")
        #expect(await conversation.send("AUTH PLAIN\r\n") == "334 \r\n")
        #expect(await conversation.send("*\r\n") == "501 5.0.0 Authentication cancelled\r\n")
        #expect(await conversation.send("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n")
        #expect(await conversation.send("\(Self.base64("x"))\r\n") == "334 UGFzc3dvcmQ6\r\n")
        #expect(await conversation.send("*\r\n") == "501 5.0.0 Authentication cancelled\r\n")
        #expect(
            await conversation.send("AUTH PLAIN \(Self.base64("no-nuls"))\r\n")
                == "501 5.5.2 Malformed PLAIN response\r\n")
        #expect(
            await conversation.send("AUTH PLAIN \(Self.plain("x", "bad-token"))\r\n")
                == "535 5.7.8 Authentication credentials invalid\r\n")
        #expect(await conversation.send("AUTH CRAM-MD5\r\n") == "504 5.5.4 Unrecognized authentication type\r\n")
        // Nothing went through: still no mail without authentication.
        #expect(await conversation.send("MAIL FROM:<>\r\n") == "530 5.7.0 Authentication required\r\n")
        #expect(await conversation.backend.logins == [.init(username: "x", password: "bad-token")])
        // The cancelled exchanges left no state behind: a good login still works.
        #expect(
            await conversation.send("AUTH PLAIN \(Self.plain("x", "good-token"))\r\n")
                == "235 2.7.0 Authentication successful\r\n")
    }

    @Test func aRefusedLineEndsTheAuthExchange() async {
        var conversation = Conversation(trusted: false, isTLS: true)
        await conversation.hello()
        #expect(await conversation.send("AUTH PLAIN\r\n") == "334 \r\n")
        #expect(
            await conversation.send("AHgAZ29vZC10b2tlbg==\n")
                == "500 5.5.2 Bare <LF> received; lines must end in <CR><LF>\r\n")
        // "NOOP" is valid base64: taken as the SASL response, it would be a malformed PLAIN.
        #expect(await conversation.send("NOOP\r\n") == "250 2.0.0 OK\r\n")
        #expect(await conversation.send("AUTH LOGIN\r\n") == "334 VXNlcm5hbWU6\r\n")
        #expect(
            await conversation.send(String(repeating: "QUFB", count: 2000) + "\r\n") == "500 5.5.6 Line too long\r\n")
        #expect(await conversation.send("NOOP\r\n") == "250 2.0.0 OK\r\n")
        #expect(await conversation.backend.logins.isEmpty)
    }

    @Test func noAuthenticationWithoutTLS() async {
        var conversation = Conversation(trusted: false, isTLS: false)
        await conversation.hello()
        #expect(
            await conversation.send("AUTH PLAIN \(Self.plain("x", "good-token"))\r\n")
                == "538 5.7.11 Encryption required for requested authentication mechanism\r\n")
        #expect(await conversation.backend.logins.isEmpty)
    }

    @Test func noAuthenticationInATransaction() async {
        var conversation = Conversation(trusted: true, isTLS: true)
        await conversation.transaction()
        #expect(
            await conversation.send("AUTH PLAIN \(Self.plain("x", "good-token"))\r\n")
                == "503 5.5.1 AUTH not permitted during a mail transaction\r\n")
    }

    @Test func lockoutClosesTheConnection() async {
        var conversation = Conversation(trusted: false, isTLS: true)
        await conversation.backend.set(lockedOut: true)
        await conversation.hello()
        let reply = await conversation.send("AUTH PLAIN \(Self.plain("x", "good-token"))\r\nNOOP\r\n")
        #expect(reply == "421 4.7.0 Too many failed authentications; try again later\r\n")
        #expect(conversation.actions == [.close])
    }

    // MARK: - Transactions

    @Test func pipelinedCommandsAreAnsweredInOrder() async {
        var conversation = Conversation()
        let reply = await conversation.send(
            "EHLO pbx.example.com\r\nMAIL FROM:<pbx@example.com> SIZE=500\r\nRCPT TO:<2000@example.com>\r\n"
                + "RCPT TO:<4711@example.com>\r\nRCPT TO:<2100@Example.COM>\r\nDATA\r\n")
        let lines = reply.split(separator: "\r\n", omittingEmptySubsequences: false).filter { !$0.hasPrefix("250-") }
        #expect(
            lines == [
                "250 STARTTLS", "250 2.0.0 Sender OK", "250 2.0.0 Recipient OK", "550 5.1.1 No such mailbox here",
                "250 2.0.0 Recipient OK", "354 End data with <CR><LF>.<CR><LF>", "",
            ])
        #expect(conversation.actions.allSatisfy { $0 == .proceed })
        #expect(await conversation.send("Subject: hi\r\n\r\n.\r\n") == Self.deposited)
        let delivery = await conversation.backend.deliveries.first
        #expect(delivery?.envelope.recipients.map(\.mailbox) == ["2000", "2100"])
        #expect(delivery?.envelope.recipients.map(\.address.description) == ["2000@example.com", "2100@example.com"])
        #expect(delivery?.envelope.mailFrom == SMTPAddress(localPart: "pbx", domain: "example.com"))
        #expect(delivery?.envelope.helo == "pbx.example.com")
        #expect(delivery?.envelope.client == ClientAddress("192.0.2.7"))
    }

    @Test func dataIsUnstuffedAndDeliveredByteExact() async {
        var conversation = Conversation()
        await conversation.transaction(to: ["2000@example.com", "2100@example.com"])
        #expect(await conversation.send("DATA\r\n") == "354 End data with <CR><LF>.<CR><LF>\r\n")
        // A dot-stuffed line, a lone dot after a bare LF (text, not the end: no smuggling), and
        // the end split across reads.
        #expect(await conversation.send("Subject: Voicemail\r\n\r\n..hidden\r\nline\n.\nafter\r\n\r") == "")
        #expect(await conversation.send("\n.") == "")
        #expect(
            await conversation.send("\r\nQUIT\r\n") == Self.deposited
                + "221 2.0.0 mx.example.com closing connection\r\n")
        #expect(conversation.actions == [.proceed, .close])
        let deliveries = await conversation.backend.deliveries
        #expect(deliveries.count == 1)
        #expect(deliveries.first?.text == "Subject: Voicemail\r\n\r\n.hidden\r\nline\r\n\r\nafter\r\n\r\n")
        #expect(deliveries.first?.envelope.mailFrom == SMTPAddress(localPart: "pbx", domain: "example.com"))
    }

    @Test func theNullSenderIsKept() async {
        var conversation = Conversation()
        await conversation.hello()
        #expect(
            await conversation.send("MAIL FROM:<>\r\nRCPT TO:<2000@example.com>\r\nDATA\r\n").hasSuffix(
                "354 End data with <CR><LF>.<CR><LF>\r\n"))
        #expect(await conversation.send(".\r\n") == Self.deposited)
        let delivery = await conversation.backend.deliveries.first
        #expect(delivery != nil && delivery?.envelope.mailFrom == nil && delivery?.message == [])
    }

    @Test func twoMessagesInOneConnection() async {
        var conversation = Conversation()
        await conversation.transaction()
        _ = await conversation.send("DATA\r\n")
        #expect(await conversation.send("one\r\n.\r\n") == Self.deposited)
        #expect(
            await conversation.send("MAIL FROM:<>\r\nRCPT TO:<2100@example.com>\r\nDATA\r\n").hasSuffix(
                "354 End data with <CR><LF>.<CR><LF>\r\n"))
        #expect(await conversation.send("two\r\n.\r\n") == Self.deposited)
        #expect(await conversation.backend.deliveries.map(\.text) == ["one\r\n", "two\r\n"])
        #expect(
            await conversation.backend.deliveries.map { $0.envelope.recipients.map(\.mailbox) } == [["2000"], ["2100"]])
    }

    @Test func rsetEndsTheTransaction() async {
        var conversation = Conversation()
        await conversation.transaction()
        #expect(await conversation.send("RSET\r\n") == "250 2.0.0 Flushed\r\n")
        #expect(await conversation.send("DATA\r\n") == "503 5.5.1 MAIL first\r\n")
        #expect(await conversation.send("RCPT TO:<2000@example.com>\r\n") == "503 5.5.1 MAIL first\r\n")
        // A new transaction starts clean (no "nested MAIL"), with no recipient carried over.
        #expect(await conversation.send("MAIL FROM:<>\r\n") == "250 2.0.0 Sender OK\r\n")
        #expect(await conversation.send("MAIL FROM:<>\r\n") == "503 5.5.1 Nested MAIL command\r\n")
        #expect(await conversation.send("DATA\r\n") == "554 5.5.1 No valid recipients\r\n")
        #expect(await conversation.backend.deliveries.isEmpty)
    }

    @Test func recipientsPastTheLimitAreDeferred() async {
        var conversation = Conversation()  // max_recipients 3
        await conversation.transaction(to: ["2000@example.com", "2100@example.com", "2000+a@example.com"])
        // RFC 5321 §4.5.3.1.8: 452, the client sends the rest in another transaction.
        let reply = await conversation.send("RCPT TO:<2000+b@example.com>\r\nRCPT TO:<2100+c@example.com>\r\nDATA\r\n")
        #expect(
            reply
                == "452 4.5.3 Too many recipients\r\n452 4.5.3 Too many recipients\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
        )
        #expect(await conversation.send("x\r\n.\r\n") == Self.deposited)
        #expect(await conversation.backend.recipients.count == 3)
        #expect(await conversation.backend.deliveries.first?.envelope.recipients.count == 3)
    }

    @Test func mailParameters() async {
        var conversation = Conversation()  // max_message_bytes 1000
        await conversation.hello()
        // RFC 1870 §6: a declared size over the limit is refused before any data.
        #expect(
            await conversation.send("MAIL FROM:<> SIZE=1001\r\n")
                == "552 5.3.4 Message size exceeds fixed maximum message size (1000 bytes)\r\n")
        #expect(
            await conversation.send("MAIL FROM:<> SIZE=99999999999999999999\r\n") == "501 5.5.4 Bad SIZE parameter\r\n")
        #expect(await conversation.send("MAIL FROM:<> SIZE=-1\r\n") == "501 5.5.4 Bad SIZE parameter\r\n")
        #expect(await conversation.send("MAIL FROM:<> SIZE\r\n") == "501 5.5.4 Bad SIZE parameter\r\n")
        #expect(await conversation.send("MAIL FROM:<> BODY=BINARY\r\n") == "501 5.5.4 Bad BODY parameter\r\n")
        #expect(await conversation.send("MAIL FROM:<> XFOO=1\r\n") == "555 5.5.4 Unsupported parameter XFOO\r\n")
        #expect(
            await conversation.send("MAIL FROM:<> SIZE=1000 BODY=8bitmime SMTPUTF8 RET=HDRS ENVID=x\r\n")
                == "250 2.0.0 Sender OK\r\n")
    }

    @Test func anOversizeMessageIsReadAndRefusedAtItsEnd() async {
        var conversation = Conversation()  // max_message_bytes 1000
        await conversation.transaction()
        _ = await conversation.send("DATA\r\n")
        let line = String(repeating: "x", count: 98) + "\r\n"
        #expect(await conversation.send(String(repeating: line, count: 10)) == "")
        #expect(
            await conversation.send("y\r\n.\r\n")
                == "552 5.3.4 Message size exceeds fixed maximum message size (1000 bytes)\r\n")
        #expect(await conversation.backend.deliveries.isEmpty)
        // The transaction is over; the next one is served.
        #expect(await conversation.send("RCPT TO:<2000@example.com>\r\n") == "503 5.5.1 MAIL first\r\n")
        await conversation.transaction()
        _ = await conversation.send("DATA\r\n")
        #expect(await conversation.send(line + ".\r\n") == Self.deposited)
        #expect(await conversation.backend.deliveries.map(\.text) == [line])
    }

    @Test func aMessageOfExactlyTheLimitIsTaken() async {
        var conversation = Conversation()
        await conversation.transaction()
        _ = await conversation.send("DATA\r\n")
        let body = String(repeating: String(repeating: "x", count: 98) + "\r\n", count: 10)
        #expect(await conversation.send(body + ".\r\n") == Self.deposited)
        #expect(await conversation.backend.deliveries.first?.message.count == 1000)
    }

    // MARK: - BDAT (RFC 3030)

    @Test func bdatChunks() async {
        var conversation = Conversation()
        await conversation.transaction()
        #expect(await conversation.send("BDAT 5\r\nhello") == "250 2.0.0 5 octets received\r\n")
        // A chunk counts octets, not lines: "QUIT\r\n" inside it is message text.
        let reply = await conversation.send("BDAT 6\r\n QUIT\rBDAT 7 LAST\r\n\n.\r\nend")
        #expect(reply == "250 2.0.0 11 octets received\r\n" + Self.deposited)
        #expect(await conversation.backend.deliveries.map(\.text) == ["hello QUIT\r\n.\r\nend"])
        #expect(await conversation.send("NOOP\r\n") == "250 2.0.0 OK\r\n")
    }

    @Test func bdatZeroLastEndsTheMessage() async {
        var conversation = Conversation()
        await conversation.transaction()
        #expect(
            await conversation.send("BDAT 3\r\nabcBDAT 0 LAST\r\n") == "250 2.0.0 3 octets received\r\n"
                + Self.deposited)
        #expect(await conversation.backend.deliveries.map(\.text) == ["abc"])
        // A whole message as one empty chunk.
        await conversation.transaction()
        #expect(await conversation.send("BDAT 0 LAST\r\n") == Self.deposited)
        #expect(await conversation.backend.deliveries.map(\.text) == ["abc", ""])
    }

    @Test func bdatWithoutMailReadsTheChunkThenRefuses() async {
        var conversation = Conversation()
        await conversation.hello()
        // The chunk's octets are read whatever the answer, so its "QUIT" is not run.
        #expect(await conversation.send("BDAT 6\r\nQUIT\r\n") == "503 5.5.1 MAIL first\r\n")
        #expect(conversation.actions == [.proceed, .proceed])
        #expect(await conversation.send("BDAT 4 LAST\r\nRSET") == "503 5.5.1 MAIL first\r\n")
        #expect(await conversation.send("NOOP\r\n") == "250 2.0.0 OK\r\n")
        // With MAIL but no accepted recipient.
        #expect(
            await conversation.send("MAIL FROM:<>\r\nRCPT TO:<9@example.com>\r\nBDAT 2 LAST\r\nhi").hasSuffix(
                "554 5.5.1 No valid recipients\r\n"))
        #expect(await conversation.backend.deliveries.isEmpty)
    }

    @Test func onlyBDATRSETNOOPAndQUITBetweenChunks() async {
        var conversation = Conversation()
        await conversation.transaction()
        #expect(await conversation.send("BDAT 3\r\nabc") == "250 2.0.0 3 octets received\r\n")
        #expect(await conversation.send("DATA\r\n") == "503 5.5.1 Bad sequence of commands\r\n")
        #expect(await conversation.send("MAIL FROM:<>\r\n") == "503 5.5.1 Bad sequence of commands\r\n")
        #expect(await conversation.send("EHLO x\r\n") == "503 5.5.1 Bad sequence of commands\r\n")
        #expect(await conversation.send("NOOP\r\n") == "250 2.0.0 OK\r\n")
        #expect(await conversation.send("BDAT 3 LAST\r\ndef") == Self.deposited)
        #expect(await conversation.backend.deliveries.map(\.text) == ["abcdef"])
        // RSET abandons the chunks.
        await conversation.transaction()
        #expect(
            await conversation.send("BDAT 3\r\nabcRSET\r\n") == "250 2.0.0 3 octets received\r\n250 2.0.0 Flushed\r\n")
        #expect(await conversation.send("BDAT 1 LAST\r\nx") == "503 5.5.1 MAIL first\r\n")
        #expect(await conversation.backend.deliveries.count == 1)
    }

    @Test func oversizeChunksAreReadAndRefused() async {
        var conversation = Conversation()  // max_message_bytes 1000
        await conversation.transaction()
        let tooBig = "552 5.3.4 Message size exceeds fixed maximum message size (1000 bytes)\r\n"
        #expect(
            await conversation.send("BDAT 600\r\n" + String(repeating: "a", count: 600))
                == "250 2.0.0 600 octets received\r\n")
        #expect(await conversation.send("BDAT 600\r\n" + String(repeating: "b", count: 600)) == tooBig)
        #expect(await conversation.send("BDAT 5 LAST\r\nRSET\r") == tooBig)
        #expect(await conversation.backend.deliveries.isEmpty)
        // One chunk over the limit, sent as LAST.
        await conversation.transaction()
        #expect(await conversation.send("BDAT 1001 LAST\r\n" + String(repeating: "c", count: 1001)) == tooBig)
        #expect(await conversation.backend.deliveries.isEmpty)
        #expect(await conversation.send("NOOP\r\n") == "250 2.0.0 OK\r\n")
    }

    // MARK: - Replies after the message

    @Test func lmtpAnswersOncePerRecipient() async {
        var conversation = Conversation(proto: .lmtp)
        await conversation.hello()
        let replies = await conversation.send(
            "MAIL FROM:<pbx@example.com>\r\nRCPT TO:<2000@example.com>\r\nRCPT TO:<4711@example.com>\r\n"
                + "RCPT TO:<2100@example.com>\r\nRCPT TO:<2000+urgent@example.com>\r\nDATA\r\n")
        #expect(
            replies
                == "250 2.0.0 Sender OK\r\n250 2.0.0 Recipient OK\r\n550 5.1.1 No such mailbox here\r\n"
                + "250 2.0.0 Recipient OK\r\n250 2.0.0 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n")
        let full = SMTPReply.storageFull
        let noAudio = SMTPReply.noAudio
        await conversation.backend.set(deliverReplies: [.ok("Voicemail deposited"), full, noAudio])
        // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
        #expect(
            await conversation.send("Subject: x\r\n\r\ny\r\n.\r\n")
                == Self.deposited + "452 4.3.1 Insufficient system storage; try again later\r\n"
                + "554 5.6.0 No voicemail audio in this message\r\n")
        #expect(
            await conversation.backend.deliveries.first?.envelope.recipients.map(\.mailbox) == ["2000", "2100", "2000"])
    }

    @Test func lmtpOversizeIsRefusedPerRecipient() async {
        var conversation = Conversation(proto: .lmtp)
        await conversation.transaction(to: ["2000@example.com", "2100@example.com"])
        _ = await conversation.send("DATA\r\n")
        let tooBig = "552 5.3.4 Message size exceeds fixed maximum message size (1000 bytes)\r\n"
        #expect(await conversation.send(String(repeating: "z", count: 2000) + "\r\n.\r\n") == tooBig + tooBig)
        #expect(await conversation.backend.deliveries.isEmpty)
    }

    @Test func lmtpDataWithoutRecipientsIs503() async {
        // RFC 2033 §4.2: "If there were no successful RCPT commands in the mail transaction,
        // the DATA command MUST fail with a 503 reply code."
        var conversation = Conversation(proto: .lmtp)
        await conversation.hello()
        let reply = await conversation.send("MAIL FROM:<>\r\nRCPT TO:<4711@example.com>\r\nDATA\r\n")
        #expect(reply == "250 2.0.0 Sender OK\r\n550 5.1.1 No such mailbox here\r\n503 5.5.1 No valid recipients\r\n")
        #expect(await conversation.send("BDAT 2 LAST\r\nhi") == "503 5.5.1 No valid recipients\r\n")
        #expect(await conversation.backend.deliveries.isEmpty)
    }

    @Test func smtpCombinesTheRecipientsReplies() async {
        var conversation = Conversation()
        await conversation.transaction(to: ["2000@example.com", "2100@example.com"])
        await conversation.backend.set(deliverReplies: [.ok("Voicemail deposited"), .storageFull])
        _ = await conversation.send("DATA\r\n")
        // One recipient's temporary failure: the client retries the whole message.
        #expect(await conversation.send("x\r\n.\r\n") == "452 4.3.1 Insufficient system storage; try again later\r\n")
        await conversation.transaction(to: ["2000@example.com", "2100@example.com"])
        await conversation.backend.set(deliverReplies: [.noAudio, .ok("Voicemail deposited")])
        _ = await conversation.send("DATA\r\n")
        #expect(await conversation.send("x\r\n.\r\n") == Self.deposited)
        // A backend that miscounts is a local error, not a success.
        await conversation.transaction(to: ["2000@example.com", "2100@example.com"])
        await conversation.backend.set(deliverReplies: [.ok()])
        _ = await conversation.send("DATA\r\n")
        #expect(await conversation.send("x\r\n.\r\n") == "451 4.3.0 Local error in processing; try again later\r\n")
    }

    @Test func combinedReplyRule() {
        let ok = SMTPReply.ok("Voicemail deposited")
        let transient = SMTPReply.storageFull
        let permanent = SMTPReply.noAudio
        #expect(SMTPSession.combined([ok, transient, permanent]) == transient)
        #expect(SMTPSession.combined([permanent, transient]) == transient)
        #expect(SMTPSession.combined([permanent, ok]) == ok)
        #expect(SMTPSession.combined([permanent, .unknownUser]) == permanent)
        #expect(SMTPSession.combined([ok]) == ok)
        #expect(SMTPSession.combined([]) == .temporaryFailure)
    }

    // MARK: - Hostile and broken clients

    @Test func tooManyErrorsCloseTheConnection() async {
        var conversation = Conversation { $0.maxErrors = 3 }
        let reply = await conversation.send("XYZZY\r\nXYZZY\r\nXYZZY\r\nNOOP\r\n")
        #expect(
            reply
                == "500 5.5.2 Command unrecognized\r\n500 5.5.2 Command unrecognized\r\n"
                + "421 4.7.0 Too many errors; closing connection\r\n")
        #expect(conversation.actions == [.proceed, .proceed, .close])
    }

    @Test func unknownRecipientsCountAsErrorsOnlyForUntrustedClients() async {
        let rcpts = String(repeating: "RCPT TO:<nobody@example.com>\r\n", count: 3)
        // Postfix over LMTP passes on its users' unknown addresses: a trusted relay is not closed.
        var relay = Conversation(trusted: true) { $0.maxErrors = 3 }
        let relayed = await relay.send("HELO mta\r\nMAIL FROM:<>\r\n" + rcpts + "NOOP\r\n")
        #expect(relayed.hasSuffix("550 5.1.1 No such mailbox here\r\n250 2.0.0 OK\r\n"), "\(relayed)")
        // Anyone else harvesting addresses is.
        var stranger = Conversation(trusted: false, isTLS: true) {
            $0.requireAuth = false; $0.maxErrors = 3
        }
        let harvested = await stranger.send("EHLO x\r\nMAIL FROM:<>\r\n" + rcpts + "NOOP\r\n")
        #expect(harvested.hasSuffix("421 4.7.0 Too many errors; closing connection\r\n"), "\(harvested)")
    }

    @Test func bareLineFeedInACommand() async {
        var conversation = Conversation()
        #expect(
            await conversation.send("NOOP\nNOOP\r\n")
                == "500 5.5.2 Bare <LF> received; lines must end in <CR><LF>\r\n250 2.0.0 OK\r\n")
    }

    @Test func overlongCommandLine() async {
        var conversation = Conversation()
        let long = "MAIL FROM:<" + String(repeating: "a", count: 5000) + "@example.com>\r\n"
        #expect(await conversation.send(long + "NOOP\r\n") == "500 5.5.6 Line too long\r\n250 2.0.0 OK\r\n")
    }

    @Test func aLineOfTheMaximumLengthWhoseLFComesInTheNextRead() async {
        // Found by FuzzSMTP: 4096 octets and the CR in one read, the LF in the next, was "too
        // long", the same line in one read was not.
        var conversation = Conversation()
        let line = "NOOP " + String(repeating: "x", count: 4091)
        #expect(line.utf8.count == conversation.session.input.maxLineLength)
        #expect(await conversation.send(line + "\r") == "")
        #expect(await conversation.send("\n") == "250 2.0.0 OK\r\n")
        #expect(await conversation.send(line + "x\r") == "")
        #expect(await conversation.send("\n") == "500 5.5.6 Line too long\r\n")
        #expect(await conversation.send(line + "\r\n") == "250 2.0.0 OK\r\n")
    }

    @Test func hostileBytesInCommands() async {
        var conversation = Conversation()
        await conversation.hello()
        #expect(
            await conversation.send(bytes: Array("MAIL FROM:<".utf8) + [0xFF] + Array("@x>\r\n".utf8))
                == "500 5.5.2 Command is not valid UTF-8\r\n")
        #expect(
            await conversation.send(bytes: Array("NOOP".utf8) + [0] + Array("\r\n".utf8))
                == "500 5.5.2 Control characters in command\r\n")
        #expect(await conversation.send("MAIL FROM:<>\r\n") == "250 2.0.0 Sender OK\r\n")
    }

    // MARK: - STARTTLS, VRFY, QUIT

    @Test func startTLS() async {
        var plain = Conversation()
        await plain.hello()
        #expect(await plain.send("STARTTLS\r\n") == "220 2.0.0 Ready to start TLS\r\n")
        #expect(plain.actions == [.startTLS])
        // Already in TLS (after STARTTLS, or the implicit-TLS port): no second one.
        var tls = Conversation(isTLS: true)
        await tls.hello()
        #expect(await tls.send("STARTTLS\r\n") == "503 5.5.1 TLS already active\r\n")
        #expect(tls.actions == [.proceed])
        var smtps = Conversation(isTLS: true, startTLSAvailable: false)
        #expect(await smtps.send("STARTTLS\r\n") == "503 5.5.1 TLS already active\r\n")
        var noTLS = Conversation(isTLS: false, startTLSAvailable: false)
        #expect(await noTLS.send("STARTTLS\r\n") == "502 5.5.1 STARTTLS not available\r\n")
    }

    @Test func vrfyNeitherConfirmsNorDenies() async {
        var conversation = Conversation()
        // RFC 5321 §3.5.3: 252, so no address can be harvested.
        #expect(await conversation.send("VRFY 2000\r\n") == "252 2.5.0 Cannot VRFY; send mail and it will be tried\r\n")
        #expect(
            await conversation.send("VRFY nobody\r\n") == "252 2.5.0 Cannot VRFY; send mail and it will be tried\r\n")
        #expect(await conversation.backend.recipients.isEmpty)
    }

    @Test func quitCloses() async {
        var conversation = Conversation()
        #expect(await conversation.send("QUIT\r\nNOOP\r\n") == "221 2.0.0 mx.example.com closing connection\r\n")
        #expect(conversation.actions == [.close])
    }
}

/// An `SMTPBackend` in memory that records what the door asked of it: mailboxes "2000" and
/// "2100" exist (at any domain), the token "good-token" authenticates, and every delivery
/// succeeds unless `deliverReplies` says otherwise.
actor MemoryBackend: SMTPBackend {
    struct Login: Sendable, Equatable {
        var username: String
        var password: String
    }

    struct Delivery: Sendable {
        var envelope: SMTPEnvelope
        var message: [UInt8]
        var text: String { String(decoding: message, as: UTF8.self) }
    }

    private(set) var logins: [Login] = []
    private(set) var recipients: [SMTPAddress] = []
    private(set) var deliveries: [Delivery] = []
    /// The replies of the next deliveries, one per recipient; nil: 250 for each.
    var deliverReplies: [SMTPReply]?
    /// Authentication answers `.lockedOut` (as after too many failures from one address).
    var lockedOut = false
    /// How long `deliver` takes (a slow fsync or transcode).
    var deliverDelay: Duration = .zero

    func set(deliverReplies: [SMTPReply]?) { self.deliverReplies = deliverReplies }
    func set(lockedOut: Bool) { self.lockedOut = lockedOut }
    func set(deliverDelay: Duration) { self.deliverDelay = deliverDelay }

    func authenticate(username: String, password: String, client: ClientAddress) async -> SMTPAuthVerdict {
        logins.append(Login(username: username, password: password))
        if lockedOut { return .lockedOut }
        return password == "good-token" ? .accepted(identity: "pbx") : .refused
    }

    func recipient(_ address: SMTPAddress) async -> SMTPRecipientVerdict {
        recipients.append(address)
        let id = address.localPart.split(separator: "+").first.map(String.init) ?? ""
        return ["2000", "2100"].contains(id) ? .accepted(mailbox: id) : .refused(.unknownUser)
    }

    func deliver(_ envelope: SMTPEnvelope, message: [UInt8]) async -> [SMTPReply] {
        if deliverDelay > .zero { try? await Task.sleep(for: deliverDelay) }
        deliveries.append(Delivery(envelope: envelope, message: message))
        return deliverReplies ?? envelope.recipients.map { _ in SMTPReply.ok("Voicemail deposited") }
    }
}
