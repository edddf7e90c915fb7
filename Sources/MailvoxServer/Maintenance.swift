import Foundation
import MailvoxCore
import MailvoxPipeline
import MailvoxQueue
import MailvoxStore

/// Deletes a mailbox for good: its rows (folders, messages, deposits and jobs go with the
/// mailbox row), then its spool, then the sealed queue files of its deposits. Rows first: a
/// crash in between leaves only files of a mailbox that no longer exists, never rows without
/// files. `mailbox remove --purge-now` and the purge of a removed mailbox after `[retention]
/// deleted_days` both come here.
public struct MailboxPurger: Sendable {
    let directory: Directory
    let store: MessageStore
    let queue: JobQueue
    let files: QueueFiles

    public init(context: Context) {
        directory = context.directory
        store = context.makeMessageStore()
        queue = context.jobQueue()
        files = context.queueFiles
    }

    /// Returns how many messages went with it.
    @discardableResult
    public func purge(_ id: MailboxID) throws -> Int {
        let messages = try store.messageCounts(mailbox: id).reduce(0) { $0 + $1.messages }
        let deposits = try queue.depositIDs(mailbox: id)
        try directory.removeMailbox(id)
        try store.removeSpool(of: id)
        // Queued deposits' rows went with the mailbox; their sealed files (and the alert copies
        // of deposits whose alerts were still pending) go now.
        for deposit in deposits {
            try files.remove(QueueFiles.deposit(deposit))
            try files.remove(QueueFiles.alertCopy(deposit))
        }
        return messages
    }
}

/// What the maintenance service does every hour and `mailvox maintenance` once: the `[retention]`
/// rules (docs/OPERATIONS.md), then the purge of mailboxes removed more than `deleted_days` ago,
/// then of audit log entries older than `[audit] days`. A mailbox on hold is skipped by all of it.
public struct Maintenance: Sendable {
    public let rules: Retention
    public let auditDays: Int
    let purger: MailboxPurger
    let directory: Directory

    public init(context: Context) {
        rules = Retention(config: context.config.retention, store: context.makeMessageStore())
        auditDays = context.config.audit.days
        purger = MailboxPurger(context: context)
        directory = context.directory
    }

    public struct Report: Sendable {
        public var retention: Retention.Report
        public var purgedMailboxes: [MailboxID] = []
        /// Audit log entries deleted for being older than `[audit] days`.
        public var auditPurged = 0

        public var summary: String {
            retention.summary
                + (purgedMailboxes.isEmpty
                    ? ""
                    : "; purged removed mailbox\(purgedMailboxes.count == 1 ? "" : "es") "
                        + purgedMailboxes.map(\.rawValue).joined(separator: ", "))
                + "; audit: purged \(auditPurged) entr\(auditPurged == 1 ? "y" : "ies")"
        }
    }

    public func run(now: Date = Date()) throws -> Report {
        var report = Report(retention: try rules.run(now: now))
        let cutoff = now.addingTimeInterval(-Double(rules.config.deletedDays) * 86_400)
        for id in try directory.removedMailboxes(before: cutoff) {
            try purger.purge(id)
            report.purgedMailboxes.append(id)
        }
        report.auditPurged = try rules.store.purgeAudit(before: now.addingTimeInterval(-Double(auditDays) * 86_400))
        return report
    }
}
