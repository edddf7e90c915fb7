import ArgumentParser
import Logging
import MailvoxServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the server until SIGTERM or SIGINT (one per data dir).")

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        LogSetup.bootstrap(level: context.config.server.logLevel)
        let logger = Logger(label: "mailvox")
        try await Server(context: context, logger: logger).run()
    }
}
