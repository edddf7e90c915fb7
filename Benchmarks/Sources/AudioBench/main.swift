import Foundation
import MailvoxAudio

// AudioBench: Mailvox's transcode against the command-line encoders on the same libraries,
// in the same run. For each input format and length (1 s, 30 s, 5 min of espeak-ng speech
// at 8 kHz, made now with sox) it prints audio seconds per CPU-second (realtime factor),
// CPU seconds, peak RSS and the CPU ratio Mailvox / peer:
//   MP3:  Mailvox (libsndfile → LAME, 32 kbps CBR)  vs  sox IN -t wav -e signed-integer -b 16 - | lame -b 32 - OUT
//   Opus: Mailvox (libsndfile → libopus at 8 kHz, 24 kbps)  vs  sox IN -t wav -e signed-integer -b 16 - | opusenc --bitrate 24 - OUT
// opusenc resamples everything to 48 kHz before libopus; Mailvox hands libopus the 8 kHz
// signal, which libopus accepts natively.
// Usage: AudioBench [--quick]   (--quick: 1 s and 30 s only)

enum AudioBench {
    struct Row {
        var input: String
        var seconds: Double
        var output: String
        var mailvoxCPU: Double
        var mailvoxRSS: Int
        var peerCPU: Double
        var peerRSS: Int
    }

    static func run() throws {
        let quick = CommandLine.arguments.contains("--quick")
        let lengths: [Double] = quick ? [1, 30] : [1, 30, 300]
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("mailvox-audiobench-\(getpid())").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }

