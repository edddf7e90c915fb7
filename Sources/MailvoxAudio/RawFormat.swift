import CSndFile

/// A headerless recording whose format must be named, as Asterisk and other PBXs write them
/// (docs/DESIGN.md §3.2 `--format`): the bytes alone cannot tell µ-law from A-law or 8 from 16 kHz.
public enum RawFormat: String, Sendable, CaseIterable {
    /// G.711 µ-law, 8 kHz mono (`.ulaw`, `.pcmu`, `.ul`).
    case ulaw
    /// G.711 A-law, 8 kHz mono (`.alaw`, `.pcma`, `.al`).
    case alaw
    /// Signed-linear 16-bit little-endian, 8 kHz mono (`.sln`, `.slin`, `.raw`).
    case sln
    /// Signed-linear 16-bit little-endian, 16 kHz mono (`.sln16`).
    case sln16
    /// GSM 6.10 full rate, 33-byte frames, 8 kHz mono (`.gsm`).
    case gsm

    /// The raw format a file name's extension implies, case-insensitively; nil for any other.
    public init?(fileExtension: String) {
        switch fileExtension.lowercased() {
        case "ulaw", "pcmu", "ul", "mulaw": self = .ulaw
        case "alaw", "pcma", "al": self = .alaw
        case "sln", "slin", "raw": self = .sln
        case "sln16", "slin16": self = .sln16
        case "gsm": self = .gsm
        default: return nil
        }
    }

    /// The raw format the path's extension implies.
    public init?(path: String) {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
        self.init(fileExtension: String(path[path.index(after: dot)...]))
    }

    var sampleRate: Int32 { self == .sln16 ? 16000 : 8000 }

    var sndfileFormat: Int32 {
        let codec: Int32
        switch self {
        case .ulaw: codec = Int32(SF_FORMAT_ULAW)
        case .alaw: codec = Int32(SF_FORMAT_ALAW)
        case .sln, .sln16: codec = Int32(SF_FORMAT_PCM_16)
        case .gsm: codec = Int32(SF_FORMAT_GSM610)
        }
        return Int32(SF_FORMAT_RAW) | codec | Int32(SF_ENDIAN_LITTLE)
    }
}
