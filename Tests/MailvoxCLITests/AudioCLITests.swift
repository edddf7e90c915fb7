import Foundation
import MailvoxTestSupport
import Testing

/// `mailvox audio probe|convert` through the built binary, as an administrator runs it.
@Suite struct AudioCLITests {
    /// The binary: $MAILVOX_BIN, else <package root>/.build/debug/mailvox.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["MAILVOX_BIN"], !path.isEmpty { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/mailvox").path
    }

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    func mailvox(_ arguments: [String]) throws -> Run {
        try run(Self.binary, arguments)
    }

    func run(_ tool: String, _ arguments: [String]) throws -> Run {
        // No config anywhere: audio commands must not need one.
        let result = try Subprocess.run(
            tool, arguments, environment: ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
        return Run(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mailvox-cli-audio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func probePrintsTheContractLines() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let speech = dir.appendingPathComponent("speech.wav").path
        let ulaw = dir.appendingPathComponent("call.ulaw").path
        #expect(try run("espeak-ng", ["-v", "en", "Please call me back.", "-w", speech]).status == 0)
        #expect(try run("sox", [speech, "-r", "8000", "-t", "ul", ulaw]).status == 0)
        let samples = Double(try run("soxi", ["-s", speech]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))!

        let result = try mailvox(["audio", "probe", ulaw])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 5)
        #expect(
            lines.map { $0.split(separator: ":")[0] } == ["container", "codec", "sample_rate", "channels", "duration"])
        #expect(lines[0...3] == ["container: raw", "codec: ulaw", "sample_rate: 8000", "channels: 1"])
        let duration = Double(lines[4].dropFirst("duration: ".count))!
        #expect(abs(duration - samples / 22050) <= 0.05)
        // Three decimals, always.
        #expect(lines[4].split(separator: ".").last?.count == 3)
    }

    @Test func convertWritesEachFormat() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let speech = dir.appendingPathComponent("speech.wav").path
        #expect(try run("espeak-ng", ["-v", "en", "Please call me back.", "-w", speech]).status == 0)
        for format in ["mp3", "wav", "opus", "flac"] {
            let out = dir.appendingPathComponent("out.\(format)").path
            let result = try mailvox(["audio", "convert", speech, "--to", format, "-o", out])
            #expect(result.status == 0, "\(format): \(result.stderr)")
            let probe = try mailvox(["audio", "probe", out])
            #expect(probe.status == 0)
            #expect(probe.stdout.contains("sample_rate: 16000\nchannels: 1\n"))
        }
    }

    @Test func unusableInputsExitTwoWithOneLine() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.wav").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        let text = dir.appendingPathComponent("notes.wav").path
        try Data("not audio at all, just text that is long enough to be sniffed".utf8).write(
            to: URL(fileURLWithPath: text))
        let cases: [([String], String)] = [
            (["audio", "probe", empty], "empty"),
            (["audio", "probe", text], "not an audio file"),
            (["audio", "probe", dir.appendingPathComponent("missing.wav").path], "no such file"),
            (["audio", "probe", empty, "--format", "speex"], "--format speex"),
            (["audio", "convert", empty, "--to", "aac", "-o", dir.appendingPathComponent("x.aac").path], "--to aac"),
            (
                ["audio", "convert", text, "--to", "mp3", "-o", dir.appendingPathComponent("x.mp3").path],
                "not an audio file"
            ),
        ]
        for (arguments, phrase) in cases {
            let result = try mailvox(arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("mailvox: "), "\(result.stderr)")
            #expect(result.stderr.contains(phrase), "\(arguments): \(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("x.mp3").path))
    }
}
