import ArgumentParser
import Foundation
import MailvoxServer
import MailvoxStore

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "API tokens for the HTTP front door (a token serves every mailbox).",
        subcommands: [TokenCreate.self, TokenList.self, TokenRevoke.self])
}

struct TokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a token; it is printed alone on the last line, once (only its SHA-256 is kept).")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "A name for the token, e.g. the PBX it is for.") var name: String

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let token = try context.directory.createToken(name: name)
        print("token \(name) created; shown once:")
        print(token)
    }
}

struct TokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (names and dates).")

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let tokens = try context.directory.tokens()
        if json {
            try printJSON(tokens)
        } else {
            printTokenTable(tokens.map { ($0.name, $0.createdAt, $0.lastUsedAt) })
        }
    }
}

/// Tokens as `token list` and `mailbox token list` show them: name, made, last used.
func printTokenTable(_ tokens: [(name: String, created: Date, lastUsed: Date?)]) {
    let dates = ISO8601DateFormatter()
    printTable(
        tokens.map { [$0.name, dates.string(from: $0.created), $0.lastUsed.map(dates.string) ?? "never"] },
        header: ["NAME", "CREATED", "LAST USED"])
}

struct TokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token by name.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The token's name.") var name: String

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        try context.directory.revokeToken(name: name)
        print("token \(name) revoked")
    }
}
