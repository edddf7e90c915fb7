import Foundation
import MailvoxCore
import Testing

@testable import MailvoxStore

/// Aliases: the addresses besides ID@domain that reach a mailbox through the email door.
@Suite struct DirectoryAliasTests {
    @Test(arguments: Backend.allCases) func aliasesAreStoredLowerCasedAndFoundWithoutRegardToCase(
        _ backend: Backend
    ) throws {
        let fixture = try DirectoryFixture(backend)
        try fixture.add("2000")
        let updated = try fixture.directory.updateMailbox(
            MailboxID("2000")!, settings: MailboxSettings(aliases: ["Grace@Example.com", "sales"]))
        #expect(updated.aliases == ["grace@example.com", "sales"])
        #expect(try fixture.directory.mailbox(MailboxID("2000")!)?.aliases == ["grace@example.com", "sales"])
        #expect(try fixture.directory.mailboxID(forAlias: "GRACE", domain: "example.COM")?.rawValue == "2000")
        // A local-part alias answers for every domain; a whole address only for its own.
        #expect(try fixture.directory.mailboxID(forAlias: "Sales", domain: "other.example")?.rawValue == "2000")
        #expect(try fixture.directory.mailboxID(forAlias: "grace", domain: "other.example") == nil)
    }

    @Test(arguments: Backend.allCases) func anAliasReachesOneMailboxOnly(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        try fixture.add("2000")
        try fixture.add("2100")
        _ = try fixture.directory.updateMailbox(
            MailboxID("2000")!, settings: MailboxSettings(aliases: ["sales@example.com"]))
        #expect(throws: DirectoryError.self) {
            try fixture.directory.updateMailbox(
                MailboxID("2100")!, settings: MailboxSettings(aliases: ["SALES@example.com"]))
        }
        // Nothing of the refused change was kept.
        #expect(try fixture.directory.mailbox(MailboxID("2100")!)?.aliases == [])
        // Another mailbox's own id is not an alias.
        #expect(throws: DirectoryError.self) {
            try fixture.directory.updateMailbox(
                MailboxID("2100")!, settings: MailboxSettings(aliases: ["2000@example.com"]))
        }
    }

    @Test(arguments: ["grace+vm@example.com", "", "@example.com", "a@b@c", "gr ace", ".grace", "grace@bad domain"])
    func malformedAliasesAreRefused(alias: String) throws {
        let fixture = try DirectoryFixture()
        try fixture.add("2000")
        #expect(throws: DirectoryError.self) {
            try fixture.directory.updateMailbox(MailboxID("2000")!, settings: MailboxSettings(aliases: [alias]))
        }
    }

    @Test(arguments: Backend.allCases) func removingTheMailboxFreesItsAliases(_ backend: Backend) throws {
        let fixture = try DirectoryFixture(backend)
        try fixture.add("2000")
        _ = try fixture.directory.updateMailbox(MailboxID("2000")!, settings: MailboxSettings(aliases: ["sales"]))
        try fixture.directory.removeMailbox(MailboxID("2000")!)
        #expect(try fixture.directory.mailboxID(forAlias: "sales", domain: "example.com") == nil)
        try fixture.add("2100")
        _ = try fixture.directory.updateMailbox(MailboxID("2100")!, settings: MailboxSettings(aliases: ["sales"]))
    }
}
