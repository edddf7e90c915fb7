import AsyncHTTPClient
import Foundation
import MailvoxConfig
import MailvoxCore
import MailvoxDatabase
import MailvoxObjects
import MailvoxPostgres

/// The scale-out backends a config names (docs/SCALE-OUT.md): their settings from `[postgres]`
/// and `[blobs]`, secrets read from their files, and what `doctor` asks of them.
public enum Backends {
    /// `[postgres]`, its password read from `password_file` like every secret of the config:
    /// a regular file no one but the owner may read (`KeyFiles.readSecret`).
    public static func postgresSettings(_ config: Configuration) throws -> PostgresSettings {
        try PostgresSettings(
            url: config.postgres.url,
            password: try config.postgres.passwordFile.map {
                try KeyFiles.readSecret($0, key: "postgres.password_file", config: config)
            },
            poolSize: config.postgres.poolSize)
    }

    /// `[blobs]` for `backend = "s3"`, its keys read like every secret (`KeyFiles.readSecret`).
    /// The loader has already required both key files for that backend.
    public static func s3Settings(_ config: Configuration) throws -> S3Settings {
        func secret(_ path: String?, _ key: String) throws -> String {
            guard let path else {
                throw ConfigError(source: config.file, key: key, message: "is required when blobs.backend = \"s3\"")
            }
            return try KeyFiles.readSecret(path, key: key, config: config)
        }
        return S3Settings(
            endpoint: config.blobs.endpoint, bucket: config.blobs.bucket, region: config.blobs.region,
            accessKey: try secret(config.blobs.accessKeyFile, "blobs.access_key_file"),
            secretKey: try secret(config.blobs.secretKeyFile, "blobs.secret_key_file"),
            pathStyle: config.blobs.pathStyle)
    }

    /// What PostgreSQL says about itself: its version, its clock and how far Mailvox's schema is.
    public struct PostgresReport: Sendable {
        public var version: String
        public var skewSeconds: Double
        public var migrations: Int
    }

    /// Connects once (blocking: the caller's blocking thread) and reads the report; migrates nothing.
    public static func inspect(_ settings: PostgresSettings) throws -> PostgresReport {
        let database = try PostgresDatabase(settings: settings)
        defer { database.close() }
        return try database.read { connection in
            let before = Date().timeIntervalSince1970
            let row = try connection.one(
                """
                SELECT current_setting('server_version') AS version,
                    EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION AS now,
                    (CASE WHEN to_regclass('mailvox_migration') IS NULL THEN 0 ELSE 1 END)::BIGINT AS migrated
                """)
            let after = Date().timeIntervalSince1970
            guard let row else { throw SQLError.noSuchColumn("version") }
            var migrations = 0
            if try row.get("migrated", as: Int64.self) == 1 {
                migrations = Int(
                    try connection.one("SELECT COUNT(*) AS n FROM mailvox_migration")?.get("n", as: Int64.self) ?? 0)
            }
            return PostgresReport(
                version: try row.get("version"),
                skewSeconds: try row.get("now", as: Double.self) - (before + after) / 2,
                migrations: migrations)
        }
    }

    /// A round trip through the bucket: a probe object written, read back, compared and
    /// removed; the seconds it took and the service's clock against ours (from its `Date`).
    public static func probe(
        _ settings: S3Settings, hostname: String
    ) async throws -> (seconds: Double, skewSeconds: Double?) {
        let store = try S3BlobStore(settings: settings)
        let key = try BlobKey("doctor/\(hostname)-\(UUID().uuidString.lowercased())")
        let bytes = (0..<64).map { _ in UInt8.random(in: 0...255) }
        let start = Date()
        try await store.put(key: key, bytes: bytes)
        let read = try await store.get(key: key)
        try await store.delete(key: key)
        let seconds = Date().timeIntervalSince(start)
        guard read == bytes else { throw BlobStoreError.malformedResponse("the probe object came back changed") }
        return (seconds, try? await clockSkew(of: settings.endpoint))
    }

    /// The service's `Date` header against this machine's clock, in seconds (positive: it is ahead).
    /// SigV4 refuses requests more than 15 minutes off, so a node with a bad clock fails every call.
    static func clockSkew(of endpoint: String) async throws -> Double? {
        var request = HTTPClientRequest(url: endpoint)
        request.method = .HEAD
        let before = Date()
        let response = try await S3BlobStore.client.execute(request, timeout: .seconds(10))
        let after = Date()
        guard let header = response.headers.first(name: "date") else { return nil }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: header) else { return nil }
        // HTTP dates have whole seconds: the skew is known to ±1 s.
        return date.timeIntervalSince1970 - (before.timeIntervalSince1970 + after.timeIntervalSince1970) / 2
    }
}
