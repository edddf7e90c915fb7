/// One decoding pass over a whole recording: true length, where sound begins and ends, and
/// (when asked) its EBU R128 loudness and sample peak.
struct Analysis {
    /// Below -50 dBFS RMS over 20 ms is silence: quieter than any caller, louder than the
    /// idle noise of a digital line (G.711 idle codes sit near -70 dBFS).
    static let defaultThresholdDBFS = -50.0

    var info: AudioInfo
    var firstLoudFrame: Int64?
    var loudEndFrame: Int64
    var loudWindows: Int
    /// Integrated loudness in LUFS and sample peak (1.0 = full scale), when measured.
    var loudness: Double?
    var samplePeak: Double?

    static func run(
        input: AudioInput, path: String, silenceThresholdDBFS: Double, measureLoudness: Bool = false
    ) throws(AudioError) -> Analysis {
        var silence = SilenceTracker(sampleRate: input.sampleRate, thresholdDBFS: silenceThresholdDBFS)
        let meter = measureLoudness ? LoudnessMeter(sampleRate: input.sampleRate) : nil
        var frames: Int64 = 0
        var mono = [Float](repeating: 0, count: AudioInput.blockFrames)
        mono.withUnsafeMutableBufferPointer { buffer in
            while true {
                let count = input.readMono(into: buffer)
                if count == 0 { break }
                let block = UnsafeBufferPointer(rebasing: buffer[0..<count])
                silence.add(block)
                meter?.add(block)
                frames += Int64(count)
            }
        }
        silence.finish()
        let declared = max(0, input.file.declaredFrames)
        if frames == 0 {
            if input.headerPromisesAudio {
                throw AudioError(
                    .truncated(detail: "the header announces audio but the file holds none that decodes"), file: path)
            }
            throw AudioError(.empty, file: path)
        }
        let info = AudioInfo(
            container: input.container, codec: input.codec, sampleRate: input.sampleRate, channels: input.channels,
            frames: frames, declaredFrames: declared)
        return Analysis(
            info: info, firstLoudFrame: silence.firstLoudFrame, loudEndFrame: silence.loudEndFrame,
            loudWindows: silence.loudWindows, loudness: meter?.integratedLoudness, samplePeak: meter?.samplePeak)
    }
}
