import Foundation

/// Runs the built `mailvox` binary as a user would: arguments, standard input, environment.
public struct CLI {
    public struct Result {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var lastLine: String { stdout.split(separator: "\n").last.map(String.init) ?? "" }
    }

    /// `MAILVOX_BIN` (set by `make test`), else the debug build beside this checkout.
    public static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["MAILVOX_BIN"], !path.isEmpty { return path }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/mailvox").path
    }()

    /// A fresh working directory per test, so `var/` and configs never collide.
    public let directory: String
    /// Overrides for the child's environment. The HTTP and IMAP listeners are off unless a test
    /// turns them on (on free ports): parallel servers must not fight over 8080, 1143 and 1993.
    public var environment: [String: String] = [
        "MAILVOX_HTTP_LISTEN": "", "MAILVOX_IMAP_LISTEN": "", "MAILVOX_IMAP_LISTEN_TLS": "",
    ]

    public init() throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else { throw MissingBinary(path: Self.binary) }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// The binary was not built before the tests ran.
    public struct MissingBinary: Error, CustomStringConvertible {
        public var path: String
        public var description: String { "build first: \(path) is missing" }
    }

    @discardableResult
    public func run(_ arguments: [String], stdin: String? = nil) throws -> Result {
        let result = try Subprocess.run(
            Self.binary, arguments, in: directory, environment: childEnvironment, stdin: stdin.map { Data($0.utf8) })
        return Result(status: result.status, stdout: result.stdout, stderr: result.stderr)
    }

    /// Starts a long-running command with its output in `log`; the caller stops it.
    public func start(_ arguments: [String], log: String) throws -> Process {
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
        process.environment = childEnvironment
        return process
    }

    /// This process's environment without its `MAILVOX_` variables, plus `environment`.
    private var childEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("MAILVOX_") }
        env.merge(environment) { $1 }
        return env
    }

    /// Waits until `log` contains `text`, for at most `seconds`.
    public static func wait(for text: String, in log: String, seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let content = try? String(contentsOfFile: log, encoding: .utf8), content.contains(text) { return true }
            usleep(50_000)
        }
        return false
    }
}
