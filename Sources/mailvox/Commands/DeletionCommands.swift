import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxServer
import MailvoxStore

/// `mailvox mailbox deleted ID`: what is in the mailbox's Recently Deleted, recoverable until
/// `[retention] deleted_days` after its deletion (docs/OPERATIONS.md).
struct MailboxDeleted: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deleted",
        abstract: "List a mailbox's recoverable deleted messages (Recently Deleted).",
        discussion: "FOLDER:UID names each by where it was; `mailbox restore ID --uid FOLDER:UID` puts it back.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    struct Entry: Encodable {
        var uid: UInt32
        var folder: String?
        var originalUID: UInt32?
        var caller: String
        var received: String
        var deletedAt: String
        var deletedBy: String
        var purgeAfter: String
        var size: Int

        enum CodingKeys: String, CodingKey {
            case uid, folder, caller, received, size
            case originalUID = "original_uid"
            case deletedAt = "deleted_at"
            case deletedBy = "deleted_by"
            case purgeAfter = "purge_after"
        }
    }

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        _ = try context.directory.requireMailbox(id)
        let store = context.makeMessageStore()
        let window = TimeInterval(context.config.retention.deletedDays) * 86_400
        let format = ISO8601DateFormatter()
        let entries = try store.deletedMessages(mailbox: id).map { message in
            Entry(
                uid: message.uid, folder: message.folder, originalUID: message.originalUID,
                caller: Self.caller(
                    (try? store.metadata(mailbox: id, folder: FolderInfo.recentlyDeleted, uid: message.uid))?.headers
                        ?? ""),
                received: format.string(from: message.received), deletedAt: format.string(from: message.deletedAt),
                deletedBy: message.deletedBy, purgeAfter: format.string(from: message.deletedAt + window),
                size: message.size)
        }
        if json {
            try printJSON(entries)
            return
        }
        guard !entries.isEmpty else {
            print("nothing deleted in \(id) within the last \(context.config.retention.deletedDays) days")
            return
        }
        printTable(
            entries.map { entry in
                [
                    "\(entry.folder ?? "?"):\(entry.originalUID.map(String.init) ?? "?")", entry.caller, entry.received,
                    entry.deletedAt, entry.deletedBy,
                ]
            }, header: ["FOLDER:UID", "CALLER", "RECEIVED", "DELETED", "BY"])
    }

    /// The caller as the voice message names it (`X-CallingTelephoneNumber`, else `From`).
    static func caller(_ headers: String) -> String {
        var fields: [String: String] = [:]
        for line in headers.components(separatedBy: "\r\n").flatMap({ $0.components(separatedBy: "\n") }) {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix(" "), !line.hasPrefix("\t") else { continue }
            let name = line[..<colon].lowercased()
            if fields[name] == nil {
                fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return fields["x-callingtelephonenumber"] ?? fields["from"] ?? "-"
    }
}

/// `mailvox mailbox restore ID --uid FOLDER:UID … | --deleted-since TIME`.
struct MailboxRestore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Put deleted messages back into their folders (INBOX if the folder is gone).",
        discussion: "Restored messages get new UIDs in their folder and keep their flags.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Option(name: .long, help: "FOLDER:UID as `mailbox deleted` lists it (repeatable).") var uid: [String] = []
    @Option(name: .long, help: "Restore everything deleted at or after this ISO 8601 time.") var deletedSince: String?

    func validate() throws {
        guard uid.isEmpty != (deletedSince == nil) else {
            throw ValidationError("give either --uid FOLDER:UID (repeatable) or --deleted-since TIME")
        }
    }

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        _ = try context.directory.requireMailbox(id)
        let store = context.makeMessageStore()
        let deleted = try store.deletedMessages(mailbox: id)
        var chosen: [UInt32] = []
        if let deletedSince {
            guard let since = ISO8601.parse(deletedSince, defaultTimeZone: "UTC") else {
                throw UsageFailure(description: "--deleted-since: \"\(deletedSince)\" is not an ISO 8601 time")
            }
            chosen = deleted.filter { $0.deletedAt >= since }.map(\.uid)
        } else {
            for text in uid {
                guard let colon = text.lastIndex(of: ":"), let original = UInt32(text[text.index(after: colon)...])
                else { throw UsageFailure(description: "--uid: \"\(text)\" is not FOLDER:UID") }
                let folder = String(text[..<colon])
                guard let match = deleted.first(where: { $0.folder == folder && $0.originalUID == original }) else {
                    throw UsageFailure(
                        description: "--uid: nothing deleted from \(folder) with UID \(original) in \(id) "
                            + "(see `mailvox mailbox deleted \(id)`)")
                }
                chosen.append(match.uid)
            }
        }
        let restored = try store.restore(mailbox: id, uids: chosen)
        for entry in restored {
            let before = deleted.first { $0.uid == entry.uid }
            print(
                "restored \(before?.folder ?? "?"):\(before?.originalUID.map(String.init) ?? "?") "
                    + "as \(entry.folder):\(entry.newUID)")
        }
        print("restored \(restored.count) message\(restored.count == 1 ? "" : "s") of \(id)")
    }
}

/// `mailvox maintenance`: what `serve` does every hour, once, now — or as of `--now`, so an
/// operator (or a test) can see what a later run would purge.
struct MaintenanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "maintenance",
        abstract: "Run the retention rules once: age folders, purge Recently Deleted and removed mailboxes.")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Act as if it were this ISO 8601 time (default: now).") var now: String?

    func run() async throws {
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        var date = Date()
        if let now {
            guard let parsed = ISO8601.parse(now, defaultTimeZone: "UTC") else {
                throw UsageFailure(description: "--now: \"\(now)\" is not an ISO 8601 time")
            }
            date = parsed
        }
        print(try Maintenance(context: context).run(now: date).summary)
    }
}

/// `mailvox mailbox hold ID --on|--off [--reason TEXT]`: legal hold.
struct MailboxHold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold",
        abstract: "Put a mailbox on legal hold (nothing purged, remove refused) or take it off.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "Mailbox id.") var id: String
    @Flag(name: .long, help: "Put it on hold.") var on = false
    @Flag(name: .long, help: "Take it off hold.") var off = false
    @Option(name: .long, help: "Why (shown by `mailbox show`).") var reason: String?

    func validate() throws {
        guard on != off else { throw ValidationError("give --on or --off") }
        if off && reason != nil { throw ValidationError("--reason goes with --on") }
    }

    func run() async throws {
        let id = try parseMailboxID(id)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let mailbox = try context.directory.setHold(id, on: on, reason: reason)
        if let since = mailbox.heldSince {
            print(
                "mailbox \(mailbox.id) on hold since \(ISO8601DateFormatter().string(from: since)): nothing of it is purged"
            )
        } else {
            print("mailbox \(mailbox.id) off hold: the retention rules apply again")
        }
    }
}
