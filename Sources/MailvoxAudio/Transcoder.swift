import Foundation
import MailvoxCore

/// How a recording is turned into attachments: bitrates, loudness, trimming and length limits.
public struct TranscodeOptions: Sendable, Equatable {
    public var mp3BitrateKbps = 32
    public var opusBitrateKbps = 24
    /// Target integrated loudness (EBU R128, LUFS); nil leaves the level alone.
    public var loudnessTargetLUFS: Double?
    /// Cut leading and trailing silence (keeping `silencePaddingSeconds` of it at each end).
    public var trimSilence = false
    /// Shorter recordings (after trimming) fail with `tooShort`.
    public var minSeconds = 0.0
    /// Longer recordings are truncated or rejected per `tooLong`; nil: no limit.
    public var maxSeconds: Double?
    public var tooLong = Configuration.TooLong.truncate
    /// RMS level over 20 ms below which audio counts as silence.
    public var silenceThresholdDBFS = Analysis.defaultThresholdDBFS
    /// Silence kept before the first and after the last sound when trimming, so words are not clipped.
    public var silencePaddingSeconds = 0.25
    /// The gain never lifts the sample peak above this level, so normalising never clips.
    public var peakCeilingDBFS = -1.0
    /// The rate of every output; nil chooses 8 or 16 kHz from the input (`outputSampleRate`).
    /// A PBX's greeting is asked for at its own rate, 8 kHz for G.711.
    public var sampleRate: Int?

    public init() {}

    /// The options `[audio]` in mailvox.toml asks for.
    public init(_ audio: Configuration.Audio) {
        mp3BitrateKbps = audio.mp3BitrateKbps
        opusBitrateKbps = audio.opusBitrateKbps
        loudnessTargetLUFS = audio.loudnessTargetLUFS
        trimSilence = audio.trimSilence
        minSeconds = audio.minSeconds
        maxSeconds = audio.maxSeconds
        tooLong = audio.tooLong
    }
}

/// One file to produce.
public struct TranscodeTarget: Sendable, Equatable {
    public var format: OutputFormat
    public var path: String
    /// How a WAV target stores its samples; ignored for the other formats.
    public var wavEncoding: WAVEncoding

    public init(_ format: OutputFormat, path: String, wavEncoding: WAVEncoding = .pcm16) {
        self.format = format
        self.path = path
        self.wavEncoding = wavEncoding
    }
}

/// The sample encodings of a WAV file: 16-bit PCM, or the G.711 companding telephone
/// systems play directly (µ-law in North America and Japan, A-law elsewhere; Asterisk's
/// `wav` greetings are 8 kHz µ-law).
public enum WAVEncoding: String, Sendable, Equatable, CaseIterable {
    case pcm16, muLaw = "ulaw", aLaw = "alaw"
}

/// What a transcode did.
public struct TranscodeResult: Sendable, Equatable {
    /// The input as probed (its true length).
    public var input: AudioInfo
    /// Sample rate of every output (8 kHz for telephone input, else 16 kHz).
    public var sampleRate: Int
    /// Frames written to each output, at `sampleRate`.
    public var frames: Int64
    /// Gain applied in dB (0 without normalisation).
    public var gainDB: Double
    /// Seconds of input cut at the start and at the end (silence, and the over-long tail).
    public var trimmedLeadingSeconds: Double
    public var trimmedTrailingSeconds: Double
    /// True when `max_seconds` cut the recording short.
    public var truncated: Bool

    public var duration: Double { Double(frames) / Double(sampleRate) }
}

/// Turns one recording into MP3, WAV, Opus and/or FLAC files in one streaming pass.
public enum Transcoder {
    /// The rate every output gets: telephone audio stays at 8 kHz; anything richer becomes
    /// 16 kHz wideband, which holds all of speech and which MP3 (MPEG-2), Opus and every
    /// player accept. Higher rates only spend bits on what a voice does not have.
    public static func outputSampleRate(forInput rate: Int) -> Int { rate <= 8000 ? 8000 : 16000 }

