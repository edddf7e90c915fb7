import Foundation
import Logging
import MailvoxCore
import MailvoxCrypto
import MailvoxStoreTesting
import NIOCore

@testable import MailvoxIMAP
@testable import MailvoxIMAPCore

/// The real IMAP server on free loopback ports, with the dev certificate, over an in-memory store.
struct RunningServer {
    let task: Task<Void, Error>
    let startTLSPort: Int
    let tlsPort: Int
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }

    static func start(
        authenticator: any Authenticator, configure: (inout IMAPServerConfiguration) -> Void = { _ in }
    ) async throws -> RunningServer {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mailvox-imap-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let certificate = directory.appendingPathComponent("cert.pem").path
        let key = directory.appendingPathComponent("key.pem").path
        try DevCertificate.write(
            DevCertificate.make(hostname: "localhost"), certificatePath: certificate, privateKeyPath: key)
        var configuration = IMAPServerConfiguration(
            listen: HostPort(host: "127.0.0.1", port: 0), listenTLS: HostPort(host: "127.0.0.1", port: 0),
            certificateFile: certificate, privateKeyFile: key)
        configure(&configuration)
        var logger = Logger(label: "mailvox.imap.test")
        logger.logLevel = .warning
        let server = IMAPServer(configuration: configuration, authenticator: authenticator, logger: logger)
        let (bound, continuation) = AsyncStream<IMAPServer.BoundAddresses>.makeStream()
        let task = Task {
            defer { continuation.finish() }
            try await server.run { continuation.yield($0) }
        }
        var iterator = bound.makeAsyncIterator()
        guard let addresses = await iterator.next() else {
            try await task.value
            throw CancellationError()
        }
        return RunningServer(
            task: task, startTLSPort: addresses.startTLS?.port ?? 0, tlsPort: addresses.implicitTLS?.port ?? 0,
            directory: directory)
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: directory)
    }
}

/// What a client program printed and how it ended.
struct ProcessResult {
    var status: Int32
    var output: String
    var error: String
}

enum Programs {
    static let clients = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients")

    /// Runs a program without blocking a thread of the concurrency pool (the server's sessions
    /// run there too); killed after `timeout`.
    static func run(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil,
        timeout: Duration = .seconds(60)
    ) async throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let directory = FileManager.default.temporaryDirectory
        let outURL = directory.appendingPathComponent("out-\(UUID())")
        let errURL = directory.appendingPathComponent("err-\(UUID())")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        process.standardInput = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            let pid = process.processIdentifier
            Task {
                try? await Task.sleep(for: timeout)
                kill(pid, SIGKILL)
            }
        }
        return ProcessResult(
            status: status, output: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            error: (try? String(contentsOf: errURL, encoding: .utf8)) ?? "")
    }

    /// Debian's python3 (imaplib is in the standard library).
    static var python: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
    }

    static func python(_ script: String, _ arguments: [String]) async throws -> ProcessResult {
        try await run(python, [clients.appendingPathComponent(script).path] + arguments)
    }
}
