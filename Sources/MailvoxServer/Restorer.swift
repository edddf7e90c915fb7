import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxStore

/// `mailvox restore`: a new data dir from a backup, all or nothing.
///
/// The run is verified completely (manifest digest, snapshot, every blob, every index row)
/// before anything is written; the data dir is then built in a private directory beside the
/// target and renamed into place at the end, and removed on any failure. The backup holds no
/// master key and no TLS private key: the master key comes from `--master-key` (its id
/// checked) or is put in place afterwards; the certificate is made anew, as `mailvox init` does.
public enum Restorer {
    public struct Report: Sendable {
        public var run: String
        public var dataDir: String
        public var messages: Int
        public var files: Int
        public var gone: Int
        public var masterKeyIDs: [String]
        public var masterKeyInstalled: Bool
        public var configFromBackup: String?
    }

    public static func run(
        from backupDirectory: String, run name: String?, to dataDir: String, masterKeyFile: String?,
        progress: @escaping (BackupProgress) -> Void = { _ in }
    ) throws -> Report {
        let target = URL(fileURLWithPath: dataDir).standardizedFileURL
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: target.path)) ?? []
            guard isDirectory.boolValue, entries.isEmpty else { throw BackupError.targetNotEmpty(path: dataDir) }
        }
        var verifier = BackupVerifier(directory: backupDirectory, progress: progress)
        let verified = try verifier.verify(run: try verifier.repository.chooseRun(name))
        let needed = verified.manifest.masterKeyIDs
        var masterKey: MasterKey?
        if let masterKeyFile {
            let key = try MasterKey.load(from: masterKeyFile)
            guard needed.contains(key.id) else {
                throw BackupError.wrongMasterKey(file: masterKeyFile, found: key.id, needed: needed)
            }
            masterKey = key
        }

        // Everything checked: from here on only the staging directory is written.
        try FileManager.default.createDirectory(
            atPath: target.deletingLastPathComponent().path, withIntermediateDirectories: true)
        let staging = try PrivateDirectory.staging(beside: target, purpose: "restore")
        do {
            let files = try verified.materialize(from: verifier.repository, into: staging, progress: progress)
            for sub in ["keys", "tls"] { try PrivateDirectory.make(staging + "/" + sub) }
            let hostname =
                Configuration.isHostname(verified.manifest.hostname) ? verified.manifest.hostname : "localhost"
            let config = """
                # Mailvox configuration, made by `mailvox restore` from backup \(verified.run).
                # Every key, its meaning and its default: Config/mailvox.example.toml.\(verified.manifest.config == nil ? "" : "\n# The original server's config is beside this file as mailvox.toml.from-backup:\n# carry its other settings over by hand (its paths name the old data dir).")

                [server]
                data_dir = "."
                hostname = "\(hostname)"

                """
            try DurableFile.createExclusive(staging + "/mailvox.toml", contents: Array(config.utf8))
            var configFromBackup: String?
            if verified.manifest.config != nil {
                let original = verifier.repository.runDirectory(verified.run) + "/" + BackupManifest.configFileName
                let copy = staging + "/mailvox.toml.from-backup"
                try DurableFile.createExclusive(copy, contents: try Data(contentsOf: URL(fileURLWithPath: original)))
                configFromBackup = target.path + "/mailvox.toml.from-backup"
            }
            // The TLS private key is never in a backup: a new self-signed certificate, as `init` makes.
            let pem = try DevCertificate.make(hostname: hostname)
            try DevCertificate.write(
                pem, certificatePath: staging + "/tls/cert.pem", privateKeyPath: staging + "/tls/key.pem")
            if let masterKey { try masterKey.write(to: staging + "/keys/master.key") }
            guard rename(staging, target.path) == 0 else {
                throw BackupError.io(
                    path: dataDir,
                    reason: "cannot move the restored data dir into place: \(String(cString: strerror(errno)))")
            }
            DurableFile.syncDirectory(of: target.path)
            let messages = verified.files.filter { $0.reference.kind == .message && $0.blob != nil }.count
            return Report(
                run: verified.run, dataDir: target.path, messages: messages, files: files,
                gone: verified.manifest.gone.count, masterKeyIDs: needed, masterKeyInstalled: masterKey != nil,
                configFromBackup: configFromBackup)
        } catch {
            try? FileManager.default.removeItem(atPath: staging)
            throw error
        }
    }
}
