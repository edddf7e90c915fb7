import MailvoxCore
import MailvoxIMAPCore

extension IMAPSession {
    static let systemFlags: [Flag] = [.answered, .flagged, .deleted, .seen, .draft]

    /// SELECT and EXAMINE (RFC 3501 §6.3.1–2, RFC 7162 §3.1.8 CONDSTORE, §3.2.5 QRESYNC).
    mutating func select(_ name: MailboxName, _ parameters: SelectParameters, readOnly: Bool, tag: String) async throws
    {
        guard let store = state.store else { return }
        if parameters.qresync != nil && !state.qresync {
            bad(tag, "QRESYNC is not enabled (ENABLE QRESYNC first)")
            return
        }
        // RFC 3501 §6.3.1: the previous folder is closed even if this SELECT fails; RFC 7162
        // §3.2.11: [CLOSED] marks where its responses end.
        if let feed = state.unselected() {
            feed.stop()
            send(.condition(StatusResponse(.ok, code: .closed, text: "Previous folder closed")))
        }
        if parameters.condStore || parameters.qresync != nil { state.condStoreUsed() }
        // Subscribe before the snapshot, so no change falls between them; the tracker drops
        // what the snapshot already holds.
        let stream = try await store.changes(of: name.name)
        let snapshot: FolderSnapshot
        do {
            snapshot = try await store.snapshot(of: name.name)
        } catch {
            throw error
        }
        let status = snapshot.status
        // A folder nothing may change in (Recently Deleted) opens read-only whatever was asked.
        // So does one the login may not change (a department where it lacks s, w, t, e and i).
        let readOnly = readOnly || status.readOnly || status.rights.isDisjoint(with: .changing)
        // RFC 3501 §2.3.2: SELECT claims the folder's recent messages for this session; EXAMINE
        // only shows those still unclaimed. Claimed after the snapshot, so a message arriving
        // in between is claimed too and reported recent with its EXISTS.
        // IMAP4rev2 has no `\Recent` (RFC 9051 Appendix E): such a session claims nothing.
        // Nor does one whose snapshot shows nothing unclaimed (a folder without new mail, the
        // usual SELECT): what arrives after the snapshot comes through the feed subscribed
        // above and is claimed then, so asking the store again would only cost a round trip.
        let recent =
            state.imap4rev2
            ? 0..<0
            : readOnly || status.firstRecentUID >= status.uidNext
                ? min(status.firstRecentUID, status.uidNext)..<status.uidNext
                : try await claimRecent(in: name.name, uidValidity: status.uidValidity, store: store)
        let tracker = MessageTracker(snapshot.messages, recent: recent)
        // Every keyword in use in the folder, so a client never meets one in a FETCH it was not
        // told of (RFC 3501 §7.2.6); new ones are announced as they appear (`announceKeywords`).
        var keywords: [String] = []
        var seen: Set<String> = []
        for message in snapshot.messages {
            for keyword in message.flags.keywords.sorted() where seen.insert(keyword.lowercased()).inserted {
                keywords.append(keyword)
            }
        }
        state.selected(
            SelectedFolder(
                name: name.name, readOnly: readOnly, uidValidity: status.uidValidity, tracker: tracker,
                keywords: keywords, rights: status.rights, feed: ChangeFeed(stream)))?.stop()
        sendFlags(keywords: keywords, readOnly: readOnly, rights: status.rights)
        send(.exists(tracker.count))
        if state.imap4rev2 {
            // RFC 9051 §6.3.2: LIST with the folder's attributes instead of RECENT and UNSEEN.
            if let folder = try await store.folders().first(where: { $0.name == name.name }) {
                send(.list(MailboxListItem(attributes: Self.attributes(of: folder, subscribed: false), name: name)))
            }
        } else {
            send(.recent(tracker.recentCount))
            if let firstUnseen = snapshot.messages.firstIndex(where: { !$0.flags.system.contains(.seen) }) {
                send(.condition(StatusResponse(.ok, code: .unseen(UInt32(firstUnseen + 1)), text: "First unseen")))
            }
        }
        send(.condition(StatusResponse(.ok, code: .uidValidity(status.uidValidity), text: "UIDs valid")))
        send(.condition(StatusResponse(.ok, code: .uidNext(status.uidNext), text: "Predicted next UID")))
        send(.condition(StatusResponse(.ok, code: .highestModSeq(status.highestModseq), text: "Highest")))
        if let qresync = parameters.qresync, qresync.uidValidity == status.uidValidity {
            try await resynchronise(qresync, snapshot: snapshot, tracker: tracker, store: store, folder: name.name)
        }
        send(
            .tagged(
                tag: tag,
                StatusResponse(
                    .ok, code: readOnly ? .readOnly : .readWrite,
                    text: readOnly ? "EXAMINE completed" : "SELECT completed")))
    }

