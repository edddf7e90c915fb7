import ArgumentParser
import Foundation
import MailvoxAudio
import MailvoxCore

/// `mailvox audio probe|convert`: for administrators checking what a PBX sends. Needs no config.
struct AudioCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audio",
        abstract: "Check and convert recordings the way the server would (no config needed).",
        subcommands: [AudioProbeCommand.self, AudioConvertCommand.self])
}

/// `--format FMT` for headerless recordings.
struct RawFormatOption: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The raw format of a headerless file: \(RawFormat.allCases.map(\.rawValue).joined(separator: ", ")).",
            valueName: "FMT"))
    var format: String?

    func parsed() throws -> RawFormat? {
        guard let format else { return nil }
        guard let raw = RawFormat(rawValue: format.lowercased()) else {
            throw UsageFailure(
                description:
                    "--format \(format): unknown raw format; use one of \(RawFormat.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        return raw
    }
}

struct AudioProbeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probe",
        abstract: "Say what a recording is and how long it lasts, or exactly why it cannot be used.",
        discussion: "Prints container, codec, sample_rate, channels and duration (seconds); exit 2 if unusable.")

    @Argument(help: "The recording.") var file: String
    @OptionGroup var format: RawFormatOption

    func run() throws {
        try requireFile(file)
        let info = try AudioProbe.probe(path: file, format: try format.parsed())
        for line in info.probeLines { print(line) }
    }
}

struct AudioConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a recording to mono MP3, WAV, Opus or FLAC at Mailvox's default settings.",
        discussion: """
            Uses the [audio] defaults of mailvox.toml (MP3 32 kbps, Opus 24 kbps) without
            normalisation, trimming or length limits; the output has the input's true length.
            """)

    @Argument(help: "The recording.") var file: String
    @Option(name: .long, help: "The output format: mp3, wav, opus or flac.") var to: String = "mp3"
    @Option(name: .shortAndLong, help: "The output file.") var output: String
    @OptionGroup var format: RawFormatOption

    func run() throws {
        guard let target = OutputFormat(rawValue: to.lowercased()) else {
            throw UsageFailure(description: "--to \(to): unknown output format; use mp3, wav, opus or flac")
        }
        try requireFile(file)
        let defaults = Configuration(file: "").audio
        var options = TranscodeOptions()
        options.mp3BitrateKbps = defaults.mp3BitrateKbps
        options.opusBitrateKbps = defaults.opusBitrateKbps
        let result = try Transcoder.transcode(
            input: file, format: try format.parsed(), to: [TranscodeTarget(target, path: output)], options: options)
        print(
            "\(output): \(target.rawValue), \(result.sampleRate) Hz mono, \(String(format: "%.3f", result.duration)) s")
    }
}

/// A missing or unreadable FILE argument is a usage error (exit 2), not a runtime failure.
private func requireFile(_ path: String) throws {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw UsageFailure(description: "\(path): no such file")
    }
    guard FileManager.default.isReadableFile(atPath: path) else {
        throw UsageFailure(description: "\(path): not readable (permissions)")
    }
}
