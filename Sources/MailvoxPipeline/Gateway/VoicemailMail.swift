import Foundation
import MailvoxAudio
import MailvoxCore
import MailvoxMIME
import Synchronization

/// What an email from a PBX says about its voicemail (docs/PBX.md): the recording, who called,
/// when, how urgent, and the Message-ID that makes a resent email the same voicemail.
///
/// Caller number and name are taken from the first source that has them, in this order:
/// `X-Asterisk-CallerID` / `X-Asterisk-CallerIDName`; `X-Asterisk-VM-Caller-ID-Num` /
/// `-Name`; the `From` display name and local part when that local part is a number (as
/// FreeSWITCH writes it); then the Subject, through `[inbound] caller_patterns` for the sender
/// and the built-in patterns. A field one source lacks may come from a later one. A value that
/// is not a phone number or a printable name is dropped, never a reason to refuse the voicemail.
public struct VoicemailMail: Sendable, Equatable {
    public var audio: Data
    public var fileExtension: String
    public var format: RawFormat?
    public var callerNumber: String?
    public var callerName: String?
    public var receivedAt: Date?
    public var urgent: Bool
    public var messageID: String?

    /// Why an email is not a voicemail.
    public enum Refusal: Error, Equatable {
        case malformed(String)
        case noAudio
    }

    /// Extensions that make an `application/octet-stream` (or untyped) attachment a recording.
    static let audioExtensions: Set<String> = [
        "wav", "wave", "gsm", "mp3", "ogg", "oga", "opus", "flac", "ul", "ulaw", "mulaw", "pcmu", "al", "alaw", "pcma",
        "sln", "slin", "sln16", "slin16", "au", "snd", "aif", "aiff",
    ]

    /// The Subject patterns every installation has (docs/PBX.md lists them with examples); a
    /// pattern gives `number` and optionally `name`.
    static let builtInPatterns: [String] = [
        // `… from "Ada Lovelace" <+4930123456>` (Asterisk's ${VM_CALLERID}, FreePBX subjects)
        #"(?i)\bfrom:?\s+"?(?<name>[^"<>]*?)"?\s*<(?<number>\+?[0-9*#][0-9 ()./*#-]*)>"#,
        // `New Voicemail from Ada Lovelace (+4930123456)` (3CX and many hosted PBXs)
        #"(?i)\bfrom:?\s+(?<name>[^()]*?)\s*\((?<number>\+?[0-9*#][0-9 ./*#-]*)\)"#,
        // `Voicemail from +49 30 123456`, `Caller: 030-123456`, `Anrufer 030 123456`, `de 0612345678`
        #"(?i)\b(?:from|caller(?:\s*id)?|anrufer|von|de|da)\s*:?\s+(?<number>\+?[0-9][0-9 ()./-]{2,}[0-9])"#,
    ]

    /// Reads `mail`; `sender` is the envelope sender (or From when there is none), lower-cased.
    public static func read(
        _ mail: InboundMail, sender: String?, patterns: [Configuration.CallerPattern]
    ) throws(Refusal) -> VoicemailMail {
        guard let (part, kind, fileExtension) = audioPart(of: mail) else { throw .noAudio }
        var result = VoicemailMail(
            audio: Data(mail.decoded(part)), fileExtension: fileExtension, format: kind?.format, callerNumber: nil,
            callerName: nil, receivedAt: receivedAt(mail), urgent: isUrgent(mail), messageID: mail.header("Message-ID"))
        // The sources in order; each fills only what the ones before left empty.
        result.take(number: mail.header("X-Asterisk-CallerID"), name: mail.header("X-Asterisk-CallerIDName"))
        result.take(
            number: mail.header("X-Asterisk-VM-Caller-ID-Num"), name: mail.header("X-Asterisk-VM-Caller-ID-Name"))
        if let from = mail.from, let local = from.localPart, isNumberLike(local) {
            result.take(number: local, name: from.name)
        }
        if let subject = mail.header("Subject") {
            let senderPatterns = patterns.filter { $0.applies(to: sender) }.map(\.pattern)
            for pattern in senderPatterns + builtInPatterns where result.callerNumber == nil || result.callerName == nil
            {
                guard let match = Self.match(pattern, in: subject) else { continue }
                result.take(number: match.number, name: match.name)
            }
        }
        return result
    }

