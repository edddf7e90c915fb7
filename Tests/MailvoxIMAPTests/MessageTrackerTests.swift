import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

@Suite struct MessageTrackerTests {
    func summaries(_ uids: [UInt32]) -> [MessageSummary] {
        uids.map { MessageSummary(uid: $0, modseq: UInt64($0), flags: MessageFlags(), size: 10, internalDate: Date()) }
    }

    @Test func numbersFollowUIDs() throws {
        let tracker = MessageTracker(summaries([3, 7, 9]))
        #expect(tracker.sequenceNumber(of: 7) == 2)
        #expect(tracker.uid(at: 3) == 9)
        #expect(tracker.sequenceNumber(of: 8) == nil)
        let all = try tracker.resolve(SequenceSet.all, byUID: false)
        #expect(all.map(\.uid) == [3, 7, 9])
        let byUID = try tracker.resolve(SequenceSet([SequenceRange(.number(5), .last)])!, byUID: true)
        #expect(byUID.map(\.seq) == [2, 3])
        #expect(throws: MessageTracker.InvalidSequenceNumber.self) {
            try tracker.resolve(SequenceSet([SequenceRange(4)])!, byUID: false)
        }
        // RFC 3501 §6.4.8: a UID range past the last UID still includes the last message.
        #expect(try tracker.resolve(SequenceSet([SequenceRange(.number(100), .last)])!, byUID: true).map(\.uid) == [9])
    }

    /// RFC 3501 §2.3.2: recent is what the session claimed and can still see; RECENT is sent
    /// when that count changes, after EXISTS.
    @Test func recentIsTheVisiblePartOfWhatWasClaimed() {
        var tracker = MessageTracker(summaries([1, 2, 4]), recent: 2..<5)
        #expect(tracker.recentCount == 2)
        #expect(!tracker.isRecent(1) && tracker.isRecent(2) && !tracker.isRecent(3) && tracker.isRecent(4))
        #expect(tracker.recentCriterion == .uids([2...4]))
        // A new message the claim already covered needs no second claim.
        tracker.receive(.added(uid: 5, modseq: 5))
        #expect(tracker.newestAwaitingClaim != nil)
        tracker.holdRecent(5..<6)
        #expect(tracker.newestAwaitingClaim == nil)
        #expect(tracker.recentCriterion == .uids([2...5]))
        #expect(tracker.takeUpdates(allowExpunge: true, condStore: false) == [.exists(4), .recent(3)])
        // Another session claimed UID 6 first: this one holds nothing new, so only EXISTS.
        tracker.receive(.added(uid: 6, modseq: 6))
        tracker.holdRecent(7..<7)
        #expect(tracker.newestAwaitingClaim == nil)
        #expect(tracker.takeUpdates(allowExpunge: true, condStore: false) == [.exists(5)])
        #expect(!tracker.isRecent(6))
        // An expunged message leaves the recent set once its EXPUNGE is sent.
        tracker.receive(.expunged(uids: [4], modseq: 7))
        #expect(tracker.takeUpdates(allowExpunge: false, condStore: false) == [])
        #expect(tracker.takeUpdates(allowExpunge: true, condStore: false) == [.expunge(3), .recent(2)])
        #expect(!tracker.isRecent(4) && tracker.recentCount == 2)
        // Flag changes of recent messages carry \Recent.
        tracker.receive(.flags(uid: 5, flags: MessageFlags(system: .seen), modseq: 8))
        #expect(
            tracker.takeUpdates(allowExpunge: true, condStore: false) == [
                .fetch(sequenceNumber: 3, [.uid(5), .flags([.seen, .recent])])
            ])
        #expect(MessageTracker(summaries([1])).recentCriterion == .not(.all))
    }

    @Test func expungeWaitsUntilAllowed() {
        var tracker = MessageTracker(summaries([1, 2, 3]))
        tracker.receive(.expunged(uids: [2], modseq: 10))
        tracker.receive(.added(uid: 4, modseq: 11))
        // During FETCH: EXISTS may be sent, EXPUNGE not; the expunged message keeps its number.
        let during = tracker.takeUpdates(allowExpunge: false, condStore: false)
        #expect(during == [.exists(4)])
        #expect(tracker.sequenceNumber(of: 3) == 3)
        let after = tracker.takeUpdates(allowExpunge: true, condStore: false)
        #expect(after == [.expunge(2)])
        #expect(tracker.uids == [1, 3, 4])
    }

    @Test func expungesAreNumberedHighestFirst() {
        var tracker = MessageTracker(summaries([1, 2, 3, 4]))
        tracker.receive(.expunged(uids: [2, 3], modseq: 10))
        #expect(tracker.takeUpdates(allowExpunge: true, condStore: false) == [.expunge(3), .expunge(2)])
    }

    @Test func ownChangesAreNotEchoed() {
        var tracker = MessageTracker(summaries([1, 2]))
        tracker.noteModseq(20, of: 1)
        tracker.receive(.flags(uid: 1, flags: MessageFlags(system: .seen), modseq: 20))
        tracker.receive(.flags(uid: 2, flags: MessageFlags(system: .flagged), modseq: 21))
        tracker.receive(.added(uid: 2, modseq: 2))
        let updates = tracker.takeUpdates(allowExpunge: true, condStore: true)
        #expect(updates == [.fetch(sequenceNumber: 2, [.uid(2), .flags([.flagged]), .modSeq(21)])])
    }

    @Test func addedThenExpungedIsNeverSeen() {
        var tracker = MessageTracker(summaries([1]))
        tracker.receive(.added(uid: 2, modseq: 5))
        tracker.receive(.expunged(uids: [2], modseq: 6))
        #expect(tracker.takeUpdates(allowExpunge: true, condStore: false) == [])
    }
}
