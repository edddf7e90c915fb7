import Foundation
import MailvoxAudio
import MailvoxConfig
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxMIME
import MailvoxNotify
import MailvoxStore

/// `mailvox doctor`: checks what an administrator would otherwise find out the hard way —
/// config, permissions, key placement, certificate, ports, disk, relay.
public enum Doctor {
    public enum Status: String, Sendable, Codable {
        case ok, warn, fail
    }

    public struct Check: Sendable, Codable {
        public var status: Status
        public var subject: String
        public var detail: String
    }

    public static func run(configPath: String) async -> [Check] {
        var checks: [Check] = []
        func add(_ status: Status, _ subject: String, _ detail: String) {
            checks.append(Check(status: status, subject: subject, detail: detail))
        }

        let config: Configuration
        do {
            config = try ConfigLoader.load(path: configPath)
            add(.ok, "config", config.file)
        } catch {
            add(.fail, "config", "\(error)")
            return checks
        }

        checkDataDir(config, add: add)
        let masterKey = checkMasterKey(config, add: add)
        // On PostgreSQL the `postgres` check below reports the database; backups are its own.
        if config.storage.backend == .embedded {
            checkDatabase(config, masterKey: masterKey, add: add)
            checkBackups(config, add: add)
        }
        checkCertificate(config, add: add)
        checkListeners(config, add: add)
        checkDisk(config, add: add)
        checkRelay(config, add: add)
        for check in await checkScaleOut(config) { add(check.status, check.subject, check.detail) }
        add(
            .ok, "libraries",
            "libsndfile \(AudioLibraries.sndfileVersion), libsoxr \(AudioLibraries.soxrVersion), "
                + "libebur128 \(AudioLibraries.ebur128Version), libetpan \(MIMELibrary.version)")
        return checks
    }

    /// The shared backends of docs/SCALE-OUT.md, when the config names them: PostgreSQL
    /// reachable, its schema and clock; the bucket writable and readable, and its clock. Nodes
    /// compare lease expiry times written by each other, and SigV4 refuses a request whose
    /// clock is 15 minutes off, so a skew is reported: a warning above 2 s, a failure above 60.
    static func checkScaleOut(_ config: Configuration) async -> [Check] {
        var checks: [Check] = []
        func skew(_ seconds: Double, of what: String) -> (Status, String) {
            let text = String(format: "clock %+.1f s against %@", seconds, what)
            switch abs(seconds) {
            case ...2: return (.ok, text)
            case ...60: return (.warn, text + "; run NTP on every node and on the servers")
            default: return (.fail, text + "; run NTP on every node and on the servers")
            }
        }
        // Leases are named by the node's hostname: two nodes under one name would release each
        // other's live leases when either restarts.
        if config.storage.backend == .postgres && config.server.hostname == "localhost" {
            checks.append(
                Check(
                    status: .warn, subject: "hostname",
                    detail:
                        "server.hostname is \"localhost\": give every node sharing the database a name of its own "
                        + "(it names the node's job leases; docs/SCALE-OUT.md)"))
        }
        if config.storage.backend == .postgres {
            do {
                let settings = try Backends.postgresSettings(config)
                let report = try await Offload.run { () throws -> Backends.PostgresReport in
                    try Backends.inspect(settings)
                }
                let (status, clock) = skew(report.skewSeconds, of: "PostgreSQL")
                let schema =
                    report.migrations == 0 ? "no Mailvox schema yet" : "\(report.migrations) migrations applied"
                checks.append(
                    Check(
                        status: status, subject: "postgres",
                        detail: "\(settings.displayURL): PostgreSQL \(report.version), \(schema), \(clock)"))
            } catch {
                checks.append(Check(status: .fail, subject: "postgres", detail: "\(error)"))
            }
        }
        if config.blobs.backend == .s3 {
            do {
                let settings = try Backends.s3Settings(config)
                let probe = try await Backends.probe(settings, hostname: config.server.hostname)
                var detail = String(
                    format: "bucket %@ at %@: a probe object written, read back and removed in %.0f ms",
                    settings.bucket, settings.endpoint, probe.seconds * 1000)
                var status = Status.ok
                if let seconds = probe.skewSeconds {
                    let (clockStatus, clock) = skew(seconds, of: "the object store")
                    (status, detail) = (clockStatus, detail + ", " + clock)
                }
                checks.append(Check(status: status, subject: "blobs", detail: detail))
            } catch {
                checks.append(Check(status: .fail, subject: "blobs", detail: "\(error)"))
            }
        }
        return checks
    }

