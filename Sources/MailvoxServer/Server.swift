import Foundation
import Logging
import MailvoxCore
import MailvoxHTTP
import MailvoxIMAP
import MailvoxNotify
import MailvoxPipeline
import MailvoxPostgres
import MailvoxQueue
import MailvoxSMTP
import MailvoxStore
import MailvoxTemplates
import MailvoxWeb
import Metrics
import ServiceLifecycle

/// `mailvox serve`: holds the data dir's serve lock and runs every service until SIGTERM or
/// SIGINT, then lets each finish its in-flight work.
///
/// The services: deliver and notify workers, the HTTP front door, the IMAP listeners, the
/// drop folder, housekeeping and readiness.
public struct Server: Sendable {
    public let context: Context
    let logger: Logger

    public init(context: Context, logger: Logger) {
        self.context = context
        self.logger = logger
    }

    public func run() async throws {
        let lock = try ServeLock.acquire(context.config.serveLockPath)
        // Before anything offloads: every SQLite, file and scrypt call of the sessions and
        // handlers shares this bounded pool.
        Offload.configure(threads: context.config.server.blockingThreads)
        DedicatedThread.backgroundNice = Int32(context.config.server.backgroundNice)
        // The one store of this process: its change feed is what IDLE sessions hear.
        let store = context.makeMessageStore(rememberingObjects: context.config.blobs.cacheMB << 20)
        store.announceInBackground()
        let report = try store.recover()
        logger.info(
            "spool checked",
            metadata: [
                "tombstones_replayed": "\(report.tombstonesReplayed)", "tmp_removed": "\(report.temporaryFilesRemoved)",
                "indexed": "\(report.indexed.count)", "problems": "\(report.problems.count)",
            ])
        for problem in report.problems { logger.warning("spool problem: \(problem)") }
        // Decoded audio a killed process left in scratch (the lock proves no server of this data
        // dir runs; a running `mailvox deposit` holds its own folder's lock and is spared).
        let scratchRemoved = Scratch.removeAbandoned(queueDir: context.config.queueDir)
        if scratchRemoved > 0 {
            logger.notice("removed \(scratchRemoved) scratch folders or files left by processes that stopped")
        }
        // One server per database: what is leased was leased by a server of this data dir that
        // stopped. A shared database's other leases belong to other nodes' live workers (a dead
        // node's run out): a node releases only its own earlier run's, named by its hostname
        // (docs/SCALE-OUT.md).
        let released = try context.jobQueue().releaseOrphanedLeases(
            ownerPrefix: context.config.storage.backend == .embedded ? "" : context.config.server.hostname + ":")
        if released > 0 {
            logger.notice("requeued \(released) jobs leased by a server that stopped without finishing them")
        }
        // A missing or broken template is a start-up error naming the file (docs/DESIGN.md §4).
        let templates = try VoicemailTemplates(searchPath: .standard(for: context.config))
        let nodeKey = try context.directory.nodeKey(master: context.requireMasterKey())
        let count =
            !context.config.server.runJobs
            ? 0
            : context.config.server.workers == 0
                ? ProcessInfo.processInfo.activeProcessorCount : context.config.server.workers
        let jobsWaiting = Nudge()
        // One value for the doors and the workers: a deposit taken here is delivered here
        // without reading it back from the bucket.
        let files = context.queueFiles.remembering()
        // A deposit through this server's own doors wakes its deliver workers at once.
        let wake: @Sendable () -> Void = { jobsWaiting.nudge() }
        // A delivery that queued alerts wakes this node's notify workers.
        let alertsWaiting = Nudge()
        var services: [any Service] = (0..<count).map { index in
            let worker = DeliverWorker(
                config: context.config, directory: context.directory, store: store, queue: context.jobQueue(),
                templates: templates, nodeKey: nodeKey, owner: "\(context.config.server.hostname):\(getpid()):\(index)",
                logger: logger, files: files, alertsQueued: { alertsWaiting.nudge() })
            // Polls so that a `mailvox deposit` from another process is picked up within a second;
            // on a shared database a new job's NOTIFY wakes the loop at once.
            return BlockingLoopService(
                name: "deliver-\(index)", priority: .background, interval: 0.25, logger: logger,
                nudge: jobsWaiting, makeWorker: { worker })
        }
        // An alert configuration that cannot work is said once at start; storing goes on, and
        // each alert records the same reason when it dead-letters.
        do {
            _ = try SMTPSettings(context.config)
            if context.config.sms.provider != .none { _ = try SMSGateway(context.config) }
        } catch {
            logger.error("alerts cannot be sent: \(error)")
        }
        // Notify workers on threads of their own: an SMTP dialogue blocks, and a relay that is
        // down must never hold up the deliver workers (docs/DESIGN.md §1). Normal priority: an
        // alert is mostly waiting on the network, and it should leave as soon as it can.
        for index in 0..<count {
            let config = context.config
            let directory = context.directory
            let queue = context.jobQueue()
            services.append(
                BlockingLoopService(
                    name: "notify-\(index)", priority: .normal, interval: 0.25, logger: logger,
                    nudge: alertsWaiting,
                    makeWorker: {
                        NotifyWorker(
                            config: config, directory: directory, store: store, queue: queue, nodeKey: nodeKey,
                            owner: "\(config.server.hostname):\(getpid()):notify-\(index)", logger: logger,
                            files: files)
                    }))
        }
        // Other nodes' changes reach this node's IDLE sessions and web pages (docs/SCALE-OUT.md).
        if context.config.storage.backend == .postgres {
            let listener = try PostgresListener(
                settings: try Backends.postgresSettings(context.config), channel: MessageStore.changeChannel,
                logger: logger)
            let logger = logger
            services.append(
                ListenerService {
                    await listener.run { event in
                        do {
                            switch event {
                            case .listening(let resumed):
                                if resumed {
                                    jobsWaiting.nudge()
                                    try await Offload.run { try store.resynchronize() }
                                }
                            case .notification(JobQueue.wakePayload):
                                jobsWaiting.nudge()
                            case .notification(let payload):
                                try await Offload.run { try store.heard(payload) }
                            }
                        } catch {
                            logger.warning("change feed: \(error)")
                        }
                    }
                })
        }
        let metrics = ServerMetrics(intake: context.intake(), queue: context.jobQueue())
        let imap = context.config.imap
        // One authenticator for IMAP and the web inbox: a password guessed at on one door
        // counts, and locks out, on the other too.
        let authenticator = DirectoryAuthenticator(
            directory: context.directory, store: store, limits: MessageLimits(maxBytes: imap.maxMessageBytes),
            auth: context.config.auth, quota: context.config.quota)
        let web =
            context.config.web.enabled
            ? try WebInbox(
                config: context.config, directory: context.directory, authenticator: authenticator, messages: store,
                logger: logger)
            : nil
        let frontDoor = FrontDoor(
            config: context.config, intake: context.intake(files: files, accepted: wake), directory: context.directory,
            metrics: { metrics.scrape() }, web: web, logger: logger)
        if let http = try frontDoor.application() { services.append(http) }
        if imap.listen != nil || imap.listenTLS != nil {
            let server = IMAPServer(
                configuration: IMAPServerConfiguration(context.config), authenticator: authenticator, logger: logger)
            services.append(ListenerService { try await server.run() })
        }
        let smtp = SMTPServer(
            configuration: SMTPServerConfiguration(context.config),
            backend: GatewayBackend(
                gateway: context.mailGateway(logger: logger, files: files, accepted: wake),
                directory: context.directory,
                auth: context.config.auth,
                logger: logger),
            logger: logger)
        if smtp.isEnabled { services.append(ListenerService { try await smtp.run() }) }
        if let dropDir = context.config.intake.dropDir {
            try FileManager.default.createDirectory(atPath: dropDir, withIntermediateDirectories: true)
            let folder = DropFolder(
                directory: dropDir, keepProcessed: context.config.intake.keepProcessed,
                intake: context.intake(files: files, accepted: wake),
                logger: logger)
            services.append(
                BlockingLoopService(
                    name: "drop-folder", priority: .background, interval: 1, logger: logger, makeWorker: { folder }))
        }
        services.append(
            MaintenanceService(
                queue: context.jobQueue(), retention: Double(context.config.queue.idempotencyDays) * 86_400,
                maintenance: Maintenance(context: context),
                sweeper: context.bucket.map { bucket in
                    let queue = context.jobQueue()
                    return OrphanSweeper(
                        store: store, bucket: bucket, pendingDeposits: { try queue.unfinishedDepositIDs() })
                }, logger: logger))
        services.append(ReadinessService(logger: logger, dataDir: context.config.server.dataDir))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        // What the last writes queued for the other nodes leaves before the process does.
        try await Offload.run { store.flushAnnouncements() }
        withExtendedLifetime(lock) {}
        logger.info("stopped")
    }
}

