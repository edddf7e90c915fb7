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
    ])
    func aMalformedURLIsNamedWithoutItsPassword(_ url: String, _ expected: String) throws {
        let error = try #require(throws: PostgresSettingsError.self) { try PostgresSettings(url: url) }
        #expect(error.description.contains(expected), "\(error)")
        #expect(error.description.hasPrefix("postgres.url"), "\(error)")
        #expect(!error.description.contains("hunter2"), "\(error)")
        #expect(error.kind == .input)
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
