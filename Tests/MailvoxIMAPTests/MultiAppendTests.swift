import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// MULTIAPPEND (RFC 3502): several messages in one APPEND, stored all or none.
@Suite struct MultiAppendTests {
    static func literal(_ text: String) -> String { "{\(text.utf8.count)+}\r\n\(text)" }

    @Test func severalMessagesAreStoredTogether() async throws {
        var (harness, store) = try await Fixture.selected(messages: 2)
        let one = "Subject: one\r\n\r\nfirst\r\n"
        let two = "Subject: two\r\n\r\nsecond\r\n"
        let reply = try await harness.send(
            "c APPEND Saved (\\Seen) \(Self.literal(one)) (\\Flagged) \"01-Jan-2026 10:00:00 +0100\" \(Self.literal(two))\r\n"
        ).lines
        let validity = try await store.status(of: "Saved").uidValidity
        #expect(reply.last == "c OK [APPENDUID \(validity) 1:2] APPEND completed", "\(reply)")
        let saved = try await store.summaries(in: "Saved", uids: [1, 2])
        #expect(saved.map(\.flags.system) == [.seen, .flagged])
        // Into the selected folder: both announced before the OK.
        let inbox = try await harness.send("d APPEND INBOX \(Self.literal(one)) \(Self.literal(two))\r\n").lines
        #expect(inbox.contains("* 4 EXISTS"), "\(inbox)")
    }

    @Test func oneRefusedMessageStoresNone() async throws {
        var (harness, store) = try await Fixture.selected(messages: 2)
        let good = "Subject: fine\r\n\r\nok\r\n"
        let refused = (0..<5_000).map { "X-Field-\($0): v\r\n" }.joined() + "\r\nbody\r\n"
        let reply = try await harness.send(
            "c APPEND Saved \(Self.literal(good)) \(Self.literal(refused))\r\n"
        ).lines
        #expect(reply.last?.hasPrefix("c NO") == true, "\(reply)")
        #expect(try await store.status(of: "Saved").messages == 0, "the first message was taken back")
        #expect(try await harness.send("d APPEND Saved\r\n").lines.first?.hasPrefix("d BAD") == true)
        let capabilities = try await harness.send("e CAPABILITY").lines.first ?? ""
        #expect(capabilities.contains(" MULTIAPPEND"))
    }
}
