import MailvoxCore
import Synchronization

/// What the sessions of one server share, in memory only: the wire form of messages'
/// structures, and how far recent messages have been claimed.
final class SessionCaches: Sendable {
    let structures: EncodedStructures
    let recentClaims: RecentClaims

    init(structures: EncodedStructures = EncodedStructures(), recentClaims: RecentClaims = RecentClaims()) {
        self.structures = structures
        self.recentClaims = recentClaims
    }
}

/// How far each folder's `\Recent` messages have been claimed by this server's sessions.
/// When one delivery wakes every IDLE session of a mailbox, they all want to claim at once;
/// instead of each asking the store, the first claims and the others wait for its answer,
/// which tells them nothing is left (a folder's first recent UID only grows, so every UID
/// below the UIDNEXT a claim returned has been claimed by someone). A mark that is missing or
/// behind only sends a session to the store, which stays the authority.
final class RecentClaims: Sendable {
    struct Key: Hashable, Sendable {
        let mailbox: MailboxID
        let folder: String
        let uidValidity: UInt32
    }

    typealias Claim = Task<Result<Range<UInt32>, MailStoreError>, Never>

    /// Per folder, the UIDNEXT the latest claim returned.
    private let claimedBelow = BoundedCache<Key, UInt32>(capacity: 16_384)
    /// Per folder, the claim on its way to the store, if any.
    private let inFlight = Mutex<[Key: Claim]>([:])

    init() {}

    /// The UIDs this session now holds as recent: `claim`'s answer when this session went to the
    /// store, or an empty range when another session's claim, made after `newest` existed,
    /// already covered it. Without `newest` (SELECT), always `claim`'s answer.
    func claim(
        newest: UInt32?, mailbox: MailboxID, folder: String, uidValidity: UInt32,
        _ claim: @escaping @Sendable () async throws(MailStoreError) -> Range<UInt32>
    ) async throws(MailStoreError) -> Range<UInt32> {
        let key = Key(mailbox: mailbox, folder: folder, uidValidity: uidValidity)
        if let newest {
            let below = claimedBelow[key] ?? 0
            if newest < below { return below..<below }
            if let running = inFlight.withLock({ $0[key] }), case .success(let range) = await running.value,
                newest < range.upperBound
            {
                return range.upperBound..<range.upperBound
            }
        }
        let task = Claim {
            do throws(MailStoreError) { return .success(try await claim()) } catch { return .failure(error) }
        }
        inFlight.withLock { $0[key] = task }
        let result = await task.value
        inFlight.withLock { if $0[key] == task { $0[key] = nil } }
        let range = try result.get()
        // Not atomic with the read: a racing writer can leave a lower mark, which only sends a
        // later session to the store.
        if (claimedBelow[key] ?? 0) < range.upperBound { claimedBelow[key] = range.upperBound }
        return range
    }
}
