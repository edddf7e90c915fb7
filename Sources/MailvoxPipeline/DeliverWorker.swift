import Foundation
import Logging
import MailvoxAudio
import MailvoxCore
import MailvoxCrypto
import MailvoxMIME
import MailvoxNotify
import MailvoxQueue
import MailvoxStore
import MailvoxTemplates
import Synchronization

/// Runs deliver jobs: open the sealed deposit, transcode, render, compose, seal and store,
/// enqueue the alerts, record the outcome, delete the sealed deposit — in that order, each
/// step safe to repeat, so a worker killed half-way is simply run again (docs/DESIGN.md §2).
public struct DeliverWorker: Sendable {
    let config: Configuration
    let directory: Directory
    let store: MessageStore
    let queue: JobQueue
    let files: QueueFiles
    let templates: VoicemailTemplates
    let nodeKey: OwnerKey
    let owner: String
    let logger: Logger
    let timings: DeliveryTimings?
    /// Told when a delivery has queued alerts, so this node's notify workers send them at once
    /// rather than at their next poll.
    let alertsQueued: @Sendable () -> Void
    /// Jobs whose failure could not be written (a full disk fails the database too): released
    /// as soon as the database takes writes again, not left leased until the lease runs out.
    let unreleased = UnreleasedJobs()
    /// How long a job may run before another worker may take it over.
    public static let leaseSeconds = 300.0

    public init(
        config: Configuration, directory: Directory, store: MessageStore, queue: JobQueue,
        templates: VoicemailTemplates, nodeKey: OwnerKey, owner: String, logger: Logger,
        timings: DeliveryTimings? = nil, files: QueueFiles? = nil, alertsQueued: @escaping @Sendable () -> Void = {}
    ) {
        self.timings = timings
        self.alertsQueued = alertsQueued
        self.files = files ?? QueueFiles(queueDir: config.queueDir)
        self.config = config
        self.directory = directory
        self.store = store
        self.queue = queue
        self.templates = templates
        self.nodeKey = nodeKey
        self.owner = owner
        self.logger = logger
    }

    /// Leases and runs one due deliver job; false when none was due. Throws when the queue
    /// cannot be read or written (the caller backs off).
    @discardableResult
    public func runOnce() throws -> Bool {
        try unreleased.releaseAll(in: queue)
        guard let job = try queue.lease(owner: owner, kinds: [.deliver], leaseSeconds: Self.leaseSeconds) else {
            return false
        }
        do {
            // `deliver` completes the job in the transaction that records the delivery.
            let uid = try deliver(job)
            try? files.remove(QueueFiles.deposit(job.depositID))
            logger.info(
                "delivered", metadata: ["deposit": "\(job.depositID)", "mailbox": "\(job.mailbox)", "uid": "\(uid)"])
        } catch {
            // A full disk or a bucket out of reach is not the job's fault: the job goes back
            // untouched (no attempt counted, so a voicemail can never dead-letter for it) and the
            // loop backs off.
            let diskFull = DiskSpace.isDiskFullError(error) || DiskSpace.isFull(config.queueDir)
            let bucketDown = (error as? BlobStoreError)?.isTemporary == true
            do {
                if diskFull || bucketDown { try queue.release(job) } else { try record(job, error: error) }
            } catch let recordError {
                unreleased.add(job)
                throw recordError
            }
            if diskFull {
                throw PipelineError.io(path: config.queueDir, reason: "no space left; deposit \(job.depositID) waits")
            }
            if bucketDown { throw error }
        }
        return true
    }

    /// Records why `job` failed: dead at once when waiting cannot help (a recording that cannot
    /// be used), else retried with backoff.
    private func record(_ job: Job, error: any Error) throws {
        let pipelineError = error as? PipelineError
        var permanent = false
        if case .audio(let audio) = pipelineError { permanent = audio.kind == .input }
        try record(job, error: error, code: pipelineError?.code?.rawValue, permanent: permanent)
    }

