import Foundation

/// The plaintext inside the pipeline's sealed files — a deposit (`queue/<id>.mvx`) and an alert
/// copy (`queue/notify/<id>.mvx`): a 4-byte big-endian length, that many bytes of JSON details,
/// then the payload (audio, or the alert mail) to the end. Dates are seconds since 1970.
enum FramedPayload {
    static func encode(_ details: some Encodable, payload: some Sequence<UInt8>) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let json = try encoder.encode(details)
        var data = Data()
        var length = UInt32(json.count).bigEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        data.append(contentsOf: payload)
        return data
    }

    /// The details and the payload, which is a slice of `data`, not a copy: it is most of the
    /// file and is only written out again. `what` names the file in errors.
    static func decode<Details: Decodable>(
        _ type: Details.Type, from data: Data, what: String
    ) throws -> (Details, Data) {
        guard data.count >= 4 else { throw PipelineError.corruptDeposit("\(what): shorter than its length field") }
        let length = data.prefix(4).reduce(0) { $0 << 8 | Int($1) }
        guard data.count >= 4 + length else { throw PipelineError.corruptDeposit("\(what): details cut short") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        let details: Details
        do {
            details = try decoder.decode(type, from: data[data.startIndex + 4..<data.startIndex + 4 + length])
        } catch {
            throw PipelineError.corruptDeposit("\(what): details are not valid JSON")
        }
        return (details, data[(data.startIndex + 4 + length)...])
    }
}