    /// `* FLAGS` and `* OK [PERMANENTFLAGS]` with the system flags and `keywords` (RFC 3501
    /// §7.2.6, §7.1): what SELECT sends, and what is sent again when a keyword first appears.
    /// QRESYNC (RFC 7162 §3.2.5.1): what changed since the client's mod-sequence — the UIDs
    /// expunged since (within its known UIDs), then the flags of every message changed since.
    /// The store keeps the whole expunge log, so the sequence-match data is not needed.
    mutating func resynchronise(
        _ qresync: QResyncParameters, snapshot: FolderSnapshot, tracker: MessageTracker, store: any MailStore,
        folder: String
    ) async throws {
        var vanished = try await store.expunged(in: folder, since: qresync.modSeq)
        if let known = qresync.knownUIDs {
            vanished = vanished.filter { known.contains($0, last: UInt32.max) }
        }
        if let set = SequenceSet(numbers: vanished) { send(.vanished(earlier: true, set)) }
        for message in snapshot.messages where message.modseq > qresync.modSeq {
            guard let seq = tracker.sequenceNumber(of: message.uid) else { continue }
            send(
                .fetch(
                    sequenceNumber: seq,
                    [
                        .uid(message.uid), .flags(Flag.list(message.flags, recent: tracker.isRecent(message.uid))),
                        .modSeq(message.modseq),
                    ]))
        }
    }

    mutating func sendFlags(keywords: [String], readOnly: Bool, rights: Rights = .all) {
        let flags = Self.systemFlags + keywords.map(Flag.keyword)
        send(.flags(flags))
        // RFC 4314 §4: only the flags the rights let the login change are permanent: \Seen
        // with s, \Deleted with t, the others and new keywords with w.
        let permanent =
            readOnly
            ? []
            : flags.filter { flag in
                switch flag {
                case .seen: rights.contains(.keepSeen)
                case .deleted: rights.contains(.deleteMessages)
                default: rights.contains(.write)
                }
            }
        let newKeywords = !readOnly && rights.contains(.write)
        send(
            .condition(
                StatusResponse(
                    .ok, code: .permanentFlags(permanent, allowsNewKeywords: newKeywords),
                    text: permanent.isEmpty && !newKeywords ? "No permanent flags permitted" : "Flags permitted")))
    }

    /// Before a FETCH reports `flags`: any keyword the client was not told of in FLAGS is
    /// announced first, with FLAGS and PERMANENTFLAGS, to this session — each session learns it
    /// before the first FETCH that shows it to it, whoever set it (RFC 3501 §7.2.6). Keywords
    /// compare without regard to case, as Dovecot treats them.
    mutating func announceKeywords(in flags: [Flag]) {
        guard let folder = state.selected else { return }
        var known = Set(folder.keywords.map { $0.lowercased() })
        var added: [String] = []
        for case .keyword(let keyword) in flags where known.insert(keyword.lowercased()).inserted {
            added.append(keyword)
        }
        guard !added.isEmpty else { return }
        let keywords = folder.keywords + added
        state.updateSelected { $0.keywords = keywords }
        sendFlags(keywords: keywords, readOnly: folder.readOnly, rights: folder.rights)
    }

    /// CLOSE (RFC 3501 §6.4.2): silently expunges `\Deleted` messages of a read-write folder.
    mutating func close(tag: String) async throws {
        guard let store = state.store, let folder = state.selected else { return }
        // RFC 4314 §4: without `e` CLOSE closes without expunging, and without an error.
        if !folder.readOnly && folder.rights.contains(.expunge) {
            let deleted = try await store.search(in: folder.name, .flagged(.deleted))
            let visible = deleted.filter { folder.tracker.sequenceNumber(of: $0) != nil }
            if !visible.isEmpty { _ = try await store.expunge(in: folder.name, uids: visible) }
        }
        state.unselected()?.stop()
        send(.tagged(tag: tag, StatusResponse(.ok, text: "CLOSE completed")))
    }

    /// UNSELECT (RFC 3691): like CLOSE without expunging.
    mutating func unselect(tag: String) {
        state.unselected()?.stop()
        send(.tagged(tag: tag, StatusResponse(.ok, text: "UNSELECT completed")))
    }
}
