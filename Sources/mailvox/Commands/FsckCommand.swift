import ArgumentParser
import Foundation
import MailvoxServer
import MailvoxStore

struct FsckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fsck",
        abstract: "Open every sealed message and compare it with its index row.",
        discussion: """
            Exits 1 when a message is damaged, missing or differs from its row. --rebuild recreates \
            the message rows from the spool under a new UIDVALIDITY per folder (clients resync); \
            it refuses while `mailvox serve` runs.
            """)

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Recreate message rows from the spool.") var rebuild = false

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let store = context.makeMessageStore()
        if rebuild {
            try ServeLock.requireNotServing(context.config.serveLockPath, action: "rebuild the index")
            let report = try store.rebuild()
            print("rebuilt: \(report.indexed.count) messages indexed under new UIDVALIDITY values")
            for problem in report.problems { print("problem: \(problem)") }
            if !report.problems.isEmpty { throw ExitCode(1) }
            return
        }
        let interactive = isatty(STDERR_FILENO) == 1
        let report = try store.check { done, total in
            // Long runs show progress on a terminal; logs and pipes get the summary only.
            if interactive && (done % 100 == 0 || done == total) {
                FileHandle.standardError.write(Data("\rchecked \(done)/\(total)".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        for problem in report.problems { print("problem: \(problem)") }
        print(
            "checked \(report.messagesChecked) messages: \(report.problems.isEmpty ? "clean" : "\(report.problems.count) problems")"
        )
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
