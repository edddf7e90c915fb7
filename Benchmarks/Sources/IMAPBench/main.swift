// IMAPBench: Mailvox's IMAP server (sealed store, TLS) against Dovecot (plaintext Maildir,
// TLS) with the same N voicemail-sized messages and the same load generator, in one run:
// C connections each log in once, then loop SELECT, FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE),
// FETCH BODY[] of a random message, STORE flags. Prints operations/s, p50/p99 latency, the
// servers' memory (PSS from /proc/PID/smaps_rollup, summed over their processes) and the PSS
// of K idle IDLE connections, with Mailvox/Dovecot ratios.
//
// Then the same load with COMPRESS=DEFLATE (RFC 4978) on every connection after login, for
// both servers (Dovecot through its imap_zlib plugin): ops/s, p50/p99 and the octets read off
// TLS per operation, against the uncompressed run of the same server.
//
// With the IDLE connections open it delivers D more messages, one at a time, and reports how
// long each takes from the delivery's commit to `* n EXISTS` on every IDLE connection, p50/p99.
//
// `IMAPBench serve-mailvox DIR CERT KEY` is the Mailvox server half, run as a child process
// so its memory is measured alone. It delivers a message whenever a line arrives on its stdin
// and answers with the monotonic time of the commit: the change feed that wakes IDLE sessions
// is the server process's own, so the delivery has to happen in there.
import Foundation
import Logging
import MailvoxCore
import MailvoxCrypto
import MailvoxDatabase
import MailvoxIMAP
import MailvoxStore
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL

/// Prints unbuffered, so a run that is stopped still shows how far it got.
func say(_ text: String) { FileHandle.standardOutput.write(Data((text + "\n").utf8)) }

let environment = ProcessInfo.processInfo.environment
let messageCount = Int(environment["IMAPBENCH_MESSAGES"] ?? "") ?? 200
let connectionCount = Int(environment["IMAPBENCH_CONNECTIONS"] ?? "") ?? 8
let seconds = Double(environment["IMAPBENCH_SECONDS"] ?? "") ?? 10
let idleCount = Int(environment["IMAPBENCH_IDLE"] ?? "") ?? 1000
let deliveryCount = Int(environment["IMAPBENCH_DELIVERIES"] ?? "") ?? 20
let password = "bench-password-1"

// MARK: Mailvox server (child)

if CommandLine.arguments.count == 5, CommandLine.arguments[1] == "serve-mailvox" {
    let dir = CommandLine.arguments[2]
    let database = try MailvoxDatabase.open(path: dir + "/db.sqlite", migrations: [StoreMigrations.set])
    let master = try MasterKey.load(from: dir + "/master.key")
    let store = MessageStore(database: database, spoolDir: dir + "/spool", masterKey: master)
    let directory = Directory(database: database)
    // Every attempt counts as a failure until it succeeds, and the load logs in up to 50
    // connections at once from one address: the lockout limits must be above that.
    let authenticator = DirectoryAuthenticator(
        directory: directory, store: store, limits: .default,
        auth: Configuration.Auth(maxFailures: 100_000, maxFailuresPerAddress: 100_000))
    var configuration = IMAPServerConfiguration(
        listen: nil, listenTLS: HostPort(host: "127.0.0.1", port: 0), certificateFile: CommandLine.arguments[3],
        privateKeyFile: CommandLine.arguments[4])
    configuration.maxCommandsBeforeLogin = 1000
    // Its stdout answers deliveries; logs go to stderr.
    LoggingSystem.bootstrap(StreamLogHandler.standardError)
    var logger = Logger(label: "imapbench")
    logger.logLevel = environment["IMAPBENCH_DEBUG"] == nil ? .error : .debug
    let server = IMAPServer(configuration: configuration, authenticator: authenticator, logger: logger)
    let deliverer = Thread {
        var index = 0
        while readLine() != nil {
            do {
                _ = try store.deliver(
                    mailbox: MailboxID("bench")!, depositID: "late-\(index)", message: voicemail(messageCount + index))
                say("delivered \(DispatchTime.now().uptimeNanoseconds)")
            } catch {
                say("failed \(error)")
            }
            index += 1
        }
    }
    deliverer.start()
    try await server.run { bound in
        try? "\(bound.implicitTLS!.port!)".write(toFile: dir + "/port", atomically: true, encoding: .utf8)
    }
    exit(0)
}

