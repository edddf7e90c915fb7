import Foundation
import MailvoxAudio
import MailvoxCore
import Testing

/// Every input format the issue lists, made from one espeak-ng sentence with sox, lame and
/// opusenc, probed and converted to every output; each duration within 50 ms of the source.
@Suite struct InputMatrixTests {
    /// An input variant: how to make it from the 22.05 kHz speech WAV, and what probe must say.
    struct Variant: Sendable, CustomStringConvertible {
        var name: String
        var file: String
        var tool: String
        var arguments: @Sendable (_ source: String, _ out: String) -> [String]
        var format: String?
        var container: String
        var codec: String
        var sampleRate: Int
        var channels: Int
        var description: String { name }
    }

    static let variants: [Variant] = [
        Variant(
            name: "WAV PCM 8 kHz mono", file: "pcm8.wav", tool: "sox",
            arguments: { [$0, "-r", "8000", "-b", "16", $1] },
            container: "wav", codec: "pcm_s16", sampleRate: 8000, channels: 1),
        Variant(
            name: "WAV PCM 16 kHz mono", file: "pcm16.wav", tool: "sox",
            arguments: { [$0, "-r", "16000", "-b", "16", $1] }, container: "wav", codec: "pcm_s16", sampleRate: 16000,
            channels: 1),
        Variant(
            name: "WAV PCM 44.1 kHz stereo", file: "pcm44.wav", tool: "sox",
            arguments: { [$0, "-r", "44100", "-c", "2", "-b", "16", $1] }, container: "wav", codec: "pcm_s16",
            sampleRate: 44100, channels: 2),
        Variant(
            name: "WAV PCM 48 kHz stereo", file: "pcm48.wav", tool: "sox",
            arguments: { [$0, "-r", "48000", "-c", "2", "-b", "16", $1] }, container: "wav", codec: "pcm_s16",
            sampleRate: 48000, channels: 2),
        Variant(
            name: "WAV µ-law", file: "ulaw.wav", tool: "sox", arguments: { [$0, "-r", "8000", "-e", "mu-law", $1] },
            container: "wav", codec: "ulaw", sampleRate: 8000, channels: 1),
        Variant(
            name: "WAV A-law", file: "alaw.wav", tool: "sox", arguments: { [$0, "-r", "8000", "-e", "a-law", $1] },
            container: "wav", codec: "alaw", sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .ulaw", file: "voicemail.ulaw", tool: "sox", arguments: { [$0, "-r", "8000", "-t", "ul", $1] },
            container: "raw", codec: "ulaw", sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .pcmu", file: "voicemail.pcmu", tool: "sox", arguments: { [$0, "-r", "8000", "-t", "ul", $1] },
            container: "raw", codec: "ulaw", sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .alaw", file: "voicemail.alaw", tool: "sox", arguments: { [$0, "-r", "8000", "-t", "al", $1] },
            container: "raw", codec: "alaw", sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .pcma", file: "voicemail.pcma", tool: "sox", arguments: { [$0, "-r", "8000", "-t", "al", $1] },
            container: "raw", codec: "alaw", sampleRate: 8000, channels: 1),
        Variant(
            name: "raw µ-law by --format", file: "voicemail.bin", tool: "sox",
            arguments: { [$0, "-r", "8000", "-t", "ul", $1] }, format: "ulaw", container: "raw", codec: "ulaw",
            sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .sln", file: "voicemail.sln", tool: "sox",
            arguments: { [$0, "-r", "8000", "-t", "raw", "-e", "signed", "-b", "16", "-L", $1] }, container: "raw",
            codec: "pcm_s16", sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .sln16", file: "voicemail.sln16", tool: "sox",
            arguments: { [$0, "-r", "16000", "-t", "raw", "-e", "signed", "-b", "16", "-L", $1] }, container: "raw",
            codec: "pcm_s16", sampleRate: 16000, channels: 1),
        Variant(
            name: "WAV GSM 6.10 (wav49)", file: "voicemail.WAV", tool: "sox",
            arguments: { [$0, "-r", "8000", "-e", "gsm-full-rate", "-t", "wav", $1] }, container: "wav", codec: "gsm",
            sampleRate: 8000, channels: 1),
        Variant(
            name: "raw .gsm", file: "voicemail.gsm", tool: "sox", arguments: { [$0, "-r", "8000", $1] },
            container: "raw",
            codec: "gsm", sampleRate: 8000, channels: 1),
        Variant(
            name: "WAV IMA ADPCM", file: "ima.wav", tool: "sox",
            arguments: { [$0, "-r", "8000", "-e", "ima-adpcm", $1] },
            container: "wav", codec: "ima_adpcm", sampleRate: 8000, channels: 1),
        Variant(
            name: "WAV MS ADPCM", file: "ms.wav", tool: "sox", arguments: { [$0, "-r", "8000", "-e", "ms-adpcm", $1] },
            container: "wav", codec: "ms_adpcm", sampleRate: 8000, channels: 1),
        Variant(
            name: "FLAC", file: "speech.flac", tool: "sox", arguments: { [$0, "-r", "16000", $1] }, container: "flac",
            codec: "flac", sampleRate: 16000, channels: 1),
        Variant(
            name: "Ogg Vorbis", file: "speech.ogg", tool: "sox", arguments: { [$0, "-r", "16000", $1] },
            container: "ogg", codec: "vorbis", sampleRate: 16000, channels: 1),
        Variant(
            name: "Ogg Opus", file: "speech.opus", tool: "opusenc", arguments: { ["--quiet", $0, $1] },
            container: "ogg",
            codec: "opus", sampleRate: 24000, channels: 1),
        Variant(
            name: "MP3", file: "speech.mp3", tool: "lame", arguments: { ["--quiet", "-b", "64", $0, $1] },
            container: "mp3", codec: "mp3", sampleRate: 22050, channels: 1),
    ]