/// A blocking loop on a thread of its own until graceful shutdown: deliver workers, notify
/// workers and the drop folder each are one. `step` does one unit of work and says whether
/// there was any; with none the loop waits `interval`. A step that throws waits twice as long
/// each time, up to `maxBackoff` (a full disk or a locked database is not retried eight times a
/// second), and the first step that does work resets it. A step in progress runs to its end.
///
/// On a thread of its own so that transcoding, fsync and SQLite never hold one of the
/// cooperative pool's threads that IMAP sessions and HTTP handlers run on (issue #13's freeze);
/// at `.background` priority so that, on a busy machine, answering a client comes first.
struct BlockingLoopService: Service {
    let name: String
    let priority: DedicatedThread.Priority
    let interval: Double
    var maxBackoff = 30.0
    let logger: Logger
    /// What wakes the idle loop before `interval` is up (a new job announced by another node).
    var nudge: Nudge? = nil
    /// Makes the loop's worker on its thread (a notify worker holds a connection that must not
    /// cross threads); the worker's `step` and `idle` run only there.
    let makeWorker: @Sendable () -> any LoopWorker

    func run() async throws {
        let stop = StopSignal()
        let (name, interval, maxBackoff, logger, makeWorker, nudge) = (
            name, interval, maxBackoff, logger, makeWorker, nudge
        )
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await DedicatedThread.run(name: name, priority: priority) {
                let worker = makeWorker()
                var wait = interval
                while !stop.isSet {
                    do {
                        // Only work done resets the back-off: with two workers taking turns
                        // at one job that keeps failing, each also sees "nothing due".
                        if try worker.step() {
                            wait = interval
                            continue
                        }
                    } catch {
                        logger.error("\(name): \(error)", metadata: ["retry_in_s": "\(wait)"])
                        worker.idle()
                        stop.wait(seconds: wait)
                        wait = min(wait * 2, maxBackoff)
                        continue
                    }
                    worker.idle()
                    if let nudge { nudge.wait(seconds: interval) } else { stop.wait(seconds: interval) }
                }
                worker.idle()
            }
        } onCancelOrGracefulShutdown: {
            stop.set()
            nudge?.nudge()
        }
    }
}

