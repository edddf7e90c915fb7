import MailvoxCore
import MailvoxIMAPCore

/// One session's message sequence numbers for the selected folder (RFC 3501 §2.3.1.2) and the
/// changes from the store's feed it has not yet told the client about.
///
/// Sequence numbers change only when the client is told: a new message becomes visible with
/// `EXISTS`, an expunged one disappears with `EXPUNGE`, and only where §7.4.1 allows it (never
/// while answering FETCH, STORE or SEARCH). Until then an expunged message keeps its number.
///
/// It also holds the session's `\Recent` messages (RFC 3501 §2.3.2): the UID ranges the
/// session claimed from the store. A message counts as recent while it is visible and inside
/// one of them, so an expunged message leaves the recent set when its EXPUNGE is sent.
struct MessageTracker: Sendable, Equatable {
    /// Visible messages, ascending by UID: their UIDs and the modseq the client last learned.
    private(set) var uids: [UInt32]
    private var modseqs: [UInt64]
    private var pendingAdded: [UInt32: UInt64] = [:]
    private var pendingExpunged: Set<UInt32> = []
    private var pendingFlags: [UInt32: (flags: MessageFlags, modseq: UInt64)] = [:]
    /// Claimed recent UIDs: ascending, disjoint, adjacent claims merged.
    private var recentRanges: [Range<UInt32>] = []
    /// Every UID below this was looked at by a claim (this session's or, through it, another's):
    /// a new message below it needs no claim.
    private var claimedThrough: UInt32 = 0
    /// The RECENT count the client was last told.
    private var reportedRecent = 0
    /// The UIDs `SEARCH RETURN (SAVE)` kept as `$` (RFC 5182), ascending; it dies with the
    /// selection, and an expunged UID no longer resolves.
    var savedResult: [UInt32] = []

    /// `recent`: the UIDs SELECT claimed (or EXAMINE found unclaimed); their visible count is
    /// what SELECT reports as RECENT.
    init(_ messages: [MessageSummary], recent: Range<UInt32> = 0..<0) {
        let sorted = messages.sorted { $0.uid < $1.uid }
        uids = sorted.map(\.uid)
        modseqs = sorted.map(\.modseq)
        holdRecent(recent)
        reportedRecent = recentCount
    }

    static func == (lhs: MessageTracker, rhs: MessageTracker) -> Bool {
        lhs.uids == rhs.uids && lhs.modseqs == rhs.modseqs && lhs.pendingAdded == rhs.pendingAdded
            && lhs.pendingExpunged == rhs.pendingExpunged && lhs.recentRanges == rhs.recentRanges
    }

    // MARK: Recent

    /// Takes in UIDs claimed from the store as this session's recent messages.
    mutating func holdRecent(_ claimed: Range<UInt32>) {
        claimedThrough = max(claimedThrough, claimed.upperBound)
        guard !claimed.isEmpty else { return }
        if let last = recentRanges.last, last.upperBound >= claimed.lowerBound {
            recentRanges[recentRanges.count - 1] =
                min(last.lowerBound, claimed.lowerBound)..<max(last.upperBound, claimed.upperBound)
        } else {
            recentRanges.append(claimed)
            recentRanges.sort { $0.lowerBound < $1.lowerBound }
        }
    }

    /// Lets go of every recent message without telling the client (IMAP4rev2 has no `\Recent`).
    mutating func forgetRecent() {
        recentRanges = []
        reportedRecent = 0
    }

    /// The highest new UID waiting to be announced that no claim has looked at yet, if any: the
    /// session must claim before it sends EXISTS, so the message can be recent here.
    var newestAwaitingClaim: UInt32? { pendingAdded.keys.filter { $0 >= claimedThrough }.max() }

    /// Whether the session holds `uid` as recent (FETCH FLAGS shows `\Recent`).
    func isRecent(_ uid: UInt32) -> Bool {
        sequenceNumber(of: uid) != nil && recentRanges.contains { $0.contains(uid) }
    }

