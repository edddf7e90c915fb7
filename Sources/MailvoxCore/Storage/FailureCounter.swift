import Foundation
import Synchronization

/// Counts authentication failures per key and says how long to make a client wait (`[auth]`).
///
/// Each key (say `mailbox|address` and `address`) counts its failures; a key is forgotten
/// `lockoutSeconds` after its last failure, or at once on a success. Up to its limit a
/// failure costs `baseDelay`; past it the key is locked and every further attempt — right
/// password or not — is refused after a delay that doubles per failure, capped at the
/// lockout. Keys are per address, so a wrong client never locks its user out elsewhere.
///
/// Two ways to use it:
/// - `begin(_:)` … `succeeded(_:forgetting:)` / `failed(_:)`: an attempt counts as a failure
///   from the moment it starts and is refunded on success, so attempts sent in parallel
///   cannot all be checked before the first failure is counted (a guesser opening 40
///   connections at once gets `maxFailures` checks, not 40). Each key may have its own limit.
/// - `isLocked(_:)` … `succeeded(_:)` / `failed(_:)`: check, then record. Only for checks that
///   cannot be raced usefully (a 256-bit bearer token), since parallel checks all pass
///   `isLocked` before any failure is recorded.
public final class FailureCounter: Sendable {
    private struct Entry {
        /// Finished failures (and refused attempts), counted until the lockout passes.
        var failures: Int
        /// Attempts begun and not yet finished: counted against the limit while in flight.
        var pending: Int
        var last: Double

        var counted: Int { failures + pending }
    }

    /// One key and the number of failures (in flight or finished) it may have before it is locked.
    public struct Key: Sendable, Hashable {
        public var name: String
        public var maxFailures: Int

        public init(_ name: String, maxFailures: Int) {
            self.name = name
            self.maxFailures = maxFailures
        }
    }

    /// An attempt admitted by `begin`: already counted as a failure against each of its keys
    /// until `succeeded(_:forgetting:)` refunds it or `failed(_:)` makes it final. Finish it
    /// exactly once.
    public struct Attempt: Sendable {
        public let keys: [Key]
    }

    /// What `begin` decided.
    public enum Admission: Sendable {
        /// Check the secret, then finish the attempt.
        case admitted(Attempt)
        /// A key is locked: refuse without checking, after `delay`.
        case refused(delay: Duration)
    }

    private let table = Mutex<[String: Entry]>([:])
    public let maxFailures: Int
    public let lockoutSeconds: Double
    public let baseDelay: Duration

    public init(maxFailures: Int, lockoutSeconds: Double, baseDelay: Duration = .seconds(1)) {
        self.maxFailures = maxFailures
        self.lockoutSeconds = lockoutSeconds
        self.baseDelay = baseDelay
    }

    // MARK: - Attempts counted while in flight

    /// Starts an attempt: refused when any key already has `maxFailures` attempts failed or
    /// in flight; otherwise counted against every key at once (in one critical section, so
    /// no two parallel attempts can both take the last slot).
    ///
    /// A refused attempt extends the lockout of the keys that are locked — only those: a
    /// client hammering one locked mailbox checks no password, so it is not charged to the
    /// address's other mailboxes (an office behind one NAT).
    public func begin(_ keys: [Key], now: Double = Date().timeIntervalSince1970) -> Admission {
        table.withLock { table -> Admission in
            var entries = keys.map { key in Self.current(table[key.name], now: now, lockout: lockoutSeconds) }
            let locked = keys.indices.filter { entries[$0].counted >= keys[$0].maxFailures }
            if !locked.isEmpty {
                var delay = Duration.zero
                for index in locked {
                    entries[index].failures += 1
                    entries[index].last = now
                    table[keys[index].name] = entries[index]
                    delay = max(
                        delay, self.delay(afterFailures: entries[index].counted, limit: keys[index].maxFailures))
                }
                return .refused(delay: delay)
            }
            for index in keys.indices {
                entries[index].pending += 1
                entries[index].last = now
                table[keys[index].name] = entries[index]
            }
            return .admitted(Attempt(keys: keys))
        }
    }

