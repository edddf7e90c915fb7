import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxServer
import MailvoxStore

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy an installation to other backends: embedded into PostgreSQL + S3, or back.",
        discussion: """
            Copies every row of --from's database into --to's, and every sealed message, deposit \
            and alert copy into --to's spool or bucket, as the sealed bytes they are; then compares \
            every row and file with the source (the verify pass). Stop `mailvox serve` on both sides \
            first; migrate holds both data dirs' serve locks while it runs. Both configs must name \
            the same master key. The target must be empty (a fresh `mailvox init`, an empty \
            database and bucket) or the target of an earlier run of the same migration: a run cut \
            short is resumed by running it again. Exit 1 when the verify pass finds a difference. \
            MAILVOX_* overrides apply to both configs. See docs/SCALE-OUT.md.
            """)

    @Option(name: .long, help: "The config of the installation to copy.") var from: String
    @Option(name: .long, help: "The config of the installation to copy into.") var to: String
    @Flag(name: .long, help: "Only compare the two (after an earlier migration); copy nothing.") var verifyOnly = false

    func run() async throws {
        let (from, to, copy) = (self.from, self.to, !verifyOnly)
        let progress = ProgressLine()
        let started = Date()
        let report: Migrator.Report
        do {
            report = try await Offload.run {
                try Migrator.open(from: from, to: to).run(copy: copy, verify: true, progress: progress.show)
            }
            progress.finish()
        } catch {
            progress.finish()
            throw error
        }
        let seconds = String(format: "%.1f", Date().timeIntervalSince(started))
        if copy {
            let rows = report.rowsCopied.values.reduce(0, +)
            print(
                "copied \(rows) rows, \(report.filesCopied) messages (\(report.bytesCopied) bytes) and "
                    + "\(report.queueFilesCopied) queue files in \(seconds) s")
        }
        for problem in report.problems { print("problem: \(problem)") }
        print(
            report.problems.isEmpty
                ? "verified: the target holds every row and file of the source"
                : "verify failed: \(report.problems.count) problems")
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
