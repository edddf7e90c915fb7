import ArgumentParser
import Foundation
import MailvoxServer
import MailvoxStore

/// `mailvox mailbox token`: personal tokens, with which a program calls the web inbox's API
/// as the mailbox (docs/API.md). Unlike `mailvox token` (deposits, every mailbox), a personal
/// token opens one mailbox only, with its owner's rights.
struct PersonalTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Personal tokens: a program reads and manages one mailbox's voicemail through the API.",
        subcommands: [PersonalTokenCreate.self, PersonalTokenList.self, PersonalTokenRevoke.self])
}

struct PersonalTokenCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a token for a mailbox; it is printed alone on the last line, once (only its SHA-256 is kept)."
    )

    @OptionGroup var options: ConfigOption
    @Argument(help: "The mailbox id.") var mailbox: String
    @Option(name: .long, help: "A name for the token, e.g. the program or device it is for.") var name: String

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let token = try context.directory.createPersonalToken(mailbox: try parseMailboxID(mailbox), name: name)
        print("personal token \(name) for mailbox \(mailbox) created; shown once:")
        print(token)
    }
}

struct PersonalTokenList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a mailbox's personal tokens (names and dates).")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The mailbox id.") var mailbox: String
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let tokens = try context.directory.personalTokens(mailbox: try parseMailboxID(mailbox))
        if json {
            try printJSON(tokens)
        } else {
            printTokenTable(tokens.map { ($0.name, $0.createdAt, $0.lastUsedAt) })
        }
    }
}

struct PersonalTokenRevoke: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a mailbox's personal token by name.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The mailbox id.") var mailbox: String
    @Argument(help: "The token's name.") var name: String

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        try context.directory.revokePersonalToken(mailbox: try parseMailboxID(mailbox), name: name)
        print("personal token \(name) of mailbox \(mailbox) revoked")
    }
}

/// `mailvox mailbox second-factor-off ID`: for a user who lost the phone with the
/// authenticator app; the web inbox then asks for the password alone until the user turns
/// it on again (docs/WEB.md).
struct MailboxSecondFactorOff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "second-factor-off",
        abstract: "Turn off a mailbox's two-step web sign-in (TOTP), e.g. after its phone was lost.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The mailbox id.") var mailbox: String

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        try context.makeMessageStore().setSecondFactorSecret(mailbox: try parseMailboxID(mailbox), nil)
        print("two-step sign-in of mailbox \(mailbox) is off")
    }
}
