import Foundation
import MailvoxCore
import MailvoxIMAPCore
import NIOCore

extension IMAPSession {
    /// APPEND (RFC 3501 §6.3.11) answering APPENDUID (RFC 4315). A missing folder is
    /// [TRYCREATE]; a message over the limit [TOOBIG].
    mutating func append(_ command: AppendCommand, tag: String) async throws {
        guard let store = state.store else { return }
        if command.message.readableBytes > configuration.maxMessageBytes {
            no(tag, code: .tooBig, "Message larger than \(configuration.maxMessageBytes) octets")
            return
        }
        let date = command.internalDate.map { Date(timeIntervalSince1970: TimeInterval($0.secondsSince1970)) }
        let bytes = Array(command.message.readableBytesView)
        let appended = try await store.append(
            to: command.mailbox.name, message: bytes, flags: MessageFlags(command.flags), internalDate: date)
        if command.mailbox.name == state.selected?.name {
            // Into the selected folder: EXISTS before the OK (RFC 3501 §6.3.11), not at the next
            // command when the feed's echo arrives (the tracker then ignores the echo).
            let summary = appended.summary
            state.updateSelected { $0.tracker.receive(.added(uid: summary.uid, modseq: summary.modseq)) }
        }
        await ok(
            tag, code: .appendUID(uidValidity: appended.uidValidity, uid: appended.summary.uid), "APPEND completed")
    }
}
