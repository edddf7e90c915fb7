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

/// The plaintext of a sealed deposit: a 4-byte big-endian length, the details as JSON, the audio.
enum DepositPayload {
    static func encode(_ details: DepositDetails, audio: Data) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let json = try encoder.encode(details)
        var data = Data()
        var length = UInt32(json.count).bigEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(audio)
        return data
    }

    static func decode(_ data: Data) throws -> (DepositDetails, Data) {
        guard data.count >= 4 else { throw PipelineError.corruptDeposit("shorter than its length field") }
        let length = data.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard data.count >= 4 + length else { throw PipelineError.corruptDeposit("details cut short") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        // Slices, not copies: the audio is most of the payload and is only written out again.
        let details = try decoder.decode(
            DepositDetails.self, from: data[data.startIndex + 4..<data.startIndex + 4 + length])
        return (details, data[(data.startIndex + 4 + length)...])
    }
}
