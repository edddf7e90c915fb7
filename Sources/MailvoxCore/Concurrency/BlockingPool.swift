import Foundation

/// A fixed set of threads for blocking work (SQLite, fsync, scrypt, file reads): callers
/// await the result while neither Swift's cooperative pool nor a NIO event loop waits.
///
/// The pool is bounded on purpose. Dispatch's global queues grow a thread for every blocked
/// item, so a burst of slow calls (a disk that stalls, a thousand logins hashing scrypt at
/// once) would make hundreds of threads; here extra work waits in order for a free thread,
/// which is the back-pressure: an awaiting caller simply takes longer.
public final class BlockingPool: @unchecked Sendable {
    // Guarded by `condition`, which also wakes the threads: one lock for queue and wake-ups.
    private let condition = NSCondition()
    private var work: [@Sendable () -> Void] = []
    private var head = 0
    private var stopped = false
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

    /// Lets the threads end once the work already submitted is done (tests; the server's pools
    /// live as long as the process).
    public func shutdown() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func submit(_ item: @escaping @Sendable () -> Void) {
        condition.lock()
        work.append(item)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while head == work.count && !stopped { condition.wait() }
            guard head < work.count else {
                condition.unlock()
                return
            }
            let item = work[head]
            head += 1
            // Reclaim the consumed prefix now and then instead of shifting on every take.
            if head > 64 && head * 2 > work.count {
                work.removeFirst(head)
                head = 0
            }
            condition.unlock()
            item()
        }
    }
}