/// What `BlockingLoopService` runs: blocking, on one thread.
protocol LoopWorker {
    /// One unit of work; false when there was none.
    func step() throws -> Bool
    /// Called when the loop is about to wait (close what should not stay open while idle).
    func idle()
}

extension DeliverWorker: LoopWorker {
    func step() throws -> Bool { try runOnce() }
    func idle() {}
}

extension NotifyWorker: LoopWorker {
    func step() throws -> Bool { try runOnce() }
    func idle() { closeIdleConnection() }
}

extension DropFolder: LoopWorker {
    func step() throws -> Bool {
        scan()
        return false
    }
    func idle() {}
}

/// A protocol's listeners (IMAP, SMTP/LMTP) until graceful shutdown; open sessions are then
/// cancelled (their store writes and deposits are each one transaction, so none is left
/// half-done).
struct ListenerService: Service {
    let serve: @Sendable () async throws -> Void

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await serve() }
        } catch is CancellationError {
            // Graceful shutdown cancels the listeners: that is how this service ends.
        }
    }
}

/// Wakes the threads waiting on it, each waiting at most its own `seconds`: a deliver loop's
/// idle wait, cut short when a new job is announced.
final class Nudge: @unchecked Sendable {
    private let condition = NSCondition()
    // Guarded by `condition`.
    private var generation = 0

    func nudge() {
        condition.lock()
        generation &+= 1
        condition.broadcast()
        condition.unlock()
    }

