// WebBench: the web inbox of `mailvox serve` (issue #17's benchmark) against a static file
// server sending the same bytes, in one run. A mailbox holds 1,000 voicemails and one of five
// minutes that went through the real pipeline (`mailvox deposit`, the server's workers). One
// client signs in and sends its requests one after another over one kept-alive HTTPS
// connection, as a browser tab does:
//
//   (a) GET /inbox, page 1 and a middle page: time to the whole answer, p50/p99, bytes;
//   (b) GET the JSON list (session cookie, and a personal token as a program would);
//   (c) the 5-minute voicemail's audio, `Range: bytes=0-` and from its middle: time to the
//       first audio byte, p50/p99;
//   (d) the first load's weight: the inbox HTML, app.css, app.js and icon.svg as sent.
//
// "Server time" is measured by the client over loopback (TLS included) and also read from the
// server's access log (`ms=`, whole milliseconds). Goals: inbox p99 ≤ 50 ms, first load
// ≤ 100 KB, audio first byte ≤ 20 ms. The peer (Python's http.server behind ssl) serves saved
// copies of the page 1 HTML, the JSON list and the decoded MP3; the ratios are Mailvox / peer.
//
//   WebBench [--binary .build/release/mailvox]
//   WEBBENCH_VOICEMAILS (1000), WEBBENCH_REQUESTS per row (500), WEBBENCH_LONG_SECONDS (300)
import Foundation
import MailvoxCore
import NIOPosix

/// Prints unbuffered, so a run that is stopped still shows how far it got.
func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

enum BenchError: Error {
    case setup(String)
}

let environment = ProcessInfo.processInfo.environment
let voicemailCount = Int(environment["WEBBENCH_VOICEMAILS"] ?? "") ?? 1000
let requestCount = max(10, Int(environment["WEBBENCH_REQUESTS"] ?? "") ?? 500)
let longSeconds = Int(environment["WEBBENCH_LONG_SECONDS"] ?? "") ?? 300
let password = "web-bench-password-1"

let binary: String = {
    let arguments = Array(CommandLine.arguments.dropFirst())
    let given = arguments.firstIndex(of: "--binary").flatMap { arguments.dropFirst($0 + 1).first }
    return URL(fileURLWithPath: given ?? ".build/release/mailvox").standardizedFileURL.path
}()
guard FileManager.default.isExecutableFile(atPath: binary) else {
    say("WebBench: needs --binary PATH of a built mailvox (default .build/release/mailvox); skipped")
    exit(0)
}

// MARK: Set-up

let root = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-webbench-\(UUID())").path
try FileManager.default.createDirectory(atPath: root + "/peer", withIntermediateDirectories: true)
defer { if environment["WEBBENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) } }

/// Runs `mailvox` in the bench's folder (config `var/mailvox.toml`); its standard output.
@discardableResult
func mailvox(_ arguments: [String], stdin: String? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: root)
    process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAILVOX_") }
    let output = Pipe()
    let input = Pipe()
    process.standardOutput = output
    process.standardInput = input
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data((stdin + "\n").utf8)) }
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError.setup("mailvox \(arguments.joined(separator: " "))") }
    return text
}

func shell(_ command: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    process.currentDirectoryURL = URL(fileURLWithPath: root)
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError.setup("failed: \(command)") }
}

/// A free loopback port: one the kernel hands out, released again for `mailvox serve` to take
/// (its config wants a port number, not 0).
func freePort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port ?? 0
    try await channel.close()
    return port
}

say("WebBench: \(voicemailCount) voicemails + one of \(longSeconds) s, \(requestCount) requests per row, \(binary)")
var started = now()
try mailvox(["init", "--data-dir", "var"])
try mailvox(
    ["mailbox", "add", "1000", "--name", "Front Desk", "--email", "desk@example.com", "--password-stdin"],
    stdin: password)
let token =
    try mailvox(["mailbox", "token", "create", "1000", "--name", "webbench"])
    .split(separator: "\n").last.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""

// Speech at the PBX's 8 kHz, cut to three lengths for the thousand and to five minutes.
try shell(
    "espeak-ng -w speech.wav 'Hello, this is Ada from accounts. Please call me back about the invoice for November, "
        + "the number is on the letter. Thank you and have a nice day.'")
