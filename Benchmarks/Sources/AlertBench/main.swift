// AlertBench: how fast the SMTP client hands alerts to a relay. Sends N alert-sized mails
// (a 10-second voicemail's MP3, base64, ≈ 55 KB) to a local aiosmtpd sink over 1 and over 8
// connections (one SMTPSender per thread, each reusing its connection for the burst), and
// Python's smtplib sending the same bytes to the same sink the same ways in the same run —
// so the sink's own limit shows in both. Prints alerts/s, per-alert latency p50/p99 and the
// ratio. Plain SMTP on loopback: TLS cost is the relay's and GnuTLS's, not ours.
import Foundation
import MailvoxNotify
import Synchronization

let count = Int(ProcessInfo.processInfo.environment["ALERTBENCH_N"] ?? "") ?? 400
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().path
let work = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-alertbench-\(UUID())").path
try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: work) }

// The message: headers like an alert's, a text part and 40 KB of audio-like bytes.
var generator = SystemRandomNumberGenerator()
let audio = (0..<40_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
let base64 = Data(audio).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn])
    .replacingOccurrences(of: "\r", with: "\r\n")
let message = Array(
    ([
        "From: =?utf-8?B?SsO8cmdlbiBHcm/DnyAoKzQ5MzAxMjM0NTYpIHZpYSBWb2ljZW1haWw=?= <voicemail@localhost>",
        "To: \"Front Desk\" <desk@example.com>", "Subject: Voicemail (0:10)", "MIME-Version: 1.0",
        "Content-Type: multipart/mixed; boundary=\"=_b\"", "", "--=_b", "Content-Type: text/plain; charset=utf-8", "",
        "You have a new voicemail.", "--=_b", "Content-Type: audio/mpeg; name=\"v.mp3\"",
        "Content-Transfer-Encoding: base64", "", base64, "--=_b--", "",
    ].joined(separator: "\r\n")).utf8)
FileManager.default.createFile(atPath: work + "/message.eml", contents: Data(message))

// The sink.
let sink = Process()
sink.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
sink.arguments = [repository + "/Tests/relay/smtp_sink.py", "--out", work + "/sink", "--count-only"]
let sinkInput = Pipe()
let sinkOutput = Pipe()
sink.standardInput = sinkInput
sink.standardOutput = sinkOutput
try sink.run()
defer {
    try? sinkInput.fileHandleForWriting.close()
    sink.terminate()
    sink.waitUntilExit()
}
var line = Data()
while let byte = try sinkOutput.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
    line.append(byte)
}
guard let port = Int(String(decoding: line, as: UTF8.self).dropFirst("ready ".count)) else {
    fatalError("the sink did not start: \(String(decoding: line, as: UTF8.self))")
}

struct Run {
    var seconds: Double
    var latencies: [Double]
    var rate: Double { Double(count) / seconds }
    func percentile(_ p: Double) -> Double {
        let sorted = latencies.sorted()
        return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] * 1000
    }
}

@Sendable func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// Mailvox: `connections` threads, each with its own SMTPSender, sharing `count` alerts.
func mailvox(connections: Int) -> Run {
    let (port, message, count) = (port, message, count)
    let latencies = Mutex<[Double]>([])
    let failures = Atomic<Int>(0)
    let start = now()
    let group = DispatchGroup()
    for index in 0..<connections {
        group.enter()
        let thread = Thread {
            let sender = SMTPSender(
                settings: SMTPSettings(host: "127.0.0.1", port: port, security: .none, heloName: "bench.local"))
            var mine: [Double] = []
            for _ in stride(from: index, to: count, by: connections) {
                let begin = now()
                do {
                    let outcome = try sender.send(
                        from: "voicemail@localhost", to: ["desk@example.com"], message: message)
                    if outcome != [.accepted] { failures.add(1, ordering: .relaxed) }
                } catch {
                    failures.add(1, ordering: .relaxed)
                }
                mine.append(now() - begin)
            }
            sender.close()
            latencies.withLock { $0 += mine }
            group.leave()
        }
        thread.start()
    }
    group.wait()
    let elapsed = now() - start
    if failures.load(ordering: .relaxed) > 0 { print("  mailvox: \(failures.load(ordering: .relaxed)) failures") }
    return Run(seconds: elapsed, latencies: latencies.withLock { $0 })
}

