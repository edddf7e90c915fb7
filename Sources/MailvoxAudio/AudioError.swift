import MailvoxCore

/// Why a recording cannot be used, in words a PBX administrator can act on.
///
/// Every reason but `unreadable` and `unwritable` maps to one of Core's stable `ErrorCode`s,
/// so the HTTP front door, the drop folder's `.error` file and the CLI say the same thing.
public struct AudioError: MailvoxFailure, Equatable, Sendable {
    /// What is wrong with the recording.
    public enum Reason: Equatable, Sendable {
        /// The file holds no bytes, or a header with no audio behind it.
        case empty
        /// The file ends before its header or its first audio frame does (an upload cut short).
        case truncated(detail: String)
        /// The bytes are no audio format Mailvox knows, or a known header is damaged (`detail`).
        case notAudio(detail: String?)
        /// A known container holding a codec Mailvox cannot decode (named, e.g. "G.729").
        case unsupportedCodec(String)
        /// Nothing in the recording is louder than the silence threshold.
        case silence
        /// Shorter than `min_seconds` (after trimming silence, when that is on).
        case tooShort(seconds: Double, minimum: Double)
        /// Longer than `max_seconds` while `too_long = "reject"`.
        case tooLong(seconds: Double, maximum: Double)
        /// The input could not be opened or read (missing file, permissions, I/O error).
        case unreadable(String)
        /// An output could not be created or written.
        case unwritable(String)
    }

    public var reason: Reason
    /// The file the error is about, as the caller named it.
    public var file: String

    public init(_ reason: Reason, file: String) {
        self.reason = reason
        self.file = file
    }

    /// The stable code of docs/DESIGN.md §3.3; nil for I/O failures, which are not the sender's fault.
    public var code: ErrorCode? {
        switch reason {
        case .empty: .audioEmpty
        case .truncated: .audioTruncated
        case .notAudio: .audioNotAudio
        case .unsupportedCodec: .audioUnsupportedCodec
        case .silence: .audioSilence
        case .tooShort: .audioTooShort
        case .tooLong: .audioTooLong
        case .unreadable, .unwritable: nil
        }
    }

    public var kind: FailureKind {
        switch reason {
        case .unreadable, .unwritable: .runtime
        default: .input
        }
    }

    public var description: String { "\(file): \(message)" }

    /// The message without the file name, e.g. for an HTTP error body.
    public var message: String {
        switch reason {
        case .empty:
            "the file is empty: it holds no audio"
        case .truncated(let detail):
            "the file is truncated (\(detail)); was the upload or recording cut short?"
        case .notAudio(let detail?):
            "not usable audio: \(detail)"
        case .notAudio(nil):
            "not an audio file Mailvox knows (WAV, FLAC, Ogg Vorbis/Opus, MP3, or raw audio named "
                + ".ulaw, .alaw, .sln, .sln16, .gsm or given with --format)"
        case .unsupportedCodec(let codec):
            "unsupported codec \(codec); record as PCM, G.711 (µ-law/A-law), GSM or ADPCM WAV instead"
        case .silence:
            "the recording is silent: nothing in it is louder than the silence threshold"
        case .tooShort(let seconds, let minimum):
            "the recording is too short: \(formatSeconds(seconds)) s, the minimum is \(formatSeconds(minimum)) s"
        case .tooLong(let seconds, let maximum):
            "the recording is too long: \(formatSeconds(seconds)) s, the maximum is \(formatSeconds(maximum)) s"
        case .unreadable(let detail):
            "cannot read: \(detail)"
        case .unwritable(let detail):
            "cannot write: \(detail)"
        }
    }
}

/// Seconds with three decimals, the precision `audio probe` prints.
func formatSeconds(_ seconds: Double) -> String {
    let millis = Int64((seconds * 1000).rounded())
    let whole = millis / 1000
    let fraction = millis % 1000
    let padded = String(fraction).count < 3 ? String(repeating: "0", count: 3 - String(fraction).count) : ""
    return "\(whole).\(padded)\(fraction)"
}
