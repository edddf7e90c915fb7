import Foundation
import MailvoxAudio
import MailvoxCore
import Testing

/// Loudness normalisation, silence trimming and the length limits, on constructed signals.
@Suite struct ProcessingTests {
    /// 1.5 s of silence, 1 s of a 440 Hz tone at -6 dBFS, 2 s of silence, at 8 kHz.
    func paddedTone(_ audio: TestAudio, noiseDB: Int? = nil) throws -> String {
        let tone = audio.path("tone.wav")
        try audio.run(
            "sox",
            [
                "-n", "-r", "8000", "-c", "1", "-b", "16", tone, "synth", "1", "sine", "440", "vol", "0.5", "pad",
                "1.5", "2",
            ])
        guard let noiseDB else { return tone }
        let noise = audio.path("noise.wav")
        try audio.run(
            "sox",
            ["-n", "-r", "8000", "-c", "1", "-b", "16", noise, "synth", "4.5", "whitenoise", "vol", "\(noiseDB)dB"])
        let mixed = audio.path("tone-noise.wav")
        try audio.run("sox", ["-m", "-v", "1", tone, "-v", "1", noise, mixed])
        return mixed
    }

    @Test(arguments: [nil, -70, -60])
    func trimmingCutsLeadingAndTrailingSilence(noiseDB: Int?) throws {
        let audio = try TestAudio()
        let input = try paddedTone(audio, noiseDB: noiseDB)
        var options = TranscodeOptions()
        options.trimSilence = true
        let out = audio.path("trimmed.wav")
        let result = try Transcoder.transcode(input: input, to: [TranscodeTarget(.wav, path: out)], options: options)
        // The tone plus the 0.25 s kept at each end.
        let expected = 1 + 2 * options.silencePaddingSeconds
        #expect(abs(result.duration - expected) <= 0.05, "\(result.duration) s")
        #expect(abs(result.trimmedLeadingSeconds - (1.5 - options.silencePaddingSeconds)) <= 0.05)
        #expect(abs(result.trimmedTrailingSeconds - (2 - options.silencePaddingSeconds)) <= 0.05)
        #expect(abs(try TestAudio.soxDuration(out) - expected) <= 0.05)
    }

    @Test func withoutTrimmingTheSilenceStays() throws {
        let audio = try TestAudio()
        let input = try paddedTone(audio)
        let out = audio.path("kept.wav")
        let result = try Transcoder.transcode(input: input, to: [TranscodeTarget(.wav, path: out)])
        #expect(abs(result.duration - 4.5) <= 0.05)
        #expect(result.trimmedLeadingSeconds == 0)
    }

