import Foundation
import MailvoxCore

/// One voicemail as the web inbox lists it, read from the message's header block (sealed in
/// the index, so listing a page never opens an audio file) and its index summary.
///
/// The headers are those `VoiceMessageComposer` writes (docs/DESIGN.md §4). A message that
/// came another way (an IMAP APPEND, a forwarded mail) still lists: its From name and
/// address stand in for the caller.
struct VoicemailEntry: Sendable, Equatable {
    var uid: UInt32
    var callerName: String?
    /// As stored; nil when withheld.
    var callerNumber: String?
    var received: Date
    var seconds: Int
    var heard: Bool
    var urgent: Bool
    var flagged: Bool
    /// `X-CNS-Greeting-Type` of a greeting: `unavailable`, `busy`, `name`, `temporary`.
    var greetingType: String?
    var size: Int

    init(summary: MessageSummary, header: [UInt8]) {
        uid = summary.uid
        received = summary.internalDate
        heard = summary.flags.system.contains(.seen)
        flagged = summary.flags.system.contains(.flagged)
        size = summary.size
        let fields = header.withUnsafeBufferPointer { bytes in
            let block = HeaderBlock(bytes, from: 0, maxFields: 200)
            var values: [String: String] = [:]
            for field in block.fields {
                let name = field.name.lowercased()
                if values[name] == nil { values[name] = block.value(of: field, in: bytes) }
            }
            return values
        }
        let number = fields["x-callingtelephonenumber"]
        callerNumber = number.flatMap { CallerID.withheldWords.contains($0.lowercased()) ? nil : $0 }
        callerName = fields["x-voicemessagesendername"].map(EncodedWords.decode).flatMap { $0.isEmpty ? nil : $0 }
        if number == nil, callerName == nil, let from = fields["from"] {
            // Not a voice message: the From phrase, else its address, names the sender.
            let decoded = EncodedWords.decode(from)
            let phrase = decoded.split(separator: "<").first.map {
                $0.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            callerName = (phrase?.isEmpty == false ? phrase : decoded).map { String($0.prefix(200)) }
        }
        let duration = fields["content-duration"] ?? fields["x-voicemessageduration"]
        seconds = duration.flatMap { Int($0.prefix { $0.isNumber }) } ?? 0
        let importance = fields["importance"]?.lowercased()
        let priority = fields["x-priority"]?.prefix { $0.isNumber }
        urgent = importance == "high" || priority == "1" || priority == "2"
        greetingType = fields["x-cns-greeting-type"]?.lowercased()
    }
}

/// An audio attachment of a stored message: where its encoded body lies and how to serve it.
struct AudioPart: Sendable, Equatable {
    /// `mp3`, `opus`, `wav`, `flac`, or the subtype of another audio type.
    var format: String
    /// What the browser is told: `audio/mpeg`, `audio/ogg`…
    var contentType: String
    var encoding: String
    var body: Range<Int>

    /// Every audio leaf of `message`, in order (the primary format first, as composed).
    static func all(in message: ParsedMessage) -> [AudioPart] {
        var found: [AudioPart] = []
        func walk(_ structure: BodyStructure, _ part: MessagePart) {
            switch (structure, part.content) {
            case (.multipart(let multipart), .multipart(let children)):
                for (child, located) in zip(multipart.parts, children) { walk(child, located) }
            case (.single(let single), _) where single.type.lowercased() == "audio":
                let subtype = single.subtype.lowercased()
                let codecs = single.parameters.first { $0.name.lowercased() == "codecs" }?.value.lowercased()
                let format: String =
                    switch subtype {
                    case "mpeg", "mp3": "mp3"
                    case "ogg" where codecs == nil || codecs == "opus", "opus": "opus"
                    case "wav", "x-wav", "wave", "vnd.wave": "wav"
                    case "flac", "x-flac": "flac"
                    default: subtype
                    }
                let contentType: String =
                    switch format {
                    case "mp3": "audio/mpeg"
                    case "opus": "audio/ogg"
                    case "wav": "audio/wav"
                    case "flac": "audio/flac"
                    default: "application/octet-stream"
                    }
                found.append(
                    AudioPart(
                        format: format, contentType: contentType, encoding: single.encoding.lowercased(),
                        body: part.body))
            default:
                break
            }
        }
        walk(message.body, message.layout)
        return found
    }
}