var recordings: [InboxFiller.Recording] = []
for seconds in [9, 23, 47] {
    try shell("sox speech.wav -r 8000 -c 1 short-\(seconds).wav repeat 8 trim 0 \(seconds)")
    try mailvox(["audio", "convert", "short-\(seconds).wav", "--to", "mp3", "-o", "short-\(seconds).mp3"])
    let mp3 = try Data(contentsOf: URL(fileURLWithPath: "\(root)/short-\(seconds).mp3"))
    recordings.append(InboxFiller.Recording(mp3: Array(mp3), seconds: Double(seconds)))
}
try shell("sox speech.wav -r 8000 -c 1 long.wav repeat \(longSeconds / 5 + 1) trim 0 \(longSeconds)")
try InboxFiller.fill(
    configPath: root + "/var/mailvox.toml", mailbox: MailboxID("1000")!, count: voicemailCount, recordings: recordings)
say(
    String(
        format: "filled %d voicemails in %.1f s (composed and sealed as the deliver worker does)", voicemailCount,
        now() - started))
try mailvox([
    "deposit", "--mailbox", "1000", "--caller-number", "+4930555123", "--caller-name", "Grace Hopper", "long.wav",
])

let port = try await freePort()
let serveLog = root + "/serve.log"
_ = FileManager.default.createFile(atPath: serveLog, contents: nil)
let server = Process()
server.executableURL = URL(fileURLWithPath: binary)
server.arguments = ["serve"]
server.currentDirectoryURL = URL(fileURLWithPath: root)
var serveEnvironment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAILVOX_") }
serveEnvironment["MAILVOX_HTTP_LISTEN"] = "127.0.0.1:\(port)"
serveEnvironment["MAILVOX_IMAP_LISTEN"] = ""
serveEnvironment["MAILVOX_IMAP_LISTEN_TLS"] = ""
server.environment = serveEnvironment
server.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: serveLog))
server.standardError = server.standardOutput
server.standardInput = FileHandle.nullDevice
try server.run()
let serveStarted = now()
defer { stop(server) }

func serveLogText() -> String { (try? String(contentsOfFile: serveLog, encoding: .utf8)) ?? "" }

let mailvoxClient = TimedClient(base: "https://127.0.0.1:\(port)")
started = now()
while (try? await mailvoxClient.get("/healthz"))?.status != 200 {
    guard server.isRunning, now() - started < 60 else { throw BenchError.setup("serve did not start; see \(serveLog)") }
    try await Task.sleep(for: .milliseconds(100))
}

// Signing in as the browser does: the form's token and its cookie, then the session cookie.
let loginPage = try await mailvoxClient.get("/login")
guard let csrfRange = loginPage.text.range(of: "name=\"csrf\" value=\"") else {
    throw BenchError.setup("no csrf field")
}
let csrf = String(loginPage.text[csrfRange.upperBound...].prefix { $0 != "\"" })
let signInCookie = loginPage.cookies["__Host-mailvox-signin"] ?? ""
let signedIn = try await mailvoxClient.post(
    "/login", form: [("csrf", csrf), ("mailbox", "1000"), ("password", password)],
    headers: [("Cookie", "__Host-mailvox-signin=\(signInCookie)")])
guard signedIn.status == 303, let session = signedIn.cookies["__Host-mailvox"], !session.isEmpty else {
    throw BenchError.setup("sign-in answered \(signedIn.status)")
}
let cookie = [("Cookie", "__Host-mailvox=\(session)")]
let listPath = "/api/v1/mailboxes/1000/voicemails?folder=INBOX&page=1&per_page=25"

// The five minutes go through intake and a deliver worker: wait for them, newest of all.
started = now()
var longUID = 0
var total = 0
while longUID == 0 {
    let list = try await mailvoxClient.get(listPath, headers: cookie)
    let object = (try? JSONSerialization.jsonObject(with: Data(list.body))) as? [String: Any] ?? [:]
    total = object["total"] as? Int ?? 0
    let first = (object["voicemails"] as? [[String: Any]])?.first
    if total == voicemailCount + 1, let first, (first["duration_seconds"] as? Int ?? 0) >= longSeconds - 2 {
        longUID = first["uid"] as? Int ?? 0
    } else {
        guard now() - started < 600 else { throw BenchError.setup("the \(longSeconds) s deposit was not delivered") }
        try await Task.sleep(for: .milliseconds(200))
    }
}
say(
    String(
        format: "the %d s voicemail was delivered by serve's workers %.1f s after serve started (uid %d)",
        longSeconds, now() - serveStarted, longUID))

