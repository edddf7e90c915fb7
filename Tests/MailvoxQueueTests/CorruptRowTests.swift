import Foundation
import GRDB
import MailvoxCore
import MailvoxQueue
import Testing

extension QueueFixture {
    /// Runs `sql` as a hand edit or another version's code would: with the CHECK constraints and
    /// foreign keys that would refuse most of these rows switched off for the statement.
    func corrupt(_ sql: String) throws {
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA ignore_check_constraints = OFF; PRAGMA foreign_keys = ON") }
            try db.execute(sql: sql)
        }
    }

    func jobID(deposit: String, kind: Job.Kind = .deliver) throws -> Int64 {
        try #require(
            try database.read { db in
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
        #expect(throws: expected) { try fixture.queue.notifyJobStates(depositID: "d1", channel: "email") }
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

    @Test func anAlertResultWithAnUnknownOutcomeIsNamed() throws {
        let fixture = try QueueFixture()
        _ = try fixture.accept("d1")
        try fixture.queue.recordAlert(
            mailbox: "1000", channel: "email", recipient: "a@example.com", depositID: "d1", outcome: .sent,
            attempts: 1, detail: nil)
        try fixture.corrupt("UPDATE alert_result SET outcome = 'bounced\nlevel=error'")
        let expected = QueueError.corruptRow(
            table: "alert_result", id: "(1000, email, a@example.com)", column: "outcome", value: "bounced\nlevel=error")
        #expect(throws: expected) { try fixture.queue.alertResults(mailbox: fixture.mailbox) }
        #expect(!expected.description.contains("\n"), "one line: \(expected.description)")
    }
}
