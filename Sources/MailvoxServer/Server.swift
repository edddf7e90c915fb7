import Foundation
import Logging
import MailvoxCore
import MailvoxHTTP
import MailvoxIMAP
import MailvoxPipeline
import MailvoxQueue
import MailvoxStore
import MailvoxTemplates
import ServiceLifecycle

/// `mailvox serve`: holds the data dir's serve lock and runs every service until SIGTERM or
/// SIGINT, then lets each finish its in-flight work.
///
/// The services themselves (IMAP, HTTP, workers, drop folder) join as their issues land; the
/// lifecycle, the lock and readiness are in place now.
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
        let metrics = ServerMetrics(intake: context.intake())
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
