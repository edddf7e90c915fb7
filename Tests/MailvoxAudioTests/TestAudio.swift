import Foundation
import MailvoxTestSupport
import Testing

/// Test recordings made at test time with espeak-ng and sox, in a fresh temporary folder.
final class TestAudio: @unchecked Sendable {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mailvox-audio-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// espeak-ng speaking a sentence (22.05 kHz mono 16-bit WAV); returns its path.
    func speech(_ name: String = "speech.wav", text: String = TestAudio.sentence) throws -> String {
        let out = path(name)
        try run("espeak-ng", ["-v", "en", text, "-w", out])
        return out
    }

    static let sentence = "Hello, this is a message for the sales team. Please call me back before five o'clock."

    /// Runs a tool and returns its standard output; throws when it exits non-zero.
    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> String {
        try TestAudio.run(tool, arguments)
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let result = try capture(tool, arguments)
        guard result.status == 0 else {
            throw ToolFailure(
                description: "\(tool) \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    static func capture(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String)
    {
        let result = try Subprocess.run(tool, arguments)
        return (result.status, result.stdout, result.stderr)
    }

    /// Duration in seconds as sox reads it (WAV, FLAC, Vorbis; MP3 with its padding).
    static func soxDuration(_ path: String) throws -> Double {
        let text = try run("soxi", ["-D", path]).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let value = Double(text) else { throw ToolFailure(description: "soxi said \(text)") }
        return value
    }

    /// Playback length as opusinfo (libopus, opus-tools) reports it.
    static func opusinfoDuration(_ path: String) throws -> Double {
        let text = try run("opusinfo", [path])
        // "Playback length: 0m:03.547s"
        guard let line = text.split(separator: "\n").first(where: { $0.contains("Playback length") }) else {
            throw ToolFailure(description: "opusinfo printed no length: \(text)")
        }
        let value = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
        let parts = value.dropLast().split(separator: "m:")
        guard parts.count == 2, let minutes = Double(parts[0]), let seconds = Double(parts[1]) else {
            throw ToolFailure(description: "cannot parse \(line)")
        }
        return minutes * 60 + seconds
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    var description: String
}
