import Foundation
import MailvoxPipeline
import MultipartKit
import NIOCore

/// The audio media types the front door accepts (docs/DESIGN.md §3.5) and what each means for the decoder.
enum MediaTypes {
    struct AudioKind: Equatable {
        var fileExtension: String
        var format: RawAudioFormat?
    }

    /// `audio/PCMU;rate=8000` → `audio/pcmu`.
    static func base(_ contentType: String) -> String {
        String(contentType.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces).lowercased()
    }

    static func parameter(_ name: String, in contentType: String) -> String? {
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

    static func audio(_ contentType: String) -> AudioKind? {
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

/// A parsed `multipart/form-data` body: text fields and files (multipart-kit's parser).
struct MultipartForm {
    struct File {
        var data: Data
        var contentType: String?
    }

    var fields: [String: String] = [:]
    var files: [String: File] = [:]

    static func parse(_ body: ByteBuffer, boundary: String) throws -> MultipartForm {
        let parser = MultipartParser(boundary: boundary)
        var form = MultipartForm()
        var headers: [String: String] = [:]
        var content = Data()
        parser.onHeader = { name, value in headers[name.lowercased()] = value }
        parser.onBody = { buffer in content.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            let disposition = headers["content-disposition"] ?? ""
            if let name = MediaTypes.parameter("name", in: disposition) {
                if MediaTypes.parameter("filename", in: disposition) != nil
                    || headers["content-type"]?.hasPrefix("audio/") == true
                {
                    form.files[name] = File(data: content, contentType: headers["content-type"])
                } else {
                    form.fields[name] = String(decoding: content, as: UTF8.self)
                }
            }
            headers = [:]
            content = Data()
        }
        try parser.execute(body)
        return form
    }
}