    private static func checkDataDir(_ config: Configuration, add: (Status, String, String) -> Void) {
        var info = stat()
        guard stat(config.server.dataDir, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            add(.fail, "data dir", "\(config.server.dataDir) does not exist (run `mailvox init`)")
            return
        }
        let mode = info.st_mode & 0o777
        if mode & 0o007 != 0 {
            add(
                .warn, "data dir",
                "\(config.server.dataDir) is open to others (mode \(String(mode, radix: 8))); chmod 700")
        } else {
            add(.ok, "data dir", "\(config.server.dataDir) (mode \(String(mode, radix: 8)))")
        }
    }

    private static func checkMasterKey(_ config: Configuration, add: (Status, String, String) -> Void) -> MasterKey? {
        let path = config.crypto.masterKeyFile
        let key: MasterKey
        do {
            try KeyFiles.check(path, key: "crypto.master_key_file", config: config)
            key = try MasterKey.load(from: path)
        } catch {
            add(.fail, "master key", "\(error)")
            return nil
        }
        let dataDir = config.server.dataDir.hasSuffix("/") ? config.server.dataDir : config.server.dataDir + "/"
        if path.hasPrefix(dataDir) {
            add(
                .warn, "master key",
                "\(path) (id \(key.id)) lies inside the data dir, so a copy of the data dir (tar, a disk "
                    + "snapshot; never `mailvox backup`) holds it too; "
                    + "in production move it elsewhere and set crypto.master_key_file")
        } else {
            add(.ok, "master key", "\(path) (id \(key.id)), outside the data dir")
        }
        return key
    }

    private static func checkDatabase(
        _ config: Configuration, masterKey: MasterKey?, add: (Status, String, String) -> Void
    ) {
        do {
            let database = try MailvoxDatabase.open(path: config.databasePath, migrations: Context.migrations)
            let directory = Directory(database: database)
            guard try directory.hasNodeKey() else {
                add(.fail, "database", "\(config.databasePath) has no node key (run `mailvox init`)")
                return
            }
            let ids = try directory.masterKeyIDs()
            if let masterKey, let other = ids.first(where: { $0 != masterKey.id }) {
                add(.fail, "database", "keys are wrapped under master key \(other), not the loaded \(masterKey.id)")
                return
            }
            let count = try directory.mailboxes().count
            add(.ok, "database", "\(config.databasePath), \(count) mailbox\(count == 1 ? "" : "es")")
        } catch {
            add(.fail, "database", "\(error)")
        }
    }

    /// `[backup] warn_after_days`: an operator hears about a backup job that stopped running
    /// before the day a backup is needed.
    static func checkBackups(_ config: Configuration, now: Date = Date(), add: (Status, String, String) -> Void) {
        let days = config.backup.warnAfterDays
        // No database is the database check's failure, not a second one here.
        guard days > 0, FileManager.default.fileExists(atPath: config.databasePath) else { return }
        do {
            let database = try MailvoxDatabase.open(path: config.databasePath, migrations: Context.migrations)
            let log = BackupLog(database: database)
            guard let last = try log.lastSuccessful(), let finished = last.finishedAt else {
                let attempt = try log.last().map {
                    " (the last attempt, \(Self.timestamp($0.startedAt)), ended \($0.result))"
                }
                add(
                    .warn, "backup",
                    "no successful backup on record\(attempt ?? ""); run `mailvox backup --to DIR` (docs/OPERATIONS.md)"
                )
                return
            }
            let age = now.timeIntervalSince(finished) / 86_400
            let detail = "last successful backup \(Self.timestamp(finished)) to \(last.target)"
            if age > Double(days) {
                add(.warn, "backup", "\(detail), \(Int(age)) days ago: older than backup.warn_after_days (\(days))")
            } else {
                add(.ok, "backup", detail)
            }
        } catch {
            add(.fail, "backup", "\(error)")
        }
    }

