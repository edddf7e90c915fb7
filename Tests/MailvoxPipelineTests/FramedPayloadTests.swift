import Foundation
import Testing

@testable import MailvoxPipeline

/// The plaintext frame of the pipeline's sealed files: what one writes the other reads back,
/// and a damaged frame is a clear `corruptDeposit`, never a crash or a half-read.
@Suite struct FramedPayloadTests {
    let details = DepositDetails(
        mailbox: "1000", callerNumber: "+4930123456", callerName: "Ada",
        receivedAt: Date(timeIntervalSince1970: 1_764_150_000),
        urgent: true, format: nil, fileExtension: "wav")

    @Test func roundTripsDetailsAndPayload() throws {
        let audio = Data((0..<1000).map { UInt8($0 % 251) })
        let data = try DepositPayload.encode(details, audio: audio)
        let (decoded, payload) = try DepositPayload.decode(data)
        #expect(decoded == details)
        #expect(payload == audio)
        // The JSON is the documented one: snake_case keys, seconds since 1970.
        let length = Int(data.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        let json = String(decoding: data[4..<4 + length], as: UTF8.self)
        #expect(json.contains("\"caller_number\":\"+4930123456\"") && json.contains("\"received_at\":1764150000"))
    }

    @Test func anEmptyPayloadIsAllowed() throws {
        let (_, payload) = try DepositPayload.decode(try DepositPayload.encode(details, audio: Data()))
        #expect(payload.isEmpty)
    }

    @Test(arguments: [
        [UInt8](),  // nothing
        [0, 0],  // shorter than the length field
        [0, 0, 0, 9, UInt8(ascii: "{")],  // length beyond the end
        [0, 0, 0, 2] + Array("{]".utf8),  // not JSON
        [0, 0, 0, 2] + Array("{}".utf8),  // JSON without the details' keys
        [0xFF, 0xFF, 0xFF, 0xFF] + Array("{}".utf8),  // a huge length
    ])
    func damagedFramesAreCorruptDeposits(_ bytes: [UInt8]) {
        #expect {
            _ = try DepositPayload.decode(Data(bytes))
        } throws: { error in
            guard case .corruptDeposit(let reason) = error as? PipelineError else { return false }
            return reason.hasPrefix("sealed deposit")
        }
    }
}