/// Python's smtplib: the same split over `connections` threads, one SMTP object each.
func python(connections: Int) throws -> Run {
    let script = """
        import smtplib, sys, threading, time, json
        port, n, k = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
        data = open(sys.argv[4], "rb").read()
        lat = []; lock = threading.Lock()
        def worker(i):
            s = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.local")
            mine = []
            for _ in range(i, n, k):
                t = time.perf_counter(); s.sendmail("voicemail@localhost", ["desk@example.com"], data); mine.append(time.perf_counter() - t)
            s.quit()
            with lock: lat.extend(mine)
        start = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(k)]
        [t.start() for t in threads]; [t.join() for t in threads]
        print(json.dumps({"seconds": time.perf_counter() - start, "latencies": lat}))
        """
    try script.write(toFile: work + "/peer.py", atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    process.arguments = [work + "/peer.py", "\(port)", "\(count)", "\(connections)", work + "/message.eml"]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
        let seconds = object["seconds"] as? Double, let latencies = object["latencies"] as? [Double]
    else { fatalError("smtplib peer failed") }
    return Run(seconds: seconds, latencies: latencies)
}

func format(_ value: Double, _ decimals: Int = 1) -> String { String(format: "%.\(decimals)f", value) }

print("AlertBench: \(count) alerts of \(message.count / 1024) KB to a local aiosmtpd sink (plain SMTP, loopback)")
print("sender           conns  alerts/s  p50 ms  p99 ms")
for connections in [1, 8] {
    _ = mailvox(connections: connections)  // warm-up: connections, page cache, the sink's imports
    let ours = mailvox(connections: connections)
    let peer = try python(connections: connections)
    for (name, run) in [("mailvox", ours), ("python smtplib", peer)] {
        print(
            name.padding(toLength: 17, withPad: " ", startingAt: 0)
                + "\(connections)".padding(toLength: 7, withPad: " ", startingAt: 0)
                + format(run.rate).padding(toLength: 10, withPad: " ", startingAt: 0)
                + format(run.percentile(0.5), 2).padding(toLength: 8, withPad: " ", startingAt: 0)
                + format(run.percentile(0.99), 2))
    }
    print(
        "  ratio mailvox/smtplib over \(connections) connection\(connections == 1 ? "" : "s"): \(format(ours.rate / peer.rate, 2))x"
    )
}

// Latency from `mailvox deposit` to the relay's acceptance, through a running `mailvox serve`
// (transcode, compose, store, alert copy, notify job, SMTP). Uses MAILVOX_BIN, else the
// release build of the checkout, else its debug build (said in the output).
func depositToRelayLatency() throws {
    let candidates = [
        ProcessInfo.processInfo.environment["MAILVOX_BIN"] ?? "", repository + "/.build/release/mailvox",
        repository + "/.build/debug/mailvox",
    ]
    guard let binary = candidates.first(where: { !$0.isEmpty && FileManager.default.isExecutableFile(atPath: $0) })
    else {
        print("deposit → relay latency: skipped (build mailvox first)")
        return
    }
    let folder = work + "/latency"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let relay = Process()
    relay.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    relay.arguments = [repository + "/Tests/relay/smtp_sink.py", "--out", folder + "/sink"]
    let relayInput = Pipe()
    let relayOutput = Pipe()
    relay.standardInput = relayInput
    relay.standardOutput = relayOutput
    try relay.run()
    defer {
        try? relayInput.fileHandleForWriting.close()
        relay.terminate()
        relay.waitUntilExit()
    }
    var ready = Data()
    while let byte = try relayOutput.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
        ready.append(byte)
    }
    let relayPort = String(decoding: ready, as: UTF8.self).dropFirst("ready ".count)
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAILVOX_") }
    environment.merge([
        "MAILVOX_SMTP_HOST": "127.0.0.1", "MAILVOX_SMTP_PORT": String(relayPort), "MAILVOX_SMTP_SECURITY": "none",
        "MAILVOX_HTTP_LISTEN": "",
    ]) { $1 }
    @discardableResult
    func run(_ arguments: [String], stdin: String = "") throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: folder)
        process.environment = environment
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
    try run(["init", "--data-dir", "var"])
    try run(
        ["mailbox", "add", "1000", "--name", "Bench", "--email", "desk@example.com", "--password-stdin"],
        stdin: "long-enough-1")
    let speak = Process()
    speak.executableURL = URL(fileURLWithPath: "/usr/bin/espeak-ng")
    speak.arguments = ["Hello, this is a benchmark. Please call me back.", "-w", folder + "/hello.wav"]
    try speak.run()
    speak.waitUntilExit()

    let server = Process()
    server.executableURL = URL(fileURLWithPath: binary)
    server.arguments = ["serve"]
    server.currentDirectoryURL = URL(fileURLWithPath: folder)
    server.environment = environment
    server.standardOutput = FileHandle.nullDevice
    server.standardError = FileHandle.nullDevice
    try server.run()
    defer {
        server.terminate()
        server.waitUntilExit()
    }
    sleep(2)
    let deposits = 20
    var started: [String: Double] = [:]
    for _ in 0..<deposits {
        let time = Date().timeIntervalSince1970
        let id =
            try run(["deposit", "--mailbox", "1000", "--caller-number", "+4930123456", "hello.wav"])
            .split(separator: "\n").last.map(String.init) ?? ""
        started[id] = time
        usleep(300_000)
    }
    let deadline = Date().addingTimeInterval(120)
    var latencies: [Double] = []
    while Date() < deadline {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder + "/sink")) ?? []).filter {
            $0.hasSuffix(".json")
        }
        if names.count >= deposits {
            for name in names {
                let base = folder + "/sink/" + name.dropLast(5)
                guard let json = FileManager.default.contents(atPath: base + ".json"),
                    let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
                    let received = object["received_at"] as? Double,
                    let eml = try? String(contentsOfFile: base + ".eml", encoding: .utf8),
                    let idLine = eml.components(separatedBy: "\r\n").first(where: { $0.hasPrefix("Message-ID: <") })
                else { continue }
                let id = String(idLine.dropFirst("Message-ID: <".count).prefix { $0 != "@" })
                if let start = started[id] { latencies.append(received - start) }
            }
            break
        }
        usleep(200_000)
    }
    let run = Run(seconds: 1, latencies: latencies)
    print(
        "deposit → relay acceptance (\(latencies.count)/\(deposits) alerts, \(binary.hasSuffix("debug/mailvox") ? "debug" : "release") binary, 250 ms worker polls): p50 \(format(run.percentile(0.5), 0)) ms, p99 \(format(run.percentile(0.99), 0)) ms"
    )
}
try depositToRelayLatency()
