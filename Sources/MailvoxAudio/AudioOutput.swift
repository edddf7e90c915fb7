import CSndFile
import MailvoxCore

/// An attachment format of the voice message: MP3, WAV (PCM 16-bit), Ogg Opus or FLAC.
public typealias OutputFormat = Configuration.AudioFormat

/// One output being encoded, mono, at the speech rate chosen for the whole transcode.
final class AudioOutput {
    let format: OutputFormat
    let path: String
    private let file: SoundFile

    init(
        format: OutputFormat, path: String, wavEncoding: WAVEncoding = .pcm16, sampleRate: Int,
        options: TranscodeOptions
    ) throws(AudioError) {
        self.format = format
        self.path = path
        let sndfileFormat: Int32
        switch format {
        case .mp3: sndfileFormat = Int32(SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III)
        case .wav:
            switch wavEncoding {
            case .pcm16: sndfileFormat = Int32(SF_FORMAT_WAV | SF_FORMAT_PCM_16)
            case .muLaw: sndfileFormat = Int32(SF_FORMAT_WAV | SF_FORMAT_ULAW)
            case .aLaw: sndfileFormat = Int32(SF_FORMAT_WAV | SF_FORMAT_ALAW)
            }
        case .opus: sndfileFormat = Int32(SF_FORMAT_OGG | SF_FORMAT_OPUS)
        case .flac: sndfileFormat = Int32(SF_FORMAT_FLAC | SF_FORMAT_PCM_16)
        }
        switch SoundFile.openForWriting(path: path, format: sndfileFormat, sampleRate: sampleRate) {
        case .success(let opened): file = opened
        case .failure(let failure): throw AudioError(.unwritable(failure.message), file: path)
        }
        file.enableClipping()
        switch format {
        case .mp3:
            // The mode first: libsndfile re-reads the compression level per mode.
            let kbps = Self.mp3Bitrate(requested: options.mp3BitrateKbps, sampleRate: sampleRate)
            let mode =
                Self.mp3InfoTagFits(kbps: kbps, sampleRate: sampleRate)
                ? SF_BITRATE_MODE_CONSTANT : SF_BITRATE_MODE_AVERAGE
            file.command(Int32(SFC_SET_BITRATE_MODE), int: Int32(mode))
            file.command(
                Int32(SFC_SET_COMPRESSION_LEVEL), double: Self.mp3CompressionLevel(kbps, sampleRate: sampleRate))
        case .opus:
            file.command(Int32(SFC_SET_COMPRESSION_LEVEL), double: Self.opusCompressionLevel(options.opusBitrateKbps))
        case .wav, .flac:
            break
        }
    }

    func write(_ samples: UnsafeBufferPointer<Float>) throws(AudioError) {
        guard samples.count > 0 else { return }
        if file.writeFrames(samples, frames: samples.count) != samples.count {
            throw AudioError(.unwritable(file.errorMessage), file: path)
        }
    }

    /// Flushes the encoder and closes the file (MP3: writes the LAME/Xing header).
    func finish() throws(AudioError) {
        let result = file.close()
        if result != 0 { throw AudioError(.unwritable("closing failed (libsndfile error \(result))"), file: path) }
    }

    /// The MPEG bitrates LAME allows at a sample rate: MPEG-2.5 (8–11 kHz) 8–64 kbps,
    /// MPEG-2 (16–24 kHz) 8–160 kbps, MPEG-1 (32–48 kHz) 32–320 kbps.
    static func mp3BitrateRange(sampleRate: Int) -> ClosedRange<Int> {
        if sampleRate >= 32000 { return 32...320 }
        if sampleRate >= 16000 { return 8...160 }
        return 8...64
    }

    static func mp3Bitrate(requested: Int, sampleRate: Int) -> Int {
        let range = mp3BitrateRange(sampleRate: sampleRate)
        return min(max(requested, range.lowerBound), range.upperBound)
    }

    /// LAME writes its Info/LAME header (exact length, gapless playback) only into a frame big
    /// enough for it: 189 bytes for mono MPEG-2/2.5, 204 for MPEG-1. A CBR frame of 32 kbps
    /// at 16 kHz holds 144 bytes, so there Mailvox encodes ABR at the same mean bitrate,
    /// for which LAME writes the header at a fixed 64 kbps.
    static func mp3InfoTagFits(kbps: Int, sampleRate: Int) -> Bool {
        let mpeg1 = sampleRate >= 32000
        let frameBytes = (mpeg1 ? 144_000 : 72_000) * kbps / sampleRate
        return frameBytes >= (mpeg1 ? 204 : 189)
    }

    /// libsndfile maps a CBR compression level c to `(int)(max − c·(max − min))` kbps; aim half
    /// a kbps above the wanted rate so the truncation lands on it exactly.
    static func mp3CompressionLevel(_ kbps: Int, sampleRate: Int) -> Double {
        let range = mp3BitrateRange(sampleRate: sampleRate)
        let span = Double(range.upperBound - range.lowerBound)
        let level = (Double(range.upperBound) - (Double(kbps) + 0.5)) / span
        return min(max(level, 0), 1)
    }

    /// libsndfile maps an Opus compression level q to `(int)((1 − q)·250000 + 6000)` bit/s per
    /// channel; aim half a bit above.
    static func opusCompressionLevel(_ kbps: Int) -> Double {
        let bitsPerSecond = Double(min(max(kbps, 6), 256) * 1000)
        return min(max(1 - (bitsPerSecond + 0.5 - 6000) / 250_000, 0), 1)
    }
}
