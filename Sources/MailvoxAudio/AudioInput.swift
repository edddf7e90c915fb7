import CSndFile

/// A recording opened for decoding to mono float samples, block by block.
///
/// Opening classifies every way a file can be unusable into an `AudioError`; reading mixes the
/// channels down to mono, because a voicemail is one voice.
final class AudioInput {
    let file: SoundFile
    let container: String
    let codec: String
    /// Bytes of audio a WAV header announces (nil for other containers).
    let declaredDataBytes: UInt32?
    private var interleaved: [Float]
    /// Frames after which reading stops (the `fact` count of a padded block codec).
    private(set) var frameLimit: Int64 = .max
    private var framesRead: Int64 = 0

    /// Frames per read: 4096 frames is 0.5 s at 8 kHz and keeps every buffer a few tens of KB.
    static let blockFrames = 4096

    /// The most channels and the highest rate Mailvox believes a voice recording can have;
    /// anything beyond is a damaged or hostile header, refused before allocating for it.
    static let maxChannels = 16
    static let maxSampleRate = 384_000

    private init(file: SoundFile, container: String, codec: String, declaredDataBytes: UInt32?) {
        self.declaredDataBytes = declaredDataBytes
        self.file = file
        self.container = container
        self.codec = codec
        interleaved = [Float](repeating: 0, count: Self.blockFrames * file.channels)
    }

    var sampleRate: Int { file.sampleRate }
    var channels: Int { file.channels }

    static func open(path: String, format: RawFormat?) throws(AudioError) -> AudioInput {
        let sniff = try Sniff.read(path: path)
        if sniff.size == 0 { throw AudioError(.empty, file: path) }

        // An explicit --format wins; a file extension only counts when the bytes carry no header.
        let raw =
            format ?? (sniff.container == .unknown || sniff.container == .mpegFrames ? RawFormat(path: path) : nil)
        if raw == nil, case .wav(let header) = sniff.container, !header.headerComplete,
            sniff.size <= Int64(Sniff.window)
        {
            throw AudioError(.truncated(detail: "the WAV header ends before any audio data"), file: path)
        }

        var wav: Sniff.WAVHeader?
        if raw == nil, case .wav(let header) = sniff.container { wav = header }
        let file: SoundFile
        // A header whose data length lies: read the samples from the data chunk to the end.
        let opened =
            if let wav, wav.lengthLies, let info = rawInfo(for: wav) {
                SoundFile.openForReading(path: path, info: info, rawOffset: Int64(wav.dataOffset))
            } else {
                SoundFile.openForReading(path: path, raw: raw)
            }
        switch opened {
        case .success(let opened): file = opened
        case .failure(let failure): throw classifyOpenFailure(failure, sniff: sniff, raw: raw, path: path)
        }
        guard file.channels >= 1, file.channels <= maxChannels else {
            throw AudioError(.notAudio(detail: "the header claims \(file.channels) channels"), file: path)
        }
        guard file.sampleRate >= 1000, file.sampleRate <= maxSampleRate else {
            throw AudioError(.notAudio(detail: "the header claims a sample rate of \(file.sampleRate) Hz"), file: path)
        }
        let names = describe(major: file.majorFormat, subtype: file.subtype)
        let input = AudioInput(
            file: file, container: wav == nil ? names.container : "wav", codec: names.codec,
            declaredDataBytes: wav?.dataBytes)
        // Block codecs pad their last block; the fact chunk knows the real count. Trusted only
        // to cut that padding, never to lengthen or to cut more than a block or two.
        if let wav, let fact = wav.factFrames, [0x0002, 0x0011, 0x0031].contains(wav.formatTag ?? 0),
            Int64(fact) <= file.declaredFrames, file.declaredFrames - Int64(fact) < 4096
        {
            input.frameLimit = Int64(fact)
        }
        return input
    }

    /// True when the header promised audio: a decoder that then yields nothing means a cut file.
    var headerPromisesAudio: Bool { file.declaredFrames > 0 || (declaredDataBytes ?? 0) > 0 }

    /// Reads the next block, mixed to mono, into `mono` (capacity ≥ `blockFrames`); 0 at the end.
    func readMono(into mono: UnsafeMutableBufferPointer<Float>) -> Int {
        let channels = self.channels
        return interleaved.withUnsafeMutableBufferPointer { buffer in
            let wanted = Int(min(Int64(Self.blockFrames), frameLimit - framesRead))
            let frames = wanted > 0 ? file.readFrames(into: buffer, frames: wanted) : 0
            guard frames > 0 else { return 0 }
            framesRead += Int64(frames)
            if channels == 1 {
                for index in 0..<frames { mono[index] = buffer[index] }
            } else {
                let scale = 1 / Float(channels)
                for frame in 0..<frames {
                    var sum: Float = 0
                    for channel in 0..<channels { sum += buffer[frame * channels + channel] }
                    mono[frame] = sum * scale
                }
            }
            return frames
        }
    }

