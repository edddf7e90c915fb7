import Foundation
import Logging
import MailvoxCore
import MailvoxHTTP
import MailvoxIMAP
import MailvoxNotify
import MailvoxPipeline
import MailvoxQueue
import MailvoxStore
import MailvoxTemplates
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
        let report = try context.messageStore().recover()
        logger.info(
            "spool checked",
            metadata: [
                "tombstones_replayed": "\(report.tombstonesReplayed)", "tmp_removed": "\(report.temporaryFilesRemoved)",
                "indexed": "\(report.indexed.count)", "problems": "\(report.problems.count)",
            ])
        for problem in report.problems { logger.warning("spool problem: \(problem)") }
        let released = try context.jobQueue().releaseOrphanedLeases()
        if released > 0 {
            logger.notice("requeued \(released) jobs leased by a server that stopped without finishing them")
        }
        // A missing or broken template is a start-up error naming the file (DESIGN.md §4).
        let templates = try VoicemailTemplates(searchPath: .standard(for: context.config))
        let store = context.messageStore()
        let nodeKey = try context.directory.nodeKey(master: context.requireMasterKey())
        let count =
            context.config.server.workers == 0
            ? ProcessInfo.processInfo.activeProcessorCount : context.config.server.workers
        var services: [any Service] = (0..<count).map { index in
            WorkerService(
                worker: DeliverWorker(
                    config: context.config, directory: context.directory, store: store, queue: context.jobQueue(),
                    templates: templates, nodeKey: nodeKey,
                    owner: "\(context.config.server.hostname):\(getpid()):\(index)",
                    logger: logger),
                logger: logger)
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
        // down must never hold up the deliver workers (DESIGN.md §1).
        for index in 0..<count {
            let config = context.config
            let directory = context.directory
            let queue = context.jobQueue()
            services.append(
                NotifyService(
                    makeWorker: {
                        NotifyWorker(
                            config: config, directory: directory, store: store, queue: queue, nodeKey: nodeKey,
                            owner: "\(config.server.hostname):\(getpid()):notify-\(index)", logger: logger)
                    }, logger: logger))
        }
        let metrics = ServerMetrics(intake: context.intake(), queue: context.jobQueue())
        let frontDoor = FrontDoor(
            config: context.config, intake: context.intake(), directory: context.directory,
            metrics: { metrics.scrape() }, logger: logger)
        if let http = try frontDoor.application() { services.append(http) }
        let imap = context.config.imap
        if imap.listen != nil || imap.listenTLS != nil {
            let authenticator = DirectoryAuthenticator(
                directory: context.directory, store: store, limits: MessageLimits(maxBytes: imap.maxMessageBytes),
                auth: context.config.auth)
            services.append(
                IMAPService(
                    server: IMAPServer(
                        configuration: IMAPServerConfiguration(context.config), authenticator: authenticator,
                        logger: logger)))
        }
        if let dropDir = context.config.intake.dropDir {
            try FileManager.default.createDirectory(atPath: dropDir, withIntermediateDirectories: true)
            services.append(
                DropFolderService(
                    folder: DropFolder(
                        directory: dropDir, keepProcessed: context.config.intake.keepProcessed,
                        intake: context.intake(),
                        logger: logger)))
        }
        services.append(
            MaintenanceService(
                queue: context.jobQueue(), retention: Double(context.config.queue.idempotencyDays) * 86_400,
                logger: logger))
        services.append(ReadinessService(logger: logger, dataDir: context.config.server.dataDir))
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        withExtendedLifetime(lock) {}
        logger.info("stopped")
    }
}

/// One deliver worker: polls for due jobs (so a `mailvox deposit` from another process is
/// picked up within a second) until graceful shutdown; a job in progress runs to its end.
struct WorkerService: Service {
    let worker: DeliverWorker
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if try worker.runOnce() { continue }
            } catch {
                logger.error("worker: \(error)")
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}

/// One notify worker on a dedicated thread: polls for due notify jobs every 250 ms until
/// graceful shutdown; an alert in progress runs to its end. Its SMTP connection stays open
/// while jobs keep coming and is closed when the queue runs dry.
struct NotifyService: Service {
    let makeWorker: @Sendable () -> NotifyWorker
    let logger: Logger

    func run() async throws {
        let stop = StopSignal()
        let logger = self.logger
        let makeWorker = self.makeWorker
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await onOwnThread {
                let worker = makeWorker()
                while !stop.isSet {
                    do {
                        if try worker.runOnce() { continue }
                    } catch {
                        logger.error("notify worker: \(error)")
                    }
                    worker.closeIdleConnection()
                    stop.wait(seconds: 0.25)
                }
                worker.closeIdleConnection()
            }
        } onCancelOrGracefulShutdown: {
            stop.set()
        }
    }
}

/// The IMAP listeners until graceful shutdown; open sessions are then cancelled (their
/// store writes are each one transaction, so none is left half-done).
struct IMAPService: Service {
    let server: IMAPServer

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await server.run() }
        } catch is CancellationError {
            // Graceful shutdown cancels the listeners: that is how this service ends.
        }
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

/// Hourly housekeeping: forgets deposit records and idempotency keys past `idempotency_days`.
struct MaintenanceService: Service {
    let queue: JobQueue
    let retention: Double
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let purged = try queue.purge(finishedBefore: Date().addingTimeInterval(-retention))
                if purged > 0 { logger.info("forgot \(purged) finished deposits past the retention") }
            } catch {
                logger.error("maintenance: \(error)")
            }
            // Cancelled by graceful shutdown, so stopping never waits out the hour.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
        }
    }
}

/// Scans the drop folder once a second until graceful shutdown.
struct DropFolderService: Service {
    let folder: DropFolder

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            folder.scan()
            try? await Task.sleep(for: .seconds(1))
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
