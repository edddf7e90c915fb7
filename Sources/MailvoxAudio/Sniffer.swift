#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the first bytes of a file say it is, read before any C library sees it, so that an
/// unusable file gets a precise reason (empty, cut short, foreign codec) instead of
/// libsndfile's generic "format not recognised".
struct Sniff {
    enum Container: Equatable {
        case wav(WAVHeader)
        case flac
        case ogg
        /// An ID3 tag: an MP3 for certain.
        case mp3
        /// Two consecutive valid MPEG audio frame headers: probably an MP3, but a raw file's
        /// extension still wins (µ-law silence is a run of 0xFF bytes).
        case mpegFrames
        case aiff
        case au
        case unknown
    }

    /// What Mailvox's own walk of a RIFF/WAVE header found.
    struct WAVHeader: Equatable {
        var formatTag: UInt16?
        var channels = 0
        var sampleRate = 0
        var bitsPerSample = 0
        /// The `fact` chunk's sample count (compressed codecs), which excludes block padding.
        var factFrames: UInt32?
        /// True once a `data` chunk begins inside the examined window.
        var headerComplete = false
        var dataOffset = 0
        var dataBytes: UInt32 = 0
        /// True when the data length is 0 or the streaming marker, or ends where no chunk
        /// follows: the audio then runs to the end of the file (a recorder that never fixed
        /// its header up, or one that was killed).
        var lengthLies = false
    }

    var size: Int64
    var container: Container

    /// How many leading bytes are examined: enough for any real WAV header with its
    /// LIST/fact chunks, little enough to stay cheap.
    static let window = 65536

