import Foundation
import MailvoxAudio

/// The audio media types the front doors accept (docs/DESIGN.md §3.5, §3.9) and what each means
/// for the decoder: the HTTP upload's Content-Type and an email attachment's.
public enum MediaTypes {
    public struct AudioKind: Equatable, Sendable {
        public var fileExtension: String
        public var format: RawAudioFormat?
    }

    /// `audio/PCMU;rate=8000` → `audio/pcmu`.
    public static func base(_ contentType: String) -> String {
        String(contentType.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces).lowercased()
    }

    public static func parameter(_ name: String, in contentType: String) -> String? {
        for part in contentType.split(separator: ";").dropFirst() {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == name else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast())
            }
            return value
        }
        return nil
    }

    public static func audio(_ contentType: String) -> AudioKind? {
        switch base(contentType) {
        case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave": AudioKind(fileExtension: "wav", format: nil)
        case "audio/basic", "audio/pcmu": AudioKind(fileExtension: "ulaw", format: .ulaw)
        case "audio/pcma": AudioKind(fileExtension: "alaw", format: .alaw)
        case "audio/l16":
            parameter("rate", in: contentType) == "16000"
                ? AudioKind(fileExtension: "sln16", format: .sln16)
                : parameter("rate", in: contentType).map { $0 == "8000" } ?? true
                    ? AudioKind(fileExtension: "sln", format: .sln) : nil
        case "audio/x-gsm", "audio/gsm": AudioKind(fileExtension: "gsm", format: .gsm)
        case "audio/mpeg", "audio/mp3": AudioKind(fileExtension: "mp3", format: nil)
        case "audio/ogg", "audio/opus": AudioKind(fileExtension: "ogg", format: nil)
        case "audio/flac", "audio/x-flac": AudioKind(fileExtension: "flac", format: nil)
        default: nil
        }
    }
}
