import Foundation
import MailvoxCore
import Synchronization
import Testing

/// `BlockingPool`: never more work at once than it has threads, every item run once, in order
/// of submission per thread, errors handed back to the caller.
@Suite struct BlockingPoolTests {
    final class Gauge: Sendable {
        let state = Mutex((running: 0, most: 0, done: 0))
        func enter() {
            state.withLock {
                $0.running += 1; $0.most = max($0.most, $0.running)
            }
        }
        func leave() {
            state.withLock {
                $0.running -= 1; $0.done += 1
            }
        }
    }

    struct Refused: Error, Equatable { var value: Int }

    @Test func runsEveryItemWithAtMostItsThreadsAtOnce() async throws {
        let pool = BlockingPool(threads: 3, name: "test-bounded")
        defer { pool.shutdown() }
        let gauge = Gauge()
        let results = await withTaskGroup(of: Int.self) { group in
            for value in 0..<40 {
                group.addTask {
                    await pool.run {
                        gauge.enter()
                        usleep(5_000)  // blocking, as SQLite or fsync would be
                        gauge.leave()
                        return value * 2
                    }
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == (0..<40).map { $0 * 2 })
        let state = gauge.state.withLock { $0 }
        #expect(state.done == 40)
        #expect(state.most <= 3, "ran \(state.most) items at once on 3 threads")
        #expect(state.most >= 2, "the threads never overlapped: the pool ran serially")
    }

    @Test func handsErrorsBack() async {
        let pool = BlockingPool(threads: 1, name: "test-errors")
        defer { pool.shutdown() }
        await #expect(throws: Refused(value: 7)) {
            try await pool.run { () throws(Refused) -> Int in throw Refused(value: 7) }
        }
        #expect(await pool.run { 5 } == 5)
    }
}
