import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxCrypto
import MailvoxQueue
import MailvoxServer
import MailvoxStore

struct MailboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailbox",
        abstract: "Add, change, list, show and remove mailboxes.",
        subcommands: [
            MailboxAdd.self, MailboxSet.self, MailboxList.self, MailboxShow.self, MailboxPasswd.self,
            MailboxRemove.self, MailboxUndelete.self, MailboxDeleted.self, MailboxRestore.self, MailboxHold.self,
            MemberCommand.self, MailboxAudit.self, PersonalTokenCommand.self, MailboxSecondFactorOff.self,
        ])
}

/// The mailbox id argument, checked against docs/DESIGN.md §3.2's alphabet.
func parseMailboxID(_ text: String) throws -> MailboxID {
    guard let id = MailboxID(text) else {
        throw UsageFailure(
            description: "mailbox id \"\(text)\" must be 1–64 of [0-9A-Za-z._-], starting with a letter or digit")
    }
    return id
}

/// Options shared by `add` and `set`.
struct MailboxProfileOptions: ParsableArguments {
    @Option(name: .long, help: "Display name (owner or department).")
    var name: String?

    @Option(name: .long, help: "Alert email address (repeatable; on set, replaces the list).")
    var email: [String] = []

    @Option(name: .long, help: "Alert SMS number in E.164, e.g. +4930123456 (repeatable; on set, replaces the list).")
    var sms: [String] = []

    @Option(name: .long, help: "IANA time zone for times shown to the owner, e.g. Europe/Berlin.")
    var timezone: String?

    @Option(name: .long, help: "Language tag choosing template variants, e.g. de or de-CH.")
    var language: String?

    @Flag(name: .long, help: "Send alert mail without the audio attached.")
    var noAttachAudio = false

    @Flag(name: .long, help: "Expunge a voicemail once every alert email was accepted (email-only mailbox).")
    var deleteAfterEmail = false

    @Option(
        name: .long,
        help:
            "An address that reaches this mailbox by email, e.g. sales@example.com, or a local part alone for every accepted domain (repeatable; on set, replaces the list)."
    )
    var alias: [String] = []

    @Option(
        name: .long,
        help: "MiB of voicemail this mailbox may keep (every folder); 0 = no limit, default = [quota] default_mb.")
    var quotaMb: String?

    @Option(name: .long, help: "Messages this mailbox may keep; 0 = no limit, default = [quota] default_messages.")
    var quotaMessages: String?

    @Option(name: .long, help: "Days before Trash empties into Recently Deleted; 0 = never, default = [retention].")
    var trashDays: String?

    @Option(name: .long, help: "Days before INBOX messages go to Recently Deleted; 0 = never, default = [retention].")
    var inboxDays: String?

    @Option(name: .long, help: "Days before Saved messages go to Recently Deleted; 0 = never, default = [retention].")
    var savedDays: String?

    @Flag(name: .long, help: "The mailbox's own id and password do not log in: only its members, with theirs.")
    var noLogin = false

    /// A quota option: a count, or `default` for `[quota]`'s.
    static func quota(_ text: String?, _ option: String) throws -> Int?? {
        guard let text else { return nil }
        if text == "default" { return .some(nil) }
        guard let value = Int(text), value >= 0 else {
            throw UsageFailure(description: "\(option): \"\(text)\" is not 0 (no limit), a positive number or default")
        }
        return .some(value)
    }

    func settings() throws -> MailboxSettings {
        var settings = MailboxSettings()
        settings.name = name
        if !email.isEmpty {
            settings.emails = try email.map { text in
                guard let address = EmailAddress(text) else {
                    throw UsageFailure(description: "--email: \"\(text)\" is not an email address")
                }
                return address
            }
        }
        if !sms.isEmpty {
            settings.smsNumbers = try sms.map { text in
                guard let number = PhoneNumber(text) else {
                    throw UsageFailure(description: "--sms: \"\(text)\" is not an E.164 number (+ and 8–15 digits)")
                }
                return number
            }
        }
        if let timezone { settings.timeZone = .some(timezone) }
        if let language { settings.language = .some(language) }
        if noAttachAudio { settings.attachAudio = false }
        if deleteAfterEmail { settings.deleteAfterEmail = true }
        if !alias.isEmpty { settings.aliases = alias }
        settings.quotaMB = try Self.quota(quotaMb, "--quota-mb")
        settings.quotaMessages = try Self.quota(quotaMessages, "--quota-messages")
        settings.trashDays = try Self.quota(trashDays, "--trash-days")
        settings.inboxDays = try Self.quota(inboxDays, "--inbox-days")
        settings.savedDays = try Self.quota(savedDays, "--saved-days")
        return settings
    }
}

