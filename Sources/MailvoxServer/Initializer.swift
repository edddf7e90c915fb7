import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxStore

/// `mailvox init`: makes a data dir ready to serve, and on a second run changes nothing that
/// exists — above all never a key.
public enum Initializer {
    /// What one run did, a line each, for the person who ran it.
    public struct Report: Sendable {
        public var lines: [String] = []
        public var configPath = ""
    }

    public static func run(dataDir: String, hostname: String) throws -> Report {
        guard Configuration.isHostname(hostname) else {
            throw InitError.badHostname(hostname)
        }
        var report = Report()
        let fileManager = FileManager.default
        let root = URL(fileURLWithPath: dataDir, relativeTo: URL(fileURLWithPath: fileManager.currentDirectoryPath))
            .standardizedFileURL.path
        for directory in [root, root + "/keys", root + "/tls", root + "/spool", root + "/queue"] {
            try makeDirectory(directory, report: &report)
        }

        let configPath = root + "/mailvox.toml"
        report.configPath = configPath
        if fileManager.fileExists(atPath: configPath) {
            report.lines.append("kept \(configPath)")
        } else {
            let text = """
                # Mailvox configuration, made by `mailvox init`. Every key, its meaning and its default:
                # Config/mailvox.example.toml in the source tree (share/mailvox/ when installed).
                # Relative paths resolve against this file's folder.

                [server]
                data_dir = "."
                hostname = "\(hostname)"

                """
            try DurableFile.createExclusive(configPath, contents: Array(text.utf8))
            report.lines.append("created \(configPath)")
        }

        let masterKeyPath = root + "/keys/master.key"
        let masterKey: MasterKey
        if fileManager.fileExists(atPath: masterKeyPath) {
            masterKey = try MasterKey.load(from: masterKeyPath)
            report.lines.append("kept \(masterKeyPath) (master key \(masterKey.id); an existing key is never replaced)")
        } else {
            masterKey = MasterKey.generate()
            try masterKey.write(to: masterKeyPath)
            report.lines.append("created \(masterKeyPath) (master key \(masterKey.id), mode 600)")
        }

        let databasePath = root + "/mailvox.sqlite"
        let existed = fileManager.fileExists(atPath: databasePath)
        let database = try MailvoxDatabase.open(path: databasePath, migrations: Context.migrations, create: true)
        let directory = Directory(database: database)
        if try directory.hasNodeKey() {
            if let other = try directory.masterKeyIDs().first(where: { $0 != masterKey.id }) {
                throw CryptoError.wrongMasterKey(expected: masterKey.id, found: other)
            }
            report.lines.append("kept \(databasePath) and its node key")
        } else {
            try directory.createNodeKey(master: masterKey)
            report.lines.append("\(existed ? "completed" : "created") \(databasePath) with a node key pair")
        }

        let certificatePath = root + "/tls/cert.pem"
        let privateKeyPath = root + "/tls/key.pem"
        if fileManager.fileExists(atPath: certificatePath) || fileManager.fileExists(atPath: privateKeyPath) {
            report.lines.append("kept \(certificatePath)")
        } else {
            let files = try DevCertificate.make(hostname: hostname)
            try DevCertificate.write(files, certificatePath: certificatePath, privateKeyPath: privateKeyPath)
            report.lines.append("created \(certificatePath) (self-signed for \(hostname), localhost, 127.0.0.1)")
        }
        return report
    }

    private static func makeDirectory(_ path: String, report: inout Report) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw InitError.notADirectory(path) }
            return
        }
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw InitError.io(path: path, reason: String(cString: strerror(errno)))
        }
    }
}

public enum InitError: MailvoxFailure {
    case badHostname(String)
    case notADirectory(String)
    case io(path: String, reason: String)

    public var kind: FailureKind {
        switch self {
        case .badHostname, .notADirectory: .input
        case .io: .runtime
        }
    }

    public var description: String {
        switch self {
        case .badHostname(let name): "--hostname: \"\(name)\" is not a host name"
        case .notADirectory(let path): "\(path) exists and is not a directory"
        case .io(let path, let reason): "\(path): \(reason)"
        }
    }
}
