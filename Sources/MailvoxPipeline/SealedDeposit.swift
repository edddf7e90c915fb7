import Foundation
import MailvoxCore

/// What a deposit says besides its audio; sealed with the audio to the node key, never in a row.
struct DepositDetails: Codable, Sendable, Equatable {
    var mailbox: String
    var callerNumber: String?
    var callerName: String?
    var receivedAt: Date
    var urgent: Bool
    /// The raw format of a headerless recording (`ulaw`, `sln`, …), else nil.
    var format: String?
    /// The extension of the uploaded file, so the decoder can go by it.
    var fileExtension: String

    enum CodingKeys: String, CodingKey {
        case mailbox, urgent, format
        case callerNumber = "caller_number"
        case callerName = "caller_name"
        case receivedAt = "received_at"
        case fileExtension = "extension"
    }
}

/// The plaintext of a sealed deposit: the details and the audio, framed as `FramedPayload`.
enum DepositPayload {
    static func encode(_ details: DepositDetails, audio: Data) throws -> Data {
        try FramedPayload.encode(details, payload: audio)
    }

    static func decode(_ data: Data) throws -> (DepositDetails, Data) {
        try FramedPayload.decode(DepositDetails.self, from: data, what: "sealed deposit")
    }
}
