import Foundation
import MailvoxCore
import Testing

/// `FailureCounter`: attempts count while in flight, each key with its own limit, and the
/// check-then-record API the HTTP door uses still behaves as before.
@Suite struct FailureCounterTests {
    let counter = FailureCounter(maxFailures: 3, lockoutSeconds: 60, baseDelay: .seconds(1))
    let mailboxKey = FailureCounter.Key("1000|192.0.2.1", maxFailures: 3)
    let addressKey = FailureCounter.Key("192.0.2.1", maxFailures: 30)

    func admitted(_ admission: FailureCounter.Admission) -> FailureCounter.Attempt? {
        if case .admitted(let attempt) = admission { return attempt }
        return nil
    }

    /// Without counting attempts in flight, every parallel attempt passed the check before
    /// any failure was recorded.
    @Test func attemptsInFlightCountAgainstTheLimit() throws {
        let now = 1_000.0
        let keys = [mailboxKey, addressKey]
        let first = try #require(admitted(counter.begin(keys, now: now)))
        let second = try #require(admitted(counter.begin(keys, now: now)))
        let third = try #require(admitted(counter.begin(keys, now: now)))
        guard case .refused(let delay) = counter.begin(keys, now: now) else {
            Issue.record("a fourth attempt was let through with three in flight")
            return
        }
        #expect(delay > .seconds(1))
        // A success refunds its own charge and forgives the mailbox key…
        counter.succeeded(first, forgetting: [mailboxKey.name])
        #expect(counter.failures([mailboxKey.name], now: now) == 2, "the two still in flight count")
        // …the others finish as failures and stay counted until the lockout passes.
        #expect(counter.failed(second, now: now) == .seconds(1))
        #expect(counter.failed(third, now: now) == .seconds(1))
        #expect(counter.failures([mailboxKey.name], now: now + 59) == 2)
        #expect(counter.failures([mailboxKey.name], now: now + 61) == 0)
    }

    @Test func eachKeyHasItsOwnLimit() throws {
        let now = 1_000.0
        let other = FailureCounter.Key("1001|192.0.2.1", maxFailures: 3)
        for _ in 0..<3 {
            let attempt = try #require(admitted(counter.begin([mailboxKey, addressKey], now: now)))
            counter.failed(attempt, now: now)
        }
        guard case .refused = counter.begin([mailboxKey, addressKey], now: now) else {
            Issue.record("the (mailbox, address) key did not lock at its limit")
            return
        }
        // Refusing the locked mailbox checked nothing, so it is not charged to the address.
        #expect(counter.failures([addressKey.name], now: now) == 3)
        // The address alone is far from its limit: another mailbox there is still checked.
        let attempt = try #require(admitted(counter.begin([other, addressKey], now: now)))
        counter.succeeded(attempt, forgetting: [other.name])
        #expect(counter.failures([addressKey.name], now: now) == 3, "a success elsewhere does not forgive the address")
    }

    /// The HTTP door's calls: `isLocked`, then `failed` or `succeeded`.
    @Test func checkThenRecordStillLocksAndForgets() {
        let now = 1_000.0
        for _ in 0..<3 { counter.failed(["198.51.100.7"], now: now) }
        #expect(counter.isLocked(["198.51.100.7"], now: now))
        #expect(counter.failed(["198.51.100.7"], now: now) == .seconds(2))
        #expect(!counter.isLocked(["198.51.100.7"], now: now + 60))
        counter.failed(["203.0.113.9"], now: now)
        counter.succeeded(["203.0.113.9"])
        #expect(counter.failures(["203.0.113.9"], now: now) == 0)
    }
}
