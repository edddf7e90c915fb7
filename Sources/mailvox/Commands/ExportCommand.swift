import ArgumentParser
import Foundation
import MailvoxServer

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a mailbox as a plain, decrypted Maildir++ tree with its flags.",
        discussion: "The output is not encrypted: keep it somewhere as safe as the master key.")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "The Maildir to create (must not exist or be empty).") var maildir: String
    @Option(name: .long, help: "The mailbox to export.") var mailbox: String

    func run() async throws {
        let id = try parseMailboxID(mailbox)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        _ = try context.directory.requireMailbox(id)
        let interactive = isatty(STDERR_FILENO) == 1
        let count = try context.messageStore().export(mailbox: id, to: maildir) { done, total in
            if interactive && (done % 100 == 0 || done == total) {
                FileHandle.standardError.write(Data("\rexported \(done)/\(total)".utf8))
                if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
            }
        }
        print("exported \(count) messages of \(id) to \(maildir)")
    }
}
