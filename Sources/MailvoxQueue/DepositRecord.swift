import MailvoxCore

/// A deposit record: what the front doors answer about a deposit id.
public struct DepositRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        case queued, delivered, failed
    }

    public var id: String
    public var mailbox: MailboxID
    public var status: Status
    public var uid: UInt32?
    public var errorCode: String?
    public var errorMessage: String?
}
