import Foundation
import GRDB
import MailvoxCore
import MailvoxQueue
import Testing

extension QueueFixture {
    /// The SQLite pool of a `.sqlite` fixture: these tests edit rows as only SQLite lets them.
    var sqlite: DatabasePool { pool! }

    /// Runs `sql` as a hand edit or another version's code would: with the CHECK constraints and
    /// foreign keys that would refuse most of these rows switched off for the statement.
    func corrupt(_ sql: String) throws {
        try sqlite.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA ignore_check_constraints = OFF; PRAGMA foreign_keys = ON") }
            try db.execute(sql: sql)
        }
    }

    func jobID(deposit: String, kind: Job.Kind = .deliver) throws -> Int64 {
        try #require(
            try sqlite.read { db in
                try Int64.fetchOne(
                    db, sql: "SELECT id FROM job WHERE deposit_id = ? AND kind = ?",
                    arguments: [deposit, kind.rawValue])
            })
    }
}

/// A row holding a value no case or check accepts is named (table, row, column, value), never
/// read as some default: `?? .deliver` ran an unknown kind as a delivery.
@Suite struct CorruptRowTests {
    @Test func aJobOfAnUnknownKindIsNamedNotReadAsADelivery() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        let id = try fixture.jobID(deposit: "d1")
        try fixture.corrupt("UPDATE job SET kind = 'fax' WHERE id = \(id)")
        let expected = QueueError.corruptRow(table: "job", id: "\(id)", column: "kind", value: "fax")
        #expect(throws: expected) { try fixture.queue.jobs() }
        #expect(throws: expected) { try fixture.queue.job(id: id) }
        #expect(expected.kind == .runtime)
        #expect(
            expected.description
                == "the queue's job row \(id) has kind \"fax\", which this version cannot read; "
                + "`mailvox queue drop \(id)` removes it")
        // No worker of this version takes it, and the administrator can still remove it.
        #expect(try fixture.queue.lease(owner: "w", kinds: [.deliver, .notify], leaseSeconds: 60) == nil)
        let dropped = try fixture.queue.drop(id: id)
        #expect(dropped.kind == nil)
        #expect(dropped.depositID == "d1")
        #expect(try fixture.queue.jobs().isEmpty)
    }

    @Test func aJobInAnUnknownStateIsNamed() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        _ = try fixture.accept("d2")
        let id = try fixture.jobID(deposit: "d1")
        try fixture.corrupt("UPDATE job SET state = 'paused' WHERE id = \(id)")
        let expected = QueueError.corruptRow(table: "job", id: "\(id)", column: "state", value: "paused")
        #expect(throws: expected) { try fixture.queue.job(id: id) }
        try fixture.corrupt(
            "UPDATE job SET kind = 'notify', channel = 'email', recipient = 'a@example.com' WHERE id = \(id)")
        #expect(throws: expected) { try fixture.queue.notifyJobStates(depositID: "d1", channel: .email) }
        // The other deposit's job is untouched by it.
        #expect(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60)?.depositID == "d2")
    }

    @Test func aDepositInAnUnknownStatusIsNamed() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        try fixture.corrupt("UPDATE deposit SET status = 'lost' WHERE id = 'd1'")
        #expect(throws: QueueError.corruptRow(table: "deposit", id: "d1", column: "status", value: "lost")) {
            try fixture.queue.deposit(id: "d1")
        }
    }

    /// A mailbox id names a spool directory: one that breaks `MailboxID`'s rules is never carried on.
    @Test func aDepositWithABadMailboxIDIsNamedAndItsDeliverJobDeadLettered() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        _ = try fixture.accept("d2")
        let bad = try fixture.jobID(deposit: "d1")
        try fixture.corrupt("UPDATE deposit SET mailbox_id = '../etc' WHERE id = 'd1'")
        let error = QueueError.corruptRow(table: "deposit", id: "d1", column: "mailbox_id", value: "../etc")
        #expect(throws: error) { try fixture.queue.deposit(id: "d1") }
        #expect(throws: error) { try fixture.queue.job(id: bad) }
        let taken = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        #expect(taken.depositID == "d2")
        #expect(taken.mailbox == fixture.mailbox)
        let state = try fixture.sqlite.read { db in
            try String.fetchOne(db, sql: "SELECT state || ' ' || last_error FROM job WHERE id = ?", arguments: [bad])
        }
        #expect(state == "dead " + error.description)
        let status = try fixture.sqlite.read { db in
            try String.fetchOne(db, sql: "SELECT status FROM deposit WHERE id = 'd1'")
        }
        #expect(status == "failed")
    }

    @Test func anAlertResultWithAnUnknownOutcomeIsNamed() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        try fixture.queue.recordAlert(
            mailbox: fixture.mailbox, channel: .email, recipient: "a@example.com", depositID: "d1", outcome: .sent,
            attempts: 1, detail: nil)
        try fixture.corrupt("UPDATE alert_result SET outcome = 'bounced\nlevel=error'")
        let expected = QueueError.corruptRow(
            table: "alert_result", id: "(1000, email, a@example.com)", column: "outcome", value: "bounced\nlevel=error")
        #expect(throws: expected) { try fixture.queue.alertResults(mailbox: fixture.mailbox) }
        #expect(!expected.description.contains("\n"), "one line: \(expected.description)")
    }

    @Test func anAlertResultOnAnUnknownChannelIsNamed() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        try fixture.queue.recordAlert(
            mailbox: fixture.mailbox, channel: .sms, recipient: "+4930123456", depositID: "d1", outcome: .sent,
            attempts: 1,
            detail: nil)
        try fixture.corrupt("UPDATE alert_result SET channel = 'fax'")
        #expect(
            throws: QueueError.corruptRow(
                table: "alert_result", id: "(1000, fax, +4930123456)", column: "channel", value: "fax")
        ) { try fixture.queue.alertResults(mailbox: fixture.mailbox) }
        #expect(
            throws: QueueError.corruptRow(table: "alert_result", id: "(*, fax, *)", column: "channel", value: "fax")
        ) {
            try fixture.queue.alertOutcomeCounts()
        }
    }

    /// A notify job without a channel, or a deliver job with one, is no row this code wrote.
    @Test func aJobsChannelMustFitItsKind() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        let id = try fixture.jobID(deposit: "d1")
        try fixture.corrupt("UPDATE job SET channel = 'email' WHERE id = \(id)")
        #expect(throws: QueueError.corruptRow(table: "job", id: "\(id)", column: "channel", value: "email")) {
            try fixture.queue.job(id: id)
        }
        try fixture.corrupt("UPDATE job SET kind = 'notify', channel = '' WHERE id = \(id)")
        #expect(throws: QueueError.corruptRow(table: "job", id: "\(id)", column: "channel", value: "")) {
            try fixture.queue.job(id: id)
        }
    }

    /// One unreadable due job must not stop the queue: thrown from `lease`, it would roll back and
    /// come first again at every poll. It is dead-lettered with the reason and the next job taken.
    @Test func leaseDeadLettersANotifyJobItCannotReadAndTakesTheNext() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        let deliver = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        try fixture.queue.completeDelivery(
            deliver, uid: 1, notify: [(.email, "desk@example.com"), (.sms, "+4930123456")])
        let bad = try fixture.jobID(deposit: "d1", kind: .notify)  // the first, email
        try fixture.corrupt("UPDATE job SET channel = 'fax' WHERE id = \(bad)")

        let taken = try #require(try fixture.queue.lease(owner: "n", kinds: [.notify], leaseSeconds: 60))
        #expect(taken.channel == .sms)
        let error = QueueError.corruptRow(table: "job", id: "\(bad)", column: "channel", value: "fax")
        let row = try #require(
            try fixture.sqlite.read { db in
                try Row.fetchOne(
                    db, sql: "SELECT state, last_error, lease_owner FROM job WHERE id = ?", arguments: [bad])
            })
        #expect(row["state"] as String == "dead")
        #expect(row["last_error"] as String? == error.description)
        #expect(row["lease_owner"] as String? == nil)
        // Its deposit was delivered: only a deliver job's death fails the deposit.
        #expect(try fixture.queue.deposit(id: "d1")?.status == .delivered)
        // Nothing else is due, and asking again neither throws nor brings it back.
        #expect(try fixture.queue.lease(owner: "n", kinds: [.notify], leaseSeconds: 60) == nil)
        // `queue list --dead` names it; `queue drop` removes it.
        #expect(throws: error) { try fixture.queue.jobs(dead: true) }
        #expect(try fixture.queue.drop(id: bad).kind == .notify)
        #expect(try fixture.queue.jobs(dead: true).isEmpty)
    }

    @Test func leaseDeadLettersADeliverJobItCannotReadAndFailsItsDeposit() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        _ = try fixture.accept("d2")
        let bad = try fixture.jobID(deposit: "d1")
        try fixture.corrupt("UPDATE job SET channel = 'sms' WHERE id = \(bad)")
        let taken = try #require(try fixture.queue.lease(owner: "w", kinds: [.deliver], leaseSeconds: 60))
        #expect(taken.depositID == "d2")
        let record = try #require(try fixture.queue.deposit(id: "d1"))
        #expect(record.status == .failed)
        #expect(record.errorCode == "delivery_failed")
        #expect(record.errorMessage == "the queue cannot read this deposit's job")
        #expect(try fixture.queue.deposit(id: "d2")?.status == .queued)
    }

    /// `queue list --json` showed a deliver job's channel as "", what the table stores; nil in
    /// Swift must not change that, nor what is written.
    @Test func aDeliverJobStillStoresAndShowsAnEmptyChannel() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        try fixture.queue.enqueue(kind: .notify, depositID: "d1", channel: .sms, recipient: "+4930123456")
        let stored = try fixture.sqlite.read { db in
            try String.fetchAll(db, sql: "SELECT channel FROM job ORDER BY id")
        }
        #expect(stored == ["", "sms"])
        let jobs = try fixture.queue.jobs()
        #expect(jobs.map(\.channel) == [nil, .sms])
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(jobs), as: UTF8.self)
        #expect(json.contains(#""channel":"","deposit_id":"d1""#), "\(json)")
        #expect(json.contains(#""channel":"sms""#), "\(json)")
        #expect(try JSONDecoder().decode([Job].self, from: try JSONEncoder().encode(jobs)) == jobs)
    }
}
