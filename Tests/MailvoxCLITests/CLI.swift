import Foundation
import Testing

/// Runs the built `mailvox` binary as a user would: arguments, standard input, environment.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
    }

    /// `MAILVOX_BIN` (set by `make test`), else the debug build beside this checkout.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["MAILVOX_BIN"], !path.isEmpty { return path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/mailvox").path
    }()

    /// A fresh working directory per test, so `var/` and configs never collide.
    let directory: String
    /// Overrides for the child's environment. The HTTP and IMAP listeners are off unless a test
    /// turns them on (on free ports): parallel servers must not fight over 8080, 1143 and 1993.
    var environment: [String: String] = [
        "MAILVOX_HTTP_LISTEN": "", "MAILVOX_IMAP_LISTEN": "", "MAILVOX_IMAP_LISTEN_TLS": "",
    ]

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build first: \(Self.binary) is missing")
    }

    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let process = makeProcess(arguments)
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }

    /// Starts a long-running command with its output in `log`; the caller stops it.
    func start(_ arguments: [String], log: String) throws -> Process {
        let process = makeProcess(arguments)
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return process
    }

    private func makeProcess(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAILVOX_") }
        env.merge(environment) { $1 }
        process.environment = env
        return process
    }

    /// Waits until `log` contains `text`, for at most `seconds`.
    static func wait(for text: String, in log: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let content = try? String(contentsOfFile: log, encoding: .utf8), content.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }
}
