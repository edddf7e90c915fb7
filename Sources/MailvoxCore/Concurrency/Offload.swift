import Foundation
import Synchronization

/// Runs blocking work (SQLite, fsync, scrypt, file reads) on the process's `BlockingPool`, so
/// neither an event loop nor Swift's small cooperative pool waits on it.
public enum Offload {
    private static let configured = Mutex<Int?>(nil)

    /// Sets the size of the shared pool; call once at start, before the first `run` (later calls
    /// change nothing). Without it the pool has `defaultThreads`.
    public static func configure(threads: Int) {
        configured.withLock { if $0 == nil { $0 = threads > 0 ? threads : defaultThreads } }
    }

    /// Four per core, at least eight: enough that SQLite reads are not stuck behind a few
    /// scrypt checks, few enough that a burst cannot make hundreds of threads.
    public static var defaultThreads: Int { max(8, 4 * ProcessInfo.processInfo.activeProcessorCount) }

    /// The shared pool (created on first use with the configured size).
    public static let pool: BlockingPool = {
        let threads = configured.withLock { value in
            if value == nil { value = defaultThreads }
            return value!
        }
        return BlockingPool(threads: threads, name: "mailvox-blocking")
    }()

    /// For calls a client waits on: a SQLite read or write, a file, a password check.
    public static func run<T: Sendable, E: Error>(
        _ work: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        try await pool.run(work)
    }

    /// Threads at intake priority for CPU-heavy work whose caller can wait a little (an
    /// upload's or an email's parsing, probe and sealing): a burst of forty uploads then shares
    /// the CPU with the event loops instead of taking it from them, and never occupies the
    /// threads short calls need — yet it outranks transcoding, which nobody waits on. As many
    /// as the shared pool: intake also waits on fsync, and one thread per core would queue
    /// uploads behind each other's disk flushes (deposits/s fell by 40 %).
    public static let bulkPool = BlockingPool(
        threads: pool.threadCount, name: "mailvox-bulk", priority: .intake)

    /// Runs `work` on `bulkPool`.
    public static func bulk<T: Sendable, E: Error>(
        _ work: @escaping @Sendable () throws(E) -> T
    ) async throws(E) -> T {
        try await bulkPool.run(work)
    }
}