    /// Fills the caller fields still empty from one source. A combined value such as
    /// `"Ada" <+4930123456>` in a number field is split into name and number.
    mutating func take(number rawNumber: String?, name rawName: String?) {
        var number = rawNumber
        var name = rawName
        if let text = rawNumber, let open = text.firstIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close
        {
            number = String(text[text.index(after: open)..<close])
            let before = text[..<open].trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\"")))
            if name == nil, !before.isEmpty { name = before }
        }
        if callerNumber == nil, let cleaned = number.map(Self.cleanNumber),
            case .success(let valid?) = CallerID.parseNumber(cleaned)
        {
            callerNumber = valid
        }
        if callerName == nil,
            let trimmed = name?.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\""))),
            !trimmed.isEmpty, !Self.isNumberLike(trimmed) || trimmed != callerNumber,
            case .success(let valid?) = CallerID.parseName(trimmed)
        {
            callerName = valid
        }
    }

    /// `+49 (30) 123-456` → `+4930123456`: the separators people and PBXs write.
    static func cleanNumber(_ text: String) -> String {
        String(text.trimmingCharacters(in: .whitespaces).filter { !" ()./-\u{00A0}".contains($0) })
    }

    static func isNumberLike(_ text: String) -> Bool {
        let cleaned = cleanNumber(text)
        let body = cleaned.hasPrefix("+") ? cleaned.dropFirst() : Substring(cleaned)
        return !body.isEmpty && body.allSatisfy { ("0"..."9").contains($0) || $0 == "*" || $0 == "#" }
    }

    /// The first `audio/*` part at any depth; failing that the first part whose file name ends
    /// in an audio extension (PBXs that send `application/octet-stream`).
    static func audioPart(of mail: InboundMail) -> (InboundMail.Part, MediaTypes.AudioKind?, String)? {
        let parts = mail.parts
        func fileExtension(_ part: InboundMail.Part) -> String? {
            guard let name = part.fileName, let dot = name.lastIndex(of: ".") else { return nil }
            let ext = name[name.index(after: dot)...].lowercased()
            return audioExtensions.contains(ext) ? ext : nil
        }
        if let part = parts.first(where: { $0.type == "audio" }) {
            let kind = MediaTypes.audio(part.mediaType)
            // A known media type decides how headerless audio is read; the name only when it says more.
            return (part, kind, kind?.fileExtension ?? fileExtension(part) ?? "bin")
        }
        if let (part, ext) = parts.lazy.filter({ $0.type != "text" && $0.type != "multipart" })
            .compactMap({ part in fileExtension(part).map { (part, $0) } }).first
        {
            return (
                part, RawFormat(fileExtension: ext).map { MediaTypes.AudioKind(fileExtension: ext, format: $0) }, ext
            )
        }
        return nil
    }

    /// `X-Asterisk-VM-Orig-time` (seconds since 1970, as app_voicemail writes it) or `Date`.
    static func receivedAt(_ mail: InboundMail) -> Date? {
        if let text = mail.header("X-Asterisk-VM-Orig-time") {
            if let seconds = Int(text), seconds > 0 { return Date(timeIntervalSince1970: TimeInterval(seconds)) }
            if let date = MessageDate.parse(text) { return date }
        }
        return mail.header("Date").flatMap(MessageDate.parse)
    }

    /// `X-Priority: 1` or `2`, `Importance: high`, `Priority: urgent`, Asterisk's urgent flag, or
    /// the word "urgent" in the Subject (Asterisk says so only there: "New Urgent message 1 in …").
    static func isUrgent(_ mail: InboundMail) -> Bool {
        if let priority = mail.header("X-Priority")?.first, priority == "1" || priority == "2" { return true }
        if mail.header("Importance")?.lowercased() == "high" { return true }
        if mail.header("Priority")?.lowercased() == "urgent" { return true }
        if mail.header("X-Asterisk-VM-Flag")?.lowercased() == "urgent" { return true }
        if let subject = mail.header("Subject"), match(#"(?i)\burgent\b"#, in: subject) != nil { return true }
        return false
    }

    /// Compiled patterns, kept: compiling them for every mail cost more than matching.
    private static let compiled = Mutex<[String: NSRegularExpression]>([:])

    static func match(_ pattern: String, in text: String) -> (number: String?, name: String?)? {
        let cached = compiled.withLock { $0[pattern] }
        guard let regex = cached ?? (try? NSRegularExpression(pattern: pattern)) else { return nil }
        if cached == nil { compiled.withLock { if $0.count < 256 { $0[pattern] = regex } } }
        let range = NSRange(text.startIndex..., in: text)
        guard let found = regex.firstMatch(in: text, range: range) else { return nil }
        func group(_ name: String) -> String? {
            // Asking for a group the pattern lacks is an error in Foundation, not a nil.
            guard pattern.contains("(?<\(name)>") else { return nil }
            let groupRange = found.range(withName: name)
            guard groupRange.location != NSNotFound, let swiftRange = Range(groupRange, in: text) else { return nil }
            let value = text[swiftRange].trimmingCharacters(in: .whitespaces)
            return value.isEmpty ? nil : value
        }
        return (group("number"), group("name"))
    }
}