    static let tolerance = 0.050

    @Test(arguments: variants)
    func probesAndConvertsToEveryOutput(_ variant: Variant) throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        let expected =
            Double(try TestAudio.run("soxi", ["-s", source]).trimmingCharacters(in: .whitespacesAndNewlines))!
            / 22050
        let input = audio.path(variant.file)
        try audio.run(variant.tool, variant.arguments(source, input))
        let raw = variant.format.map { RawFormat(rawValue: $0)! }

        let info = try AudioProbe.probe(path: input, format: raw)
        #expect(info.container == variant.container)
        #expect(info.codec == variant.codec)
        #expect(info.sampleRate == variant.sampleRate)
        #expect(info.channels == variant.channels)
        #expect(
            abs(info.duration - expected) <= Self.tolerance, "probe said \(info.duration) s, source is \(expected) s")

        let targets = OutputFormat.allCases.map { TranscodeTarget($0, path: audio.path("out.\($0.rawValue)")) }
        let result = try Transcoder.transcode(input: input, format: raw, to: targets)
        #expect(abs(result.duration - expected) <= Self.tolerance)
        #expect(result.sampleRate == (variant.sampleRate <= 8000 ? 8000 : 16000))

        for target in targets {
            // Decodes again with libsndfile, mono at the chosen rate, to the same duration.
            let output = try AudioProbe.probe(path: target.path)
            #expect(output.channels == 1)
            #expect(output.sampleRate == result.sampleRate)
            #expect(
                abs(output.duration - expected) <= Self.tolerance,
                "\(target.format) via libsndfile: \(output.duration) s, source \(expected) s")
            // And with a decoder that is not libsndfile.
            let independent: Double
            switch target.format {
            case .wav, .flac: independent = try TestAudio.soxDuration(target.path)
            case .opus: independent = try TestAudio.opusinfoDuration(target.path)
            case .mp3: independent = try LameHeader(path: target.path).duration
            }
            #expect(
                abs(independent - expected) <= Self.tolerance,
                "\(target.format) via independent decoder: \(independent) s, source \(expected) s")
        }
    }

    @Test func mp3HasTheConfiguredBitrateAndALameHeader() throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        let narrow = audio.path("narrow.wav")
        try audio.run("sox", [source, "-r", "8000", narrow])
        for (input, bitrate) in [(narrow, 32), (narrow, 24), (source, 32), (source, 64)] {
            var options = TranscodeOptions()
            options.mp3BitrateKbps = bitrate
            let out = audio.path("out-\(bitrate).mp3")
            _ = try Transcoder.transcode(input: input, to: [TranscodeTarget(.mp3, path: out)], options: options)
            let header = try LameHeader(path: out)
            let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as! Int
            // Mean bitrate over the whole file, the header frame included, within 20%.
            let kbps = Double(size * 8) / header.duration / 1000
            #expect(abs(kbps - Double(bitrate)) / Double(bitrate) < 0.2, "\(input) at \(bitrate): \(kbps) kbps")
        }
    }

    @Test func opusHasTheConfiguredBitrate() throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        for bitrate in [16, 24, 32] {
            var options = TranscodeOptions()
            options.opusBitrateKbps = bitrate
            let out = audio.path("out-\(bitrate).opus")
            let result = try Transcoder.transcode(
                input: source, to: [TranscodeTarget(.opus, path: out)], options: options)
            let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as! Int
            // Opus is VBR and the Ogg headers weigh on a 5 s file: within 35%.
            let kbps = Double(size * 8) / result.duration / 1000
            #expect(abs(kbps - Double(bitrate)) / Double(bitrate) < 0.35, "\(bitrate): \(kbps) kbps")
        }
    }
}