let pages = (total + 24) / 25
let middlePage = (pages + 1) / 2
let audioPath = "/api/v1/mailboxes/1000/voicemails/\(longUID)/audio?folder=INBOX"
let wholeAudio = try await mailvoxClient.get(audioPath, headers: cookie)
guard wholeAudio.status == 200, wholeAudio.bodyBytes > 0 else { throw BenchError.setup("audio: \(wholeAudio.status)") }
let audioMiddle = wholeAudio.bodyBytes / 2

// MARK: Measuring

struct Row {
    var name: String
    var firstByte: [Double] = []
    var total: [Double] = []
    var bodyBytes = 0
    var headBytes = 0
    /// The server's own `ms=` of the same requests, when its access log names them.
    var serverMS: [Double] = []

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// `count` requests of `path` in turn on `client`'s one connection, after 20 not counted.
func measure(
    _ name: String, _ client: TimedClient, _ path: String, headers: [(String, String)] = [], status: Int,
    logPath: String? = nil
) async throws -> Row {
    for _ in 0..<20 { _ = try await client.get(path, headers: headers, keepBody: false) }
    let logStart = serveLogText().utf8.count
    var row = Row(name: name)
    for _ in 0..<requestCount {
        let answer = try await client.get(path, headers: headers, keepBody: false)
        guard answer.status == status else { throw BenchError.setup("\(name): \(path) answered \(answer.status)") }
        row.firstByte.append(answer.firstByte)
        row.total.append(answer.total)
        row.bodyBytes = answer.bodyBytes
        row.headBytes = answer.headBytes
    }
    if let logPath {
        try await Task.sleep(for: .milliseconds(200))
        let lines = String(decoding: Array(serveLogText().utf8.dropFirst(logStart)), as: UTF8.self)
        for line in lines.split(separator: "\n") where line.contains(" path=\(logPath) ") {
            guard let field = line.split(separator: " ").first(where: { $0.hasPrefix("ms=") }) else { continue }
            if let value = Double(field.dropFirst(3)) { row.serverMS.append(value) }
        }
    }
    return row
}

say("measuring Mailvox (\(total) voicemails, \(pages) pages; middle page \(middlePage))")
let inboxPage1 = try await measure(
    "GET /inbox (page 1)", mailvoxClient, "/inbox", headers: cookie, status: 200, logPath: "/inbox")
let inboxMiddle = try await measure(
    "GET /inbox (page \(middlePage))", mailvoxClient, "/inbox?mailbox=1000&folder=INBOX&page=\(middlePage)",
    headers: cookie, status: 200, logPath: "/inbox")
let jsonList = try await measure(
    "GET JSON list (session)", mailvoxClient, listPath, headers: cookie, status: 200,
    logPath: "/api/v1/mailboxes/1000/voicemails")
let jsonToken = try await measure(
    "GET JSON list (Bearer token)", mailvoxClient, listPath, headers: [("Authorization", "Bearer \(token)")],
    status: 200, logPath: "/api/v1/mailboxes/1000/voicemails")
let audioLogPath = "/api/v1/mailboxes/1000/voicemails/\(longUID)/audio"
let audioStart = try await measure(
    "audio Range: bytes=0-", mailvoxClient, audioPath, headers: cookie + [("Range", "bytes=0-")], status: 206,
    logPath: audioLogPath)
let audioSeek = try await measure(
    "audio Range: bytes=\(audioMiddle)-", mailvoxClient, audioPath,
    headers: cookie + [("Range", "bytes=\(audioMiddle)-")], status: 206, logPath: audioLogPath)

// The first load, and the copies the peer serves.
let firstLoad = try await mailvoxClient.get("/inbox", headers: cookie)
let list = try await mailvoxClient.get(listPath, headers: cookie)
try Data(firstLoad.body).write(to: URL(fileURLWithPath: root + "/peer/inbox.html"))
try Data(list.body).write(to: URL(fileURLWithPath: root + "/peer/list.json"))
try Data(wholeAudio.body).write(to: URL(fileURLWithPath: root + "/peer/voicemail.mp3"))
var weight = [("/inbox", firstLoad.bodyBytes, firstLoad.headBytes)]
for asset in ["app.css", "app.js", "icon.svg"] {
    let answer = try await mailvoxClient.get("/static/\(asset)")
    guard answer.status == 200 else { throw BenchError.setup("/static/\(asset) answered \(answer.status)") }
    try Data(answer.body).write(to: URL(fileURLWithPath: root + "/peer/" + asset))
    weight.append(("/static/\(asset)", answer.bodyBytes, answer.headBytes))
}
try await mailvoxClient.shutdown()
stop(server)

say("measuring the static file server (Python http.server + ssl) with the same bytes")
let (peer, peerPort) = try await StaticPeer.start(
    directory: root + "/peer", certificate: root + "/var/tls/cert.pem", key: root + "/var/tls/key.pem")
defer { stop(peer) }
let peerClient = TimedClient(base: "https://127.0.0.1:\(peerPort)")
let peerPage = try await measure("static inbox.html", peerClient, "/inbox.html", status: 200)
let peerList = try await measure("static list.json", peerClient, "/list.json", status: 200)
let peerAudioStart = try await measure(
    "static mp3 bytes=0-", peerClient, "/voicemail.mp3", headers: [("Range", "bytes=0-")], status: 206)
let peerAudioSeek = try await measure(
    "static mp3 bytes=\(audioMiddle)-", peerClient, "/voicemail.mp3", headers: [("Range", "bytes=\(audioMiddle)-")],
    status: 206)
try await peerClient.shutdown()

// MARK: Report

func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }
func ratio(_ ours: Double, _ theirs: Double) -> String { String(format: "%.2f", ours / theirs) }
func logged(_ row: Row) -> String {
    row.serverMS.isEmpty
        ? "–"
        : String(
            format: "%.0f / %.0f (%d lines)", Row.percentile(row.serverMS, 0.5), Row.percentile(row.serverMS, 0.99),
            row.serverMS.count)
}

