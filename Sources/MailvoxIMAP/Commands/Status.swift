import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    /// STATUS (RFC 3501 §6.3.10, RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 9208 DELETED and
    /// DELETED-STORAGE). RECENT counts the
    /// messages no session has claimed as recent yet; STATUS claims nothing.
    mutating func status(_ name: MailboxName, _ attributes: [StatusAttribute], tag: String) async throws {
        guard let store = state.store else { return }
        let status = try await store.status(of: name.name)
        if attributes.contains(.highestModSeq) { state.condStoreUsed() }
        var values = Self.statusValues(status, attributes)
        if let selected = state.selected, selected.name == name.name,
            let index = values.firstIndex(where: { $0.attribute == .recent })
        {
            // The selected folder's recent messages are this session's, held in its tracker;
            // the store counts only those no session has claimed (RFC 3501 §6.3.10, §2.3.2).
            values[index] = StatusValue(.recent, UInt64(status.recent + selected.tracker.recentCount))
        }
        send(.status(name, values))
        await ok(tag, "STATUS completed")
    }

    static func statusValues(_ status: FolderStatus, _ attributes: [StatusAttribute]) -> [StatusValue] {
        attributes.map { attribute in
            switch attribute {
            case .messages: StatusValue(attribute, UInt64(status.messages))
            case .recent: StatusValue(attribute, UInt64(status.recent))
            case .uidNext: StatusValue(attribute, UInt64(status.uidNext))
            case .uidValidity: StatusValue(attribute, UInt64(status.uidValidity))
            case .unseen: StatusValue(attribute, UInt64(status.unseen))
            case .highestModSeq: StatusValue(attribute, status.highestModseq)
            case .size: StatusValue(attribute, UInt64(status.size))
            case .deleted: StatusValue(attribute, UInt64(status.deleted))
            case .deletedStorage: StatusValue(attribute, UInt64(status.deletedSize))
            }
        }
    }
}