// MARK: Set-up

struct Bench {
    let root: String
    let certificate: String
    let key: String
    let messages: [Data]
}

func voicemail(_ index: Int) -> Data {
    // A voicemail-sized message: text part and a ~55 KB MP3-like attachment, base64.
    var bytes = [UInt8](repeating: 0, count: 40_000)
    var state = UInt32(truncatingIfNeeded: index &* 2_654_435_761 &+ 1)
    for position in bytes.indices {
        state = state &* 1_103_515_245 &+ 12345
        bytes[position] = UInt8(truncatingIfNeeded: state >> 16)
    }
    let audio = Data(bytes).base64EncodedString(options: [
        .lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed,
    ])
    let text = """
        From: "Caller \(index)" <+49301234\(String(format: "%04d", index))@localhost>\r
        To: "Bench" <bench@example.com>\r
        Subject: Voicemail from +49301234\(String(format: "%04d", index)) (0:12)\r
        Date: Mon, 23 Nov 2026 10:\(String(format: "%02d", index % 60)):00 +0000\r
        Message-ID: <bench-\(index)@localhost>\r
        MIME-Version: 1.0\r
        Message-Context: voice-message\r
        Content-Type: multipart/mixed; boundary="mvx-\(index)"\r
        \r
        --mvx-\(index)\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        You have a new voicemail from caller \(index), 12 seconds.\r
        --mvx-\(index)\r
        Content-Type: audio/mpeg; name="voicemail-\(index).mp3"\r
        Content-Transfer-Encoding: base64\r
        Content-Disposition: attachment; filename="voicemail-\(index).mp3"\r
        \r
        \(audio)\r
        --mvx-\(index)--\r

        """
    return Data(text.utf8)
}

func sh(_ command: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw BenchError.setup("failed: \(command)") }
}

