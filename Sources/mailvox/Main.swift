import ArgumentParser
import Foundation
import MailvoxCore

/// The `mailvox` command line: parses, runs, and turns every error into one stderr line and
/// the exit code of docs/DESIGN.md §3.3 (0 ok, 1 runtime failure, 2 usage/config/input error).
@main
enum Main {
    static func main() async {
        let code: Int32
        do {
            var command = try Mailvox.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            code = 0
        } catch let failure as any MailvoxFailure {
            printError(failure.description)
            code = failure.kind.exitCode
        } catch let exit as ExitCode {
            code = exit.rawValue
        } catch {
            code = report(error)
        }
        exit(code)
    }

    /// ArgumentParser's own errors: help and version go to stdout with 0; a usage error is
    /// one line plus the usage, exit 2 (ArgumentParser would say 64).
    private static func report(_ error: any Error) -> Int32 {
        let exitCode = Mailvox.exitCode(for: error)
        let message = Mailvox.fullMessage(for: error)
        if exitCode == .success {
            print(message)
            return 0
        }
        if exitCode == .validationFailure {
            printError(message)
            return 2
        }
        // Errors from libraries (GRDB, Foundation) that no module translated: a runtime failure.
        printError(message.isEmpty ? "\(error)" : message)
        return exitCode.rawValue == 0 ? 1 : exitCode.rawValue
    }
}

func printError(_ message: String) {
    let text = message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message
    FileHandle.standardError.write(Data(("mailvox: " + text + "\n").utf8))
}

/// An input error raised by the CLI itself (a bad argument), exit 2.
struct UsageFailure: MailvoxFailure {
    var description: String
    var kind: FailureKind { .input }
}
