import ArgumentParser
import Foundation
import MailvoxServer

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract:
            "Check config, permissions, key placement, certificate, ports, disk, relay, and PostgreSQL and the bucket when configured.",
        discussion: "Exits 1 when any check fails; warnings alone exit 0.")

    @OptionGroup var options: ConfigOption

    @Flag(name: .long, help: "Print JSON for tools.")
    var json = false

    func run() async throws {
        let checks = await Doctor.run(configPath: options.path)
        if json {
            try printJSON(checks)
        } else {
            printTable(checks.map { [$0.status.rawValue, $0.subject, $0.detail] })
        }
        if checks.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }
}
