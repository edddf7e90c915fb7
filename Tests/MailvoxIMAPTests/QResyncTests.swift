import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// QRESYNC (RFC 7162 §3.2): a client that was away learns what vanished and what changed in one
/// SELECT, and expunges are told by UID once it is enabled.
@Suite struct QResyncTests {
    func value(_ code: String, in lines: [String]) -> UInt64? {
        for line in lines {
            guard let range = line.range(of: "[\(code) ") else { continue }
            return UInt64(line[range.upperBound...].prefix { $0.isNumber })
        }
        return nil
    }

    @Test func aResyncingSelectReportsWhatVanishedAndWhatChanged() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 5)
        var client = try await Fixture.loggedIn(authenticator)
        #expect(try await client.send("b SELECT INBOX (QRESYNC (1 1))").lines.first?.hasPrefix("b BAD") == true)
        #expect(try await client.send("c ENABLE QRESYNC").lines.first == "* ENABLED QRESYNC")
        let selected = try await client.send("d SELECT INBOX").lines
        let validity = try #require(value("UIDVALIDITY", in: selected))
        let highest = try #require(value("HIGHESTMODSEQ", in: selected))

        // Meanwhile, on another device: message 2 flagged, message 4 expunged.
        var other = try await Fixture.loggedIn(authenticator)
        try await other.send("b SELECT INBOX")
        try await other.send("c STORE 2 +FLAGS (\\Flagged)")
        try await other.send("d STORE 4 +FLAGS (\\Deleted)")
        try await other.send("e EXPUNGE")
        // The client still selected hears the expunge by UID (the feed is asynchronous).
        var noop: [String] = []
        for _ in 0..<100 where !noop.contains("* VANISHED 4") {
            noop += try await client.send("e NOOP").lines
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(noop.contains("* VANISHED 4"), "\(noop)")
        #expect(!noop.contains { $0.hasSuffix(" EXPUNGE") }, "\(noop)")

        let closed = try await client.send("f SELECT INBOX (QRESYNC (\(validity) \(highest)))").lines
        #expect(closed.first == "* OK [CLOSED] Previous folder closed", "\(closed)")
        #expect(closed.contains("* VANISHED (EARLIER) 4"), "\(closed)")
        #expect(closed.contains { $0.hasPrefix("* 2 FETCH (UID 2 FLAGS (\\Flagged) MODSEQ (") }, "\(closed)")
        #expect(!closed.contains { $0.hasPrefix("* 1 FETCH") || $0.hasPrefix("* 3 FETCH") }, "\(closed)")
        #expect(closed.last?.hasPrefix("f OK [READ-WRITE]") == true)

        // Known UIDs limit what is reported vanished; another UIDVALIDITY means no resync data.
        let known = try await client.send("g EXAMINE INBOX (QRESYNC (\(validity) \(highest) 1:3))").lines
        #expect(!known.contains { $0.hasPrefix("* VANISHED") }, "\(known)")
        let stale = try await client.send("h EXAMINE INBOX (QRESYNC (\(validity + 1) \(highest)))").lines
        #expect(!stale.contains { $0.hasPrefix("* VANISHED") || $0.contains("FETCH") }, "\(stale)")
    }

    @Test func uidFetchWithVanishedReportsTheExpungedUIDsOfTheSet() async throws {
        let (authenticator, _) = try await Fixture.setUp(messages: 5)
        var client = try await Fixture.loggedIn(authenticator)
        let selected = try await client.send("b SELECT INBOX").lines
        let highest = try #require(value("HIGHESTMODSEQ", in: selected))
        #expect(
            try await client.send("c UID FETCH 1:* FLAGS (CHANGEDSINCE \(highest) VANISHED)").lines.first?.hasPrefix(
                "c BAD") == true, "VANISHED before ENABLE QRESYNC")
        try await client.send("d ENABLE QRESYNC")
        try await client.send("e STORE 3,5 +FLAGS (\\Deleted)")
        let expunge = try await client.send("f EXPUNGE").lines
        #expect(expunge == ["* VANISHED 3,5", "f OK EXPUNGE completed"], "\(expunge)")
        try await client.send("g STORE 1 +FLAGS (\\Seen)")
        let fetch = try await client.send("h UID FETCH 1:4 FLAGS (CHANGEDSINCE \(highest) VANISHED)").lines
        #expect(fetch.first == "* VANISHED (EARLIER) 3", "only UIDs of the set: \(fetch)")
        #expect(fetch.contains { $0.hasPrefix("* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (") }, "\(fetch)")
        #expect(fetch.count == 3, "\(fetch)")
        #expect(
            try await client.send("i FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)").lines.first?.hasPrefix("i BAD") == true
        )
        #expect(try await client.send("j UID FETCH 1:* FLAGS (VANISHED)").lines.first?.hasPrefix("j BAD") == true)
    }
}