    /// Visible messages the session holds as recent: the number RECENT reports.
    var recentCount: Int {
        recentRanges.reduce(0) { $0 + firstIndex(atLeast: $1.upperBound) - firstIndex(atLeast: $1.lowerBound) }
    }

    /// The recent UIDs as SEARCH's criterion (RECENT, NEW, OLD): session state the store cannot know.
    var recentCriterion: SearchCriterion {
        let ranges = recentRanges.map { $0.lowerBound...($0.upperBound - 1) }
        return ranges.isEmpty ? .not(.all) : .uids(ranges)
    }

    /// The index of the first visible UID at least `uid`.
    private func firstIndex(atLeast uid: UInt32) -> Int {
        var low = 0
        var high = uids.count
        while low < high {
            let mid = (low + high) / 2
            if uids[mid] < uid { low = mid + 1 } else { high = mid }
        }
        return low
    }

    var count: Int { uids.count }

    /// Whether anything is waiting to be told.
    var hasPendingUpdates: Bool {
        !pendingAdded.isEmpty || !pendingExpunged.isEmpty || !pendingFlags.isEmpty
    }

    /// The sequence number of `uid`, if visible.
    func sequenceNumber(of uid: UInt32) -> UInt32? {
        let index = firstIndex(atLeast: uid)
        return index < uids.count && uids[index] == uid ? UInt32(index + 1) : nil
    }

    func uid(at sequenceNumber: UInt32) -> UInt32? {
        guard sequenceNumber >= 1, Int(sequenceNumber) <= uids.count else { return nil }
        return uids[Int(sequenceNumber) - 1]
    }

    func modseq(of uid: UInt32) -> UInt64? {
        sequenceNumber(of: uid).map { modseqs[Int($0) - 1] }
    }

    /// Whether `uid` is known to be expunged but not yet reported.
    func isExpungePending(_ uid: UInt32) -> Bool { pendingExpunged.contains(uid) }

    /// A sequence number outside 1…count (other than `*`) in a message set.
    struct InvalidSequenceNumber: Error, Equatable {}

    /// The visible messages `set` names, ascending, as (sequence number, UID).
    func resolve(_ set: SequenceSet, byUID: Bool) throws(InvalidSequenceNumber) -> [(seq: UInt32, uid: UInt32)] {
        // RFC 5182 §2.1: `$` names the same messages in UID and sequence-number commands.
        if set.isSavedResult { return savedResult.compactMap { uid in sequenceNumber(of: uid).map { ($0, uid) } } }
        if byUID {
            guard let last = uids.last else { return [] }
            let ranges = set.ranges.map { $0.resolved(last: last) }
            var result: [(UInt32, UInt32)] = []
            for (index, uid) in uids.enumerated() where ranges.contains(where: { $0.contains(uid) }) {
                result.append((UInt32(index + 1), uid))
            }
            return result
        }
        let count = UInt32(uids.count)
        var wanted = Set<UInt32>()
        for range in set.ranges {
            let resolved = range.resolved(last: count)
            // RFC 3501 §9: a number beyond the mailbox is an error, except through `*`.
            guard resolved.lowerBound >= 1, resolved.upperBound <= count else { throw InvalidSequenceNumber() }
            if resolved.count > uids.count { return uids.enumerated().map { (UInt32($0.offset + 1), $0.element) } }
            wanted.formUnion(resolved)
        }
        return wanted.sorted().map { ($0, uids[Int($0) - 1]) }
    }

    // MARK: Changes

