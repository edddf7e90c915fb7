import Foundation

/// A job as a worker sees it once leased.
public struct Job: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// Transcode, compose, seal and store a deposit.
        case deliver
        /// Send one alert (channel + recipient).
        case notify
    }

    public enum State: String, Sendable, Codable {
        case queued, leased, done, dead
    }

    public var id: Int64
    public var kind: Kind
    public var depositID: String
    public var mailbox: String
    public var channel: String
    public var recipient: String
    public var state: State
    public var attempts: Int
    public var runAfter: Date
    public var lastError: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, channel, recipient, state, attempts, mailbox
        case depositID = "deposit_id"
        case runAfter = "run_after"
        case lastError = "last_error"
    }
}