    /// Decodes `input` once per pass in fixed-size blocks (a second pass only when loudness
    /// or trimming needs the whole recording measured first) and writes every target.
    /// On any error no target it created is left behind.
    public static func transcode(
        input path: String, format: RawFormat? = nil, to targets: [TranscodeTarget],
        options: TranscodeOptions = TranscodeOptions()
    ) throws(AudioError) -> TranscodeResult {
        var created: [String] = []
        do {
            return try run(path: path, format: format, targets: targets, options: options, created: &created)
        } catch {
            for path in created { unlink(path) }
            throw error
        }
    }

    private static func run(
        path: String, format: RawFormat?, targets: [TranscodeTarget], options: TranscodeOptions,
        created: inout [String]
    ) throws(AudioError) -> TranscodeResult {
        var input = try AudioInput.open(path: path, format: format)
        let rate = input.sampleRate
        let needsAnalysis = options.loudnessTargetLUFS != nil || options.trimSilence
        var plan: Plan?
        if needsAnalysis {
            let analysis = try Analysis.run(
                input: input, path: path, silenceThresholdDBFS: options.silenceThresholdDBFS,
                measureLoudness: options.loudnessTargetLUFS != nil)
            plan = try Plan(analysis: analysis, options: options, path: path)
            // Decoders cannot all seek exactly (MP3, GSM): decode again from the start.
            input = try AudioInput.open(path: path, format: format)
        }

        let outputRate = options.sampleRate ?? outputSampleRate(forInput: rate)
        let resampler: Resampler?
        if outputRate != rate {
            guard let made = Resampler(from: rate, to: outputRate) else {
                throw AudioError(.notAudio(detail: "cannot resample from \(rate) Hz"), file: path)
            }
            resampler = made
        } else {
            resampler = nil
        }
        var outputs: [AudioOutput] = []
        for target in targets {
            outputs.append(
                try AudioOutput(
                    format: target.format, path: target.path, wavEncoding: target.wavEncoding, sampleRate: outputRate,
                    options: options))
            created.append(target.path)
        }

        // Without a plan (single pass) the limits are applied while streaming.
        let maxFrames = options.maxSeconds.map { Int64(($0 * Double(rate)).rounded()) }
        let start = plan?.startFrame ?? 0
        let end = plan?.endFrame ?? (options.tooLong == .truncate ? maxFrames ?? .max : .max)
        let gain = Float(plan.map { pow(10, $0.gainDB / 20) } ?? 1)

        var silence = SilenceTracker(sampleRate: rate, thresholdDBFS: options.silenceThresholdDBFS)
        let sink = Sink(outputs: outputs, resampler: resampler)
        var position: Int64 = 0
        var mono = [Float](repeating: 0, count: AudioInput.blockFrames)
        while true {
            let count = mono.withUnsafeMutableBufferPointer { buffer -> Int in
                let count = input.readMono(into: buffer)
                guard count > 0 else { return 0 }
                if plan == nil { silence.add(UnsafeBufferPointer(rebasing: buffer[0..<count])) }
                // The part of this block inside [start, end).
                let from = Int(max(0, min(Int64(count), start - position)))
                let to = Int(max(0, min(Int64(count), end - position)))
                if to > from {
                    if gain != 1 { for index in from..<to { buffer[index] *= gain } }
                    sink.push(UnsafeBufferPointer(rebasing: buffer[from..<to]))
                }
                return count
            }
            if let error = sink.error { throw error }
            if count == 0 { break }
            position += Int64(count)
            // Past the end with nothing left to learn: stop decoding. (A single pass that
            // rejects over-long recordings decodes on, to report their true length.)
            if position >= end && (plan != nil || options.tooLong == .truncate) { break }
        }
        sink.drain()
        if let error = sink.error { throw error }
        let written = sink.written

        var truncated = false
        if let plan {
            truncated = plan.truncated
        } else {
            silence.finish()
            if position == 0 {
                throw input.headerPromisesAudio
                    ? AudioError(
                        .truncated(detail: "the header announces audio but the file holds none that decodes"),
                        file: path)
                    : AudioError(.empty, file: path)
            }
            if silence.loudWindows == 0 { throw AudioError(.silence, file: path) }
            let seconds = Double(position) / Double(rate)
            if let maximum = options.maxSeconds, seconds > maximum {
                if options.tooLong == .reject {
                    throw AudioError(.tooLong(seconds: seconds, maximum: maximum), file: path)
                }
                truncated = true
            }
            let kept = Double(min(position, end)) / Double(rate)
            if kept < options.minSeconds {
                throw AudioError(.tooShort(seconds: kept, minimum: options.minSeconds), file: path)
            }
        }
        for output in outputs { try output.finish() }

        let info = AudioInfo(
            container: input.container, codec: input.codec, sampleRate: rate, channels: input.channels,
            frames: plan?.totalFrames ?? position, declaredFrames: max(0, input.file.declaredFrames))
        let total = plan?.totalFrames ?? position
        return TranscodeResult(
            input: info, sampleRate: outputRate, frames: written, gainDB: plan?.gainDB ?? 0,
            trimmedLeadingSeconds: Double(start) / Double(rate),
            trimmedTrailingSeconds: Double(max(0, total - min(end, total))) / Double(rate),
            truncated: truncated)
    }

