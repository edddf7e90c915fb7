import Foundation

/// One finished child process: its exit status and what it wrote.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    /// Both streams, for failure messages.
    public var output: String { stdout + stderr }
    public var succeeded: Bool { status == 0 }
}

/// A tool or script exited non-zero where the caller needed it to work.
public struct SubprocessFailure: Error, CustomStringConvertible {
    public var command: String
    public var result: ProcessResult
    public var description: String { "\(command) exited \(result.status): \(result.output)" }
}

/// Runs the real tools the tests drive (sox, espeak-ng, curl, python3, openssl, mbsync, the
/// built binary). Output goes through files, not pipes, so a chatty child never blocks on a
/// full pipe while the test waits for it to exit.
public enum Subprocess {
    /// Runs `executable` (a path, or a name looked up on PATH) with `arguments` in `directory`.
    /// `environment` replaces the child's environment when given.
    public static func run(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String]? = nil, stdin: Data? = nil
    ) throws -> ProcessResult {
        let process = Process()
        if executable.hasPrefix("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [executable] + arguments
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        if let environment { process.environment = environment }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mvx-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("stdout")
        let err = scratch.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if let stdin {
            let input = scratch.appendingPathComponent("stdin")
            try stdin.write(to: input)
            process.standardInput = try FileHandle(forReadingFrom: input)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// Like `run`, but throws `SubprocessFailure` unless the tool exits 0.
    @discardableResult
    public static func check(
        _ executable: String, _ arguments: [String], in directory: String? = nil,
        environment: [String: String]? = nil, stdin: Data? = nil
    ) throws -> ProcessResult {
        let result = try run(executable, arguments, in: directory, environment: environment, stdin: stdin)
        guard result.succeeded else {
            throw SubprocessFailure(command: ([executable] + arguments).joined(separator: " "), result: result)
        }
        return result
    }

    /// `command` through /bin/sh in `directory`.
    public static func shell(_ command: String, in directory: String? = nil) throws -> ProcessResult {
        try run("/bin/sh", ["-c", command], in: directory)
    }

    /// Debian's python3, which has aiosmtpd and friends, before a pyenv one on PATH.
    public static var python: String {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
    }

    /// A free loopback TCP port: bound to port 0, read, released (a tiny race every test accepts).
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