    static func read(path: String) throws(AudioError) -> Sniff {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AudioError(.unreadable(String(cString: strerror(errno))), file: path) }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            throw AudioError(.unreadable(String(cString: strerror(errno))), file: path)
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw AudioError(.unreadable("not a regular file"), file: path)
        }
        var bytes = [UInt8](repeating: 0, count: window)
        var filled = 0
        while filled < window {
            let count = bytes.withUnsafeMutableBytes { buffer in
                Glibc.read(fd, buffer.baseAddress! + filled, window - filled)
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw AudioError(.unreadable(String(cString: strerror(errno))), file: path)
            }
            if count == 0 { break }
            filled += count
        }
        let size = Int64(status.st_size)
        var container = classify(bytes[0..<filled], fileSize: size)
        if case .wav(var header) = container, header.headerComplete {
            let end = Int64(header.dataOffset) + Int64(header.dataBytes)
            if header.dataBytes == 0 || header.dataBytes == UInt32.max {
                header.lengthLies = size > Int64(header.dataOffset)
            } else if end + Int64(header.dataBytes & 1) + 8 <= size {
                var next = [UInt8](repeating: 0, count: 8)
                let count = next.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress, 8, off_t(end + Int64(header.dataBytes & 1)))
                }
                header.lengthLies = count == 8 && !looksLikeChunk(next)
            }
            container = .wav(header)
        }
        return Sniff(size: size, container: container)
    }

    static func classify(_ bytes: ArraySlice<UInt8>, fileSize: Int64) -> Container {
        let b = Array(bytes)
        func ascii(_ offset: Int, _ text: String) -> Bool {
            let tag = Array(text.utf8)
            return b.count >= offset + tag.count && Array(b[offset..<offset + tag.count]) == tag
        }
        if ascii(0, "RIFF") || ascii(0, "RF64") {
            // A file cut inside its first 12 bytes is still recognisably meant to be a WAV.
            if b.count < 12 || ascii(8, "WAVE") { return .wav(walkWAV(b)) }
        }
        if ascii(0, "fLaC") { return .flac }
        if ascii(0, "OggS") { return .ogg }
        if ascii(0, "ID3") { return .mp3 }
        if startsWithMPEGFrames(b) { return .mpegFrames }
        if ascii(0, "FORM") { return .aiff }
        if ascii(0, ".snd") { return .au }
        return .unknown
    }

    /// Walks the RIFF chunks of the window for `fmt `, `fact` and the start of `data`.
    private static func walkWAV(_ b: [UInt8]) -> WAVHeader {
        func le16(_ at: Int) -> Int { Int(b[at]) | Int(b[at + 1]) << 8 }
        func le32(_ at: Int) -> UInt32 {
            UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
        }
        var header = WAVHeader()
        var offset = 12
        while offset + 8 <= b.count {
            let id = String(decoding: b[offset..<offset + 4], as: UTF8.self)
            let length = Int(le32(offset + 4))
            let body = offset + 8
            if id == "fmt " && body + 16 <= b.count {
                var tag = UInt16(le16(body))
                header.channels = le16(body + 2)
                header.sampleRate = Int(le32(body + 4))
                header.bitsPerSample = le16(body + 14)
                // WAVE_FORMAT_EXTENSIBLE names the real codec in its sub-format GUID.
                if tag == 0xFFFE && body + 26 <= b.count { tag = UInt16(le16(body + 24)) }
                header.formatTag = tag
            }
            if id == "fact" && body + 4 <= b.count { header.factFrames = le32(body) }
            if id == "data" {
                header.headerComplete = true
                header.dataOffset = body
                header.dataBytes = UInt32(length)
                return header
            }
            // Chunks are word-aligned; a length past the window ends the walk.
            offset = body + length + (length & 1)
        }
        return header
    }

    /// Whether the bytes begin with a valid MPEG audio frame header followed, one frame length
    /// later, by another.
    static func startsWithMPEGFrames(_ b: [UInt8]) -> Bool {
        func frameLength(at offset: Int) -> Int? {
            guard offset + 4 <= b.count, b[offset] == 0xFF, b[offset + 1] & 0xE0 == 0xE0 else { return nil }
            let version = (b[offset + 1] >> 3) & 3  // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
            let layer = (b[offset + 1] >> 1) & 3  // 1: III, 2: II, 3: I, 0: reserved
            let bitrateIndex = Int(b[offset + 2] >> 4)
            let rateIndex = Int((b[offset + 2] >> 2) & 3)
            guard version != 1, layer != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3 else { return nil }
            let padding = Int((b[offset + 2] >> 1) & 1)
            let layer3Rates =
                version == 3
                ? [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
                : [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
            guard layer == 1 else { return 0 }  // Layer I/II: header check only.
            let sampleRates =
                version == 3 ? [44100, 48000, 32000] : version == 2 ? [22050, 24000, 16000] : [11025, 12000, 8000]
            let coefficient = version == 3 ? 144_000 : 72_000
            return coefficient * layer3Rates[bitrateIndex] / sampleRates[rateIndex] + padding
        }
        guard let length = frameLength(at: 0) else { return false }
        // Too short a window to see the second frame: the first header alone decides.
        if length == 0 || length + 4 > b.count { return true }
        return frameLength(at: length) != nil
    }

    /// Whether the 8 bytes at `offset` look like a RIFF chunk header (four printable ASCII).
    static func looksLikeChunk(_ bytes: [UInt8]) -> Bool {
        bytes.count == 8 && bytes[0..<4].allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }
}

/// Human names for WAV format tags, for "unsupported codec" messages.
func wavCodecName(formatTag: UInt16) -> String {
    switch formatTag {
    case 0x0001: return "PCM"
    case 0x0002: return "MS ADPCM"
    case 0x0003: return "IEEE float"
    case 0x0006: return "G.711 A-law"
    case 0x0007: return "G.711 µ-law"
    case 0x0011: return "IMA ADPCM"
    case 0x0014: return "G.723 ADPCM"
    case 0x0022: return "DSP Group TrueSpeech"
    case 0x0031: return "GSM 6.10"
    case 0x0040: return "G.721 ADPCM"
    case 0x0042: return "G.723.1"
    case 0x0050: return "MPEG-1 Layer I/II"
    case 0x0055: return "MP3 in WAV"
    case 0x0064: return "G.726 ADPCM"
    case 0x0161, 0x0162, 0x0163: return "Windows Media Audio"
    case 0x00FF, 0x1610: return "AAC"
    default:
        let hex = String(formatTag, radix: 16, uppercase: true)
        return "WAV format tag 0x" + String(repeating: "0", count: 4 - hex.count) + hex
    }
}
