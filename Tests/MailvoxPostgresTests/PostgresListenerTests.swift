import Foundation
import MailvoxCore
import MailvoxDatabase
import MailvoxPostgres
import MailvoxTestSupport
import Testing

/// What a listener heard, polled by the test (which must not block the cooperative pool the
/// listener runs on).
private final class Heard: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [PostgresListener.Event] = []

    func append(_ event: PostgresListener.Event) { lock.withLock { events.append(event) } }

    var all: [PostgresListener.Event] { lock.withLock { events } }

    /// Waits up to `seconds` for `event` among those heard after the first `from`; its index.
    /// Generous, and the events are looked at once more after the deadline: under the whole
    /// suite, tests that block the cooperative pool (subprocesses) were seen to starve both the
    /// listener and this loop for minutes.
    func wait(for event: PostgresListener.Event, from: Int = 0, seconds: Double = 300) async -> Int? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let events = all
            if let index = events.indices.dropFirst(from).first(where: { events[$0] == event }) { return index }
            if Date() >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// PostgreSQL calls block: the tests make them here, as the server does on its blocking pool.
private let blocking = BlockingPool(threads: 2, name: "listener-tests")

@Suite struct PostgresListenerTests {
    /// The order docs/SCALE-OUT.md relies on: a change is heard after its commit and never for
    /// a rollback, on a connection other than the writer's.
    @Test func aNotificationIsHeardAtCommitAndNeverForARollback() async throws {
        let server = try PostgresServer.shared
        let settings = try PostgresSettings(url: server.url(database: try server.createDatabase()), poolSize: 2)
        let database = try await blocking.run { try PostgresDatabase(settings: settings) }
        let listener = try PostgresListener(settings: settings, channel: "mailvox_changes")
        let heard = Heard()
        let task = Task { await listener.run { heard.append($0) } }
        defer { task.cancel() }
        #expect(await heard.wait(for: .listening(resumed: false)) != nil)

        struct Abort: Error {}
        let rolledBack = await blocking.run { () -> Bool in
            do {
                try database.write { connection in
                    try PostgresListener.notify(connection, channel: "mailvox_changes", payload: "rolled back")
                    throw Abort()
                }
                return false
            } catch {
                return error is Abort
            }
        }
        #expect(rolledBack)
        let heardBeforeCommit = try await blocking.run {
            try database.write { connection in
                try PostgresListener.notify(connection, channel: "mailvox_changes", payload: "2000/7/41")
                // Not heard before the commit.
                Thread.sleep(forTimeInterval: 0.2)
                return heard.all.contains(.notification("2000/7/41"))
            }
        }
        #expect(!heardBeforeCommit)
        #expect(await heard.wait(for: .notification("2000/7/41")) != nil)
        #expect(!heard.all.contains(.notification("rolled back")), "\(heard.all)")
    }

    /// Nothing is heard while the connection is down, so the listener says when it listens
    /// again, and what was sent after that arrives.
    @Test func afterARestartTheListenerResumesAndSaysSo() async throws {
        let server = try await blocking.run { try PostgresServer.makePrivate() }
        let settings = try PostgresSettings(url: server.url(database: try server.createDatabase()), poolSize: 1)
        let listener = try PostgresListener(settings: settings, channel: "mailvox_changes")
        let heard = Heard()
        let task = Task { await listener.run(maxBackoffSeconds: 0.5) { heard.append($0) } }
        defer {
            task.cancel()
            try? server.stop()
        }
        let first = try #require(await heard.wait(for: .listening(resumed: false)))

        try await blocking.run {
            try server.stop()
            try server.start()
        }
        let resumed = try #require(await heard.wait(for: .listening(resumed: true), from: first + 1))
        try await blocking.run {
            let database = try PostgresDatabase(settings: settings)
            try database.write { try PostgresListener.notify($0, channel: "mailvox_changes", payload: "after") }
        }
        #expect(await heard.wait(for: .notification("after"), from: resumed + 1) != nil)
    }

    @Test(arguments: ["", "Mailvox", "mail-vox", "x; DROP TABLE job", "9lives", String(repeating: "a", count: 64)])
    func aChannelThatIsNoPlainIdentifierIsRefused(_ name: String) {
        #expect(throws: PostgresListenerError.badChannel(name)) {
            try PostgresListener(settings: try PostgresSettings(url: "postgres://u@127.0.0.1/d"), channel: name)
        }
    }

    @Test func aPayloadPostgreSQLWouldRefuseIsRefusedFirst() async throws {
        let server = try PostgresServer.shared
        let url = server.url(database: try server.createDatabase())
        let refused = try await blocking.run { () -> PostgresListenerError? in
            let database = try PostgresDatabase(settings: try PostgresSettings(url: url, poolSize: 1))
            do {
                try database.write {
                    try PostgresListener.notify(
                        $0, channel: "mailvox_changes", payload: String(repeating: "x", count: 8000))
                }
                return nil
            } catch let error as PostgresListenerError {
                return error
            }
        }
        #expect(refused == .payloadTooLong(8000))
    }
}