func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// PSS in KiB of `pid` and every descendant.
func pss(of root: pid_t) -> Int {
    var children: [pid_t: [pid_t]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = pid_t(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        if fields.count > 1, let parent = pid_t(fields[1]) { children[parent, default: []].append(pid) }
    }
    var total = 0
    var queue = [root]
    while let pid = queue.popLast() {
        queue += children[pid] ?? []
        guard let rollup = try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8) else { continue }
        for line in rollup.split(separator: "\n") where line.hasPrefix("Pss:") {
            total += Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
    }
    return total
}

func startMailvox(_ bench: Bench) async throws -> (Process, Int) {
    let dir = bench.root + "/mailvox"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let database = try MailvoxDatabase.open(path: dir + "/db.sqlite", migrations: [StoreMigrations.set], create: true)
    let master = MasterKey.generate()
    try master.write(to: dir + "/master.key")
    // Cheap scrypt parameters (stored in the hash): logins here measure IMAP, not password hashing.
    let directory = Directory(database: database, hasher: PasswordHasher(logN: 8, blockSize: 8, parallelism: 1))
    let mailbox = MailboxID("bench")!
    try directory.addMailbox(id: mailbox, settings: MailboxSettings(name: "Bench"), password: password, master: master)
    let store = MessageStore(database: database, spoolDir: dir + "/spool", masterKey: master)
    for (index, message) in bench.messages.enumerated() {
        _ = try store.deliver(mailbox: mailbox, depositID: "bench-\(index)", message: message)
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
    process.arguments = ["serve-mailvox", dir, bench.certificate, bench.key]
    process.standardInput = Pipe()
    process.standardOutput = Pipe()
    try process.run()
    for _ in 0..<200 {
        if let text = try? String(contentsOfFile: dir + "/port", encoding: .utf8), let port = Int(text) {
            return (process, port)
        }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw BenchError.setup("Mailvox never listened")
}

func startDovecot(_ bench: Bench, maxConnections: Int) async throws -> (Process, Int) {
    let dir = bench.root + "/dovecot"
    let maildir = dir + "/home/bench/Maildir"
    for sub in ["cur", "new", "tmp"] {
        try FileManager.default.createDirectory(atPath: maildir + "/" + sub, withIntermediateDirectories: true)
    }
    for sub in ["run", "state"] {
        try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
    }
    for (index, message) in bench.messages.enumerated() {
        try message.write(to: URL(fileURLWithPath: "\(maildir)/cur/\(1_764_000_000 + index).bench\(index):2,"))
    }
    try "bench:{PLAIN}\(password)::::::\n".write(toFile: dir + "/passwd", atomically: true, encoding: .utf8)
    let port = freePort()
    let limit = maxConnections + 100
    try """
    base_dir = \(dir)/run
    state_dir = \(dir)/state
    log_path = \(dir)/dovecot.log
    listen = 127.0.0.1
    protocols = imap
    first_valid_uid = 1
    ssl = required
    ssl_cert = <\(bench.certificate)
    ssl_key = <\(bench.key)
    auth_mechanisms = plain
    mail_location = maildir:~/Maildir
    mail_plugins = $mail_plugins zlib
    protocol imap {
      mail_plugins = $mail_plugins imap_zlib
    }
    mail_max_userip_connections = \(limit)
    default_process_limit = \(limit)
    default_client_limit = \(limit * 2)
    default_vsz_limit = 0
    passdb {
      driver = passwd-file
      args = \(dir)/passwd
    }
    userdb {
      driver = static
      args = uid=nobody gid=nogroup home=\(dir)/home/%u
    }
    service imap-login {
      inet_listener imap {
        port = 0
      }
      inet_listener imaps {
        address = 127.0.0.1
        port = \(port)
        ssl = yes
      }
      process_limit = \(limit)
      client_limit = 1
    }
    service imap {
      process_limit = \(limit)
    }
    service anvil {
      client_limit = \(limit * 4)
    }
    service auth {
      client_limit = \(limit * 4)
    }

    """.write(toFile: dir + "/dovecot.conf", atomically: true, encoding: .utf8)
    try sh("chown -R nobody:nogroup \(dir)/home && chmod 755 \(bench.root) \(dir)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/sbin/dovecot")
    process.arguments = ["-F", "-c", dir + "/dovecot.conf"]
    try process.run()
    for _ in 0..<100 {
        if let _ = try? await IMAPClient.connect(port: port, sslContext: clientContext) { return (process, port) }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw BenchError.setup("Dovecot never listened; see \(dir)/dovecot.log")
}

let clientContext: NIOSSLContext = {
    var configuration = TLSConfiguration.makeClientConfiguration()
    configuration.certificateVerification = .none
    return try! NIOSSLContext(configuration: configuration)
}()

// MARK: Load

struct LoadResult {
    var operations = 0
    var elapsed = 0.0
    var latencies: [Double] = []
    /// The same latencies by command of the loop, in `loopCommands` order.
    var byCommand = [[Double]](repeating: [], count: loopCommands.count)
    var loginSelectFetch: [Double] = []
    /// Octets the clients read off TLS during the run.
    var wireOctets = 0

    func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The load loop's commands, by the names the figures use.
let loopCommands = ["SELECT", "FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)", "FETCH BODY.PEEK[]", "STORE"]

func load(port: Int, compress: Bool = false) async throws -> LoadResult {
    wireOctets.withLockedValue { $0 = 0 }
    let deadline = now() + seconds
    let start = now()
    let results = try await withThrowingTaskGroup(of: ([[Double]], Double).self) { group in
        for connection in 0..<connectionCount {
            group.addTask {
                var latencies = [[Double]](repeating: [], count: loopCommands.count)
                let began = now()
                let client = try await IMAPClient.connect(port: port, sslContext: clientContext)
                try await client.run("LOGIN bench \(password)")
                if compress { try await client.compress() }
                try await client.run("SELECT INBOX")
                try await client.run("FETCH 1 (FLAGS ENVELOPE BODYSTRUCTURE)")
                let first = now() - began
                var generator = SystemRandomNumberGenerator()
                var round = 0
                while now() < deadline {
                    for (kind, command) in [
                        "SELECT INBOX", "FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE)",
                        "FETCH \(Int.random(in: 1...messageCount, using: &generator)) BODY.PEEK[]",
                        "STORE \(Int.random(in: 1...messageCount, using: &generator)) \(round % 2 == 0 ? "+" : "-")FLAGS (\\Flagged)",
                    ].enumerated() {
                        let t0 = now()
                        try await client.run(command)
                        latencies[kind].append(now() - t0)
                    }
                    round += connection + 1
                }
                try await client.run("LOGOUT")
                await client.close()
                return (latencies, first)
            }
        }
        var all: [([[Double]], Double)] = []
        for try await result in group { all.append(result) }
        return all
    }
    var result = LoadResult()
    result.elapsed = now() - start
    for (latencies, first) in results {
        for (kind, values) in latencies.enumerated() {
            result.byCommand[kind] += values
            result.latencies += values
        }
        result.loginSelectFetch.append(first)
    }
    result.operations = result.latencies.count
    result.wireOctets = wireOctets.withLockedValue { $0 }
    return result
}

let idleFailures = NIOLockedValueBox(0)

func idleConnections(port: Int, count: Int) async throws -> [IMAPClient] {
    var clients: [IMAPClient] = []
    // In batches, so neither server sees a thundering herd of handshakes.
    var made = 0
    while made < count {
        let batch = min(50, count - made)
        let opened = try await withThrowingTaskGroup(of: IMAPClient?.self) { group in
            for _ in 0..<batch {
                group.addTask { () -> IMAPClient? in
                    do {
                        let client = try await IMAPClient.connect(port: port, sslContext: clientContext)
                        try await client.run("LOGIN bench \(password)")
                        try await client.run("SELECT INBOX")
                        try await client.idle()
                        return client
                    } catch {
                        // The first failure's reason is printed: a count alone explains nothing.
                        if idleFailures.withLockedValue({ $0 }) == 0 { say("  first IDLE failure: \(error)") }
                        return nil
                    }
                }
            }
            var result: [IMAPClient] = []
            for try await client in group {
                if let client { result.append(client) } else { idleFailures.withLockedValue { $0 += 1 } }
            }
            return result
        }
        clients += opened
        made += batch
    }
    return clients
}

/// Delivers `deliveryCount` messages one at a time, numbered from `first`, into a server whose
/// `clients` IDLE in INBOX; returns, for every delivery and connection, the seconds from the
/// delivery's commit (the monotonic time `deliver` returns) to the first `* n EXISTS` on that
/// connection that counts it, and how many never arrived within 5 s.
func pushLatencies(
    clients: [IMAPClient], first: Int, deliver: (Int) async throws -> Double
) async throws -> (latencies: [Double], missed: Int) {
    // Per connection, every EXISTS it saw: (count, arrival).
    let seen = NIOLockedValueBox([[(Int, Double)]](repeating: [], count: clients.count))
    for (position, client) in clients.enumerated() {
        try await client.watchExists { count, time in seen.withLockedValue { $0[position].append((count, time)) } }
    }
    func arrivals(counting expected: Int) -> [Double] {
        seen.withLockedValue { all in all.compactMap { events in events.first { $0.0 >= expected }?.1 } }
    }
    var latencies: [Double] = []
    var missed = 0
    for index in first..<(first + deliveryCount) {
        let expected = messageCount + index + 1
        let committed = try await deliver(index)
        let deadline = now() + 5
        while now() < deadline, arrivals(counting: expected).count < clients.count {
            try await Task.sleep(for: .milliseconds(1))
        }
        let times = arrivals(counting: expected)
        latencies += times.map { $0 - committed }
        missed += clients.count - times.count
        try await Task.sleep(for: .milliseconds(100))
    }
    return (latencies, missed)
}

/// The Mailvox child's delivery door: a line on its stdin, the commit time on its stdout.
func deliverToMailvox(_ process: Process) throws -> Double {
    let input = (process.standardInput as! Pipe).fileHandleForWriting
    let output = (process.standardOutput as! Pipe).fileHandleForReading
    input.write(Data("deliver\n".utf8))
    var line: [UInt8] = []
    while true {
        let byte = output.readData(ofLength: 1)
        guard let first = byte.first else { throw BenchError.setup("Mailvox child closed its stdout") }
        if first == UInt8(ascii: "\n") { break }
        line.append(first)
    }
    let text = String(decoding: line, as: UTF8.self)
    guard text.hasPrefix("delivered "), let nanoseconds = UInt64(text.dropFirst(10)) else {
        throw BenchError.setup("Mailvox child: \(text)")
    }
    return Double(nanoseconds) / 1e9
}

/// Dovecot's delivery, as an MTA's Maildir delivery does it: write and sync in tmp/, then
/// rename into new/; Dovecot's IDLE learns of it through inotify.
func deliverToDovecot(_ bench: Bench, _ index: Int) throws -> Double {
    let maildir = bench.root + "/dovecot/home/bench/Maildir"
    let name = "\(1_765_000_000 + index).late\(index).bench"
    let temporary = maildir + "/tmp/" + name
    let file = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
    guard file >= 0 else { throw BenchError.setup("cannot create \(temporary)") }
    let message = voicemail(messageCount + index)
    _ = message.withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
    fsync(file)
    close(file)
    guard rename(temporary, maildir + "/new/" + name) == 0 else { throw BenchError.setup("rename failed") }
    return now()
}

// MARK: Run

var limit = rlimit(rlim_cur: 65_536, rlim_max: 65_536)
setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)

let root = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-imapbench-\(UUID())").path
try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
let pem = try DevCertificate.make(hostname: "localhost")
try DevCertificate.write(pem, certificatePath: root + "/cert.pem", privateKeyPath: root + "/key.pem")
try sh("chmod 644 \(root)/cert.pem \(root)/key.pem")
let bench = Bench(
    root: root, certificate: root + "/cert.pem", key: root + "/key.pem", messages: (0..<messageCount).map(voicemail))
say(
    "IMAP: \(messageCount) messages of \(bench.messages[0].count / 1024) KiB, \(connectionCount) connections, "
        + "\(Int(seconds)) s each; TLS on both; Mailvox sealed (HPKE + AES-256-GCM), Dovecot plaintext Maildir")

struct Figures {
    var load: LoadResult
    var pssAfterLoad: Int
    var pssIdle: Int
    var pssBase: Int
    var idleClients: Int
    var push: [Double]
    var pushAlone: [Double]
    var compressed: LoadResult
}

/// One load's figures in a row: throughput, latency, and what it cost on the wire.
func loadRow(_ name: String, _ result: LoadResult) -> String {
    "\(name.padding(toLength: 17, withPad: " ", startingAt: 0)) ops/s \(String(format: "%8.1f", Double(result.operations) / result.elapsed))"
        + "  p50 \(String(format: "%6.2f", result.percentile(result.latencies, 0.5) * 1000)) ms"
        + "  p99 \(String(format: "%7.2f", result.percentile(result.latencies, 0.99) * 1000)) ms"
        + "  read off TLS \(String(format: "%.1f", Double(result.wireOctets) / Double(max(result.operations, 1)) / 1024)) KiB/op"
}

func measure(
    _ name: String, process: Process, port: Int, deliver: (Int) async throws -> Double
) async throws -> Figures {
    try await Task.sleep(for: .milliseconds(300))
    let base = pss(of: process.processIdentifier)
    say("\(name): load")
    let result = try await load(port: port)
    let afterLoad = pss(of: process.processIdentifier)
    // Before the IDLE deliveries, so both loads see the same messages.
    say("\(name): load with COMPRESS=DEFLATE")
    let compressed = try await load(port: port, compress: true)
    say("\(name): idle connections")
    let clients = try await idleConnections(port: port, count: idleCount)
    try await Task.sleep(for: .seconds(1))
    let idle = pss(of: process.processIdentifier)
    say("\(name): deliveries to \(clients.count) IDLE connections, then to one")
    let (push, missed) = try await pushLatencies(clients: clients, first: 0, deliver: deliver)
    for client in clients.dropFirst() { await client.close() }
    let (pushAlone, missedAlone) = try await pushLatencies(
        clients: Array(clients.prefix(1)), first: deliveryCount, deliver: deliver)
    for client in clients.prefix(1) { await client.close() }
    say(
        "\(name.padding(toLength: 8, withPad: " ", startingAt: 0)) ops/s \(String(format: "%8.1f", Double(result.operations) / result.elapsed))"
            + "  p50 \(String(format: "%6.2f", result.percentile(result.latencies, 0.5) * 1000)) ms"
            + "  p99 \(String(format: "%7.2f", result.percentile(result.latencies, 0.99) * 1000)) ms"
            + "  login+select+fetch p50 \(String(format: "%6.1f", result.percentile(result.loginSelectFetch, 0.5) * 1000)) ms"
            + "  PSS idle-server \(base / 1024) MiB, after load \(afterLoad / 1024) MiB, with \(clients.count) IDLE \(idle / 1024) MiB"
            + " (\(String(format: "%.1f", Double(idle - base) / Double(max(clients.count, 1)))) KiB per connection; "
            + "\(idleFailures.withLockedValue { $0 }) IDLE connections failed)")
    say(
        "\(name.padding(toLength: 8, withPad: " ", startingAt: 0)) delivery → EXISTS on every IDLE connection: "
            + "p50 \(String(format: "%.1f", result.percentile(push, 0.5) * 1000)) ms  "
            + "p99 \(String(format: "%.1f", result.percentile(push, 0.99) * 1000)) ms  "
            + "(\(deliveryCount) deliveries × \(clients.count) connections; \(missed) not seen within 5 s); "
            + "to one IDLE connection alone: p50 \(String(format: "%.1f", result.percentile(pushAlone, 0.5) * 1000)) ms  "
            + "p99 \(String(format: "%.1f", result.percentile(pushAlone, 0.99) * 1000)) ms (\(missedAlone) not seen)")
    say(
        "\(name.padding(toLength: 8, withPad: " ", startingAt: 0)) p50 by command: "
            + zip(loopCommands, result.byCommand).map { command, values in
                "\(command) \(String(format: "%.2f", result.percentile(values, 0.5) * 1000)) ms"
            }.joined(separator: ", "))
    idleFailures.withLockedValue { $0 = 0 }
    say(loadRow("\(name)", result))
    say(loadRow("\(name) COMPRESS", compressed))
    return Figures(
        load: result, pssAfterLoad: afterLoad, pssIdle: idle, pssBase: base, idleClients: clients.count, push: push,
        pushAlone: pushAlone, compressed: compressed)
}

let (mailvoxProcess, mailvoxPort) = try await startMailvox(bench)
let mailvox = try await measure("Mailvox", process: mailvoxProcess, port: mailvoxPort) { _ in
    try deliverToMailvox(mailvoxProcess)
}
mailvoxProcess.terminate()
mailvoxProcess.waitUntilExit()

guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot") else {
    say("Dovecot: skipped (needs root to hand its Maildir to nobody, and dovecot-imapd installed)")
    exit(0)
}
let (dovecotProcess, dovecotPort) = try await startDovecot(bench, maxConnections: idleCount + connectionCount)
let dovecot = try await measure("Dovecot", process: dovecotProcess, port: dovecotPort) { index in
    try deliverToDovecot(bench, index)
}

let mailvoxRate = Double(mailvox.load.operations) / mailvox.load.elapsed
let dovecotRate = Double(dovecot.load.operations) / dovecot.load.elapsed
let mailvoxPerIdle = Double(mailvox.pssIdle - mailvox.pssBase) / Double(max(mailvox.idleClients, 1))
let dovecotPerIdle = Double(dovecot.pssIdle - dovecot.pssBase) / Double(max(dovecot.idleClients, 1))
say(
    "ratio Mailvox/Dovecot: throughput \(String(format: "%.2f", mailvoxRate / dovecotRate)) (goal ≥ 1), "
        + "p50 latency \(String(format: "%.2f", mailvox.load.percentile(mailvox.load.latencies, 0.5) / dovecot.load.percentile(dovecot.load.latencies, 0.5))), "
        + "login+select+fetch \(String(format: "%.2f", mailvox.load.percentile(mailvox.load.loginSelectFetch, 0.5) / dovecot.load.percentile(dovecot.load.loginSelectFetch, 0.5))), "
        + "memory per IDLE connection \(String(format: "%.3f", mailvoxPerIdle / dovecotPerIdle)) (goal ≤ 0.1), "
        + "delivery → EXISTS p99 to all IDLE \(String(format: "%.2f", mailvox.load.percentile(mailvox.push, 0.99) / dovecot.load.percentile(dovecot.push, 0.99))), "
        + "to one \(String(format: "%.2f", mailvox.load.percentile(mailvox.pushAlone, 0.99) / dovecot.load.percentile(dovecot.pushAlone, 0.99)))"
)

say(
    "ratio Mailvox/Dovecot, p50 by command: "
        + loopCommands.indices.map { kind in
            let ours = mailvox.load.percentile(mailvox.load.byCommand[kind], 0.5)
            let theirs = dovecot.load.percentile(dovecot.load.byCommand[kind], 0.5)
            return "\(loopCommands[kind]) \(String(format: "%.2f", ours / theirs))"
        }.joined(separator: ", "))

let mailvoxCompressedRate = Double(mailvox.compressed.operations) / mailvox.compressed.elapsed
let dovecotCompressedRate = Double(dovecot.compressed.operations) / dovecot.compressed.elapsed
say(
    "COMPRESS=DEFLATE: Mailvox compressed/uncompressed throughput \(String(format: "%.2f", mailvoxCompressedRate / mailvoxRate)), "
        + "octets on the wire \(String(format: "%.2f", Double(mailvox.compressed.wireOctets) / Double(max(mailvox.compressed.operations, 1)) / (Double(mailvox.load.wireOctets) / Double(max(mailvox.load.operations, 1))))); "
        + "ratio Mailvox/Dovecot compressed: throughput \(String(format: "%.2f", mailvoxCompressedRate / dovecotCompressedRate)), "
        + "p50 latency \(String(format: "%.2f", mailvox.compressed.percentile(mailvox.compressed.latencies, 0.5) / dovecot.compressed.percentile(dovecot.compressed.latencies, 0.5)))"
)

// Only now stop Dovecot: with a thousand connections just closed its master can take long
// to finish, so the figures are printed first and a master still alive after 5 s is killed.
kill(dovecotProcess.processIdentifier, SIGTERM)
for _ in 0..<50 where dovecotProcess.isRunning { usleep(100_000) }
if dovecotProcess.isRunning { kill(dovecotProcess.processIdentifier, SIGKILL) }
dovecotProcess.waitUntilExit()

if environment["IMAPBENCH_KEEP"] == nil { try? FileManager.default.removeItem(atPath: root) }
