import Foundation
import MailvoxTestSupport
import Testing

/// The scale-out backends as an operator first meets them (docs/SCALE-OUT.md): `doctor` checks a
/// real PostgreSQL and a real bucket, and refuses secret files others can read.
@Suite struct ScaleOutCLITests {
    /// A data dir whose config names the shared PostgreSQL and a new bucket.
    private func prepared() async throws -> CLI {
        var cli = try CLI()
        #expect(try cli.run(["init", "--data-dir", "var"]).status == 0)
        let postgres = try PostgresServer.shared
        let bucket = try await TestBuckets.fresh()
        try Data(bucket.accessKey.utf8).write(to: URL(fileURLWithPath: cli.directory + "/access.key"))
        try Data((bucket.secretKey + "\n").utf8).write(to: URL(fileURLWithPath: cli.directory + "/secret.key"))
        for file in ["access.key", "secret.key"] { chmod(cli.directory + "/" + file, 0o600) }
        cli.environment.merge([
            "MAILVOX_STORAGE_BACKEND": "postgres",
            "MAILVOX_POSTGRES_URL": postgres.url(database: try postgres.createDatabase()),
            "MAILVOX_BLOBS_BACKEND": "s3", "MAILVOX_BLOBS_ENDPOINT": bucket.endpoint,
            "MAILVOX_BLOBS_BUCKET": bucket.bucket, "MAILVOX_BLOBS_PATH_STYLE": "true",
            "MAILVOX_BLOBS_ACCESS_KEY_FILE": cli.directory + "/access.key",
            "MAILVOX_BLOBS_SECRET_KEY_FILE": cli.directory + "/secret.key",
        ]) { $1 }
        return cli
    }

    @Test func doctorChecksThePostgresServerAndTheBucket() async throws {
        let cli = try await prepared()
        let report = try cli.run(["doctor", "--json"])
        let checks = try #require(
            try JSONSerialization.jsonObject(with: Data(report.stdout.utf8)) as? [[String: String]], "\(report.stderr)")
        let postgres = try #require(checks.first { $0["subject"] == "postgres" }, "\(checks)")
        #expect(postgres["status"] == "ok", "\(postgres)")
        #expect(postgres["detail"]?.contains("PostgreSQL 15") == true, "\(postgres)")
        #expect(postgres["detail"]?.contains("clock") == true, "\(postgres)")
        let blobs = try #require(checks.first { $0["subject"] == "blobs" }, "\(checks)")
        #expect(blobs["status"] == "ok", "\(blobs)")
        // `init` named the node localhost: fine alone, not for one of several nodes.
        let hostname = try #require(checks.first { $0["subject"] == "hostname" }, "\(checks)")
        #expect(hostname["status"] == "warn", "\(hostname)")
        #expect(blobs["detail"]?.contains("written, read back and removed") == true, "\(blobs)")
    }

    @Test func doctorFailsOnAnUnreachableServerAndAWrongKeyWithoutShowingSecrets() async throws {
        var cli = try await prepared()
        try Data("not-the-secret-\(UUID())".utf8).write(to: URL(fileURLWithPath: cli.directory + "/secret.key"))
        let closed = Subprocess.freePort()
        cli.environment["MAILVOX_POSTGRES_URL"] = "postgres://mailvox@127.0.0.1:\(closed)/nowhere"
        let report = try cli.run(["doctor"])
        #expect(report.status == 1)
        #expect(report.stdout.contains("fail  postgres"), "\(report.stdout)")
        #expect(
            report.stdout.contains("cannot connect to PostgreSQL at postgres://mailvox@127.0.0.1"), "\(report.stdout)")
        #expect(report.stdout.contains("fail  blobs"), "\(report.stdout)")
        #expect(!report.stdout.contains("not-the-secret"), "\(report.stdout)")
    }

    /// The S3 keys and the PostgreSQL password are secrets like the master key: a file others may
    /// read is refused by name, before anything is sent with it; a missing one too.
    @Test func secretFilesOthersCanReadAreRefused() async throws {
        var cli = try await prepared()
        chmod(cli.directory + "/secret.key", 0o644)
        try Data("pg-Passw0rd\n".utf8).write(to: URL(fileURLWithPath: cli.directory + "/pg.password"))
        chmod(cli.directory + "/pg.password", 0o640)
        cli.environment["MAILVOX_POSTGRES_PASSWORD_FILE"] = cli.directory + "/pg.password"
        let report = try cli.run(["doctor"])
        #expect(report.status == 1)
        #expect(report.stdout.contains("blobs.secret_key_file"), "\(report.stdout)")
        #expect(report.stdout.contains("postgres.password_file"), "\(report.stdout)")
        #expect(!report.stdout.contains("pg-Passw0rd"), "\(report.stdout)")
        chmod(cli.directory + "/pg.password", 0o600)
        cli.environment["MAILVOX_POSTGRES_PASSWORD_FILE"] = cli.directory + "/missing.password"
        let missing = try cli.run(["doctor"])
        #expect(missing.status == 1)
        #expect(missing.stdout.contains("missing.password: no such file"), "\(missing.stdout)")
    }
}
