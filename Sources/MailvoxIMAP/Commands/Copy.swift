import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// COPY / UID COPY (RFC 3501 §6.4.7) and MOVE / UID MOVE (RFC 6851), answering COPYUID
    /// (RFC 4315). A missing target is [TRYCREATE].
    mutating func copy(_ command: CopyCommand, removingSource: Bool, tag: String) async throws {
        guard let store = state.store, let folder = state.selected else { return }
        // Recently Deleted is read-only, but a MOVE out of it is how a client restores a message
        // (docs/OPERATIONS.md): the store takes that one change to it.
        if removingSource && folder.readOnly && folder.name != FolderInfo.recentlyDeleted {
            refuseReadOnly(tag, folder, needing: [.deleteMessages, .expunge])
            return
        }
        let targets = try folder.tracker.resolve(command.set, byUID: command.byUID)
        let name = removingSource ? "MOVE" : "COPY"
        guard !targets.isEmpty else {
            // Still check the target, so a client learns of [TRYCREATE].
            _ = try await store.status(of: command.mailbox.name)
            await ok(tag, "\(name) completed, nothing to do")
            return
        }
        let copied = try await store.copy(
            from: folder.name, uids: targets.map(\.uid), to: command.mailbox.name, removingSource: removingSource)
        var code: ResponseCode?
        if let source = SequenceSet(numbers: copied.pairs.map(\.source)),
            let destination = SequenceSet(numbers: copied.pairs.map(\.target))
        {
            code = .copyUID(uidValidity: copied.uidValidity, source: source, destination: destination)
        }
        if command.mailbox.name == folder.name {
            // Copied into the selected folder: announced before the OK (RFC 3501 §5.2), not at the
            // next command when the feed's echo arrives.
            let added = try await store.summaries(in: folder.name, uids: copied.pairs.map(\.target))
            state.updateSelected { selected in
                for summary in added { selected.tracker.receive(.added(uid: summary.uid, modseq: summary.modseq)) }
            }
        }
        if removingSource {
            // RFC 6851 §4.3: COPYUID in an untagged OK before the EXPUNGEs.
            if let code { send(.condition(StatusResponse(.ok, code: code, text: "Moved UIDs"))) }
            var responses: [UntaggedResponse] = []
            let vanished = state.qresync
            state.updateSelected { responses = $0.tracker.remove(copied.pairs.map(\.source), vanished: vanished) }
            for response in responses { send(response) }
            await ok(tag, "MOVE completed")
        } else {
            await ok(tag, code: code, "COPY completed")
        }
    }
}
