import ArgumentParser
import MailvoxServer

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Master key maintenance.", subcommands: [KeysRotate.self])
}

struct KeysRotate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Re-wrap every private key under a new master key (refuses while `mailvox serve` runs).",
        discussion: """
            Messages and queued deposits are sealed to public keys and are not touched. The old key \
            file is kept as master.key.ID.old until you remove it (and the backups that hold it).
            """)

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let result = try KeyRotation.rotate(context)
        print("re-wrapped \(result.keysRewrapped) keys: master key \(result.oldID) -> \(result.newID)")
        print("old key kept at \(result.oldKeyPath); remove it once backups made with it are gone")
    }
}
