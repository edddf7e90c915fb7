import Foundation
import Synchronization

/// A fixed set of threads for blocking work (SQLite, fsync, scrypt, file reads): callers
/// await the result while neither Swift's cooperative pool nor a NIO event loop waits.
///
/// The pool is bounded on purpose. Dispatch's global queues grow a thread for every blocked
/// item, so a burst of slow calls (a disk that stalls, a thousand logins hashing scrypt at
/// once) would make hundreds of threads; here extra work waits in order for a free thread,
/// which is the back-pressure: an awaiting caller simply takes longer.
public final class BlockingPool: Sendable {
    private struct State {
        var work: [@Sendable () -> Void] = []
        var head = 0
        var stopped = false

        mutating func next() -> (@Sendable () -> Void)? {
            guard head < work.count else { return nil }
            let item = work[head]
            head += 1
            // Reclaim the consumed prefix now and then instead of shifting on every take.
            if head > 64 && head * 2 > work.count {
                work.removeFirst(head)
                head = 0
            }
            return item
        }
    }

    private let state = Mutex(State())
    private let wakeup = NSCondition()
    /// How many threads serve the pool.
    public let threadCount: Int

    /// Starts `threads` threads named `name`, at `priority`.
    public init(threads: Int, name: String, priority: DedicatedThread.Priority = .normal) {
        threadCount = max(1, threads)
        for index in 0..<threadCount {
            let thread = Thread { [self] in
                DedicatedThread.apply(priority)
                self.serve()
            }
            thread.name = "\(name)-\(index)"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Runs `work` on one of the pool's threads and returns its result.
    public func run<T: Sendable, E: Error>(_ work: @escaping @Sendable () throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: Result { () throws(E) -> T in try work() }) }
        }
        return try result.get()
    }

    /// Items waiting for a thread (for metrics).
    public var queued: Int { state.withLock { $0.work.count - $0.head } }

    /// Lets the threads end once the work already submitted is done (tests; the server's pool lives as long as
    /// the process).
    public func shutdown() {
        state.withLock { $0.stopped = true }
        wakeup.lock()
        wakeup.broadcast()
        wakeup.unlock()
    }

    private func submit(_ item: @escaping @Sendable () -> Void) {
        state.withLock { $0.work.append(item) }
        wakeup.lock()
        wakeup.signal()
        wakeup.unlock()
    }

    private func serve() {
        while true {
            wakeup.lock()
            var item = state.withLock { $0.next() }
            while item == nil {
                if state.withLock({ $0.stopped }) {
                    wakeup.unlock()
                    return
                }
                wakeup.wait()
                item = state.withLock { $0.next() }
            }
            wakeup.unlock()
            item?()
        }
    }
}
