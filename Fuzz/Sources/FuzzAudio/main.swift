import Foundation
import MailvoxAudio

// libFuzzer target: arbitrary bytes through probe and a transcode to every output format.
// The first byte picks how the bytes are read (by header, or as one of the raw formats) and
// whether loudness and trimming run; the rest is the file. Any AudioError is a fine answer;
// a crash, a leak or a sanitizer report is a bug.

private let directory: String = {
    let path = "/dev/shm/mailvox-fuzz-audio-\(getpid())"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAudio(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let selector = start.load(as: UInt8.self)
    let body = Data(bytes: start + 1, count: count - 1)
    let formats: [RawFormat?] = [nil] + RawFormat.allCases.map { $0 }
    let format = formats[Int(selector & 0x7) % formats.count]
    let input = directory + "/input"
    guard FileManager.default.createFile(atPath: input, contents: body) else { return 0 }

    _ = try? AudioProbe.probe(path: input, format: format)

    var options = TranscodeOptions()
    if selector & 0x40 != 0 {
        options.loudnessTargetLUFS = -16
        options.trimSilence = true
        options.minSeconds = 0.01
        options.maxSeconds = 0.5
    }
    options.tooLong = selector & 0x80 != 0 ? .reject : .truncate
    let targets = OutputFormat.allCases.map { TranscodeTarget($0, path: directory + "/out.\($0.rawValue)") }
    if let result = try? Transcoder.transcode(input: input, format: format, to: targets, options: options) {
        // What was written must decode again.
        for target in targets {
            guard let info = try? AudioProbe.probe(path: target.path) else { continue }
            precondition(
                info.channels == 1 && info.sampleRate == result.sampleRate, "output does not match its transcode")
        }
    }
    return 0
}
