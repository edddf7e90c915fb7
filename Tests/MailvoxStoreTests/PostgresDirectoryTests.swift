import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxPostgres
import MailvoxStore
import MailvoxTestSupport
import Synchronization
import Testing

/// The directory where several nodes share one PostgreSQL database: what SQLite's single
/// writer gave for free must hold across connections, and citext must compare as NOCASE does.
@Suite struct PostgresDirectoryTests {
    /// Four nodes (four pools on one database) add mailboxes at once: every folder's
    /// UIDVALIDITY is one no other folder got, because the highest given is raised in one
    /// statement under the row's lock, never read and written back in two.
    @Test func nodesAddingMailboxesAtOnceNeverShareAUIDValidity() throws {
        let server = try PostgresServer.shared
        let url = server.url(database: try server.createDatabase())
        let setup = try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 1))
        defer { setup.close() }
        try PostgresMigrator.migrate(setup, sets: [StoreMigrations.postgres])
        let master = MasterKey.generate()
        let results = try (0..<4).map { _ in try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 2)) }
        defer { results.forEach { $0.close() } }
        let databases = results
        let failures = ConcurrentFailures()
        DispatchQueue.concurrentPerform(iterations: 4) { node in
            let directory = Directory(
                database: databases[node], hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
            for index in 0..<3 {
                do {
                    try directory.addMailbox(
                        id: MailboxID("\(node + 1)00\(index)")!, settings: MailboxSettings(name: "Node \(node)"),
                        password: "long-enough", master: master)
                } catch { failures.record(error) }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        let validities = try setup.read { db in
            try db.rows("SELECT uid_validity FROM folder").map { try $0.get("uid_validity", as: Int64.self) }
        }
        #expect(validities.count == 4 * 3 * 5)
        #expect(Set(validities).count == validities.count, "a UIDVALIDITY was given twice")
        let highest = try setup.read { db in
            try db.one("SELECT highest FROM uid_validity_issued")?.get("highest", as: Int64.self)
        }
        #expect(highest == validities.max())
    }

    /// A TOTP code is good once across every node, and a sign-in waiting for its code takes
    /// five codes in all however many nodes it is tried on: both are one conditional statement.
    @Test func secondFactorStepsAndCodeAttemptsHoldAcrossNodes() throws {
        let server = try PostgresServer.shared
        let url = server.url(database: try server.createDatabase())
        let setup = try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 1))
        defer { setup.close() }
        try PostgresMigrator.migrate(setup, sets: [StoreMigrations.postgres])
        let first = Directory(database: setup, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
        let login = MailboxID("Grace")!
        try first.addMailbox(
            id: login, settings: MailboxSettings(name: "Grace"), password: "long-enough", master: .generate())
        let key = Data(repeating: 7, count: 32)
        try first.insertWebSession(key: key, kind: .pending, login: login, csrf: "", now: Date().timeIntervalSince1970)
        let nodes = try (0..<4).map { _ in try PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 2)) }
        defer { nodes.forEach { $0.close() } }
        let accepted = Mutex(0)
        let attempts = Mutex(0)
        let failures = ConcurrentFailures()
        let databases = nodes
        DispatchQueue.concurrentPerform(iterations: 4) { node in
            let directory = Directory(database: databases[node])
            for _ in 0..<5 {
                do {
                    if try directory.useSecondFactorStep(59_000_000, login: MailboxID("grace")!) {
                        accepted.withLock { $0 += 1 }
                    }
                    if try directory.attemptPendingSignIn(key: key, limit: 5, since: 0) != nil {
                        attempts.withLock { $0 += 1 }
                    }
                } catch { failures.record(error) }
            }
        }
        #expect(failures.all.isEmpty, "\(failures.all)")
        #expect(accepted.withLock { $0 } == 1, "one code, one sign-in")
        #expect(attempts.withLock { $0 } == 5)
        #expect(try first.useSecondFactorStep(59_000_000, login: login) == false)
        #expect(try first.useSecondFactorStep(58_999_999, login: login) == false, "an older step is never good again")
        #expect(try first.useSecondFactorStep(59_000_001, login: login))
        #expect(try first.webSession(key: key) == nil, "a sign-in out of codes is gone")
    }

    /// Mailbox ids are citext: every lookup, membership and token finds a mailbox whatever the
    /// case it is named in, and returns the id as it was created, exactly as on SQLite.
    @Test func mailboxIDsCompareWithoutRegardToCase() throws {
        let fixture = try DirectoryFixture(.postgres)
        try fixture.add("Sales")
        try fixture.add("grace")
        #expect(throws: DirectoryError.duplicateMailbox("SALES")) { try fixture.add("SALES") }
        #expect(try fixture.directory.mailbox(MailboxID("sALES")!)?.id.rawValue == "Sales")
        let membership = try fixture.directory.setMember(
            MailboxID("GRACE")!, of: MailboxID("sales")!, rights: Rights(letters: "lrs")!)
        #expect(membership.mailbox.rawValue == "Sales")
        #expect(membership.member.rawValue == "grace")
        #expect(try fixture.directory.members(of: MailboxID("SALES")!).map(\.member.rawValue) == ["grace"])
        #expect(try fixture.directory.sharedMailboxes(of: MailboxID("Grace")!).map(\.id.rawValue) == ["Sales"])
        #expect(try fixture.directory.hasMembers(MailboxID("sales")!))
        _ = try fixture.directory.updateMailbox(MailboxID("SALES")!, settings: MailboxSettings(aliases: ["Desk"]))
        #expect(try fixture.directory.mailboxID(forAlias: "DESK", domain: "example.com")?.rawValue == "Sales")
        let token = try fixture.directory.createPersonalToken(mailbox: MailboxID("SALES")!, name: "cli")
        #expect(try fixture.directory.authenticatePersonalToken(token)?.rawValue == "Sales")
        #expect(try fixture.directory.personalTokens(mailbox: MailboxID("sales")!).map(\.name) == ["cli"])
        try fixture.directory.removeMailbox(MailboxID("SALES")!)
        #expect(try fixture.value("SELECT COUNT(*) FROM member", as: Int.self) == 0, "the cascade follows citext keys")
    }
}

/// Errors thrown on other threads, behind a lock.
final class ConcurrentFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [any Error] = []
    func record(_ error: any Error) { lock.withLock { errors.append(error) } }
    var all: [any Error] { lock.withLock { errors } }
}