    @Test(arguments: [(0.05, -23.0), (0.05, -16.0), (1.0, -30.0)])
    func normalisedOutputLandsOnTheTarget(volume: Double, target: Double) throws {
        let audio = try TestAudio()
        let speech = try audio.speech()
        let input = audio.path("scaled.wav")
        try audio.run("sox", [speech, "-r", "16000", input, "vol", "\(volume)"])
        let before = try AudioProbe.loudness(path: input)
        #expect(abs(before.integratedLUFS - target) > 3, "the input must start away from the target")

        var options = TranscodeOptions()
        options.loudnessTargetLUFS = target
        let targets = OutputFormat.allCases.map { TranscodeTarget($0, path: audio.path("norm.\($0.rawValue)")) }
        let result = try Transcoder.transcode(input: input, to: targets, options: options)
        for output in targets {
            let after = try AudioProbe.loudness(path: output.path)
            // Within 1 LU of the target, unless the peak ceiling held the gain back: then the
            // peak sits at the ceiling and the loudness below the target.
            let ceilingHeld = abs(after.samplePeakDBFS - options.peakCeilingDBFS) <= 1 && after.integratedLUFS < target
            #expect(
                abs(after.integratedLUFS - target) <= 1 || ceilingHeld,
                "\(output.format): \(after.integratedLUFS) LUFS, peak \(after.samplePeakDBFS) dBFS, gain \(result.gainDB) dB"
            )
            #expect(after.samplePeakDBFS <= options.peakCeilingDBFS + 1.0)
        }
        // Quiet callers become audible: the gain went the right way and by enough.
        #expect(abs(result.gainDB - (target - before.integratedLUFS)) <= 1 || result.gainDB > 0)
    }

    @Test func tooShortIsRejected() throws {
        let audio = try TestAudio()
        let input = try paddedTone(audio)
        var options = TranscodeOptions()
        options.minSeconds = 2
        options.trimSilence = true
        let out = audio.path("short.mp3")
        #expect {
            try Transcoder.transcode(input: input, to: [TranscodeTarget(.mp3, path: out)], options: options)
        } throws: { error in
            guard let error = error as? AudioError, case .tooShort(let seconds, 2) = error.reason else { return false }
            return abs(seconds - 1.5) <= 0.05 && error.code == .audioTooShort
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        // Untrimmed it is 4.5 s long, and passes.
        options.trimSilence = false
        _ = try Transcoder.transcode(input: input, to: [TranscodeTarget(.mp3, path: out)], options: options)
        #expect(FileManager.default.fileExists(atPath: out))
    }

    @Test(arguments: [false, true])
    func tooLongIsTruncatedOrRejected(analysed: Bool) throws {
        let audio = try TestAudio()
        let speech = try audio.speech()
        let full = try AudioProbe.probe(path: speech).duration
        var options = TranscodeOptions()
        options.maxSeconds = 2
        // With loudness on, the limits are applied from the analysis pass; off, while streaming.
        options.loudnessTargetLUFS = analysed ? -23 : nil
        let out = audio.path("long.opus")
        options.tooLong = .truncate
        let result = try Transcoder.transcode(input: speech, to: [TranscodeTarget(.opus, path: out)], options: options)
        #expect(result.truncated)
        #expect(abs(result.duration - 2) <= 0.05)
        #expect(abs(try TestAudio.opusinfoDuration(out) - 2) <= 0.05)

        options.tooLong = .reject
        let rejected = audio.path("rejected.opus")
        #expect {
            try Transcoder.transcode(input: speech, to: [TranscodeTarget(.opus, path: rejected)], options: options)
        } throws: { error in
            guard let error = error as? AudioError, case .tooLong(let seconds, 2) = error.reason else { return false }
            return abs(seconds - full) <= 0.05 && error.code == .audioTooLong
        }
        #expect(!FileManager.default.fileExists(atPath: rejected))
    }

    @Test func optionsFollowTheConfiguration() {
        var audio = Configuration(file: "mailvox.toml").audio
        audio.mp3BitrateKbps = 48
        audio.loudnessTargetLUFS = nil
        audio.tooLong = .reject
        let options = TranscodeOptions(audio)
        #expect(options.mp3BitrateKbps == 48)
        #expect(options.loudnessTargetLUFS == nil)
        #expect(options.tooLong == .reject)
        #expect(options.trimSilence == audio.trimSilence)
        #expect(options.minSeconds == audio.minSeconds && options.maxSeconds == audio.maxSeconds)
    }

    @Test func errorsCarryStableCodesAndReadableMessages() {
        let cases: [(AudioError.Reason, ErrorCode)] = [
            (.empty, .audioEmpty), (.truncated(detail: "x"), .audioTruncated), (.notAudio(detail: nil), .audioNotAudio),
            (.unsupportedCodec("G.729"), .audioUnsupportedCodec), (.silence, .audioSilence),
            (.tooShort(seconds: 0.4, minimum: 1), .audioTooShort),
            (.tooLong(seconds: 700, maximum: 600), .audioTooLong),
        ]
        for (reason, code) in cases {
            let error = AudioError(reason, file: "in.wav")
            #expect(error.code == code)
            #expect(error.kind.exitCode == 2)
            #expect(error.description.hasPrefix("in.wav: "))
            #expect(!error.description.contains("\n"))
        }
        #expect(AudioError(.tooShort(seconds: 0.4, minimum: 1), file: "a").message.contains("0.400 s"))
    }
}
