import Foundation

/// The last alert sent (or tried) to one recipient of a mailbox.
public struct AlertResult: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable, CaseIterable {
        /// The relay or gateway accepted it.
        case sent
        /// It failed and will be tried again.
        case retrying
        /// It failed for good (permanent error or out of attempts): dead letter.
        case failed
    }

    public var channel: AlertChannel
    public var recipient: String
    public var depositID: String
    public var outcome: Outcome
    public var attempts: Int
    public var detail: String?
    public var at: Date

    enum CodingKeys: String, CodingKey {
        case channel, recipient, outcome, attempts, detail, at
        case depositID = "deposit_id"
    }
}