    private func record(_ job: Job, error: any Error, code: String?, permanent: Bool) throws {
        let message = (error as? any MailvoxFailure)?.description ?? "\(type(of: error))"
        let state = try queue.fail(job, reason: message, permanent: permanent)
        if state == .dead {
            try queue.setDeposit(job.depositID, status: .failed, code: code ?? "delivery_failed", message: message)
        }
        logger.warning(
            "deliver failed",
            metadata: ["deposit": "\(job.depositID)", "attempt": "\(job.attempts)", "state": "\(state)"])
    }

    func deliver(_ job: Job) throws -> UInt32 {
        var clock = StageClock(timings)
        let sealedName = QueueFiles.deposit(job.depositID)
        guard let sealed = try files.read(sealedName) else {
            // Stored before a crash that came before the sealed deposit's removal.
            if let record = try queue.deposit(id: job.depositID), record.status == .delivered, let uid = record.uid {
                try queue.complete(job)
                return uid
            }
            throw PipelineError.corruptDeposit("\(files.describe(sealedName)) is missing")
        }
        let (details, audio) = try DepositPayload.decode(try SealedFileReader(sealed: sealed, key: nodeKey).readAll())
        guard let mailboxID = MailboxID(details.mailbox) else { throw PipelineError.corruptDeposit("mailbox id") }
        let mailbox = try directory.requireMailbox(mailboxID)

        let scratch = try Scratch(queueDir: config.queueDir)
        let input = scratch.path("\(job.depositID).in.\(details.fileExtension.isEmpty ? "bin" : details.fileExtension)")
        let targets = config.audio.formats.map {
            TranscodeTarget($0, path: scratch.path("\(job.depositID).out.\($0.rawValue)"))
        }
        defer {
            unlink(input)
            for target in targets { unlink(target.path) }
        }
        guard FileManager.default.createFile(atPath: input, contents: audio, attributes: [.posixPermissions: 0o600])
        else {
            throw PipelineError.io(path: input, reason: "cannot write scratch file")
        }
        clock.lap(.open)
        let result: TranscodeResult
        do {
            result = try Transcoder.transcode(
                input: input, format: details.format.flatMap(RawFormat.init(rawValue:)), to: targets,
                options: TranscodeOptions(config.audio))
        } catch {
            throw PipelineError.audio(error)
        }
        clock.lap(.transcode)
        var parts: [VoiceMessage.Audio] = []
        for target in targets {
            guard let bytes = FileManager.default.contents(atPath: target.path) else {
                throw PipelineError.io(path: target.path, reason: "transcoder output missing")
            }
            parts.append(VoiceMessage.Audio(format: target.format, bytes: Array(bytes)))
        }

        let timeZone = TimeZone(identifier: mailbox.timeZone ?? config.server.defaultTimezone) ?? .gmt
        var context = TemplateContext(
            callerName: details.callerName, callerNumber: details.callerNumber, mailboxID: mailbox.id.rawValue,
            mailboxName: mailbox.name, receivedAt: details.receivedAt, timeZone: timeZone, language: mailbox.language,
            duration: result.duration, urgent: details.urgent, serverName: config.server.hostname,
            depositID: job.depositID)
        context.webURL = config.webLink(deposit: job.depositID)
        let rendered = templates.renderVoicemail(context)
        let message = VoiceMessage(
            depositID: job.depositID, hostname: config.server.hostname, ownerName: mailbox.name,
            ownerAddress: mailbox.emails.first?.rawValue, mailbox: mailbox.id, callerNumber: details.callerNumber,
            callerName: details.callerName, receivedAt: details.receivedAt, timeZone: timeZone,
            duration: result.duration,
            urgent: details.urgent, subject: rendered.subject, text: rendered.text, html: rendered.html, audio: parts)
        let composed = Data(VoiceMessageComposer.compose(message))
        clock.lap(.compose)
        let uid = try store.deliver(
            mailbox: mailbox.id, depositID: job.depositID, message: composed, internalDate: details.receivedAt)
        clock.lap(.store)

        // The alerts' own copy, sealed to the node key before any notify job exists, so a
        // notify job never finds its copy missing and never needs the owner's key.
        // A department's members who opted in are alerted too, each address once.
        let recipients = try directory.alertAddresses(of: mailbox)
        let smsNumbers = config.sms.provider != .none ? recipients.sms : []
        if !recipients.emails.isEmpty || !smsNumbers.isEmpty {
            var alert = message
            var alertContext = context
            if let percent = try quotaWarning(mailbox.id) {
                // The stored message stays as it is; only this alert says the mailbox is nearly full.
                alertContext.quotaPercent = percent
                (alert.subject, alert.text, alert.html) = templates.renderVoicemail(alertContext)
            }
            try writeAlertCopy(
                message: alert, mailbox: mailbox, context: alertContext, attachAudio: mailbox.attachAudio)
        }
        // One notify job per recipient (docs/DESIGN.md §7), which NotifyWorker runs; recorded with the
        // delivered deposit and the finished job in one transaction.
        let alerts: [(channel: AlertChannel, recipient: String)] =
            recipients.emails.map { (.email, $0.rawValue) } + smsNumbers.map { (.sms, $0.rawValue) }
        try queue.completeDelivery(job, uid: uid, notify: alerts)
        if !alerts.isEmpty { alertsQueued() }
        clock.lap(.finish)
        logger.debug("delivery stages", metadata: ["deposit": "\(job.depositID)", "ms": "\(clock.wallMilliseconds)"])
        return uid
    }