struct MailboxAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a mailbox with the folders INBOX, Saved, Trash and Greetings.",
        discussion: "Without --password-stdin a password is generated and printed, alone on the last line, once.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id; also the IMAP login.") var id: String
    @OptionGroup var profile: MailboxProfileOptions
    @Flag(name: .long, help: "Read the password from the first line of standard input.") var passwordStdin = false

    func run() async throws {
        let id = try parseMailboxID(id)
        var settings = try profile.settings()
        guard settings.name != nil else { throw UsageFailure(description: "--name is required") }
        settings.attachAudio = settings.attachAudio ?? true
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let password = passwordStdin ? readFirstLineOfStandardInput() : GeneratedPassword.make()
        let mailbox = try context.directory.addMailbox(
            id: id, settings: settings, password: password, master: context.requireMasterKey())
        if profile.noLogin { try context.directory.setLogin(mailbox.id, enabled: false) }
        warnAboutForeignAliases(mailbox, config: context.config)
        let folders = try context.directory.folders(of: id).map(\.name).joined(separator: ", ")
        print("added mailbox \(mailbox.id) (\(mailbox.name)) with folders \(folders)")
        if profile.noLogin {
            print("\(mailbox.id) has no login of its own: add members with mailvox mailbox member add")
        } else if !passwordStdin {
            print("password for \(mailbox.id), shown once:")
            print(password)
        }
    }
}

struct MailboxSet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Change a mailbox's settings; options not given stay as they are.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @OptionGroup var profile: MailboxProfileOptions
    @Flag(name: .long, help: "Attach the audio to alert mail again.") var attachAudio = false
    @Flag(name: .long, help: "Keep voicemails after alert emails.") var noDeleteAfterEmail = false
    @Flag(name: .long, help: "Remove every alert email address.") var clearEmail = false
    @Flag(name: .long, help: "Remove every SMS number.") var clearSms = false
    @Flag(name: .long, help: "Use the server's default time zone.") var clearTimezone = false
    @Flag(name: .long, help: "Use the default templates.") var clearLanguage = false
    @Flag(name: .long, help: "Remove every email alias.") var clearAlias = false
    @Flag(name: .long, help: "Let the mailbox's own id and password log in again.") var login = false

    func validate() throws {
        let conflicts: [(Bool, Bool, String)] = [
            (attachAudio, profile.noAttachAudio, "--attach-audio and --no-attach-audio"),
            (noDeleteAfterEmail, profile.deleteAfterEmail, "--delete-after-email and --no-delete-after-email"),
            (clearEmail, !profile.email.isEmpty, "--email and --clear-email"),
            (clearSms, !profile.sms.isEmpty, "--sms and --clear-sms"),
            (clearTimezone, profile.timezone != nil, "--timezone and --clear-timezone"),
            (clearLanguage, profile.language != nil, "--language and --clear-language"),
            (clearAlias, !profile.alias.isEmpty, "--alias and --clear-alias"),
            (login, profile.noLogin, "--login and --no-login"),
        ]
        for (first, second, names) in conflicts where first && second {
            throw ValidationError("\(names) contradict each other")
        }
    }

    func run() async throws {
        let id = try parseMailboxID(id)
        var settings = try profile.settings()
        if attachAudio { settings.attachAudio = true }
        if noDeleteAfterEmail { settings.deleteAfterEmail = false }
        if clearEmail { settings.emails = [] }
        if clearSms { settings.smsNumbers = [] }
        if clearTimezone { settings.timeZone = .some(nil) }
        if clearLanguage { settings.language = .some(nil) }
        if clearAlias { settings.aliases = [] }
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        var mailbox = try context.directory.updateMailbox(id, settings: settings)
        if login || profile.noLogin {
            try context.directory.setLogin(mailbox.id, enabled: login)
            mailbox.login = login
        }
        print("updated mailbox \(mailbox.id)")
        warnAboutForeignAliases(mailbox, config: context.config)
    }
}

struct MailboxList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List mailboxes.")

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "Print JSON for tools.") var json = false
    @Flag(name: .long, help: "List the removed mailboxes that `mailbox undelete` can bring back.") var removed = false

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let mailboxes = removed ? try context.directory.removedMailboxes() : try context.directory.mailboxes()
        if json {
            try printJSON(mailboxes)
        } else if removed {
            let dates = ISO8601DateFormatter()
            let window = Double(context.config.retention.deletedDays) * 86_400
            printTable(
                mailboxes.map { box in
                    let at = box.removedAt ?? Date()
                    return [
                        box.id.rawValue, box.name, dates.string(from: at),
                        box.heldSince == nil ? dates.string(from: at + window) : "on hold",
                    ]
                }, header: ["ID", "NAME", "REMOVED", "PURGED AFTER"])
        } else {
            printTable(
                mailboxes.map { box in
                    [
                        box.id.rawValue, box.name, box.emails.map(\.rawValue).joined(separator: ","),
                        box.smsNumbers.map(\.rawValue).joined(separator: ","),
                    ].map { $0.isEmpty ? "-" : $0 }
                }, header: ["ID", "NAME", "EMAIL", "SMS"])
        }
    }
}

