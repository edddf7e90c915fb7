import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxStore
import Testing

/// Logins through the directory: right password, wrong password, unknown id, lockout, with
/// real SQLite and real scrypt.
@Suite struct DirectoryAuthenticatorTests {
    static let office = ClientAddress("192.0.2.1")
    static let elsewhere = ClientAddress("198.51.100.7")

    /// Whether `result` let the client in.
    static func succeeded(_ result: AuthenticationResult) -> Bool {
        if case .success = result { return true }
        return false
    }

    /// On a shared database a lockout earned on one node holds on the others: two
    /// authenticators (two nodes' counters) over one PostgreSQL database. The failures are kept
    /// under their keys' SHA-256, never the client's address.
    @Test func aLockoutEarnedOnOneNodeHoldsOnAnother() async throws {
        let fixture = try StoreFixture(.postgres)
        let auth = Configuration.Auth(maxFailures: 2, lockoutSeconds: 3600)
        let directory = fixture.directoryFixture.directory
        let nodeA = DirectoryAuthenticator(directory: directory, store: fixture.store, limits: .default, auth: auth)
        let nodeB = DirectoryAuthenticator(directory: directory, store: fixture.store, limits: .default, auth: auth)
        for _ in 0..<2 {
            #expect(!Self.succeeded(await nodeA.authenticate(mailbox: "1000", password: "bad", client: Self.office)))
        }
        guard
            case .failure(let delay) = await nodeB.authenticate(
                mailbox: "1000", password: "correct-horse", client: Self.office)
        else {
            Issue.record("node B let in a (mailbox, address) node A locked")
            return
        }
        #expect(delay > .seconds(1))
        #expect(
            Self.succeeded(
                await nodeB.authenticate(mailbox: "1000", password: "correct-horse", client: Self.elsewhere)),
            "the owner elsewhere is not locked out")
        let stored = try fixture.directoryFixture.sql.read { db in
            try db.rows("SELECT key_sha256 FROM auth_failure").map { try $0.get("key_sha256", as: String.self) }
        }
        #expect(stored.count == 2 && stored.allSatisfy { $0.count == 64 && !$0.contains("192.0.2.1") }, "\(stored)")
    }

    @Test func loginsAreCountedPerMailboxAndAddress() async throws {
        let fixture = try StoreFixture()
        let authenticator = DirectoryAuthenticator(
            directory: fixture.directoryFixture.directory, store: fixture.store, limits: .default,
            auth: Configuration.Auth(maxFailures: 2, lockoutSeconds: 3600))

        guard
            case .success(let store) = await authenticator.authenticate(
                mailbox: "1000", password: "correct-horse", client: Self.office)
        else {
            Issue.record("the right password was refused")
            return
        }
        #expect(store.mailbox.rawValue == "1000")
        guard
            case .failure(let delay) = await authenticator.authenticate(
                mailbox: "1000", password: "wrong", client: Self.office)
        else {
            Issue.record("a wrong password was accepted")
            return
        }
        #expect(delay == .seconds(1))
        guard case .failure = await authenticator.authenticate(mailbox: "9999", password: "x", client: Self.office)
        else {
            Issue.record("an unknown mailbox was accepted")
            return
        }
        // The id is case-insensitive, and so is its counter: a second failure locks 1000 here…
        #expect(
            !Self.succeeded(await authenticator.authenticate(mailbox: "1000", password: "bad", client: Self.office)))
        guard
            case .failure(let locked) = await authenticator.authenticate(
                mailbox: "1000", password: "correct-horse", client: Self.office)
        else {
            Issue.record("a locked (mailbox, address) got in")
            return
        }
        #expect(locked > .seconds(1))
        // …but the owner elsewhere is not locked out.
        #expect(
            Self.succeeded(
                await authenticator.authenticate(mailbox: "1000", password: "correct-horse", client: Self.elsewhere)),
            "a wrong client locked the user out everywhere")
    }

    /// The probe's finding: 39 wrong passwords and the right one sent at the same moment on
    /// 40 connections. Every check was let through before the first failure was counted, so
    /// the right one got in. Attempts now count while in flight: once `max_failures` are in
    /// flight, the rest — the right password too — are refused unchecked until the lockout ends.
    @Test func parallelGuessesGetNoMoreChecksThanMaxFailures() async throws {
        let fixture = try StoreFixture()
        // Full-cost scrypt (about 0.1 s a check): every guess is in flight long before the first
        // is answered, as with a real server.
        try Directory(database: fixture.directoryFixture.database, hasher: .standard)
            .setPassword(fixture.mailbox, password: "correct-horse")
        let authenticator = DirectoryAuthenticator(
            directory: fixture.directoryFixture.directory, store: fixture.store, limits: .default,
            auth: Configuration.Auth(maxFailures: 5, lockoutSeconds: 2))

        let results = await withTaskGroup(of: (right: Bool, in: Bool).self) { group in
            for index in 0..<39 {
                group.addTask {
                    let result = await authenticator.authenticate(
                        mailbox: "1000", password: "guess-\(index)", client: Self.office)
                    return (false, Self.succeeded(result))
                }
            }
            // The right password a moment later: still far sooner than one scrypt check.
            try? await Task.sleep(for: .milliseconds(20))
            group.addTask {
                let result = await authenticator.authenticate(
                    mailbox: "1000", password: "correct-horse", client: Self.office)
                return (true, Self.succeeded(result))
            }
            var all: [(right: Bool, in: Bool)] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 40)
        #expect(results.allSatisfy { !$0.in }, "the right password got in past \(5) guesses in flight")

        // Once the lockout has passed since the last attempt, the right password works again.
        try await Task.sleep(for: .milliseconds(2_100))
        #expect(
            Self.succeeded(
                await authenticator.authenticate(mailbox: "1000", password: "correct-horse", client: Self.office)))
    }

    /// One address is often a whole office or PBX behind NAT: one mailbox's wrong client there
    /// must not lock every other mailbox out. Per address alone the limit is
    /// `max_failures_per_address`, much higher than per (mailbox, address).
    @Test func oneMailboxesFailuresDoNotLockTheWholeAddress() async throws {
        let fixture = try StoreFixture()
        for id in ["1001", "1002", "1003"] { try fixture.directoryFixture.add(id) }
        let authenticator = DirectoryAuthenticator(
            directory: fixture.directoryFixture.directory, store: fixture.store, limits: .default,
            // An hour: under the whole suite this test's attempts were seen to spread over more
            // than a minute, and a lockout that runs out mid-test unlocks what it checks.
            auth: Configuration.Auth(maxFailures: 2, maxFailuresPerAddress: 5, lockoutSeconds: 3600))

        // A phone with a stale password locks its own mailbox from the office…
        for _ in 0..<2 {
            #expect(
                !Self.succeeded(await authenticator.authenticate(mailbox: "1000", password: "old", client: Self.office))
            )
        }
        #expect(
            !Self.succeeded(
                await authenticator.authenticate(mailbox: "1000", password: "correct-horse", client: Self.office)))
        // …and only its own: the colleague next to it still logs in.
        #expect(
            Self.succeeded(
                await authenticator.authenticate(mailbox: "1001", password: "correct-horse", client: Self.office)),
            "one mailbox's failures locked every mailbox behind the address")

        // Guessing across mailboxes from one address still meets a limit: five failures in all.
        for id in ["1001", "1002"] {
            #expect(!Self.succeeded(await authenticator.authenticate(mailbox: id, password: "x", client: Self.office)))
        }
        #expect(
            Self.succeeded(
                await authenticator.authenticate(mailbox: "1003", password: "correct-horse", client: Self.office)))
        #expect(!Self.succeeded(await authenticator.authenticate(mailbox: "1003", password: "x", client: Self.office)))
        #expect(
            !Self.succeeded(
                await authenticator.authenticate(mailbox: "1003", password: "correct-horse", client: Self.office)),
            "the address's fifth failure did not lock it")
        #expect(
            Self.succeeded(
                await authenticator.authenticate(mailbox: "1003", password: "correct-horse", client: Self.elsewhere)))
    }
}
