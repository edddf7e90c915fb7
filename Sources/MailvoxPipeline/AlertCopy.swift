import Foundation
import MailvoxCore
import MailvoxCrypto

/// What a notify job needs besides the alert mail: the webhook's facts and the SMS text.
/// Sealed with the mail to the node key, never in a row.
struct AlertDetails: Codable, Sendable, Equatable {
    var mailbox: String
    var depositID: String
    var callerNumber: String?
    var callerName: String?
    var receivedAt: Date
    var durationSeconds: Int
    /// Rendered `sms.mustache` (cut to length when sent).
    var smsText: String

    enum CodingKeys: String, CodingKey {
        case mailbox
        case depositID = "deposit_id"
        case callerNumber = "caller_number"
        case callerName = "caller_name"
        case receivedAt = "received_at"
        case durationSeconds = "duration_seconds"
        case smsText = "sms_text"
    }
}

/// The notify jobs' own copy of a voicemail, `queue/notify/<deposit-id>.mvx`, sealed to the
/// node key like a deposit, so alerts never open the owner's mailbox. Plaintext: the details
/// and the alert mail (docs/DESIGN.md §7) as CRLF bytes, framed as `FramedPayload`.
/// DeliverWorker writes it before enqueueing the notify jobs; the last of them removes it.
enum AlertCopy {
    static func write(_ details: AlertDetails, mail: [UInt8], files: QueueFiles, nodePublicKey: Data) throws {
        let plaintext = try FramedPayload.encode(details, payload: mail)
        try files.write(
            QueueFiles.alertCopy(details.depositID),
            SealedFile.seal(plaintext, owner: KeyOwner.node.description, recipient: nodePublicKey))
    }

    static func read(files: QueueFiles, depositID: String, nodeKey: OwnerKey) throws -> (AlertDetails, [UInt8]) {
        let name = QueueFiles.alertCopy(depositID)
        guard let data = try files.open(name, key: nodeKey) else {
            throw PipelineError.io(path: files.describe(name), reason: "no such file")
        }
        let (details, mail) = try FramedPayload.decode(AlertDetails.self, from: data, what: files.describe(name))
        return (details, Array(mail))
    }
}
