import Foundation
import Logging
import MailvoxCore
import MailvoxCrypto
import MailvoxNotify
import MailvoxQueue
import MailvoxStore

/// Runs notify jobs: one alert per job (deposit + channel + recipient), read from the alert
/// copy sealed to the node key, sent through the SMTP relay or the SMS gateway (MailvoxNotify),
/// then recorded — sent, retrying with backoff, or dead at once when the failure is permanent.
///
/// Blocking and not thread-safe: each worker runs on a thread of its own and keeps its SMTP
/// connection open across a burst. Deliver workers never wait for it, so a relay that is down
/// delays alerts, never storage (docs/DESIGN.md §1).
public final class NotifyWorker {
    let config: Configuration
    let directory: Directory
    let store: MessageStore
    let queue: JobQueue
    let files: QueueFiles
    let nodeKey: OwnerKey
    let owner: String
    let logger: Logger
    let sender: SenderAddress
    let smtp: SMTPSender?
    let sms: SMSGateway?
    /// Why email alerts cannot be sent at all (unreadable password file), if so.
    let smtpProblem: NotifyError?
    let smsProblem: NotifyError?
    /// How long a notify job may run before another worker may take it over.
    public static let leaseSeconds = 180.0

    public init(
        config: Configuration, directory: Directory, store: MessageStore, queue: JobQueue, nodeKey: OwnerKey,
        owner: String, logger: Logger, files: QueueFiles? = nil
    ) {
        self.config = config
        self.directory = directory
        self.store = store
        self.queue = queue
        self.files = files ?? QueueFiles(queueDir: config.queueDir)
        self.nodeKey = nodeKey
        self.owner = owner
        self.logger = logger
        sender =
            SenderAddress(config.smtp.from) ?? SenderAddress(displayName: "Voicemail", address: "voicemail@localhost")
        do {
            smtp = SMTPSender(settings: try SMTPSettings(config))
            smtpProblem = nil
        } catch {
            smtp = nil
            smtpProblem = error
        }
        if config.sms.provider == .none {
            sms = nil
            smsProblem = .configuration("sms.provider is \"none\"")
        } else {
            do {
                sms = try SMSGateway(config)
                smsProblem = nil
            } catch {
                sms = nil
                smsProblem = error
            }
        }
    }

    /// Leases and runs one due notify job; false when none was due.
    @discardableResult
    public func runOnce() throws -> Bool {
        guard let job = try queue.lease(owner: owner, kinds: [.notify], leaseSeconds: Self.leaseSeconds) else {
            return false
        }
        guard let channel = job.channel else {
            // The queue refuses a notify row without a channel (`JobQueue.job`); kept whole all the same.
            try queue.fail(job, reason: "notify job without an alert channel", permanent: true)
            return true
        }
        do {
            try send(job, on: channel)
            try queue.complete(job)
            try queue.recordAlert(
                mailbox: job.mailbox, channel: channel, recipient: job.recipient, depositID: job.depositID,
                outcome: .sent, attempts: job.attempts, detail: nil)
            logger.info(
                "alert sent",
                metadata: ["deposit": "\(job.depositID)", "mailbox": "\(job.mailbox)", "channel": "\(channel)"])
            if channel == .email { try deleteAfterEmailIfDue(job) }
        } catch {
            let failure = error as? NotifyError ?? .alertCopy("\(error)")
            let state = try queue.fail(job, reason: failure.description, permanent: failure.isPermanent)
            try queue.recordAlert(
                mailbox: job.mailbox, channel: channel, recipient: job.recipient, depositID: job.depositID,
                outcome: state == .dead ? .failed : .retrying, attempts: job.attempts, detail: failure.description)
            logger.warning(
                "alert failed",
                metadata: [
                    "deposit": "\(job.depositID)", "mailbox": "\(job.mailbox)", "channel": "\(channel)",
                    "attempt": "\(job.attempts)", "state": "\(state)", "reason": "\(failure.description)",
                ])
        }
        if try queue.pendingNotifyJobs(depositID: job.depositID) == 0 {
            try? files.remove(QueueFiles.alertCopy(job.depositID))
        }
        return true
    }

    /// Closes an SMTP connection left open by the last burst (called when no job is due).
    public func closeIdleConnection() {
        smtp?.close()
    }

    func send(_ job: Job, on channel: AlertChannel) throws {
        let details: AlertDetails
        let mail: [UInt8]
        do {
            (details, mail) = try AlertCopy.read(files: files, depositID: job.depositID, nodeKey: nodeKey)
        } catch let error as BlobStoreError where error.isTemporary {
            // The bucket is out of reach: the copy is there, the alert waits and is tried again.
            throw NotifyError.alertCopy(error.description)
        } catch {
            // Gone for good: a retry cannot bring it back.
            throw NotifyError.configuration("alert copy of deposit \(job.depositID) is missing or unreadable")
        }
        switch channel {
        case .email:
            guard let smtp else { throw smtpProblem ?? .configuration("no SMTP relay") }
            let outcomes = try smtp.send(from: sender.address, to: [job.recipient], message: mail)
            if case .rejected(let error) = outcomes.first { throw error }
        case .sms:
            guard let sms else { throw smsProblem ?? .configuration("no SMS gateway") }
            try sms.send(
                SMSAlert(
                    to: job.recipient, text: details.smsText, mailbox: details.mailbox, depositID: details.depositID,
                    callerNumber: details.callerNumber, callerName: details.callerName,
                    receivedAt: details.receivedAt, durationSeconds: details.durationSeconds),
                smtp: smtp)
        }
    }

    /// `delete_after_email` (docs/DESIGN.md §5.6, §7): once every email recipient accepted the alert,
    /// the stored message goes through the store's normal expunge path.
    func deleteAfterEmailIfDue(_ job: Job) throws {
        let id = job.mailbox
        guard let mailbox = try directory.mailbox(id), mailbox.deleteAfterEmail else { return }
        let states = try queue.notifyJobStates(depositID: job.depositID, channel: .email)
        guard !states.isEmpty, states.allSatisfy({ $0 == .done }) else { return }
        guard let uid = try queue.deposit(id: job.depositID)?.uid else { return }
        let removed = try store.expunge(mailbox: id, folder: "INBOX", uids: [uid], deletedBy: "delete_after_email")
        if !removed.isEmpty {
            logger.info("expunged after email (delete_after_email)", metadata: ["deposit": "\(job.depositID)"])
        }
    }
}
