import Foundation
import MailvoxCore
import MailvoxIMAPCore
import NIOCore

extension IMAPSession {
    /// APPEND (RFC 3501 §6.3.11) and MULTIAPPEND (RFC 3502) answering APPENDUID (RFC 4315). A
    /// missing folder is [TRYCREATE]; a message over the limit [TOOBIG]. Several messages are
    /// stored all or none: when one is refused, those already stored are expunged again before
    /// the NO, so no client sees half an APPEND once the command has ended.
    mutating func append(_ command: AppendCommand, tag: String) async throws {
        guard let store = state.store else { return }
        if command.messages.contains(where: { $0.message.readableBytes > configuration.maxMessageBytes }) {
            no(tag, code: .tooBig, "Message larger than \(configuration.maxMessageBytes) octets")
            return
        }
        let folder = command.mailbox.name
        var stored: [AppendedMessage] = []
        do {
            for message in command.messages {
                let date = message.internalDate.map { Date(timeIntervalSince1970: TimeInterval($0.secondsSince1970)) }
                stored.append(
                    try await store.append(
                        to: folder, message: Array(message.message.readableBytesView),
                        flags: MessageFlags(message.flags), internalDate: date))
            }
        } catch {
            if !stored.isEmpty { _ = try? await store.expunge(in: folder, uids: stored.map(\.summary.uid)) }
            throw error
        }
        if folder == state.selected?.name {
            // Into the selected folder: EXISTS before the OK (RFC 3501 §6.3.11), not at the next
            // command when the feed's echo arrives (the tracker then ignores the echo).
            state.updateSelected { selected in
                for appended in stored {
                    selected.tracker.receive(.added(uid: appended.summary.uid, modseq: appended.summary.modseq))
                }
            }
        }
        var code: ResponseCode?
        if let validity = stored.last?.uidValidity, let uids = SequenceSet(numbers: stored.map(\.summary.uid)) {
            code = .appendUID(uidValidity: validity, uids: uids)
        }
        await ok(tag, code: code, "APPEND completed")
    }
}
