import Foundation
import MailvoxCore
import Testing

@testable import MailvoxIMAP

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