    /// Finishes `attempt` as a failure; returns the delay to apply before answering.
    @discardableResult
    public func failed(_ attempt: Attempt, now: Double = Date().timeIntervalSince1970) -> Duration {
        table.withLock { table -> Duration in
            var delay = Duration.zero
            for key in attempt.keys {
                var entry = Self.current(table[key.name], now: now, lockout: lockoutSeconds)
                entry.pending = max(0, entry.pending - 1)
                entry.failures += 1
                entry.last = now
                table[key.name] = entry
                delay = max(delay, self.delay(afterFailures: entry.counted, limit: key.maxFailures))
            }
            return delay
        }
    }

    /// Finishes `attempt` as a success: refunds its charge on every key and forgets the
    /// failures of the keys named in `forgetting` (a success proves the client knows the
    /// secret for those). Other attempts still in flight stay counted.
    public func succeeded(_ attempt: Attempt, forgetting: Set<String>) {
        table.withLock { table in
            for key in attempt.keys {
                guard var entry = table[key.name] else { continue }
                entry.pending = max(0, entry.pending - 1)
                if forgetting.contains(key.name) { entry.failures = 0 }
                table[key.name] = entry.counted == 0 ? nil : entry
            }
        }
    }

    // MARK: - Check, then record

    /// The failures (finished and in flight) still counted against the worst of `keys`.
    public func failures(_ keys: [String], now: Double = Date().timeIntervalSince1970) -> Int {
        table.withLock { table in
            keys.map { key -> Int in
                guard let entry = table[key] else { return 0 }
                let current = Self.current(entry, now: now, lockout: lockoutSeconds)
                if current.counted == 0 { table[key] = nil }
                return current.counted
            }.max() ?? 0
        }
    }

    /// Whether the worst of `keys` is past `maxFailures`: attempts are refused unchecked.
    public func isLocked(_ keys: [String], now: Double = Date().timeIntervalSince1970) -> Bool {
        failures(keys, now: now) >= maxFailures
    }

    /// Records a failure against every key; returns the delay to apply before answering.
    @discardableResult
    public func failed(_ keys: [String], now: Double = Date().timeIntervalSince1970) -> Duration {
        let worst = table.withLock { table in
            keys.map { key -> Int in
                var entry = Self.current(table[key], now: now, lockout: lockoutSeconds)
                entry.failures += 1
                entry.last = now
                table[key] = entry
                return entry.counted
            }.max() ?? 0
        }
        return delay(afterFailures: worst)
    }

    /// Forgets the finished failures of `keys` (a success proves the client knows the secret).
    public func succeeded(_ keys: [String]) {
        table.withLock { table in
            for key in keys {
                guard var entry = table[key] else { continue }
                entry.failures = 0
                table[key] = entry.pending == 0 ? nil : entry
            }
        }
    }

    // MARK: - Delays

    /// `baseDelay` up to `maxFailures`, then doubling per failure, at most `lockoutSeconds`.
    public func delay(afterFailures failures: Int) -> Duration {
        delay(afterFailures: failures, limit: maxFailures)
    }

    /// `baseDelay` up to `limit`, then doubling per failure, at most `lockoutSeconds`.
    public func delay(afterFailures failures: Int, limit: Int) -> Duration {
        guard failures > limit else { return failures > 0 ? baseDelay : .zero }
        let doublings = min(failures - limit, 30)
        let seconds = min(lockoutSeconds, Double(1 << doublings))
        return max(baseDelay, .milliseconds(Int64(seconds * 1000)))
    }

    /// `entry` as of `now`: its finished failures dropped once the lockout has passed since
    /// the last one (attempts in flight always count).
    private static func current(_ entry: Entry?, now: Double, lockout: Double) -> Entry {
        guard var entry else { return Entry(failures: 0, pending: 0, last: now) }
        if now - entry.last >= lockout { entry.failures = 0 }
        return entry
    }
}
