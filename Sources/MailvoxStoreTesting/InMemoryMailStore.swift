import Foundation
import MailvoxCore
import MailvoxMIME

/// A whole `MailStore` held in memory, faithful to the protocol's contract (UIDVALIDITY,
/// UIDNEXT and modseq only grow, change feeds per folder with any number of subscribers,
/// COPYUID mappings), so IMAP's unit and integration tests run on it instead of SQLite.
///
/// One instance is one mailbox; every session logged in to that mailbox shares it, so each
/// sees the others' changes through `changes(of:)` as with the real store.
public actor InMemoryMailStore: MailStore {
    public nonisolated let mailbox: MailboxID
    /// APPEND's limit, as `[imap] max_message_bytes`.
    public let maxMessageBytes: Int

    struct StoredMessage {
        var summary: MessageSummary
        var bytes: [UInt8]
        var parsed: ParsedMessage
    }

    struct Folder {
        var name: String
        var specialUse: String?
        var uidValidity: UInt32
        var uidNext: UInt32 = 1
        var highestModseq: UInt64 = 1
        /// RFC 3501 §2.3.2: UIDs from here up are recent and claimed by no session yet.
        var firstRecentUID: UInt32 = 1
        /// Ascending by UID.
        var messages: [StoredMessage] = []
        /// Expunged UIDs and the modseq of their expunge (QRESYNC), as the real store's log.
        var expungeLog: [UInt32: UInt64] = [:]

        var status: FolderStatus {
            FolderStatus(
                name: name, specialUse: specialUse, uidValidity: uidValidity, uidNext: uidNext,
                highestModseq: highestModseq, messages: messages.count,
                unseen: messages.count { !$0.summary.flags.system.contains(.seen) },
                size: messages.reduce(0) { $0 + $1.summary.size }, firstRecentUID: firstRecentUID,
                recent: messages.count { $0.summary.uid >= firstRecentUID },
                deleted: messages.count { $0.summary.flags.system.contains(.deleted) },
                deletedSize: messages.filter { $0.summary.flags.system.contains(.deleted) }.reduce(0) {
                    $0 + $1.summary.size
                })
        }

        func index(of uid: UInt32) -> Int? {
            var low = 0
            var high = messages.count
            while low < high {
                let mid = (low + high) / 2
                if messages[mid].summary.uid < uid { low = mid + 1 } else { high = mid }
            }
            return low < messages.count && messages[low].summary.uid == uid ? low : nil
        }
    }

    /// Folders by UTF-8 name.
    var folderTable: [String: Folder] = [:]
    var subscribers: [String: [UUID: AsyncStream<FolderChange>.Continuation]] = [:]
    var nextUIDValidity: UInt32
    /// Subscribed names, which may outlive their folders (RFC 3501 §6.3.6).
    var subscriptionSet: Set<String> = []

    /// The standard folders of a new mailbox (docs/DESIGN.md §3.2): INBOX, Saved (`\Archive`),
    /// Trash (`\Trash`), Greetings.
    public init(mailbox: MailboxID, maxMessageBytes: Int = 52_428_800, uidValidity: UInt32 = 1_700_000_000) {
        self.mailbox = mailbox
        self.maxMessageBytes = maxMessageBytes
        self.nextUIDValidity = uidValidity
        for (name, use) in [("INBOX", nil), ("Saved", "\\Archive"), ("Trash", "\\Trash"), ("Greetings", nil)] {
            folderTable[name] = Folder(name: name, specialUse: use, uidValidity: nextUIDValidity)
            subscriptionSet.insert(name)
            nextUIDValidity += 1
        }
    }

    // MARK: Test helpers

    /// Delivers a message as the pipeline would (no size limit), publishing `added`.
    @discardableResult
    public func deliver(
        _ message: [UInt8], to folder: String = "INBOX", flags: MessageFlags = MessageFlags(),
        internalDate: Date = Date()
    ) throws(MailStoreError) -> MessageSummary {
        try insert(message, into: folder, flags: flags, internalDate: internalDate)
    }

    /// Every change feed currently open on `folder`.
    public func subscriberCount(of folder: String) -> Int { subscribers[folder]?.count ?? 0 }

    // MARK: Folders

    public func folders() throws(MailStoreError) -> [FolderInfo] {
        let names = folderTable.keys.sorted { a, b in
            if a == "INBOX" { return b != "INBOX" }
            if b == "INBOX" { return false }
            return a < b
        }
        return names.map { name in
            let folder = folderTable[name]!
            return FolderInfo(
                name: name, specialUse: folder.specialUse, subscribed: subscriptionSet.contains(name),
                hasChildren: folderTable.keys.contains { $0.hasPrefix(name + "/") })
        }
    }

    /// Creates `name` and its missing parents, as `MessageStore` does: all or nothing.
    public func createFolder(_ name: String) throws(MailStoreError) {
        try Self.check(name)
        if folderTable[name] != nil || name.uppercased() == "INBOX" { throw .folderExists(name) }
        let levels = name.split(separator: "/")
        for depth in 1...levels.count {
            let path = levels.prefix(depth).joined(separator: "/")
            guard folderTable[path] == nil, path.uppercased() != "INBOX" else { continue }
            folderTable[path] = Folder(name: path, specialUse: nil, uidValidity: nextUIDValidity)
            nextUIDValidity += 1
        }
    }

    public func deleteFolder(_ name: String) throws(MailStoreError) {
        let folder = try existing(name)
        if name == "INBOX" || folder.specialUse != nil || name == "Greetings" { throw .protectedFolder(name) }
        folderTable[name] = nil
        for continuation in subscribers[name]?.values ?? [:].values { continuation.finish() }
        subscribers[name] = nil
    }

    public func renameFolder(_ name: String, to newName: String) throws(MailStoreError) {
        let folder = try existing(name)
        if name == "INBOX" {
            // RFC 3501 §6.3.5: INBOX's messages move to a new folder; INBOX stays, empty.
            try createFolder(newName)
            _ = try copy(from: "INBOX", uids: folder.messages.map(\.summary.uid), to: newName, removingSource: true)
            return
        }
        if folder.specialUse != nil || name == "Greetings" { throw .protectedFolder(name) }
        try Self.check(newName)
        if folderTable[newName] != nil || newName.uppercased() == "INBOX" { throw .folderExists(newName) }
        if newName.hasPrefix(name + "/") { throw .invalidFolderName(newName, reason: "inside the folder renamed") }
        let moving = folderTable.keys.filter { $0 == name || $0.hasPrefix(name + "/") }
        // Children moved deeper must obey the rules too; checked before anything moves.
        for key in moving { try Self.check(newName + key.dropFirst(name.count)) }
        for key in moving {
            var moved = folderTable.removeValue(forKey: key)!
            let renamed = newName + key.dropFirst(name.count)
            moved.name = renamed
            folderTable[renamed] = moved
            for continuation in subscribers[key]?.values ?? [:].values { continuation.finish() }
            subscribers[key] = nil
        }
        // Missing parents of the new name are made, as MessageStore does.
        let levels = newName.split(separator: "/")
        for depth in stride(from: levels.count - 1, through: 1, by: -1) {
            let parent = levels.prefix(depth).joined(separator: "/")
            guard folderTable[parent] == nil, parent.uppercased() != "INBOX" else { continue }
            folderTable[parent] = Folder(name: parent, specialUse: nil, uidValidity: nextUIDValidity)
            nextUIDValidity += 1
        }
    }

    public func setSubscribed(_ name: String, _ subscribed: Bool) throws(MailStoreError) {
        if subscribed {
            try Self.check(name)
            subscriptionSet.insert(name)
        } else if subscriptionSet.remove(name) == nil {
            _ = try existing(name)
        }
    }

    public func subscriptions() -> [String] { subscriptionSet.sorted() }

    public func status(of folder: String) throws(MailStoreError) -> FolderStatus {
        try existing(folder).status
    }

    public func snapshot(of folder: String) throws(MailStoreError) -> FolderSnapshot {
        let stored = try existing(folder)
        return FolderSnapshot(status: stored.status, messages: stored.messages.map(\.summary))
    }

    public func claimRecent(in folder: String) throws(MailStoreError) -> Range<UInt32> {
        let stored = try existing(folder)
        folderTable[folder]!.firstRecentUID = stored.uidNext
        return min(stored.firstRecentUID, stored.uidNext)..<stored.uidNext
    }

    public func changes(of folder: String) throws(MailStoreError) -> AsyncStream<FolderChange> {
        _ = try existing(folder)
        let id = UUID()
        let (stream, continuation) = AsyncStream<FolderChange>.makeStream()
        subscribers[folder, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(folder, id) }
        }
        return stream
    }

    func unsubscribe(_ folder: String, _ id: UUID) {
        subscribers[folder]?[id] = nil
    }

    // MARK: Messages

    public func summaries(in folder: String, uids: [UInt32]) throws(MailStoreError) -> [MessageSummary] {
        let stored = try existing(folder)
        return uids.sorted().compactMap { uid in stored.index(of: uid).map { stored.messages[$0].summary } }
    }

    public func structure(in folder: String, uid: UInt32) throws(MailStoreError) -> ParsedMessage {
        try message(in: folder, uid: uid).parsed
    }

    public func content(in folder: String, uid: UInt32, range: Range<Int>?) throws(MailStoreError) -> [UInt8] {
        let bytes = try message(in: folder, uid: uid).bytes
        guard let range else { return bytes }
        let lower = min(max(range.lowerBound, 0), bytes.count)
        let upper = min(max(range.upperBound, lower), bytes.count)
        return Array(bytes[lower..<upper])
    }

    public func append(
        to folder: String, message: [UInt8], flags: MessageFlags, internalDate: Date?
    ) throws(MailStoreError) -> AppendedMessage {
        if message.count > maxMessageBytes { throw .messageTooLarge(size: message.count, limit: maxMessageBytes) }
        let summary = try insert(message, into: folder, flags: flags, internalDate: internalDate ?? Date())
        return AppendedMessage(uidValidity: folderTable[folder]!.uidValidity, summary: summary)
    }

    public func storeFlags(
        in folder: String, uids: [UInt32], operation: FlagOperation, flags: MessageFlags, unchangedSince: UInt64?
    ) throws(MailStoreError) -> FlagUpdate {
        var stored = try existing(folder)
        var changed: [MessageSummary] = []
        var failed: [UInt32] = []
        var events: [FolderChange] = []
        for uid in Set(uids).sorted() {
            guard let index = stored.index(of: uid) else { continue }
            var summary = stored.messages[index].summary
            if let unchangedSince, summary.modseq > unchangedSince {
                failed.append(uid)
                continue
            }
            let updated = summary.flags.applying(operation, flags)
            guard updated != summary.flags else { continue }
            stored.highestModseq += 1
            summary.flags = updated
            summary.modseq = stored.highestModseq
            stored.messages[index].summary = summary
            changed.append(summary)
            events.append(.flags(uid: uid, flags: updated, modseq: summary.modseq))
        }
        folderTable[folder] = stored
        for event in events { publish(event, to: folder) }
        return FlagUpdate(changed: changed, failed: failed)
    }

    public func expunge(in folder: String, uids: [UInt32]) throws(MailStoreError) -> [UInt32] {
        var stored = try existing(folder)
        let wanted = Set(uids)
        let removed = stored.messages.filter { wanted.contains($0.summary.uid) }.map(\.summary.uid)
        guard !removed.isEmpty else { return [] }
        stored.messages.removeAll { wanted.contains($0.summary.uid) }
        stored.highestModseq += 1
        for uid in removed { stored.expungeLog[uid] = stored.highestModseq }
        folderTable[folder] = stored
        publish(.expunged(uids: removed, modseq: stored.highestModseq), to: folder)
        return removed
    }

    public func copy(
        from folder: String, uids: [UInt32], to target: String, removingSource: Bool
    ) throws(MailStoreError) -> CopiedMessages {
        let source = try existing(folder)
        _ = try existing(target)
        var pairs: [CopiedMessages.UIDPair] = []
        for uid in Set(uids).sorted() {
            guard let index = source.index(of: uid) else { continue }
            let original = source.messages[index]
            let copied = try insert(
                original.bytes, into: target, flags: original.summary.flags,
                internalDate: original.summary.internalDate, parsed: original.parsed)
            pairs.append(CopiedMessages.UIDPair(source: uid, target: copied.uid))
        }
        if removingSource { _ = try expunge(in: folder, uids: pairs.map(\.source)) }
        return CopiedMessages(uidValidity: folderTable[target]!.uidValidity, pairs: pairs)
    }

    public func search(in folder: String, _ criterion: SearchCriterion) throws(MailStoreError) -> [UInt32] {
        let stored = try existing(folder)
        var result: [UInt32] = []
        for message in stored.messages {
            let candidate = SearchableMessage(summary: message.summary, bytes: message.bytes, structure: message.parsed)
            do {
                if try criterion.matches(candidate) { result.append(message.summary.uid) }
            } catch {
                throw .storage("search: \(error)")
            }
        }
        return result
    }

    public func expunged(in folder: String, since modseq: UInt64) throws(MailStoreError) -> [UInt32] {
        try existing(folder).expungeLog.filter { $0.value > modseq }.keys.sorted()
    }

    /// Limits for tests of QUOTA; none unless set.
    public var quotaLimits = QuotaLimits.none

    public func setQuotaLimits(_ limits: QuotaLimits) { quotaLimits = limits }

    public func quota() throws(MailStoreError) -> MailboxQuota {
        var messages = 0
        var bytes = 0
        for folder in folderTable.values {
            messages += folder.messages.count
            bytes += folder.messages.reduce(0) { $0 + $1.summary.size }
        }
        return MailboxQuota(limits: quotaLimits, usage: QuotaUsage(bytes: bytes, messages: messages))
    }

    // MARK: Inside

    private func existing(_ name: String) throws(MailStoreError) -> Folder {
        guard let folder = folderTable[name] else { throw .noSuchFolder(name) }
        return folder
    }

    private func message(in folder: String, uid: UInt32) throws(MailStoreError) -> StoredMessage {
        let stored = try existing(folder)
        guard let index = stored.index(of: uid) else { throw .noSuchMessage(uid: uid) }
        return stored.messages[index]
    }

    private func insert(
        _ bytes: [UInt8], into folder: String, flags: MessageFlags, internalDate: Date, parsed: ParsedMessage? = nil
    ) throws(MailStoreError) -> MessageSummary {
        var stored = try existing(folder)
        let structure: ParsedMessage
        if let parsed {
            structure = parsed
        } else {
            do {
                structure = try MessageParser.parse(bytes)
            } catch {
                throw .malformedMessage("\(error)")
            }
        }
        stored.highestModseq += 1
        let summary = MessageSummary(
            uid: stored.uidNext, modseq: stored.highestModseq, flags: flags, size: bytes.count,
            internalDate: Date(timeIntervalSince1970: internalDate.timeIntervalSince1970.rounded(.down)))
        stored.uidNext += 1
        stored.messages.append(StoredMessage(summary: summary, bytes: bytes, parsed: structure))
        folderTable[folder] = stored
        publish(.added(uid: summary.uid, modseq: summary.modseq), to: folder)
        return summary
    }

    private func publish(_ change: FolderChange, to folder: String) {
        for continuation in subscribers[folder]?.values ?? [:].values { continuation.yield(change) }
    }

    /// The store's own rules (`FolderNameRules`), so tests on this store see its refusals.
    static func check(_ name: String) throws(MailStoreError) {
        if let problem = FolderNameRules.problem(name) { throw .invalidFolderName(name, reason: problem) }
    }
}