say("")
say(
    "Times measured by the client over loopback HTTPS, one kept-alive connection, requests in turn; the server's "
        + "access log counts whole milliseconds (truncated) from routing to the response it hands back.")
say(
    "| what | measured | p50 ms | p99 ms | body bytes (+ head) | goal | met | server log ms= p50 / p99 | static peer p50 / p99 ms | ratio p50 | ratio p99 |"
)
say("|---|---|---|---|---|---|---|---|---|---|---|")
/// The table's rows: what was measured, the figure (first audio byte or whole answer), the
/// goal's p99 in milliseconds, and the peer's figure for the same bytes.
let rows: [(row: Row, measured: String, values: [Double], goalMS: Double?, peer: [Double]?)] = [
    (inboxPage1, "whole answer", inboxPage1.total, 50, peerPage.total),
    (inboxMiddle, "whole answer", inboxMiddle.total, 50, peerPage.total),
    (jsonList, "whole answer", jsonList.total, nil, peerList.total),
    (jsonToken, "whole answer", jsonToken.total, nil, peerList.total),
    (audioStart, "first audio byte", audioStart.firstByte, 20, peerAudioStart.firstByte),
    (audioSeek, "first audio byte", audioSeek.firstByte, 20, peerAudioSeek.firstByte),
    (audioStart, "whole answer", audioStart.total, nil, peerAudioStart.total),
]
for (row, measured, values, goalMS, peer) in rows {
    let p50 = Row.percentile(values, 0.5)
    let p99 = Row.percentile(values, 0.99)
    let goal = goalMS.map { "p99 ≤ \(Int($0))" } ?? ""
    let met = goalMS.map { p99 * 1000 <= $0 ? "yes" : "no" } ?? ""
    let peerText = peer.map { "\(ms(Row.percentile($0, 0.5))) / \(ms(Row.percentile($0, 0.99)))" } ?? "–"
    let ratios =
        peer.map { [ratio(p50, Row.percentile($0, 0.5)), ratio(p99, Row.percentile($0, 0.99))] } ?? ["–", "–"]
    say(
        "| \(row.name) | \(measured) | \(ms(p50)) | \(ms(p99)) | \(row.bodyBytes) (+\(row.headBytes)) | \(goal) | \(met) "
            + "| \(logged(row)) | \(peerText) | \(ratios[0]) | \(ratios[1]) |")
}

let weightBytes = weight.reduce(0) { $0 + $1.1 }
let weightHeads = weight.reduce(0) { $0 + $1.2 }
say("")
say(
    "first load (uncompressed, as sent): "
        + weight.map { "\($0.0) \($0.1)" }.joined(separator: " + ")
        + " = \(weightBytes) bytes (\(String(format: "%.1f", Double(weightBytes) / 1000)) KB; heads +\(weightHeads))"
        + " — goal ≤ 100 KB: \(weightBytes <= 100_000 ? "met" : "not met")")
say(
    "peer: the page and the list are the saved page 1 and JSON (the middle page is compared with page 1's copy); "
        + "the MP3 is the decoded attachment, \(wholeAudio.bodyBytes) bytes")
