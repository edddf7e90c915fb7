import ArgumentParser
import MailvoxServer

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a data dir: config, database, master key, node key pair, TLS certificate.",
        discussion: "Never overwrites an existing key or file; a second run says what it kept and exits 0."
    )

    @Option(name: .long, help: "The data dir to create (its mailvox.toml is the config).")
    var dataDir: String

    @Option(name: .long, help: "Server name for Message-IDs, From domains and the certificate.")
    var hostname = "localhost"

    func run() async throws {
        let report = try Initializer.run(dataDir: dataDir, hostname: hostname)
        for line in report.lines { print(line) }
        print("config: \(report.configPath)")
    }
}
