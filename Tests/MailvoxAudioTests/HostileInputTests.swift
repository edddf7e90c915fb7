import Foundation
import MailvoxAudio
import MailvoxCore
import Testing

/// Files a PBX, a broken upload or an attacker may send: each gets its typed error, never a crash,
/// and a failed transcode leaves no output behind.
@Suite struct HostileInputTests {
    /// Probe and transcode must both fail with `code`; the transcode must leave no file.
    func expectFailure(
        _ path: String, format: RawFormat? = nil, code: ErrorCode, in audio: TestAudio,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let info = try AudioProbe.probe(path: path, format: format)
            Issue.record("probe accepted \(path): \(info)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "probe: \(error)", sourceLocation: sourceLocation)
            #expect(error.kind == .input, sourceLocation: sourceLocation)
            #expect(error.description.hasPrefix(path + ": "), sourceLocation: sourceLocation)
        }
        let out = audio.path("out-\(UUID().uuidString).mp3")
        do {
            _ = try Transcoder.transcode(input: path, format: format, to: [TranscodeTarget(.mp3, path: out)])
            Issue.record("transcode accepted \(path)", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, "transcode: \(error)", sourceLocation: sourceLocation)
        }
        #expect(!FileManager.default.fileExists(atPath: out), "output left behind", sourceLocation: sourceLocation)
    }

