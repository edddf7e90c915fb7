import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// SEARCHRES (RFC 5182): `SEARCH RETURN (SAVE)` keeps its result as `$` for the commands after it.
@Suite struct SearchResTests {
    @Test func savedResultFeedsFetchStoreAndSearch() async throws {
        var (harness, _) = try await Fixture.selected(messages: 4)
        try await harness.send("c STORE 2,4 +FLAGS (\\Flagged)")
        // RFC 5182 §2.4: SAVE alone sends no ESEARCH.
        #expect(
            try await harness.send("d SEARCH RETURN (SAVE) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"").lines == [
                "d OK SEARCH completed"
            ])
        #expect(
            try await harness.send("e FETCH $ (UID)").lines == [
                "* 2 FETCH (UID 2)", "* 4 FETCH (UID 4)", "e OK FETCH completed",
            ])
        #expect(try await harness.send("f UID FETCH $ (FLAGS)").lines.count == 3)
        try await harness.send("g STORE $ +FLAGS.SILENT (\\Seen)")
        #expect(try await harness.send("h SEARCH SEEN").lines.first == "* SEARCH 2 4")
        #expect(try await harness.send("i SEARCH $").lines.first == "* SEARCH 2 4")
        #expect(try await harness.send("j UID SEARCH UID $ NOT 4").lines.first == "* SEARCH 2")
        // The old `$` is read before the new one is saved.
        try await harness.send("k SEARCH RETURN (SAVE) $ LARGER 0 NOT 2")
        #expect(try await harness.send("l SEARCH $").lines.first == "* SEARCH 4")
    }

    @Test func copyAndMoveTakeTheSavedResult() async throws {
        var (harness, store) = try await Fixture.selected(messages: 3)
        try await harness.send("c CREATE Saved")
        try await harness.send("d UID SEARCH RETURN (SAVE) SUBJECT \"Message 2\"")
        #expect(try await harness.send("e UID COPY $ Saved").lines.last?.hasPrefix("e OK [COPYUID") == true)
        #expect(try await store.status(of: "Saved").messages == 1)
        let lines = try await harness.send("f MOVE $ Saved").lines
        #expect(lines.contains("* 2 EXPUNGE") && lines.last?.hasPrefix("f OK") == true, "\(lines)")
        #expect(try await store.status(of: "Saved").messages == 2)
    }

    @Test func beforeAnySaveItIsEmpty() async throws {
        var (harness, _) = try await Fixture.selected(messages: 2)
        #expect(try await harness.send("c FETCH $ FLAGS").lines == ["c OK FETCH completed"])
        #expect(try await harness.send("d UID STORE $ +FLAGS (\\Seen)").lines == ["d OK STORE completed"])
        #expect(try await harness.send("e SEARCH $").lines.first == "* SEARCH")
        #expect(try await harness.send("f UID EXPUNGE $").lines == ["f OK EXPUNGE completed"])
    }

    @Test func minAndMaxSaveOnlyThemselves() async throws {
        var (harness, _) = try await Fixture.selected(messages: 4)
        #expect(
            try await harness.send("c SEARCH RETURN (MIN SAVE) ALL").lines == [
                "* ESEARCH (TAG \"c\") MIN 1", "c OK SEARCH completed",
            ])
        #expect(try await harness.send("d SEARCH $").lines.first == "* SEARCH 1")
        try await harness.send("e SEARCH RETURN (SAVE MIN MAX) ALL")
        #expect(try await harness.send("f SEARCH $").lines.first == "* SEARCH 1 4")
        // With ALL or COUNT, everything found is saved.
        try await harness.send("g SEARCH RETURN (SAVE MIN COUNT) NOT 2")
        #expect(try await harness.send("h SEARCH $").lines.first == "* SEARCH 1 3 4")
        // SORT saves the same way: MIN is the first in sort order.
        try await harness.send("i SORT RETURN (SAVE MIN) (REVERSE ARRIVAL) UTF-8 ALL")
        #expect(try await harness.send("j SEARCH $").lines.first == "* SEARCH 4")
    }

    @Test(arguments: ["SELECT INBOX", "EXAMINE INBOX", "UNSELECT", "CLOSE"])
    func closingTheFolderForgetsIt(_ command: String) async throws {
        var (harness, _) = try await Fixture.selected(messages: 2)
        try await harness.send("c SEARCH RETURN (SAVE) ALL")
        try await harness.send("d \(command)")
        if !command.hasPrefix("SELECT") && !command.hasPrefix("EXAMINE") { try await harness.send("e SELECT INBOX") }
        #expect(try await harness.send("f FETCH $ UID").lines == ["f OK FETCH completed"])
    }

    @Test func expungedMessagesDropOut() async throws {
        var (harness, _) = try await Fixture.selected(messages: 3)
        try await harness.send("c SEARCH RETURN (SAVE) ALL")
        try await harness.send("d STORE 2 +FLAGS.SILENT (\\Deleted)")
        try await harness.send("e EXPUNGE")
        #expect(
            try await harness.send("f FETCH $ (UID)").lines == [
                "* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)", "f OK FETCH completed",
            ])
        #expect(try await harness.send("g UID SEARCH UID $").lines.first == "* SEARCH 1 3")
    }

    @Test func aFailedSaveEmptiesIt() async throws {
        var (harness, _) = try await Fixture.selected(messages: 2)
        try await harness.send("c SEARCH RETURN (SAVE) ALL")
        #expect(
            try await harness.send("d SEARCH RETURN (SAVE) CHARSET KOI8-R ALL").lines == [
                "d NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset"
            ])
        #expect(try await harness.send("e FETCH $ UID").lines == ["e OK FETCH completed"])
    }

    @Test func dollarStandsAlone() async throws {
        var (harness, _) = try await Fixture.selected(messages: 2)
        for command in ["FETCH $,1 FLAGS", "FETCH 1:$ FLAGS", "FETCH $$ FLAGS", "SEARCH UID 1,$", "COPY $ "] {
            let lines = try await harness.send("h \(command)").lines
            #expect(lines.count == 1 && lines[0].hasPrefix("h BAD"), "\(command): \(lines)")
        }
    }
}
