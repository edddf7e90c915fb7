import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// EXPUNGE (RFC 3501 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1): removes the visible messages
    /// flagged `\Deleted` (within `set` for UID EXPUNGE), one EXPUNGE response each.
    mutating func expunge(_ set: SequenceSet?, tag: String) async throws {
        guard let store = state.store, let folder = state.selected else { return }
        guard !folder.readOnly else {
            refuseReadOnly(tag, folder, needing: .expunge)
            return
        }
        // The store refuses too; asked here as well so an EXPUNGE with nothing to remove is
        // refused the same (RFC 4314 §4).
        guard folder.rights.contains(.expunge) else {
            no(tag, code: .noPerm, "Expunging here needs the e right")
            return
        }
        var candidates = try await store.search(in: folder.name, .flagged(.deleted))
        candidates = candidates.filter { folder.tracker.sequenceNumber(of: $0) != nil }
        if let set {
            let named = Set(try folder.tracker.resolve(set, byUID: true).map(\.uid))
            candidates = candidates.filter { named.contains($0) }
        }
        let removed = candidates.isEmpty ? [] : try await store.expunge(in: folder.name, uids: candidates)
        var responses: [UntaggedResponse] = []
        let vanished = state.qresync
        state.updateSelected { responses = $0.tracker.remove(removed, vanished: vanished) }
        for response in responses { send(response) }
        await ok(tag, "EXPUNGE completed")
    }

    /// A change refused in a read-only folder: `[NOPERM]` when the login's rights are why
    /// (RFC 4314 §4; a department member without them), `[READ-ONLY]` when EXAMINE or the
    /// folder is (RFC 5530 §3).
    mutating func refuseReadOnly(_ tag: String, _ folder: SelectedFolder, needing: Rights) {
        let missing = needing.subtracting(folder.rights)
        if missing.isEmpty {
            no(tag, code: .readOnly, "Folder is read-only")
        } else {
            no(tag, code: .noPerm, "Permission denied: this needs the \(missing.letters) right")
        }
    }
}
