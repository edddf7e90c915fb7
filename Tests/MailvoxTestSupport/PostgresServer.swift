import Foundation

/// A real PostgreSQL 15 server for the tests: `shared` is started once per test process on a
/// free loopback port, in a fresh temp dir, and every test makes its own database in it
/// (`createDatabase`), so tests stay independent and run in parallel.
///
/// The server stops when the test process ends, however it ends: a watchdog shell started
/// with it polls the test process and runs `pg_ctl stop` and removes the dir once it is gone.
/// (Foundation's `Process` cannot be waited for in an `atexit` handler, and a crash runs none.)
/// PostgreSQL refuses to run as root, so as root initdb and pg_ctl run as `postgres`
/// (`runuser`), and the dir is made traversable for it (docs: shared NOTES.md).
public final class PostgresServer: Sendable {
    public static let binaries = "/usr/lib/postgresql/15/bin"
    /// The superuser initdb makes; trust authentication, so no password.
    public let user = "mailvox"
    public let port: Int
    let directory: String
    var dataDirectory: String { directory + "/data" }
    /// Where the server's Unix socket is (`-k`).
    public var socketDirectory: String { directory + "/sock" }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var started: Result<PostgresServer, PostgresServerError>?

    /// The server every test of this process shares, started at the first use. When it cannot
    /// start, every use throws the same error: tests that need PostgreSQL fail, never skip.
    public static var shared: PostgresServer {
        get throws {
            lock.lock()
            defer { lock.unlock() }
            if started == nil {
                started = Result { () throws(PostgresServerError) in try PostgresServer() }
            }
            return try started!.get()
        }
    }

    /// A server of the caller's own (for a test that stops and restarts it); stopped with the process too.
    public static func makePrivate() throws -> PostgresServer { try PostgresServer() }

    private init() throws(PostgresServerError) {
        let fileManager = FileManager.default
        guard fileManager.isExecutableFile(atPath: Self.binaries + "/postgres") else {
            throw PostgresServerError(
                "PostgreSQL 15 is not installed (\(Self.binaries)/postgres is missing): run `scripts/bootstrap test`")
        }
        directory = fileManager.temporaryDirectory.appendingPathComponent("mvx-pg-\(UUID().uuidString.prefix(8))").path
        port = Subprocess.freePort()
        do {
            try fileManager.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
            try fileManager.createDirectory(atPath: directory + "/data", withIntermediateDirectories: false)
            try fileManager.createDirectory(atPath: directory + "/sock", withIntermediateDirectories: false)
            if getuid() == 0 {
                try Subprocess.check("chown", ["postgres:postgres", directory + "/data", directory + "/sock"])
            }
            try fileManager.setAttributes([.posixPermissions: 0o700], ofItemAtPath: directory + "/data")
            try Self.watch(directory: directory)
            try asPostgres(
                "initdb",
                ["-D", dataDirectory, "-A", "trust", "-U", user, "--no-sync", "--no-instructions", "-E", "UTF8"])
            try start()
        } catch let error as PostgresServerError {
            throw error
        } catch {
            throw PostgresServerError("PostgreSQL could not be started in \(directory): \(error)")
        }
    }

    /// Starts the server (again, after `stop`) on the same port and data, and waits until it accepts connections.
    ///
    /// The postmaster runs in the foreground as a child that is never waited for, not through
    /// `pg_ctl start`: a daemon started by pg_ctl inherits the descriptor Foundation's `Process`
    /// watches for its child's exit, so waiting for pg_ctl never returned.
    public func start() throws {
        let log = directory + "/sock/server.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        let postgres =
            [
                Self.binaries + "/postgres", "-D", dataDirectory, "-p", "\(port)", "-k", socketDirectory, "-h",
                "127.0.0.1",
            ]
            + ["-F", "-c", "max_connections=300"]
        if getuid() == 0 {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", "postgres", "--"] + postgres
        } else {
            process.executableURL = URL(fileURLWithPath: postgres[0])
            process.arguments = Array(postgres.dropFirst())
        }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        Self.keep(process)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if try Subprocess.run("pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(port)"]).succeeded { return }
            if !process.isRunning { break }
            usleep(100_000)
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw PostgresServerError("PostgreSQL did not start on port \(port):\n\(output.suffix(2000))")
    }

    private static let processLock = NSLock()
    nonisolated(unsafe) private static var processes: [Process] = []

    /// Keeps the postmaster's `Process` alive while it runs.
    private static func keep(_ process: Process) {
        processLock.lock()
        defer { processLock.unlock() }
        processes.removeAll { !$0.isRunning }
        processes.append(process)
    }

    /// Stops the server at once (`pg_ctl stop -m fast`: open connections are closed by the server).
    public func stop() throws {
        try asPostgres("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "stop"])
    }

    /// A new, empty database of the caller's own; its name.
    public func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try psql("CREATE DATABASE \(name)")
        return name
    }

    /// A `postgres://` URL for `database` on this server.
    public func url(database: String) -> String { "postgres://\(user)@127.0.0.1:\(port)/\(database)?sslmode=disable" }

    /// Runs `sql` through `psql` as the superuser; the output, unaligned.
    @discardableResult
    public func psql(_ sql: String, database: String = "postgres") throws -> String {
        try Subprocess.check(
            "psql",
            [
                "-h", "127.0.0.1", "-p", "\(port)", "-U", user, "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c",
                sql,
            ]
        ).stdout
    }

    private func asPostgres(_ tool: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try Subprocess.check("/usr/sbin/runuser", ["-u", "postgres", "--", Self.binaries + "/" + tool] + arguments)
        } else {
            try Subprocess.check(Self.binaries + "/" + tool, arguments)
        }
    }

    /// Starts the shell that stops the server and removes `directory` once this process is gone.
    /// It ignores the terminal's signals, so a Ctrl-C to the test run still leaves it to clean up.
    private static func watch(directory: String) throws {
        let ctl =
            (getuid() == 0 ? "/usr/sbin/runuser -u postgres -- " : "") + binaries + "/pg_ctl -D '\(directory)/data'"
        let script = """
            trap '' INT TERM HUP
            while kill -0 \(getpid()) 2>/dev/null; do sleep 0.3; done
            \(ctl) -m immediate -w stop >/dev/null 2>&1
            rm -rf '\(directory)'
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }
}

/// PostgreSQL could not be set up for the tests; says what to install or what failed.
public struct PostgresServerError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
