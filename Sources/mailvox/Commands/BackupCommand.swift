import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxServer
import MailvoxStore

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Take a consistent backup of the data dir, while `mailvox serve` runs or not.",
        discussion: """
            Writes DIR/<UTC timestamp>/ (database snapshot, manifest with SHA-256 digests) and the \
            sealed files into DIR/blobs/, hard-linked when DIR is on the data dir's file system, \
            else copied. --incremental takes files a previous run of DIR already holds from its \
            manifest without reading them. The master key and the TLS private key are never in a \
            backup. Exit 1 when the backup failed, or completed with files the live index still \
            lists missing from the data dir. See docs/OPERATIONS.md.
            """,
        subcommands: [BackupVerifyCommand.self])

    @OptionGroup var options: ConfigOption
    // Optional to ArgumentParser: it decodes a parent's options for its subcommands too, and
    // `backup verify DIR` has no --to.
    @Option(name: .long, help: "The backup directory (made if missing; required).") var to: String?
    @Flag(name: .long, help: "Copy only files not already in DIR from a previous run.") var incremental = false

    func run() async throws {
        guard let to else { throw UsageFailure(description: "backup needs --to DIR (or: backup verify DIR)") }
        let context = try Context.open(configPath: options.path, needs: .noSecret)
        let pool = try context.requireSQLiteFile(for: "backup")
        let log = BackupLog(database: pool)
        let target = URL(fileURLWithPath: to).standardizedFileURL.path
        let id = try log.start(target: target, incremental: incremental)
        let progress = ProgressLine()
        let (config, database, incremental) = (context.config, pool, self.incremental)
        let started = Date()
        let result: BackupResult
        do {
            result = try await Offload.run {
                try BackupWriter(
                    dataDir: config.server.dataDir, database: database, target: target, incremental: incremental,
                    hostname: config.server.hostname, configFile: config.file, progress: progress.show
                ).run()
            }
            progress.finish()
        } catch {
            progress.finish()
            try? log.finish(id, result: "failed", run: nil, detail: "\(error)")
            throw error
        }
        let seconds = Date().timeIntervalSince(started)
        try log.finish(
            id, result: result.problems.isEmpty ? "ok" : "problems", run: result.run, files: result.files,
            bytesWritten: result.bytesWritten,
            detail: result.problems.isEmpty ? nil : result.problems.joined(separator: "; "))
        let how = result.linked ? "hard-linked" : "copied"
        print(
            "backup \(result.run) (\(result.incremental ? "incremental" : "full")) in \(result.directory): "
                + "\(result.files) files, \(result.newBlobs) new blobs \(how), \(result.reused) reused; "
                + "\(result.bytesRead) bytes read, \(result.bytesWritten) written; "
                + String(format: "%.2f s", seconds))
        for gone in result.gone { print("left out: \(gone.key): \(gone.reason)") }
        if !result.problems.isEmpty {
            printError(
                "the backup is complete, but \(result.problems.count) file(s) the live index lists are missing "
                    + "from the data dir: \(result.problems.prefix(5).joined(separator: "; "))")
            throw ExitCode(1)
        }
    }
}

struct BackupVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a backup directory: every digest, and every index row against its blob.",
        discussion: """
            Checks every complete run in DIR (or only --backup NAME): the manifest against \
            manifest.sha256, the database snapshot and every blob against their SHA-256, and that \
            every file the snapshot's index references has a blob. Needs no config and no key. \
            Exit 0 when all pass, 1 naming each problem otherwise.
            """)

    @Argument(help: "The backup directory.") var directory: String
    @Option(name: .long, help: "Check only this run (a name in DIR).") var backup: String?

    func run() async throws {
        let (directory, backup) = (self.directory, self.backup)
        let progress = ProgressLine()
        let outcome = try await Offload.run { () throws -> [(String, Int, BackupError?)] in
            var verifier = BackupVerifier(directory: directory, progress: progress.show)
            let runs = backup.map { [$0] } ?? verifier.repository.completeRuns()
            if runs.isEmpty { _ = try verifier.repository.chooseRun(nil) }
            if let backup { _ = try verifier.repository.chooseRun(backup) }
            return runs.map { run in
                do {
                    let verified = try verifier.verify(run: run)
                    return (run, verified.files.count, nil)
                } catch let error as BackupError {
                    return (run, 0, error)
                } catch {
                    return (run, 0, BackupError.damaged(backup: run, problems: ["\(error)"]))
                }
            }
        }
        progress.finish()
        var failed = false
        for (run, files, error) in outcome {
            if let error {
                failed = true
                printError(error.description)
            } else {
                print("\(run): ok, \(files) files")
            }
        }
        let partial = BackupRepository(root: directory).partialRuns()
        if !partial.isEmpty {
            print("not complete (an interrupted backup; the next one removes it): \(partial.joined(separator: ", "))")
        }
        if failed { throw ExitCode(1) }
    }
}