    /// The share of the fuller limit in use when this delivery took the mailbox past `[quota]
    /// warn_percent` and the owner has not been warned since it last was below; nil otherwise.
    /// Below the level the warning is armed again, so each crossing warns once.
    func quotaWarning(_ id: MailboxID) throws -> Int? {
        let quota = try directory.quota(of: id, defaults: config.quota)
        guard quota.limits.isLimited else { return nil }
        let percent = quota.limits.percentUsed(quota.usage)
        guard percent >= config.quota.warnPercent else {
            _ = try directory.setQuotaWarned(id, false)
            return nil
        }
        return try directory.setQuotaWarned(id, true) ? percent : nil
    }

    /// The voice message rewritten for delivery (docs/DESIGN.md §7): From is `[smtp] from` with the
    /// caller in the display name, the audio attached unless the mailbox says not to; sealed
    /// with the webhook's facts and the rendered SMS text to the node key.
    func writeAlertCopy(message: VoiceMessage, mailbox: Mailbox, context: TemplateContext, attachAudio: Bool) throws {
        guard let sender = SenderAddress(config.smtp.from) else {
            throw PipelineError.io(path: config.file, reason: "smtp.from is not an address")
        }
        var alert = message
        let number = message.callerLocalPart
        let name = message.callerName?.trimmingCharacters(in: .whitespaces)
        alert.alertSender = VoiceMessage.Sender(
            displayName: sender.displayName(callerName: name, callerNumber: number), address: sender.address)
        if !attachAudio { alert.audio = [] }
        let details = AlertDetails(
            mailbox: mailbox.id.rawValue, depositID: message.depositID, callerNumber: number,
            callerName: name?.isEmpty == false ? name : nil, receivedAt: message.receivedAt,
            durationSeconds: max(0, Int(message.duration.rounded())), smsText: templates.render(.sms, context))
        try AlertCopy.write(
            details, mail: VoiceMessageComposer.compose(alert), files: files,
            nodePublicKey: try directory.nodePublicKey())
    }
}

/// Jobs a worker leased but could not hand back; shared by its loop's steps.
final class UnreleasedJobs: Sendable {
    private let jobs = Mutex<[Job]>([])

    func add(_ job: Job) { jobs.withLock { $0.append(job) } }

    /// Hands every job back to the queue, stopping at the first that still cannot be written.
    func releaseAll(in queue: JobQueue) throws {
        while let job = jobs.withLock({ $0.first }) {
            try queue.release(job)
            jobs.withLock { _ = $0.removeFirst() }
        }
    }
}
