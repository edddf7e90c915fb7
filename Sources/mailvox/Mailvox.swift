import ArgumentParser
import Foundation
import MailvoxConfig
import MailvoxServer

struct Mailvox: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "mailvox",
        abstract: "A voicemail server that speaks mail.",
        discussion: """
            Every command takes --config PATH, else $MAILVOX_CONFIG, else var/mailvox.toml.
            Exit codes: 0 success, 1 runtime failure, 2 usage, config or input error.
            """,
        version: version,
        subcommands: [
            InitCommand.self, ServeCommand.self, MailboxCommand.self, DepositCommand.self, QueueCommand.self,
            TokenCommand.self, AudioCommand.self,
            FsckCommand.self, ExportCommand.self, BackupCommand.self, RestoreCommand.self, KeysCommand.self,
            DoctorCommand.self, SendmailCommand.self, MaintenanceCommand.self, MigrateCommand.self,
        ]
    )
}

/// `--config PATH`, shared by every command that reads the config.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The config file (default: $MAILVOX_CONFIG, else var/mailvox.toml).")
    var config: String?

    var path: String {
        ConfigLoader.configPath(option: config, environment: ProcessInfo.processInfo.environment)
    }
}
