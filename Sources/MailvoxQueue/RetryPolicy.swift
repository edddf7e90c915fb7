import Foundation
import MailvoxCore

/// When to try a failed job again: exponential backoff with jitter, capped; dead after N.
public struct RetryPolicy: Sendable, Equatable {
    public var maxAttempts: Int
    public var initialSeconds: Double
    public var maxSeconds: Double

    public init(maxAttempts: Int, initialSeconds: Double, maxSeconds: Double) {
        self.maxAttempts = maxAttempts
        self.initialSeconds = initialSeconds
        self.maxSeconds = maxSeconds
    }

    public init(_ queue: MailvoxCore.Configuration.Queue) {
        self.init(
            maxAttempts: queue.maxAttempts, initialSeconds: Double(queue.backoffInitialSeconds),
            maxSeconds: Double(queue.backoffMaxSeconds))
    }

    /// The delay before attempt `attempts + 1`: initial × 2^(attempts−1), capped, then scaled
    /// by a random factor in [0.5, 1] so that jobs failing together do not retry together.
    public func delay(afterAttempt attempts: Int, jitter: Double = Double.random(in: 0.5...1)) -> Double {
        let exponent = min(max(attempts - 1, 0), 30)
        return min(maxSeconds, initialSeconds * pow(2, Double(exponent))) * jitter
    }
}
