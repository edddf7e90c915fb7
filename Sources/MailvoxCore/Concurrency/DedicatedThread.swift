import Foundation
import Synchronization

/// A long-running blocking loop (a deliver or notify worker, an SMTP dialogue) on a thread of
/// its own, awaited like an async call, so it never holds one of the cooperative pool's few
/// threads.
public enum DedicatedThread {
    /// How a thread's work ranks against the process's other threads.
    public enum Priority: Sendable {
        /// As every other thread.
        case normal
        /// Work a client is waiting on that must still yield to answering clients — taking an
        /// upload or an email at intake: half of `backgroundNice` (default 5). It outranks
        /// `background` (nobody waits for a transcode), so a burst of intake is not slowed by
        /// the deliveries of the intake before it, as a PBX or MTA would see in its latency.
        case intake
        /// Background work that must yield the CPU to answering clients: Linux per-thread nice
        /// `backgroundNice` (`[server] background_nice`, default 10).
        case background

        var nice: Int32 {
            switch self {
            case .normal: 0
            case .intake: (DedicatedThread.backgroundNice + 1) / 2
            case .background: DedicatedThread.backgroundNice
            }
        }
    }

    private static let configuredNice = Mutex<Int32>(10)

    /// The nice value of `.background` threads started from now on (0 = as every other thread).
    public static var backgroundNice: Int32 {
        get { configuredNice.withLock { $0 } }
        set { configuredNice.withLock { $0 = min(19, max(0, newValue)) } }
    }

    /// Runs `body` on a new thread named `name` and returns its result.
    public static func run<T: Sendable>(
        name: String, priority: Priority = .normal, _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                apply(priority)
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
            thread.name = name
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// On Linux a thread is a task with its own nice value: the scheduler then gives a nice-10
    /// thread about a tenth of the CPU a nice-0 thread gets while both want it (nice 19: about
    /// 1/70), and all of it when nothing else runs — transcoding keeps its throughput on an idle
    /// machine and stops delaying IMAP and HTTP answers on a busy one.
    static func apply(_ priority: Priority) {
        let nice = priority.nice
        guard nice > 0 else { return }
        #if os(Linux)
        // `who` 0 is the calling thread: Linux keeps nice per thread, not per process
        // (setpriority(2), BUGS), which is exactly what is wanted here.
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, nice)
        #endif
    }
}
