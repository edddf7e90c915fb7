import ArgumentParser
import Dispatch
import Foundation
import MailvoxCore
import MailvoxServer

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a mailbox as a plain, decrypted Maildir++ tree with its flags.",
        discussion: """
            The output is not encrypted: keep it somewhere as safe as the master key. Directories \
            are created 0700 and files 0600. All or nothing: the tree is written beside the Maildir \
            and moved into place at the end; on an error or Ctrl-C nothing is left behind.
            """)

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "The Maildir to create (must not exist or be empty).") var maildir: String
    @Option(name: .long, help: "The mailbox to export.") var mailbox: String

    func run() async throws {
        let id = try parseMailboxID(mailbox)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        _ = try context.directory.requireMailbox(id)
        let interactive = isatty(STDERR_FILENO) == 1
        let store = context.makeMessageStore()
        let maildir = self.maildir
        let export = Task {
            try store.export(mailbox: id, to: maildir) { done, total in
                if interactive && (done % 100 == 0 || done == total) {
                    FileHandle.standardError.write(Data("\rexported \(done)/\(total)".utf8))
                    if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
                }
            }
        }
        // Ctrl-C or a kill cancels the export, which then removes its half-written staging
        // directory: decrypted mail is never left lying around.
        let signals = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { export.cancel() }
            source.resume()
            return source
        }
        defer { for source in signals { source.cancel() } }
        let count: Int
        do {
            count = try await export.value
        } catch is CancellationError {
            throw ExportInterrupted(maildir: maildir)
        }
        print("exported \(count) messages of \(id) to \(maildir)")
    }
}

/// `mailvox export` stopped by a signal; the staging directory is gone and `maildir` untouched.
struct ExportInterrupted: MailvoxFailure {
    let maildir: String
    var kind: FailureKind { .runtime }
    var description: String { "export interrupted; nothing was written to \(maildir)" }
}