    private static func classifyOpenFailure(
        _ failure: SoundFile.OpenFailure, sniff: Sniff, raw: RawFormat?, path: String
    ) -> AudioError {
        let said = failure.message
        if raw != nil {
            // Raw audio has no header to be wrong: only a file shorter than one frame fails.
            return AudioError(.truncated(detail: "shorter than one \(raw!.rawValue) frame"), file: path)
        }
        switch sniff.container {
        case .wav(let header) where header.formatTag.map { !supportedWAVTags.contains($0) } ?? false:
            return AudioError(.unsupportedCodec(wavCodecName(formatTag: header.formatTag!)), file: path)
        case .wav:
            return AudioError(.notAudio(detail: "the WAV header is damaged (\(said))"), file: path)
        case .flac:
            return AudioError(.notAudio(detail: "the FLAC stream is damaged (\(said))"), file: path)
        case .ogg:
            return AudioError(.unsupportedCodec("in Ogg (only Vorbis and Opus are read)"), file: path)
        case .mp3, .mpegFrames:
            return AudioError(.notAudio(detail: "the MP3 stream is damaged (\(said))"), file: path)
        case .aiff, .au:
            return AudioError(.notAudio(detail: "the header is damaged (\(said))"), file: path)
        case .unknown:
            return AudioError(.notAudio(detail: nil), file: path)
        }
    }

    /// The raw reading of a WAV's sample-aligned codecs, for a header whose length lies.
    private static func rawInfo(for wav: Sniff.WAVHeader) -> SF_INFO? {
        guard (1...maxChannels).contains(wav.channels), (1000...maxSampleRate).contains(wav.sampleRate) else {
            return nil
        }
        let codec: Int
        switch (wav.formatTag, wav.bitsPerSample) {
        case (0x0001, 8): codec = SF_FORMAT_PCM_U8
        case (0x0001, 16): codec = SF_FORMAT_PCM_16
        case (0x0001, 24): codec = SF_FORMAT_PCM_24
        case (0x0001, 32): codec = SF_FORMAT_PCM_32
        case (0x0003, 32): codec = SF_FORMAT_FLOAT
        case (0x0003, 64): codec = SF_FORMAT_DOUBLE
        case (0x0006, _): codec = SF_FORMAT_ALAW
        case (0x0007, _): codec = SF_FORMAT_ULAW
        default: return nil
        }
        var info = SF_INFO()
        info.samplerate = Int32(wav.sampleRate)
        info.channels = Int32(wav.channels)
        info.format = Int32(SF_FORMAT_RAW | codec | SF_ENDIAN_LITTLE)
        return info
    }

    /// WAV codecs libsndfile 1.2 decodes: PCM, MS ADPCM, float, A-law, µ-law, IMA ADPCM, GSM 6.10.
    static let supportedWAVTags: Set<UInt16> = [0x0001, 0x0002, 0x0003, 0x0006, 0x0007, 0x0011, 0x0031]

    static func describe(major: Int32, subtype: Int32) -> (container: String, codec: String) {
        let container: String
        switch Int(major) {
        case SF_FORMAT_WAV, SF_FORMAT_WAVEX: container = "wav"
        case SF_FORMAT_RF64: container = "rf64"
        case SF_FORMAT_W64: container = "w64"
        case SF_FORMAT_FLAC: container = "flac"
        case SF_FORMAT_OGG: container = "ogg"
        case SF_FORMAT_MPEG: container = "mp3"
        case SF_FORMAT_RAW: container = "raw"
        case SF_FORMAT_AIFF: container = "aiff"
        case SF_FORMAT_AU: container = "au"
        case SF_FORMAT_CAF: container = "caf"
        default: container = "other"
        }
        let codec: String
        switch Int(subtype) {
        case SF_FORMAT_PCM_S8: codec = "pcm_s8"
        case SF_FORMAT_PCM_U8: codec = "pcm_u8"
        case SF_FORMAT_PCM_16: codec = major == Int32(SF_FORMAT_FLAC) ? "flac" : "pcm_s16"
        case SF_FORMAT_PCM_24: codec = major == Int32(SF_FORMAT_FLAC) ? "flac" : "pcm_s24"
        case SF_FORMAT_PCM_32: codec = "pcm_s32"
        case SF_FORMAT_FLOAT: codec = "pcm_f32"
        case SF_FORMAT_DOUBLE: codec = "pcm_f64"
        case SF_FORMAT_ULAW: codec = "ulaw"
        case SF_FORMAT_ALAW: codec = "alaw"
        case SF_FORMAT_GSM610: codec = "gsm"
        case SF_FORMAT_IMA_ADPCM: codec = "ima_adpcm"
        case SF_FORMAT_MS_ADPCM: codec = "ms_adpcm"
        case SF_FORMAT_VORBIS: codec = "vorbis"
        case SF_FORMAT_OPUS: codec = "opus"
        case SF_FORMAT_MPEG_LAYER_I: codec = "mp1"
        case SF_FORMAT_MPEG_LAYER_II: codec = "mp2"
        case SF_FORMAT_MPEG_LAYER_III: codec = "mp3"
        case SF_FORMAT_G721_32: codec = "g721"
        case SF_FORMAT_G723_24, SF_FORMAT_G723_40: codec = "g723"
        default: codec = "other"
        }
        return (container, codec)
    }
}
