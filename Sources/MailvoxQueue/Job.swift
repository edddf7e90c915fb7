import Foundation
import MailvoxCore

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
    public var mailbox: MailboxID
    /// The alert's channel: set for notify jobs, nil for deliver jobs (which store '').
    public var channel: AlertChannel?
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

// Written by hand for one field: `queue list --json` has always shown a deliver job's channel
// as "", what the table stores, where the synthesized coding would leave it out. (In an
// extension, so that the memberwise initialiser stays.)
extension Job {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(Int64.self, forKey: .id)
        kind = try container.decode(Kind.self, forKey: .kind)
        depositID = try container.decode(String.self, forKey: .depositID)
        mailbox = try container.decode(MailboxID.self, forKey: .mailbox)
        let channel = try container.decode(String.self, forKey: .channel)
        if channel.isEmpty {
            self.channel = nil
        } else if let known = AlertChannel(rawValue: channel) {
            self.channel = known
        } else {
            throw DecodingError.dataCorruptedError(
                forKey: .channel, in: container, debugDescription: "unknown alert channel")
        }
        recipient = try container.decode(String.self, forKey: .recipient)
        state = try container.decode(State.self, forKey: .state)
        attempts = try container.decode(Int.self, forKey: .attempts)
        runAfter = try container.decode(Date.self, forKey: .runAfter)
        lastError = try container.decodeIfPresent(String.self, forKey: .lastError)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(depositID, forKey: .depositID)
        try container.encode(mailbox, forKey: .mailbox)
        try container.encode(channel?.rawValue ?? "", forKey: .channel)
        try container.encode(recipient, forKey: .recipient)
        try container.encode(state, forKey: .state)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(runAfter, forKey: .runAfter)
        try container.encodeIfPresent(lastError, forKey: .lastError)
    }
}
