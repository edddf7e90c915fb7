import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// Defects the Dovecot differential (`IMAPDifferentialTests`) found, each kept fixed here.
@Suite struct DifferentialFindingsTests {
    /// RFC 5322 §4.3: a two-digit year 00–49 is 2000–2049, 50–99 is 1950–1999.
    @Test func twoDigitYearsAreReadAsRFC5322Says() async throws {
        let (authenticator, store) = try await Fixture.setUp(messages: 0)
        for date in ["1 Jan 99 12:00:00 PDT", "2 Feb 07 08:00:00 +0000"] {
            try await store.deliver(Fixture.message(subject: date, date: date), internalDate: Date())
        }
        var harness = try await Fixture.loggedIn(authenticator)
        try await harness.send("b SELECT INBOX")
        #expect(try await harness.send("c SEARCH SENTON 1-Jan-1999").lines.first == "* SEARCH 1")
        #expect(try await harness.send("d SEARCH SENTON 2-Feb-2007").lines.first == "* SEARCH 2")
        #expect(try await harness.send("e SEARCH SENTBEFORE 1-Jan-1900").lines.first == "* SEARCH")
    }

    /// RFC 3501 §9 note 1: keywords are atoms, compared without regard to case.
    @Test func keywordsAreRemovedWhateverTheirCase() async throws {
        var (harness, _) = try await Fixture.selected()
        try await harness.send("c STORE 1 +FLAGS (Another)")
        #expect(try await harness.send("d STORE 1 +FLAGS (another)").lines.first == "* 1 FETCH (FLAGS (Another))")
        #expect(try await harness.send("e STORE 1 -FLAGS (ANOTHER)").lines.first == "* 1 FETCH (FLAGS ())")
    }

    /// RFC 3501 §6.3.10: STATUS RECENT of the selected folder counts the session's own \Recent.
    @Test func statusOfTheSelectedFolderCountsItsRecentMessages() async throws {
        var (harness, _) = try await Fixture.selected(messages: 3, recent: true)
        let fetch = try await harness.send("c FETCH 1:* FLAGS").lines
        #expect(fetch.filter { $0.contains("\\Recent") }.count == 3, "\(fetch)")
        #expect(try await harness.send("d STATUS INBOX (RECENT)").lines.first == "* STATUS INBOX (RECENT 3)")
    }

    /// RFC 3501 §5.2, §6.3.11: an APPEND, COPY or MOVE into the selected folder is announced
    /// before the tagged OK, not at the next command.
    @Test func ownAdditionsToTheSelectedFolderAreAnnouncedAtOnce() async throws {
        var (harness, _) = try await Fixture.selected(messages: 2)
        let append = try await harness.send("c APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n").lines
        #expect(append.contains("* 3 EXISTS"), "\(append)")
        let copy = try await harness.send("d COPY 1 INBOX").lines
        #expect(copy.contains("* 4 EXISTS"), "\(copy)")
        let move = try await harness.send("e MOVE 1 INBOX").lines
        #expect(move.contains("* 1 EXPUNGE") && move.contains("* 4 EXISTS"), "\(move)")
        let noop = try await harness.send("f NOOP").lines
        #expect(noop == ["f OK NOOP completed"], "nothing left to tell: \(noop)")
    }
}