    func wait(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        let seen = generation
        while generation == seen && condition.wait(until: deadline) {}
        condition.unlock()
    }
}

/// A flag a thread can sleep on and another can raise.
final class StopSignal: Sendable {
    private let condition = NSCondition()
    private nonisolated(unsafe) var raised = false

    var isSet: Bool {
        condition.lock()
        defer { condition.unlock() }
        return raised
    }

    func set() {
        condition.lock()
        raised = true
        condition.broadcast()
        condition.unlock()
    }

    func wait(seconds: Double) {
        condition.lock()
        if !raised { _ = condition.wait(until: Date().addingTimeInterval(seconds)) }
        condition.unlock()
    }
}

/// Hourly housekeeping (the first pass five to six minutes after start): forgets deposit records
/// and idempotency keys past `idempotency_days`, applies the `[retention]` rules (folder aging,
/// then Recently Deleted's purge) and forgets audit entries past `[audit] days`, logged and
/// counted in `/metrics`
/// (`mailvox_retention_expunged_total{folder}`, `mailvox_retention_purged_total`, `mailvox_audit_purged_total`).
struct MaintenanceService: Service {
    let queue: JobQueue
    let retention: Double
    let maintenance: Maintenance
    /// With a bucket: objects nothing names, removed at the second pass that finds them.
    let sweeper: OrphanSweeper?
    let logger: Logger
    /// The first pass waits this long after start, and a minute's jitter more: a node that has
    /// just started serves its reconnecting clients first (after a restart every IMAP client
    /// comes back at once), and nodes started together do not sweep together. On ten million
    /// messages a pass reads for seconds while the pages are cold: run at start, it made the
    /// scale simulation's slowest rounds (a 59 ms SELECT where the median was 3 ms).
    static let firstPassDelay: Duration = .seconds(300)

    func run() async throws {
        let jitter = Duration.milliseconds(Int.random(in: 0..<60_000))
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: Self.firstPassDelay + jitter) }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let queue = self.queue
                let cutoff = Date().addingTimeInterval(-retention)
                let purged = try await Offload.run { try queue.purge(finishedBefore: cutoff) }
                if purged > 0 { logger.info("forgot \(purged) finished deposits past the retention") }
            } catch {
                logger.error("maintenance: \(error)")
            }
            do {
                let maintenance = self.maintenance
                let report = try await Offload.run { try maintenance.run(now: Date()) }
                for (folder, count) in report.retention.aged {
                    Counter(label: "mailvox_retention_expunged_total", dimensions: [("folder", folder)])
                        .increment(by: count)
                }
                Counter(label: "mailvox_retention_purged_total").increment(by: report.retention.purged)
                Counter(label: "mailvox_audit_purged_total").increment(by: report.auditPurged)
                if report.retention.purged > 0 || !report.retention.aged.isEmpty || !report.purgedMailboxes.isEmpty
                    || report.auditPurged > 0
                {
                    logger.info("\(report.summary)")
                }
            } catch {
                logger.error("retention: \(error)")
            }
            if let sweeper {
                do {
                    let report = try await Offload.run { try sweeper.sweep() }
                    Counter(label: "mailvox_orphans_removed_total").increment(by: report.removed.count)
                    if !report.removed.isEmpty || report.suspected > 0 {
                        logger.notice(
                            """
                            sweeper: removed \(report.removed.count) objects nothing names; \
                            \(report.suspected) more go at the next pass if still unnamed
                            """)
                    }
                } catch {
                    logger.error("sweeper: \(error)")
                }
            }
            // Cancelled by graceful shutdown, so stopping never waits out the hour.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

/// Says "ready" once every service is up, and waits for the signal to stop.
struct ReadinessService: Service {
    let logger: Logger
    let dataDir: String

    func run() async throws {
        logger.info("ready", metadata: ["data_dir": "\(dataDir)", "pid": "\(getpid())"])
        try? await gracefulShutdown()
        logger.info("stopping")
    }
}

/// Sets up swift-log for the process: one line per event on stderr, at the configured level.
public enum LogSetup {
    public static func bootstrap(level: Configuration.LogLevel) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level.rawValue) ?? .info
            return handler
        }
    }
}
