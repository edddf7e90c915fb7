import Foundation

/// The exact length of a LAME-encoded MP3 from its Xing/Info frame: frame count × samples
/// per frame, less the encoder delay and padding the LAME tag records. Written here, not
/// taken from libsndfile, so the check is independent of the code under test.
struct LameHeader {
    var sampleRate: Int
    var frames: Int
    var samplesPerFrame: Int
    var encoderDelay: Int
    var padding: Int
    var bitrateKbps: Int

    var duration: Double { Double(frames * samplesPerFrame - encoderDelay - padding) / Double(sampleRate) }

    init(path: String) throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 0
        if bytes.count > 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 {  // "ID3"
            let size = bytes[6...9].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
            offset = 10 + size
        }
        guard offset + 4 <= bytes.count, bytes[offset] == 0xFF, bytes[offset + 1] & 0xE0 == 0xE0 else {
            throw ToolFailure(description: "no MPEG frame at \(offset)")
        }
        let version = (bytes[offset + 1] >> 3) & 3  // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
        let rateIndex = Int((bytes[offset + 2] >> 2) & 3)
        let bitrateIndex = Int(bytes[offset + 2] >> 4)
        let mono = (bytes[offset + 3] >> 6) == 3
        let rates: [Int]
        switch version {
        case 3: rates = [44100, 48000, 32000]
        case 2: rates = [22050, 24000, 16000]
        default: rates = [11025, 12000, 8000]
        }
        sampleRate = rates[rateIndex]
        samplesPerFrame = version == 3 ? 1152 : 576
        let mpeg1Rates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
        let mpeg2Rates = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
        bitrateKbps = (version == 3 ? mpeg1Rates : mpeg2Rates)[bitrateIndex]
        let sideInfo = version == 3 ? (mono ? 17 : 32) : (mono ? 9 : 17)
        var tag = offset + 4 + sideInfo
        let id = String(decoding: bytes[tag..<tag + 4], as: UTF8.self)
        guard id == "Xing" || id == "Info" else { throw ToolFailure(description: "no Xing/Info tag (found \(id))") }
        func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        let flags = be32(tag + 4)
        tag += 8
        guard flags & 1 != 0 else { throw ToolFailure(description: "Xing tag without a frame count") }
        frames = be32(tag)
        tag += 4
        if flags & 2 != 0 { tag += 4 }
        if flags & 4 != 0 { tag += 100 }
        if flags & 8 != 0 { tag += 4 }
        // LAME extension: 9-byte version string, then 12 bytes of fields, then delay/padding.
        let lame = tag
        guard String(decoding: bytes[lame..<lame + 4], as: UTF8.self) == "LAME" else {
            throw ToolFailure(description: "no LAME tag")
        }
        let packed = Int(bytes[lame + 21]) << 16 | Int(bytes[lame + 22]) << 8 | Int(bytes[lame + 23])
        encoderDelay = packed >> 12
        padding = packed & 0xFFF
    }
}