        // One spoken paragraph, repeated by sox to each length.
        let paragraph = work + "/paragraph.wav"
        try shell(
            "espeak-ng -v en -w \(paragraph) 'Hello, this is Anna from accounts. I am calling about the invoice you sent last week. Could you call me back this afternoon, my number is on the invoice. Thank you and goodbye.'"
        )
        let inputs: [(name: String, ext: String, soxArgs: String)] = [
            ("WAV µ-law 8k", "wav", "-r 8000 -c 1 -e mu-law"),
            ("WAV PCM 8k", "wav", "-r 8000 -c 1 -b 16"),
            ("WAV GSM 8k", "wav", "-r 8000 -c 1 -e gsm-full-rate"),
            ("raw .ulaw", "ulaw", "-r 8000 -c 1 -t ul"),
            ("WAV PCM 16k", "wav", "-r 16000 -c 1 -b 16"),
        ]
        var rows: [Row] = []
        for length in lengths {
            for (index, input) in inputs.enumerated() {
                let path = "\(work)/in-\(index)-\(Int(length)).\(input.ext)"
                // Repeat the paragraph past the length, then trim to it exactly.
                try shell("sox \(paragraph) \(input.soxArgs) \(path) repeat 100 trim 0 \(length)")
                let wavFlag = input.ext == "ulaw" ? "-t ul -r 8000 -c 1" : ""
                // Mailvox encodes ABR where a CBR frame cannot hold the LAME header (16 kHz at
                // 32 kbps, docs/AUDIO.md); the peer gets the same mode.
                let lameMode = input.soxArgs.contains("16000") ? "--abr 32" : "-b 32"
                for output in ["mp3", "opus"] {
                    var options = TranscodeOptions()
                    options.mp3BitrateKbps = 32
                    options.opusBitrateKbps = 24
                    let out = "\(work)/out.\(output)"
                    let mine = try measureSelf {
                        _ = try Transcoder.transcode(
                            input: path, to: [TranscodeTarget(OutputFormat(rawValue: output)!, path: out)],
                            options: options)
                    }
                    let peerCommand =
                        output == "mp3"
                        ? "sox \(wavFlag) \(path) -t wav -e signed-integer -b 16 - | lame --quiet \(lameMode) - \(work)/peer.mp3"
                        : "sox \(wavFlag) \(path) -t wav -e signed-integer -b 16 - | opusenc --quiet --bitrate 24 - \(work)/peer.opus"
                    let peer = try measureChild(peerCommand)
                    rows.append(
                        Row(
                            input: input.name, seconds: length, output: output, mailvoxCPU: mine.cpu,
                            mailvoxRSS: mine.rss,
                            peerCPU: peer.cpu, peerRSS: peer.rss))
                }
            }
        }
        // One row with normalisation and trimming on (5 min, or 30 s with --quick).
        let longest = lengths.last!
        let normalisedInput = "\(work)/in-0-\(Int(longest)).wav"
        var options = TranscodeOptions()
        options.loudnessTargetLUFS = -16
        options.trimSilence = true
        let normalised = try measureSelf {
            _ = try Transcoder.transcode(
                input: normalisedInput, to: [TranscodeTarget(.mp3, path: "\(work)/norm.mp3")], options: options)
        }
        let normalisedPeer = try measureChild(
            "sox \(normalisedInput) -t wav -e signed-integer -b 16 - | lame --quiet -b 32 - \(work)/peer.mp3")
        rows.append(
            Row(
                input: "WAV µ-law 8k +norm+trim", seconds: longest, output: "mp3", mailvoxCPU: normalised.cpu,
                mailvoxRSS: normalised.rss, peerCPU: normalisedPeer.cpu, peerRSS: normalisedPeer.rss))
        printTable(rows)
    }

    static func printTable(_ rows: [Row]) {
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        func num(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }
        let header = [
            "input", "len s", "out", "mailvox cpu s", "x realtime", "rss MB", "peer cpu s", "peer x rt", "peer rss MB",
            "cpu ratio",
        ]
        let widths = [26, 6, 5, 14, 11, 7, 11, 10, 12, 9]
        print(zip(header, widths).map { pad($0, $1) }.joined(separator: " "))
        for row in rows {
            let cells = [
                row.input, num(row.seconds, 0), row.output, num(row.mailvoxCPU),
                num(row.seconds / max(row.mailvoxCPU, 1e-6), 0),
                num(Double(row.mailvoxRSS) / 1024, 1), num(row.peerCPU), num(row.seconds / max(row.peerCPU, 1e-6), 0),
                num(Double(row.peerRSS) / 1024, 1), num(row.mailvoxCPU / max(row.peerCPU, 1e-6), 2),
            ]
            print(zip(cells, widths).map { pad($0, $1) }.joined(separator: " "))
        }
        print(
            "rss: Mailvox = VmHWM of this process, reset before each run (/proc/self/clear_refs 5); peer = max RSS of the pipeline's processes"
        )
    }

    /// CPU seconds (user + system) of this process while `body` runs, and its peak RSS in KB.
    static func measureSelf(_ body: () throws -> Void) throws -> (cpu: Double, rss: Int) {
        // Writing 5 to clear_refs resets VmHWM to the current RSS, so each row has its own peak.
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = cpuSeconds(RUSAGE_SELF.rawValue)
        try body()
        let cpu = cpuSeconds(RUSAGE_SELF.rawValue) - before
        return (cpu, peakRSS())
    }

    /// Runs `command` with /bin/sh under GNU time and returns its CPU seconds (all of the
    /// pipeline, from wait4) and the peak RSS (KB) of its largest process. The RSS comes from
    /// time, not from our own wait4: a posix_spawned child inherits this process's high-water
    /// mark through exec, which would credit the peer with Mailvox's memory.
    static func measureChild(_ command: String) throws -> (cpu: Double, rss: Int) {
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("audiobench-time-\(getpid())").path
        defer { unlink(report) }
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [
            strdup("/usr/bin/time"), strdup("-f"), strdup("%M"), strdup("-o"), strdup(report), strdup("/bin/sh"),
            strdup("-c"), strdup(command), nil,
        ]
        defer { for pointer in argv { free(pointer) } }
        guard posix_spawn(&pid, "/usr/bin/time", nil, nil, argv, environ) == 0 else {
            throw BenchFailure("spawn \(command)")
        }
        var status: Int32 = 0
        var usage = rusage()
        guard wait4(pid, &status, 0, &usage) == pid, status == 0 else { throw BenchFailure("\(command) failed") }
        let cpu =
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
        let text = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        let rss = text.split(separator: "\n").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }.last ?? 0
        return (cpu, rss)
    }

    static func cpuSeconds(_ who: __rusage_who_t) -> Double {
        var usage = rusage()
        getrusage(who, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }

    /// VmHWM from /proc/self/status, in KB.
    static func peakRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    static func shell(_ command: String) throws {
        _ = try measureChild(command)
    }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

do {
    try AudioBench.run()
} catch {
    FileHandle.standardError.write(Data("AudioBench: \(error)\n".utf8))
    exit(1)
}
