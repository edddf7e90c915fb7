import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

/// LIST-EXTENDED (RFC 5258) and LSUB (RFC 3501 §6.3.9) as #14 item 5 found them wrong.
@Suite struct ListExtendedTests {
    @Test func recursiveMatchAloneIsBad() async throws {
        var (harness, _) = try await Fixture.selected()
        #expect(try await harness.send("c LIST (RECURSIVEMATCH) \"\" *").lines.first?.hasPrefix("c BAD") == true)
        #expect(try await harness.send("d LIST (REMOTE RECURSIVEMATCH) \"\" *").lines.first?.hasPrefix("d BAD") == true)
        #expect(
            try await harness.send("e LIST (SPECIAL-USE RECURSIVEMATCH) \"\" *").lines.last == "e OK LIST completed")
    }

    @Test func aSubscriptionOutlivesItsFolder() async throws {
        var (harness, _) = try await Fixture.selected()
        try await harness.send("c CREATE Gone")
        try await harness.send("d SUBSCRIBE Gone")
        try await harness.send("e DELETE Gone")
        let list = try await harness.send("f LIST (SUBSCRIBED) \"\" \"*\"").lines
        #expect(list.contains("* LIST (\\NonExistent \\Subscribed) \"/\" Gone"), "\(list)")
        // Not among the folders, and no STATUS for it.
        #expect(!(try await harness.send("g LIST \"\" *").lines.contains { $0.contains("Gone") }))
        let status = try await harness.send("h LIST (SUBSCRIBED) \"\" Gone RETURN (STATUS (MESSAGES))").lines
        #expect(!status.contains { $0.hasPrefix("* STATUS") }, "\(status)")
        #expect(try await harness.send("i LSUB \"\" Gone").lines.contains("* LSUB () \"/\" Gone"))
        #expect(try await harness.send("j UNSUBSCRIBE Gone").lines == ["j OK UNSUBSCRIBE completed"])
        #expect(!(try await harness.send("k LIST (SUBSCRIBED) \"\" *").lines.contains { $0.contains("Gone") }))
        #expect(try await harness.send("l UNSUBSCRIBE Gone").lines.first?.hasPrefix("l NO") == true)
    }

    @Test func recursiveMatchListsOnlyMatchingParents() async throws {
        var (harness, _) = try await Fixture.selected()
        try await harness.send("c CREATE parent/child/leaf")
        try await harness.send("d SUBSCRIBE parent/child/leaf")
        let top = try await harness.send("e LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %").lines
        #expect(top.contains("* LIST (\\HasChildren) \"/\" parent (\"CHILDINFO\" (\"SUBSCRIBED\"))"), "\(top)")
        #expect(!top.contains { $0.contains("parent/") }, "a name that does not match is never listed: \(top)")
        let middle = try await harness.send("f LIST (SUBSCRIBED RECURSIVEMATCH) \"\" parent/%").lines
        #expect(
            middle.filter { $0.hasPrefix("* LIST") } == [
                "* LIST (\\HasChildren) \"/\" parent/child (\"CHILDINFO\" (\"SUBSCRIBED\"))"
            ], "\(middle)")
        let all = try await harness.send("g LIST (SUBSCRIBED RECURSIVEMATCH) \"\" parent*").lines
        #expect(all.contains("* LIST (\\HasNoChildren \\Subscribed) \"/\" parent/child/leaf"), "\(all)")
        // Without RECURSIVEMATCH, only what is subscribed.
        let plain = try await harness.send("h LIST (SUBSCRIBED) \"\" %").lines
        #expect(!plain.contains { $0.contains("parent") }, "\(plain)")
    }

    @Test func lsubShowsAnUnsubscribedParentAsNoselect() async throws {
        var (harness, _) = try await Fixture.selected()
        try await harness.send("c CREATE parent/a/b")
        try await harness.send("d SUBSCRIBE parent/a/b")
        #expect(
            try await harness.send("e LSUB \"\" \"parent/%\"").lines == [
                "* LSUB (\\Noselect) \"/\" parent/a", "e OK LSUB completed",
            ])
        #expect(
            try await harness.send("f LSUB \"\" \"parent/*\"").lines == [
                "* LSUB () \"/\" parent/a/b", "f OK LSUB completed",
            ])
        try await harness.send("g SUBSCRIBE parent/a")
        #expect(try await harness.send("h LSUB \"\" \"parent/%\"").lines.first == "* LSUB () \"/\" parent/a")
    }
}
