import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxServer
import MailvoxStore

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Make a new data dir from a backup made by `mailvox backup`.",
        discussion: """
            Verifies the whole backup first (digests, manifest, every index row) and writes \
            nothing if anything is wrong. Builds the data dir beside NEW and moves it into place \
            at the end. The master key is not in the backup: give it with --master-key, or put it \
            at NEW/keys/master.key afterwards; the command names the key id it needs. A new \
            self-signed TLS certificate is made. See docs/OPERATIONS.md.
            """)

    @Option(name: .long, help: "The backup directory.") var from: String
    @Option(name: .customLong("data-dir"), help: "The data dir to create (must not exist or be empty).")
    var dataDir: String
    @Option(name: .long, help: "The run to restore (a name in DIR; default: the newest complete one).")
    var backup: String?
    @Option(name: .customLong("master-key"), help: "The master key file to install (its id is checked).")
    var masterKey: String?

    func run() async throws {
        let (from, dataDir, backup, masterKey) = (self.from, self.dataDir, self.backup, self.masterKey)
        let progress = ProgressLine()
        let report: Restorer.Report
        do {
            report = try await Offload.run {
                try Restorer.run(
                    from: from, run: backup, to: dataDir, masterKeyFile: masterKey, progress: progress.show)
            }
            progress.finish()
        } catch {
            progress.finish()
            if let failure = error as? BackupError, case .damaged = failure {
                throw RestoreRefused(reason: failure.description, dataDir: dataDir)
            }
            throw error
        }
        print(
            "restored backup \(report.run) into \(report.dataDir): \(report.messages) messages, \(report.files) files"
                + (report.gone > 0 ? " (\(report.gone) changed on the live server while the backup ran; left out)" : "")
        )
        let ids = report.masterKeyIDs.joined(separator: " or ")
        if report.masterKeyInstalled {
            print("master key \(ids) installed at \(report.dataDir)/keys/master.key")
        } else {
            print(
                "the master key is not in the backup: put master key \(ids) (the file the original server had as "
                    + "crypto.master_key_file, mode 600) at \(report.dataDir)/keys/master.key, or rerun with --master-key"
            )
        }
        print("made a new self-signed TLS certificate; install the real one in \(report.dataDir)/tls/ if you had one")
        if let config = report.configFromBackup {
            print("the original config is at \(config); carry its other settings into mailvox.toml")
        }
        print(
            "then: mailvox fsck --config \(report.dataDir)/mailvox.toml && mailvox serve --config \(report.dataDir)/mailvox.toml"
        )
    }
}

/// A restore refused before anything was written.
struct RestoreRefused: MailvoxFailure {
    let reason: String
    let dataDir: String
    var kind: FailureKind { .runtime }
    var description: String { "\(reason)\nnothing was written to \(dataDir)" }
}
