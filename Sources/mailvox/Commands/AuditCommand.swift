import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxServer
import MailvoxStore

/// `mailvox mailbox audit ID [--since WHEN] [--json]`: who did what in the mailbox, from where,
/// when — its audit log, opened with the master key, kept `[audit] days` (docs/OPERATIONS.md).
struct MailboxAudit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Show a mailbox's audit log: logins, opens, flag changes, moves, expunges, by whom and from where.",
        discussion: """
            Entries are kept [audit] days (default 90). A removed mailbox's log can still be read \
            until the mailbox is purged.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Option(name: .long, help: "Only entries from this time on: ISO 8601, or a span back from now such as 7d or 24h.")
    var since: String?
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    func run() async throws {
        let id = try parseMailboxID(id)
        let from = try since.map { try Self.parseSince($0, now: Date()) }
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        // A removed mailbox's log is what an operator reads after someone left: still shown.
        guard let mailbox = try context.directory.mailbox(id, includingRemoved: true) else {
            throw DirectoryError.unknownMailbox(id.rawValue)
        }
        let entries = try context.makeMessageStore().auditEntries(mailbox: mailbox.id, since: from)
        if json {
            try printJSON(entries)
            return
        }
        guard !entries.isEmpty else {
            let days = context.config.audit.days
            let window =
                from.map { "since \(ISO8601DateFormatter().string(from: $0))" }
                ?? "in the last \(days) day\(days == 1 ? "" : "s")"
            print("no audit entries for \(mailbox.id) \(window)")
            return
        }
        let format = ISO8601DateFormatter()
        printTable(
            entries.map { entry in
                [
                    format.string(from: entry.at), entry.actor, entry.address, entry.action, entry.folder ?? "-",
                    entry.detail ?? "-",
                ]
            }, header: ["TIME", "WHO", "FROM", "ACTION", "FOLDER", "DETAIL"])
    }

    /// `--since`: an ISO 8601 time (UTC unless it says otherwise), or `Nd` / `Nh` before `now`.
    static func parseSince(_ text: String, now: Date) throws -> Date {
        if let date = ISO8601.parse(text, defaultTimeZone: "UTC") { return date }
        let unit = text.last.flatMap { ["d": 86_400.0, "h": 3_600.0][$0] }
        guard let unit, let count = Int(text.dropLast()), count >= 0, count <= 3_650 * 24 else {
            throw UsageFailure(
                description: "--since: \"\(text)\" is neither an ISO 8601 time nor a span such as 7d or 24h")
        }
        return now.addingTimeInterval(-Double(count) * unit)
    }
}
