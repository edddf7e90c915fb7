import Foundation
import MailvoxCore
import MailvoxTestSupport
import Testing

/// The test-owned SMTP relay (`Tests/relay/smtp_sink.py`, aiosmtpd) on a free loopback port.
final class Relay {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("relay").path
    static let script = folder + "/smtp_sink.py"

    let process = Process()
    let port: Int
    let out: String
    private let stdin = Pipe()

    /// Starts the sink with `arguments` (`--mode`, `--auth`, faults…); waits for "ready PORT".
    init(
        _ arguments: [String] = [], host: String = "127.0.0.1", directory: String, script: String = Relay.script
    ) throws {
        out = directory + "/relay-\(UUID().uuidString.prefix(8))"
        let stdout = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments =
            [script] + (script == Self.script ? ["--host", host] : []) + ["--out", out] + arguments
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.standardError
        try process.run()
        var line = Data()
        while let byte = try stdout.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) {
            line.append(byte)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("ready "), let port = Int(text.dropFirst(6)) else {
            process.terminate()
            throw RelayError.notReady(text)
        }
        self.port = port
    }

    deinit { stop() }

    func stop() {
        guard process.isRunning else { return }
        try? stdin.fileHandleForWriting.close()
        process.terminate()
        process.waitUntilExit()
    }

    /// The accepted messages, oldest first: (raw .eml, envelope JSON).
    func messages() -> [(eml: String, envelope: [String: Any])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasSuffix(".eml") }
            .sorted()
        return names.compactMap { name in
            let base = out + "/" + name.dropLast(4)
            guard let eml = try? String(contentsOfFile: base + ".eml", encoding: .utf8),
                let json = FileManager.default.contents(atPath: base + ".json"),
                let envelope = try? JSONSerialization.jsonObject(with: json) as? [String: Any]
            else { return nil }
            return (eml, envelope)
        }
    }

    /// The SMS receiver's recorded requests, oldest first.
    func requests() -> [[String: Any]] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []).filter { $0.hasSuffix(".json") }
            .sorted()
        return names.compactMap { name in
            FileManager.default.contents(atPath: out + "/" + name).flatMap {
                try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
            }
        }
    }

    /// The relay's event log lines (`connect`, `ehlo NAME tls=…`, `auth …`, `reply CODE …`).
    func events() -> [String] {
        ((try? String(contentsOfFile: out + "/events.log", encoding: .utf8)) ?? "").split(separator: "\n").map(
            String.init)
    }

    /// Connections made by clients (the first is the sink's own readiness probe).
    var clientConnections: Int { max(0, events().filter { $0 == "connect" }.count - 1) }
}

enum RelayError: Error { case notReady(String) }

/// A test CA and certificates made with openssl at test time: `good` is for `localhost` and
/// 127.0.0.1, `wrong` is for `wrong.example` only; both signed by the CA in `ca`.
struct TestCertificates {
    let directory: String
    var ca: String { directory + "/ca.pem" }
    var goodCert: String { directory + "/good.pem" }
    var goodKey: String { directory + "/good.key" }
    var wrongCert: String { directory + "/wrong.pem" }
    var wrongKey: String { directory + "/wrong.key" }

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try shell(
            """
            set -e
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=Mailvox-Test-CA \
              -keyout ca.key -out ca.pem -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            for name in good wrong; do
              if [ $name = good ]; then san=DNS:localhost,IP:127.0.0.1; cn=localhost; else san=DNS:wrong.example; cn=wrong.example; fi
              openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$cn -keyout $name.key -out $name.csr
              printf "subjectAltName=$san\\nbasicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth\\n" > $name.ext
              openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile $name.ext -out $name.pem
            done
            """, in: directory)
    }
}

/// Runs `command` with /bin/sh in `directory`; fails the test when it fails.
@discardableResult
func shell(_ command: String, in directory: String) throws -> String {
    let result = try Subprocess.shell(command, in: directory)
    #expect(result.succeeded, "\(command): \(result.output)")
    return result.output
}

func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-notify-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs a blocking send on a thread of its own, as the notify workers do (`DedicatedThread`),
/// so a test never holds one of the cooperative pool's threads while SMTP or HTTP waits.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await DedicatedThread.run(name: "notify-test", body)
}
