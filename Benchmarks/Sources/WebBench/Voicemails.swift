import Foundation
import MailvoxCore
import MailvoxMIME
import MailvoxServer
import MailvoxStore
import MailvoxTemplates

/// Fills a mailbox with voicemails as the deliver worker makes them — the configured templates
/// rendered, `VoiceMessageComposer`'s message with a real MP3 made by `mailvox audio convert`,
/// sealed and filed by `MessageStore` — without decoding and transcoding each one again, which
/// would make a thousand take minutes. Callers, lengths and heard flags vary as in a real inbox.
enum InboxFiller {
    /// A recording's MP3 and its length in seconds.
    struct Recording: Sendable {
        var mp3: [UInt8]
        var seconds: Double
    }

    static let callers: [(number: String, name: String?)] = [
        ("+4930123456", "Ada Lovelace"), ("+4989765432", "Grace Hopper"), ("030 9876543", nil),
        ("+41445551234", "Jürg Müller"), ("201", "Reception"), ("anonymous", nil), ("+4917612345678", "Alan Turing"),
        ("+33142868200", "Émilie du Châtelet"), ("+4940333444", nil), ("+442079460000", "Tim Berners-Lee"),
        ("0049 221 555 0100", "Kundenservice Köln"), ("+4915112345678", "Barbara Liskov"),
    ]

    /// Delivers `count` voicemails into `mailbox`'s INBOX of the data dir behind `configPath`:
    /// the newest 10 minutes old, each next one 90 minutes older; all but the newest 40 heard.
    static func fill(configPath: String, mailbox id: MailboxID, count: Int, recordings: [Recording]) throws {
        let context = try Context.open(configPath: configPath, needs: .masterKey)
        let mailbox = try context.directory.requireMailbox(id)
        let templates = try VoicemailTemplates(searchPath: .standard(for: context.config))
        let store = context.makeMessageStore()
        let config = context.config
        let timeZone = TimeZone(identifier: mailbox.timeZone ?? config.server.defaultTimezone) ?? .gmt
        let start = Date()
        let threads = 2
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            for index in stride(from: thread, to: count, by: threads) {
                let caller = callers[index % callers.count]
                let recording = recordings[index % recordings.count]
                let received = start.addingTimeInterval(-600 - Double(index) * 5400)
                let depositID = "webbench-\(index)"
                let urgent = index % 17 == 3
                let rendered = templates.renderVoicemail(
                    TemplateContext(
                        callerName: caller.name, callerNumber: caller.number, mailboxID: mailbox.id.rawValue,
                        mailboxName: mailbox.name, receivedAt: received, timeZone: timeZone,
                        language: mailbox.language, duration: recording.seconds, urgent: urgent,
                        serverName: config.server.hostname, depositID: depositID))
                let message = VoiceMessage(
                    depositID: depositID, hostname: config.server.hostname, ownerName: mailbox.name,
                    ownerAddress: mailbox.emails.first?.rawValue, mailbox: mailbox.id, callerNumber: caller.number,
                    callerName: caller.name, receivedAt: received, timeZone: timeZone, duration: recording.seconds,
                    urgent: urgent, subject: rendered.subject, text: rendered.text, html: rendered.html,
                    audio: [VoiceMessage.Audio(format: .mp3, bytes: recording.mp3)])
                do {
                    try store.deliver(
                        mailbox: mailbox.id, depositID: depositID, message: Data(VoiceMessageComposer.compose(message)),
                        internalDate: received,
                        flags: MessageFlags(system: index < 40 ? [] : [.seen]))
                } catch {
                    fatalError("delivery \(index): \(error)")
                }
            }
        }
    }
}