    /// Takes in one change from the store's feed; what the session already knows is ignored.
    mutating func receive(_ change: FolderChange) {
        switch change {
        case .added(let uid, let modseq):
            guard sequenceNumber(of: uid) == nil, uid > (uids.last ?? 0) else { return }
            pendingAdded[uid] = modseq
        case .flags(let uid, let flags, let modseq):
            if let seq = sequenceNumber(of: uid) {
                guard modseq > modseqs[Int(seq) - 1], !pendingExpunged.contains(uid) else { return }
            } else if pendingAdded[uid] == nil {
                return
            }
            if let pending = pendingFlags[uid], pending.modseq >= modseq { return }
            pendingFlags[uid] = (flags, modseq)
        case .expunged(let removed, _):
            for uid in removed {
                if pendingAdded.removeValue(forKey: uid) != nil {
                    pendingFlags[uid] = nil
                } else if sequenceNumber(of: uid) != nil {
                    pendingExpunged.insert(uid)
                    pendingFlags[uid] = nil
                }
            }
        }
    }

    /// The untagged responses that bring the client up to date: EXPUNGE (only when
    /// `allowExpunge`), EXISTS, RECENT when its count changed (RFC 3501 §7.3.2), then FETCH
    /// FLAGS (with UID, and MODSEQ under CONDSTORE).
    /// With `vanished` (QRESYNC enabled) the expunges are one `VANISHED uids` instead of an
    /// EXPUNGE each (RFC 7162 §3.2.10).
    mutating func takeUpdates(allowExpunge: Bool, condStore: Bool, vanished: Bool = false) -> [UntaggedResponse] {
        var responses: [UntaggedResponse] = []
        if allowExpunge && !pendingExpunged.isEmpty {
            responses += remove(Array(pendingExpunged), vanished: vanished)
        }
        if !pendingAdded.isEmpty {
            for (uid, modseq) in pendingAdded.sorted(by: { $0.key < $1.key }) where uid > (uids.last ?? 0) {
                uids.append(uid)
                modseqs.append(modseq)
            }
            pendingAdded = [:]
            responses.append(.exists(uids.count))
        }
        let recent = recentCount
        if recent != reportedRecent {
            reportedRecent = recent
            responses.append(.recent(recent))
        }
        for (uid, update) in pendingFlags.sorted(by: { $0.key < $1.key }) {
            guard let seq = sequenceNumber(of: uid) else { continue }
            guard !pendingExpunged.contains(uid) else { continue }
            modseqs[Int(seq) - 1] = max(modseqs[Int(seq) - 1], update.modseq)
            var items: [FetchItem] = [.uid(uid), .flags(Flag.list(update.flags, recent: isRecent(uid)))]
            if condStore { items.append(.modSeq(update.modseq)) }
            responses.append(.fetch(sequenceNumber: seq, items))
        }
        pendingFlags = [:]
        return responses
    }

    /// Records flags this session changed itself (STORE, FETCH setting \Seen), so the feed's
    /// echo of that change is not sent again.
    mutating func noteModseq(_ modseq: UInt64, of uid: UInt32) {
        guard let seq = sequenceNumber(of: uid) else { return }
        modseqs[Int(seq) - 1] = max(modseqs[Int(seq) - 1], modseq)
        if let pending = pendingFlags[uid], pending.modseq <= modseq { pendingFlags[uid] = nil }
    }

    /// Removes expunged messages (this session's own, or pending ones being reported); returns
    /// the EXPUNGE responses in the order to send them — highest first, so every number is right
    /// when it is sent — or, with `vanished`, one VANISHED naming their UIDs.
    mutating func remove(_ removed: [UInt32], vanished: Bool = false) -> [UntaggedResponse] {
        var responses: [UntaggedResponse] = []
        var gone: [UInt32] = []
        for uid in removed.sorted(by: >) {
            pendingExpunged.remove(uid)
            pendingFlags[uid] = nil
            guard let seq = sequenceNumber(of: uid) else { continue }
            uids.remove(at: Int(seq) - 1)
            modseqs.remove(at: Int(seq) - 1)
            gone.append(uid)
            if !vanished { responses.append(.expunge(seq)) }
        }
        if vanished, let set = SequenceSet(numbers: gone) { responses.append(.vanished(earlier: false, set)) }
        return responses
    }
}