    static func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    private static func checkCertificate(_ config: Configuration, add: (Status, String, String) -> Void) {
        do {
            try KeyFiles.check(config.tls.privateKeyFile, key: "tls.private_key_file", config: config)
            let pem = try String(contentsOfFile: config.tls.certificateFile, encoding: .utf8)
            let (names, notAfter) = try DevCertificate.describe(pem: pem)
            let days = Int(notAfter.timeIntervalSinceNow / 86_400)
            if !names.contains("DNS:\(config.server.hostname)") && !names.contains("IP:\(config.server.hostname)") {
                add(
                    .warn, "certificate",
                    "\(config.tls.certificateFile) does not name \(config.server.hostname) (\(names.joined(separator: ", ")))"
                )
            } else if days < 0 {
                add(.fail, "certificate", "\(config.tls.certificateFile) expired \(-days) days ago")
            } else if days < 21 {
                add(.warn, "certificate", "\(config.tls.certificateFile) expires in \(days) days")
            } else {
                add(
                    .ok, "certificate",
                    "\(config.tls.certificateFile): \(names.joined(separator: ", ")), \(days) days left")
            }
        } catch {
            add(.fail, "certificate", "\(error)")
        }
    }

    private static func checkListeners(_ config: Configuration, add: (Status, String, String) -> Void) {
        var listeners: [(String, HostPort?)] = [
            ("imap.listen", config.imap.listen), ("imap.listen_tls", config.imap.listenTLS),
            ("http.listen", config.http.listen), ("inbound.smtp_listen", config.inbound.smtpListen),
            ("inbound.smtps_listen", config.inbound.smtpsListen),
        ]
        // An LMTP Unix socket has no port to check.
        if case .tcp(let address)? = config.inbound.lmtpListen { listeners.append(("inbound.lmtp_listen", address)) }
        var serving = false
        do { try ServeLock.requireNotServing(config.serveLockPath, action: "check ports") } catch { serving = true }
        for (key, address) in listeners {
            guard let address else {
                add(.ok, key, "disabled")
                continue
            }
            if serving {
                add(.ok, key, "\(address) (mailvox serve is running)")
            } else if let problem = Network.bindProblem(address) {
                add(.fail, key, "\(address): \(problem)")
            } else {
                add(.ok, key, "\(address) is free")
            }
        }
        if config.imap.allowPlaintextAuth {
            add(
                .warn, "imap.allow_plaintext_auth",
                "passwords may cross the network unencrypted; for loopback tests only")
        }
        let inbound = config.inbound
        if !inbound.requireAuth,
            [inbound.smtpListen, inbound.smtpsListen].contains(where: { $0.map { !$0.isLoopback } ?? false })
        {
            add(
                .warn, "inbound.require_auth",
                "anyone who reaches the SMTP door may deposit voicemails; keep it on, or list trusted_networks")
        }
        if !config.http.tls, let listen = config.http.listen, !listen.isLoopback {
            add(.warn, "http.tls", "tokens and voicemails cross the network unencrypted on \(listen)")
        }
    }

    private static func checkDisk(_ config: Configuration, add: (Status, String, String) -> Void) {
        guard let free = DiskSpace.freeBytesIfKnown(config.server.dataDir) else { return }
        let detail = "\(free / 1_048_576) MiB free, min_free_bytes is \(config.server.minFreeBytes / 1_048_576) MiB"
        add(free < config.server.minFreeBytes ? .fail : .ok, "disk", detail)
    }

    private static func checkRelay(_ config: Configuration, add: (Status, String, String) -> Void) {
        let relay = HostPort(host: config.smtp.host, port: config.smtp.port)
        // The alert path's own connect, with its deadline: what doctor says is what alerts meet.
        do {
            close(try TCPConnector.connect(host: relay.host, port: relay.port, timeout: 3))
            add(.ok, "smtp relay", "\(relay) accepts connections (\(config.smtp.security.rawValue))")
        } catch {
            add(.warn, "smtp relay", "\(relay) is not reachable (\(error)); alerts will wait and retry")
        }
    }
}
