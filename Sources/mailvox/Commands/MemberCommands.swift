import ArgumentParser
import Foundation
import MailvoxCore
import MailvoxServer
import MailvoxStore

/// `mailvox mailbox member`: who reaches a department with their own login, with which
/// rights, and who is alerted of its voicemail (docs/DEPARTMENTS.md).
struct MemberCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "member",
        abstract: "Add, change, remove and list the members of a department mailbox.",
        subcommands: [MemberAdd.self, MemberRemove.self, MemberList.self])
}

struct MemberAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Make a person (their mailbox id) a member of a mailbox, or change their rights and alerts.",
        discussion: """
            Rights are RFC 4314 letters: l see, r read, s keep seen, w write flags, i insert, \
            k create folders, x delete folders, t delete (flag \\Deleted), e expunge, a administer \
            (share with others). Default: lrswtei. The member logs in with their own id and \
            password and finds the mailbox under Shared/ in their mail client.
            """)

    @OptionGroup var options: ConfigOption
    @Argument(help: "The department's mailbox id.") var mailbox: String
    @Argument(help: "The member's own mailbox id (their login).") var member: String
    @Option(name: .long, help: "RFC 4314 rights, e.g. lrs (read only) or lrswtei (default).") var rights: String?
    @Option(
        name: .long,
        help: "Alert the member of this mailbox's voicemail too, on: email, sms, email,sms or none (default: none).")
    var alerts: String?

    func run() async throws {
        let mailbox = try parseMailboxID(mailbox)
        let member = try parseMailboxID(member)
        var granted: Rights? = nil
        if let rights {
            guard let parsed = Rights(letters: rights), !parsed.isEmpty else {
                throw UsageFailure(
                    description: "--rights: \"\(rights)\" is not a set of RFC 4314 rights (\(Rights.all.letters))")
            }
            granted = parsed
        }
        let channels: [String]? = try alerts.map { text in
            guard text != "none" else { return [] }
            let channels = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if let unknown = channels.first(where: { !Membership.alertChannels.contains($0) }) {
                throw UsageFailure(description: "--alerts: unknown channel \"\(unknown)\" (email, sms or none)")
            }
            return Array(Set(channels)).sorted()
        }
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let existing = try context.directory.members(of: mailbox).first {
            $0.member.rawValue.lowercased() == member.rawValue.lowercased()
        }
        let membership = try context.directory.setMember(
            member, of: mailbox, rights: granted ?? existing?.rights ?? .member, alerts: channels)
        let alertText =
            membership.alerts.isEmpty ? "no alerts" : "alerts by \(membership.alerts.joined(separator: ", "))"
        print(
            "\(existing == nil ? "added" : "updated") \(membership.member) as a member of \(membership.mailbox) "
                + "with rights \(membership.rights.letters), \(alertText)")
    }
}

struct MemberRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "End a membership; the member's open sessions lose the mailbox at once.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The department's mailbox id.") var mailbox: String
    @Argument(help: "The member's own mailbox id.") var member: String

    func run() async throws {
        let mailbox = try parseMailboxID(mailbox)
        let member = try parseMailboxID(member)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        try context.directory.removeMember(member, of: mailbox)
        print("removed \(member) from \(mailbox)")
    }
}

struct MemberList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a mailbox's members with their rights and alerts.")

    @OptionGroup var options: ConfigOption
    @Argument(help: "The department's mailbox id.") var mailbox: String
    @Flag(name: .long, help: "Print JSON for tools.") var json = false

    func run() async throws {
        let mailbox = try parseMailboxID(mailbox)
        let context = try Context.open(configPath: options.path, needs: .masterKey)
        let members = try context.directory.members(of: mailbox)
        if json {
            try printJSON(members)
            return
        }
        guard !members.isEmpty else {
            print("\(mailbox) has no members")
            return
        }
        let format = ISO8601DateFormatter()
        printTable(
            members.map {
                [
                    $0.member.rawValue, $0.memberName, $0.rights.letters,
                    $0.alerts.isEmpty ? "-" : $0.alerts.joined(separator: ","), format.string(from: $0.addedAt),
                ]
            }, header: ["MEMBER", "NAME", "RIGHTS", "ALERTS", "ADDED"])
    }
}