    @Test func emptyFilesAreEmpty() throws {
        let audio = try TestAudio()
        for name in ["empty.wav", "empty.ulaw", "empty.mp3", "empty"] {
            FileManager.default.createFile(atPath: audio.path(name), contents: Data())
            expectFailure(audio.path(name), code: .audioEmpty, in: audio)
        }
        // A complete WAV header that announces no audio at all.
        let headerOnly = audio.path("header-only.wav")
        try audio.run("sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", headerOnly, "trim", "0", "0"])
        expectFailure(headerOnly, code: .audioEmpty, in: audio)
    }

    @Test func cutFilesAreTruncated() throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        let wav = audio.path("speech8.wav")
        try audio.run("sox", [source, "-r", "8000", "-e", "mu-law", wav])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: wav))
        // Cut inside the RIFF header, inside fmt, and just after the data chunk's header.
        let dataOffset = bytes.range(of: Data("data".utf8))!.lowerBound
        for length in [4, 11, 30, dataOffset + 8] {
            let cut = audio.path("cut-\(length).wav")
            try bytes.prefix(length).write(to: URL(fileURLWithPath: cut))
            expectFailure(cut, code: .audioTruncated, in: audio)
        }
    }

    @Test func cutCompressedStreamsKeepWhatDecodes() throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        let flac = audio.path("speech.flac")
        try audio.run("sox", [source, flac])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: flac))
        let half = audio.path("half.flac")
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: half))
        // What survives decodes; the length is what is there, not what the header said.
        let info = try AudioProbe.probe(path: half)
        let full = try AudioProbe.probe(path: flac)
        #expect(info.duration > 0.5 && info.duration < full.duration - 0.5)
    }

    @Test func randomBytesAreNotAudio() throws {
        let audio = try TestAudio()
        var generator = SplitMix64(seed: 0x5EED)
        for (index, name) in ["noise.bin", "noise.wav", "noise.mp3", "noise"].enumerated() {
            let bytes = (0..<(4096 * (index + 1))).map { _ in UInt8.random(in: 0...255, using: &generator) }
            try Data(bytes).write(to: URL(fileURLWithPath: audio.path(name)))
            expectFailure(audio.path(name), code: .audioNotAudio, in: audio)
        }
        let text = audio.path("notes.txt")
        try Data("This is not a recording, it is a shopping list.\n".utf8).write(to: URL(fileURLWithPath: text))
        expectFailure(text, code: .audioNotAudio, in: audio)
    }

    @Test func aWAVHeaderThatLiesAboutItsLengthGetsTheTrueDuration() throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        let wav = audio.path("honest.wav")
        try audio.run("sox", [source, "-r", "8000", "-b", "16", wav])
        let honest = try AudioProbe.probe(path: wav)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: wav)))
        let dataOffset = Data(bytes).range(of: Data("data".utf8))!.lowerBound
        // 0 (a recorder that never fixed its header), far too long, and the streaming marker.
        for claim: UInt32 in [0, 0x7FFF_0000, 0xFFFF_FFFF] {
            var lying = bytes
            withUnsafeBytes(of: claim.littleEndian) { lying.replaceSubrange(dataOffset + 4..<dataOffset + 8, with: $0) }
            withUnsafeBytes(of: claim.littleEndian) { lying.replaceSubrange(4..<8, with: $0) }
            let path = audio.path("lying-\(claim).wav")
            try Data(lying).write(to: URL(fileURLWithPath: path))
            let info = try AudioProbe.probe(path: path)
            #expect(abs(info.duration - honest.duration) <= 0.001, "claim \(claim): \(info.duration) s")
            let out = audio.path("lying-\(claim).flac")
            let result = try Transcoder.transcode(input: path, to: [TranscodeTarget(.flac, path: out)])
            #expect(abs(result.duration - honest.duration) <= 0.001)
        }
    }

    @Test func foreignCodecsAreNamed() throws {
        let audio = try TestAudio()
        // A WAV whose fmt chunk says G.723.1 (0x0042), as some IP phones record.
        let path = audio.path("g7231.wav")
        try Data(wavHeader(formatTag: 0x0042, payload: 2400)).write(to: URL(fileURLWithPath: path))
        expectFailure(path, code: .audioUnsupportedCodec, in: audio)
        do {
            _ = try AudioProbe.probe(path: path)
        } catch {
            #expect(error.reason == .unsupportedCodec("G.723.1"))
            #expect(error.message.contains("G.723.1"))
        }
    }

    @Test func silenceOnlyIsSilence() throws {
        let audio = try TestAudio()
        let silent = audio.path("silent.wav")
        try audio.run("sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", silent, "trim", "0", "3"])
        expectFailure(silent, code: .audioSilence, in: audio)
        // Line hiss at -70 dBFS is silence too; the same hiss under speech is not.
        let hiss = audio.path("hiss.wav")
        try audio.run(
            "sox", ["-n", "-r", "8000", "-c", "1", "-b", "16", hiss, "synth", "3", "whitenoise", "vol", "-70dB"])
        expectFailure(hiss, code: .audioSilence, in: audio)
        let speech = try audio.speech()
        #expect(throws: Never.self) { try AudioProbe.probe(path: speech) }
    }

    @Test func rawFormatsFromTheCommandLineOverrideTheExtension() throws {
        let audio = try TestAudio()
        let source = try audio.speech()
        let path = audio.path("call.alaw")
        try audio.run("sox", [source, "-r", "8000", "-t", "al", path])
        #expect(try AudioProbe.probe(path: path).codec == "alaw")
        #expect(try AudioProbe.probe(path: path, format: .sln16).sampleRate == 16000)
    }

    @Test func missingFilesAreUnreadable() throws {
        let audio = try TestAudio()
        #expect {
            try AudioProbe.probe(path: audio.path("missing.wav"))
        } throws: { error in
            guard let error = error as? AudioError, case .unreadable = error.reason else { return false }
            return error.kind == .runtime
        }
    }

    /// A minimal RIFF/WAVE with the given format tag and `payload` bytes of data.
    func wavHeader(formatTag: UInt16, payload: Int) -> [UInt8] {
        func le16(_ value: UInt16) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8)] }
        func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        var fmt = le16(formatTag) + le16(1) + le32(8000) + le32(800) + le16(24) + le16(0)
        fmt += le16(0)  // cbSize
        var bytes = Array("WAVE".utf8) + Array("fmt ".utf8) + le32(UInt32(fmt.count)) + fmt
        bytes += Array("data".utf8) + le32(UInt32(payload)) + [UInt8](repeating: 0x55, count: payload)
        return Array("RIFF".utf8) + le32(UInt32(bytes.count)) + bytes
    }
}
