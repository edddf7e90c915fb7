import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// STORE and UID STORE (RFC 3501 §6.4.6) with .SILENT and UNCHANGEDSINCE → [MODIFIED]
    /// (RFC 7162 §3.1.3). The store's own change echo is recognised by modseq and not repeated.
    mutating func store(_ command: StoreCommand, tag: String) async throws {
        guard let store = state.store, let folder = state.selected else { return }
        guard !folder.readOnly else {
            refuseReadOnly(tag, folder, needing: Rights.needed(toStore: command.operation, MessageFlags(command.flags)))
            return
        }
        let targets = try folder.tracker.resolve(command.set, byUID: command.byUID)
        if command.unchangedSince != nil { state.condStoreUsed() }
        let update = try await store.storeFlags(
            in: folder.name, uids: targets.map(\.uid), operation: command.operation,
            flags: MessageFlags(command.flags), unchangedSince: command.unchangedSince)
        state.updateSelected { selected in
            for summary in update.changed { selected.tracker.noteModseq(summary.modseq, of: summary.uid) }
        }
        let failed = Set(update.failed)
        var current: [UInt32: MessageSummary] = [:]
        for summary in update.changed { current[summary.uid] = summary }
        if !command.silent {
            let unchanged = targets.map(\.uid).filter { current[$0] == nil && !failed.contains($0) }
            if !unchanged.isEmpty {
                let read = try await store.summaries(in: folder.name, uids: unchanged)
                for summary in read { current[summary.uid] = summary }
                state.updateSelected { selected in
                    for summary in read { selected.tracker.noteModseq(summary.modseq, of: summary.uid) }
                }
            }
        }
        for (seq, uid) in targets where !failed.contains(uid) {
            guard let summary = current[uid] else { continue }
            var items: [FetchItem] = []
            if command.byUID { items.append(.uid(uid)) }
            if !command.silent { items.append(.flags(Flag.list(summary.flags, recent: folder.tracker.isRecent(uid)))) }
            // RFC 7162 §3.1.3: under CONDSTORE even .SILENT reports the new MODSEQ.
            if state.condStore { items.append(.modSeq(summary.modseq)) }
            if !command.silent || (state.condStore && update.changed.contains(where: { $0.uid == uid })) {
                send(.fetch(sequenceNumber: seq, items))
            }
        }
        var code: ResponseCode?
        if !failed.isEmpty {
            let numbers = targets.filter { failed.contains($0.uid) }.map { command.byUID ? $0.uid : $0.seq }
            if let set = SequenceSet(numbers: numbers) { code = .modified(set) }
        }
        // RFC 3501 §7.4.1: no EXPUNGE while answering STORE; UID STORE names no numbers.
        await ok(
            tag, code: code, code == nil ? "STORE completed" : "Conditional STORE failed", allowExpunge: command.byUID)
    }
}