struct MailboxShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one mailbox: settings and folders, never a secret.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    struct Folder: Encodable {
        var name: String
        var specialUse: String?
        var messages: Int

        enum CodingKeys: String, CodingKey {
            case name, messages
            case specialUse = "special_use"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(specialUse, forKey: .specialUse)
            try container.encode(messages, forKey: .messages)
        }
    }

    struct Details: Encodable {
        var mailbox: Mailbox
        var folders: [Folder]
        /// The last alert result per recipient (docs/DESIGN.md §3.2).
        var alerts: [AlertResult]
        /// The limits in force (the mailbox's or `[quota]`'s) and the usage.
        var quota: MailboxQuota

        func encode(to encoder: any Encoder) throws {
            try mailbox.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(folders, forKey: .folders)
            try container.encode(alerts, forKey: .alerts)
            try container.encode(quota.usage.bytes, forKey: .usageBytes)
            try container.encode(quota.usage.messages, forKey: .usageMessages)
            try container.encode(quota.limits.bytes, forKey: .limitBytes)
            try container.encode(quota.limits.messages, forKey: .limitMessages)
        }

        enum Key: String, CodingKey {
            case folders, alerts
            case usageBytes = "usage_bytes"
            case usageMessages = "usage_messages"
            case limitBytes = "limit_bytes"
            case limitMessages = "limit_messages"
        }
    }

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let mailbox = try context.directory.requireMailbox(id)
        let counts = Dictionary(
            uniqueKeysWithValues: try context.makeMessageStore().messageCounts(mailbox: id).map {
                ($0.folder, $0.messages)
            }
        )
        let folders = try context.directory.folders(of: id).map {
            Folder(name: $0.name, specialUse: $0.specialUse, messages: counts[$0.name] ?? 0)
        }
        let alerts = try context.jobQueue().alertResults(mailbox: id)
        let quota = try context.directory.quota(of: id, defaults: context.config.quota)
        if json {
            try printJSON(Details(mailbox: mailbox, folders: folders, alerts: alerts, quota: quota))
            return
        }
        func limit(_ value: Int?, own: Int?, unit: (Int) -> String) -> String {
            let text = value.map(unit) ?? "no limit"
            return own == nil ? text + " ([quota] default)" : text
        }
        let mebibytes = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        let defaultZone = context.config.server.defaultTimezone
        let dates = ISO8601DateFormatter()
        printTable([
            ["id:", mailbox.id.rawValue],
            ["name:", mailbox.name],
            ["email:", mailbox.emails.isEmpty ? "-" : mailbox.emails.map(\.rawValue).joined(separator: ", ")],
            ["sms:", mailbox.smsNumbers.isEmpty ? "-" : mailbox.smsNumbers.map(\.rawValue).joined(separator: ", ")],
            ["timezone:", mailbox.timeZone ?? "\(defaultZone) (server default)"],
            ["language:", mailbox.language ?? "- (default templates)"],
            ["attach_audio:", mailbox.attachAudio ? "yes" : "no"],
            ["delete_after_email:", mailbox.deleteAfterEmail ? "yes" : "no"],
            ["aliases:", mailbox.aliases.isEmpty ? "-" : mailbox.aliases.joined(separator: ", ")],
            [
                "quota:",
                "\(mebibytes(quota.usage.bytes)) of \(limit(quota.limits.bytes, own: mailbox.quotaMB, unit: mebibytes)), "
                    + "\(quota.usage.messages) of \(limit(quota.limits.messages, own: mailbox.quotaMessages) { "\($0)" }) messages"
                    + (quota.isFull ? " — FULL: new voicemail is refused" : ""),
            ],
            [
                "retention:",
                [
                    ("Trash", mailbox.trashDays, context.config.retention.trashDays),
                    ("INBOX", mailbox.inboxDays, context.config.retention.inboxDays),
                    ("Saved", mailbox.savedDays, context.config.retention.savedDays),
                ].map { folder, own, fallback in
                    let days = own ?? fallback
                    return "\(folder) " + (days == 0 ? "kept" : "\(days) days") + (own == nil ? " ([retention])" : "")
                }.joined(separator: ", ") + "; deleted kept \(context.config.retention.deletedDays) days",
            ],
            [
                "hold:",
                mailbox.heldSince.map {
                    "ON since \(dates.string(from: $0))" + (mailbox.holdReason.map { " (\($0))" } ?? "")
                        + " — nothing is purged, remove is refused"
                } ?? "off",
            ],
            ["created:", dates.string(from: mailbox.createdAt)],
            ["updated:", dates.string(from: mailbox.updatedAt)],
        ])
        print("folders:")
        printTable(
            folders.map {
                ["  " + $0.name, "\($0.messages) message\($0.messages == 1 ? "" : "s")", $0.specialUse ?? ""]
            })
        print("last alerts:" + (alerts.isEmpty ? " -" : ""))
        printTable(
            alerts.map {
                [
                    "  " + $0.channel.rawValue, $0.recipient, $0.outcome.rawValue, dates.string(from: $0.at),
                    "attempt \($0.attempts)", $0.detail ?? "",
                ]
            })
    }
}