    /// Where decoded blocks go: through the resampler (when the rate changes) to every output.
    private final class Sink {
        let outputs: [AudioOutput]
        let resampler: Resampler?
        private var resampled: [Float]
        private(set) var written: Int64 = 0
        private(set) var error: AudioError?

        init(outputs: [AudioOutput], resampler: Resampler?) {
            self.outputs = outputs
            self.resampler = resampler
            resampled = [Float](repeating: 0, count: resampler == nil ? 0 : AudioInput.blockFrames * 2)
        }

        func push(_ block: UnsafeBufferPointer<Float>) {
            guard let resampler else { return write(block) }
            resampled.withUnsafeMutableBufferPointer { output in
                resampler.process(block, output: output) { write($0) }
            }
        }

        func drain() {
            guard let resampler else { return }
            resampled.withUnsafeMutableBufferPointer { output in
                resampler.process(nil, output: output) { write($0) }
            }
        }

        private func write(_ samples: UnsafeBufferPointer<Float>) {
            guard error == nil else { return }
            do {
                for output in outputs { try output.write(samples) }
                written += Int64(samples.count)
            } catch {
                self.error = error
            }
        }
    }

    /// What the analysis pass decided: which frames to keep and how much gain to apply.
    private struct Plan {
        var totalFrames: Int64
        var startFrame: Int64
        var endFrame: Int64
        var gainDB: Double
        var truncated: Bool

        init(analysis: Analysis, options: TranscodeOptions, path: String) throws(AudioError) {
            let rate = Double(analysis.info.sampleRate)
            guard let firstLoud = analysis.firstLoudFrame, analysis.loudWindows > 0 else {
                throw AudioError(.silence, file: path)
            }
            totalFrames = analysis.info.frames
            if options.trimSilence {
                let padding = Int64(options.silencePaddingSeconds * rate)
                startFrame = max(0, firstLoud - padding)
                endFrame = min(totalFrames, analysis.loudEndFrame + padding)
            } else {
                startFrame = 0
                endFrame = totalFrames
            }
            let seconds = Double(endFrame - startFrame) / rate
            if seconds < options.minSeconds {
                throw AudioError(.tooShort(seconds: seconds, minimum: options.minSeconds), file: path)
            }
            truncated = false
            if let maximum = options.maxSeconds, seconds > maximum {
                if options.tooLong == .reject {
                    throw AudioError(.tooLong(seconds: seconds, maximum: maximum), file: path)
                }
                endFrame = startFrame + Int64((maximum * rate).rounded())
                truncated = true
            }
            gainDB = 0
            if let target = options.loudnessTargetLUFS, let loudness = analysis.loudness {
                // Integrated loudness is -inf when every block is under the -70 LUFS gate.
                guard loudness.isFinite else { throw AudioError(.silence, file: path) }
                var gain = target - loudness
                if let peak = analysis.samplePeak, peak > 0 {
                    gain = min(gain, options.peakCeilingDBFS - 20 * log10(peak))
                }
                gainDB = gain
            }
        }
    }
}
