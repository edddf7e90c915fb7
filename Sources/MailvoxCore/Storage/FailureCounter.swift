import Foundation
import Synchronization

/// Counts authentication failures per key and says how long to make a client wait (`[auth]`).
///
/// Each key (say `mailbox|address` and `address`) counts its failures; a key is forgotten
/// `lockoutSeconds` after its last failure, or at once on a success. Up to `maxFailures` a
/// failure costs `baseDelay`; past it the key is locked and every further attempt — right
/// password or not — is refused after a delay that doubles per failure, capped at the
/// lockout. Keys are per address, so a wrong client never locks its user out elsewhere.
public final class FailureCounter: Sendable {
    private struct Entry {
        var failures: Int
        var last: Double
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

    /// The failures still counted against the worst of `keys`.
    public func failures(_ keys: [String], now: Double = Date().timeIntervalSince1970) -> Int {
        table.withLock { table in
            keys.map { key -> Int in
                guard let entry = table[key] else { return 0 }
                if now - entry.last >= lockoutSeconds {
                    table[key] = nil
                    return 0
                }
                return entry.failures
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
                var entry = table[key] ?? Entry(failures: 0, last: now)
                if now - entry.last >= lockoutSeconds { entry.failures = 0 }
                entry.failures += 1
                entry.last = now
                table[key] = entry
                return entry.failures
            }.max() ?? 0
        }
        return delay(afterFailures: worst)
    }

    /// Forgets `keys` (a success proves the client knows the secret).
    public func succeeded(_ keys: [String]) {
        table.withLock { table in for key in keys { table[key] = nil } }
    }

    /// `baseDelay` up to `maxFailures`, then doubling per failure, at most `lockoutSeconds`.
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > maxFailures else { return failures > 0 ? baseDelay : .zero }
        let doublings = min(failures - maxFailures, 30)
        let seconds = min(lockoutSeconds, Double(1 << doublings))
        return max(baseDelay, .milliseconds(Int64(seconds * 1000)))
    }
}