struct MailboxPasswd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passwd",
        abstract: "Set a mailbox's password.",
        discussion: "Without --password-stdin a password is generated and printed, alone on the last line, once.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Flag(name: .long, help: "Read the password from the first line of standard input.") var passwordStdin = false

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let password = passwordStdin ? readFirstLineOfStandardInput() : GeneratedPassword.make()
        try context.directory.setPassword(id, password: password)
        print("password of \(id) changed")
        if !passwordStdin {
            print("new password for \(id), shown once:")
            print(password)
        }
    }
}

struct MailboxRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a mailbox: recoverable for [retention] deleted_days, or for good with --purge-now.",
        discussion: """
            Refuses without --yes (exit 2) and while the mailbox is on hold. A removed mailbox takes no login, \
            deposit or mail until `mailbox undelete`; the maintenance service deletes it for good after \
            [retention] deleted_days. --purge-now deletes it, its messages, files and queued jobs at once \
            (refused while `mailvox serve` runs).
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Flag(name: .long, help: "Really remove it.") var yes = false
    @Flag(name: .long, help: "Delete it for good now instead of keeping it recoverable.") var purgeNow = false

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        // --purge-now also takes a mailbox already removed (and waiting for its purge).
        guard let mailbox = try context.directory.mailbox(id, includingRemoved: purgeNow) else {
            throw DirectoryError.unknownMailbox(id.rawValue)
        }
        if let since = mailbox.heldSince {
            throw UsageFailure(
                description: "mailbox \(mailbox.id) is on hold since \(ISO8601DateFormatter().string(from: since))"
                    + (mailbox.holdReason.map { " (\($0))" } ?? "")
                    + "; `mailvox mailbox hold \(mailbox.id) --off` first")
        }
        let messages = try context.makeMessageStore().messageCounts(mailbox: id).reduce(0) { $0 + $1.messages }
        let plural = messages == 1 ? "" : "s"
        guard yes else {
            throw UsageFailure(
                description: purgeNow
                    ? "removing mailbox \(mailbox.id) (\(mailbox.name)) would delete \(messages) message\(plural) "
                        + "for good; run again with --yes"
                    : "removing mailbox \(mailbox.id) (\(mailbox.name)) takes it and its \(messages) message\(plural) "
                        + "out of service (recoverable for \(context.config.retention.deletedDays) days); run again with --yes"
            )
        }
        if purgeNow {
            try ServeLock.requireNotServing(context.config.serveLockPath, action: "purge a mailbox")
            try MailboxPurger(context: context).purge(mailbox.id)
            print("removed mailbox \(mailbox.id) and its \(messages) message\(plural) for good")
            return
        }
        let removed = try context.directory.markRemoved(mailbox.id)
        let until = (removed.removedAt ?? Date()).addingTimeInterval(
            Double(context.config.retention.deletedDays) * 86_400)
        print(
            "removed mailbox \(mailbox.id) with its \(messages) message\(plural); recoverable until "
                + "\(ISO8601DateFormatter().string(from: until)) with `mailvox mailbox undelete \(mailbox.id)`")
    }
}

struct MailboxUndelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "undelete", abstract: "Bring back a removed mailbox as it was, messages and settings.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let mailbox = try context.directory.undelete(id)
        let messages = try context.makeMessageStore().messageCounts(mailbox: id).reduce(0) { $0 + $1.messages }
        print("mailbox \(mailbox.id) is back with its \(messages) message\(messages == 1 ? "" : "s")")
    }
}

/// An alias whose domain the email door does not accept is kept, but mail to it is refused
/// (`550 5.7.1`) until the domain is in `[inbound] domains`: say so where the alias is set.
func warnAboutForeignAliases(_ mailbox: Mailbox, config: Configuration) {
    let accepted = config.inboundDomains
    for alias in mailbox.aliases {
        guard let at = alias.firstIndex(of: "@") else { continue }
        let domain = String(alias[alias.index(after: at)...])
        if !accepted.contains(domain) {
            printError(
                "note: \(alias): \(domain) is not in [inbound] domains (\(accepted.joined(separator: ", "))), so mail to it is refused until it is"
            )
        }
    }
}
