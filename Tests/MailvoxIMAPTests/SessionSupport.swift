import Foundation
import MailvoxCore
import MailvoxIMAPTesting
import MailvoxStoreTesting
import NIOCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// Collects what a session writes.
actor CollectingSink: ResponseSink {
    var bytes: [UInt8] = []

    func write(_ buffer: ByteBuffer) async throws {
        bytes += buffer.readableBytesView
    }

    func take() -> String {
        defer { bytes = [] }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A session on the in-memory store, driven by wire text as a client would send it.
struct SessionHarness {
    var session: IMAPSession
    var parser = CommandParser()
    let sink: CollectingSink
    var closed = false
    var startedTLS = false
    var startedCompression = false

    init(
        authenticator: InMemoryAuthenticator,
        configuration: SessionConfiguration = SessionConfiguration(
            allowPlaintextAuth: true),
        caches: SessionCaches = SessionCaches()
    ) {
        let sink = CollectingSink()
        self.sink = sink
        session = IMAPSession(
            configuration: configuration, authenticator: authenticator, sink: sink,
            caches: caches)
    }

    mutating func greet() async throws -> String {
        try await session.greet()
        return await sink.take()
    }

    /// Sends `text` (CRLF added to each line) and returns everything the server wrote.
    @discardableResult
    mutating func send(_ text: String) async throws -> String {
        let wire = text.hasSuffix("\r\n") ? text : text + "\r\n"
        parser.append(Array(wire.utf8))
        while let event = parser.next() {
            let action = try await session.handle(event)
            parser.mode = session.parserMode
            parser.loggedIn = session.isLoggedIn
            parser.names = session.names
            if action == .close {
                closed = true
                break
            }
            if action == .startTLS {
                startedTLS = true
                try await sink.write(session.takeOutput())
            }
            if action == .startCompression {
                startedCompression = true
                try await sink.write(session.takeOutput())
            }
        }
        return await sink.take()
    }

    /// Waits for the feed to bring something, then lets an IDLE session push it.
    mutating func pushChanges() async throws -> String {
        if let inbox = session.inbox { await inbox.waitForChange() }
        try await session.changesArrived()
        return await sink.take()
    }

    /// Waits until the selected folder's feed holds at least one change.
    func waitForFeed() async {
        if let inbox = session.inbox { await inbox.waitForChange() }
    }
}

enum Fixture {
    static let mailbox = MailboxID("1000")!

    static func message(
        subject: String = "Voicemail from +4930123456", body: String = "Hello there",
        from: String =
            "\"Caller\" <+4930123456@localhost>", date: String = "Mon, 7 Feb 1994 21:52:25 -0800"
    ) -> [UInt8] {
        let text = """
            From: \(from)
            To: "Owner" <owner@example.com>
            Subject: \(subject)
            Date: \(date)
            Message-ID: <\(subject.replacingOccurrences(of: " ", with: "."))@localhost>
            MIME-Version: 1.0
            Content-Type: multipart/mixed; boundary="b1"

            --b1
            Content-Type: text/plain; charset=utf-8

            \(body)
            --b1
            Content-Type: audio/mpeg
            Content-Transfer-Encoding: base64
            Content-Disposition: attachment; filename="voicemail.mp3"

            SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU4LjI5LjEwMAAAAAAAAAAAAAAA
            --b1--

            """
        return Array(text.replacingOccurrences(of: "\n", with: "\r\n").utf8)
    }

    /// An authenticator with mailbox 1000 (password "secret") and its store, holding `count` messages.
    /// Unless `recent`, an earlier session has already claimed them, so they are not `\Recent`
    /// to the sessions of the test (only the tests of `\Recent` itself want them to be).
    static func setUp(
        messages count: Int = 3, recent: Bool = false
    ) async throws -> (InMemoryAuthenticator, InMemoryMailStore) {
        let authenticator = InMemoryAuthenticator(baseDelay: .milliseconds(1))
        let store = await authenticator.add(mailbox, password: "secret")
        for index in 0..<count {
            try await store.deliver(
                message(subject: "Message \(index + 1)", body: "Body number \(index + 1)"),
                internalDate: Date(timeIntervalSince1970: 1_700_000_000 + Double(index) * 86_400))
        }
        if !recent { _ = try await store.claimRecent(in: "INBOX") }
        return (authenticator, store)
    }

    /// A harness logged in as 1000, nothing selected, sharing `caches` with other sessions.
    static func loggedIn(
        _ authenticator: InMemoryAuthenticator, caches: SessionCaches = SessionCaches()
    ) async throws -> SessionHarness {
        var harness = SessionHarness(authenticator: authenticator, caches: caches)
        _ = try await harness.greet()
        try await harness.send("a LOGIN 1000 secret")
        return harness
    }

    /// A harness logged in as 1000 with INBOX selected.
    static func selected(
        messages count: Int = 3, recent: Bool = false
    ) async throws -> (SessionHarness, InMemoryMailStore) {
        let (authenticator, store) = try await setUp(messages: count, recent: recent)
        var harness = SessionHarness(authenticator: authenticator)
        _ = try await harness.greet()
        try await harness.send("a LOGIN 1000 secret")
        try await harness.send("b SELECT INBOX")
        return (harness, store)
    }
}

extension RecentClaims {
    /// Sets the shared mark as if a claim had returned `upperBound`, through the path a session's
    /// own claim takes (the mark only rises, so this is for a mark above the folder's).
    func noteClaim(below upperBound: UInt32, mailbox: MailboxID, folder: String, uidValidity: UInt32) async throws {
        _ = try await claim(newest: nil, mailbox: mailbox, folder: folder, uidValidity: uidValidity) {
            upperBound..<upperBound
        }
    }
}

extension String {
    /// The lines of a response, CRLF removed.
    var lines: [String] { components(separatedBy: "\r\n").filter { !$0.isEmpty } }
}
