import Foundation
import MailvoxCore
import MailvoxPostgres
import MailvoxTestSupport
import Testing

/// Hostile and mistaken settings: every error names the problem and never the password.
@Suite struct PostgresSettingsTests {
    @Test func aWellFormedURLIsParsed() throws {
        let settings = try PostgresSettings(url: "postgres://mailvox@db.example:6432/voice?sslmode=verify-full")
        #expect(settings.host == "db.example")
        #expect(settings.port == 6432)
        #expect(settings.user == "mailvox")
        #expect(settings.database == "voice")
        #expect(settings.sslMode == .verifyFull)
        #expect(settings.poolSize == 8)
        #expect(settings.displayURL == "postgres://mailvox@db.example:6432/voice?sslmode=verify-full")
        #expect(try PostgresSettings(url: "postgresql://u@h/d").port == 5432)
        #expect(try PostgresSettings(url: "postgresql://u@h/d").sslMode == .disable)
    }

    @Test(arguments: [
        ("postgres://mailvox:hunter2@127.0.0.1:5432/voice", "password_file"),
        ("postgres://mailvox:hunter2@127.0.0.1:notaport/voice", "not a URL"),
        ("mysql://mailvox@127.0.0.1/voice", "scheme"),
        ("postgres://127.0.0.1/voice", "no user"),
        ("postgres://mailvox@127.0.0.1/", "no database"),
        ("postgres://mailvox@/voice", "no host"),
        ("postgres://mailvox@127.0.0.1/voice?sslmode=maybe", "sslmode \"maybe\""),
        ("postgres://mailvox@127.0.0.1/voice?password=hunter2", "unknown parameter \"password\""),
        ("just some words", "scheme"),
        ("postgres://mailvox@/voice?host=run/postgresql", "not the absolute path"),
        ("postgres://mailvox@db.example/voice?host=/run/postgresql", "both a host and a socket directory"),
        ("postgres://mailvox@/voice?host=/run/postgresql&sslmode=require", "no TLS there"),
    ])
    func aMalformedURLIsNamedWithoutItsPassword(_ url: String, _ expected: String) throws {
        let error = try #require(throws: PostgresSettingsError.self) { try PostgresSettings(url: url) }
        #expect(error.description.contains(expected), "\(error)")
        #expect(error.description.hasPrefix("postgres.url"), "\(error)")
        #expect(!error.description.contains("hunter2"), "\(error)")
        #expect(error.kind == .input)
    }

    /// libpq's form for a Unix socket: no host, its directory as `?host=`.
    @Test func aSocketURLIsParsed() throws {
        let settings = try PostgresSettings(url: "postgres://mailvox@/voice?host=/var/run/postgresql")
        #expect(settings.host.isEmpty)
        #expect(settings.socketDirectory == "/var/run/postgresql")
        #expect(settings.socketPath == "/var/run/postgresql/.s.PGSQL.5432")
        #expect(settings.displayURL == "postgres://mailvox@:5432/voice?host=/var/run/postgresql")
        let other = try PostgresSettings(url: "postgres://mailvox@:6432/voice?host=/run/pg%20sock&sslmode=disable")
        #expect(other.socketPath == "/run/pg sock/.s.PGSQL.6432")
        // What it displays parses back to the same place.
        #expect(try PostgresSettings(url: settings.displayURL).socketPath == settings.socketPath)
        #expect(try PostgresSettings(url: "postgres://u@db/voice").socketPath == nil)
    }

    /// The test server's socket answers like its TCP port, and the listener hears over it too.
    @Test func theServerAnswersOverItsSocket() throws {
        let server = try PostgresServer.shared
        let settings = try PostgresSettings(
            url: "postgres://\(server.user)@:\(server.port)/postgres?host=\(server.socketDirectory)", poolSize: 1)
        let database = try PostgresDatabase(settings: settings)
        defer { database.close() }
        let row = try database.read { db in try db.one("SELECT current_user AS who, inet_server_addr() AS addr") }
        #expect(try row?.get("who", as: String.self) == server.user)
        // No address: the session is on the socket, not on TCP.
        #expect(row?["addr"] == .null)
    }

    @Test func aBadPoolSizeIsNamed() {
        #expect(throws: PostgresSettingsError.poolSize(0)) {
            try PostgresSettings(url: "postgres://mailvox@127.0.0.1/voice", poolSize: 0)
        }
    }

    /// Nothing listens on the port: the error says where and why, and the password appears nowhere.
    @Test func anUnreachablePortIsNamedWithoutThePassword() throws {
        let port = Subprocess.freePort()
        let settings = try PostgresSettings(
            url: "postgres://mailvox@127.0.0.1:\(port)/voice", password: "s3cret-Passw0rd", connectTimeoutSeconds: 5)
        #expect(!"\(settings)".contains("s3cret"))
        var dumped = ""
        dump(settings, to: &dumped)
        #expect(!dumped.contains("s3cret"), "\(dumped)")
        let error = try #require(throws: PostgresDatabaseError.self) { try PostgresDatabase(settings: settings) }
        #expect(error.isTemporary)
        #expect(error.description.contains("127.0.0.1:\(port)/voice"), "\(error)")
        #expect(error.description.lowercased().contains("refused"), "\(error)")
        #expect(!error.description.contains("s3cret"), "\(error)")
        #expect(!String(reflecting: error).contains("s3cret"), "\(error)")
    }
}
