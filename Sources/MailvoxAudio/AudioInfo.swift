/// What a recording is and how long it really lasts, as `audio probe` prints it.
public struct AudioInfo: Sendable, Equatable {
    /// The container, lower case: `wav`, `flac`, `ogg`, `mp3`, `raw`, `aiff`, `au`, `rf64`, …
    public var container: String
    /// The codec, lower case: `pcm_s16`, `ulaw`, `alaw`, `gsm`, `ima_adpcm`, `ms_adpcm`, `flac`, `vorbis`, `opus`, `mp3`, …
    public var codec: String
    public var sampleRate: Int
    public var channels: Int
    /// Frames actually decoded, which may differ from what the header claims.
    public var frames: Int64
    /// Frames the header announced (0 when it announced none).
    public var declaredFrames: Int64

    /// The true duration in seconds: decoded frames over the sample rate.
    public var duration: Double { sampleRate > 0 ? Double(frames) / Double(sampleRate) : 0 }

    /// True when the header's length disagrees with the audio actually present.
    public var headerLengthIsWrong: Bool { declaredFrames != frames }

    /// `key: value` lines for `mailvox audio probe` (docs/DESIGN.md §3.2).
    public var probeLines: [String] {
        [
            "container: \(container)",
            "codec: \(codec)",
            "sample_rate: \(sampleRate)",
            "channels: \(channels)",
            "duration: \(formatSeconds(duration))",
        ]
    }
}
